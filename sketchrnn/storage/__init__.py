"""The runs folder wherever it lives: a local (or NFS) folder, or a prefix in object storage.

Every command that reads or writes a runs folder opens it here (`open_runs`) and works on
``store.local``, a plain folder with the layout `runs.py` describes. For a local folder that is
the folder itself and there is nothing to copy. For a URI (``s3://``, ``gs://``, or any scheme
``pyarrow.fs`` or fsspec resolves) ``local`` is a private staging folder, and:

* ``pull(job)`` copies the job's files and its *published* checkpoints down;
* ``publish(job)`` copies new or changed files up. A checkpoint goes up as an immutable version
  ``<job>/checkpoints/<which>/<version>/...``, and only then is its manifest
  ``<job>/checkpoints/<which>.json`` (version; each file's size and sha256) written, in one PUT,
  which replaces the previous manifest atomically on every object store. Readers trust a
  checkpoint only through its manifest, so a writer killed mid-upload leaves the previous
  checkpoint in force; resume continues from it. Older versions are deleted afterwards.

Object stores have no rename and no ``O_EXCL``: the job locks (`train.lock`) use
`create_exclusive`, a conditional put where the store has one (S3's ``If-None-Match``, through
boto3 when it is installed), else a create-if-absent that can lose a race (cluster/README.md).
Credentials and endpoints come from the store's usual environment (``AWS_*``, GCS's application
default credentials); nothing here stores them.
"""

from sketchrnn.storage.runs_store import RunsStore, is_uri, open_runs
from sketchrnn.storage.uri import StorageError, join_uri

__all__ = ["RunsStore", "StorageError", "is_uri", "join_uri", "open_runs"]
