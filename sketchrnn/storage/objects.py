"""A runs folder in object storage, staged in a local temp folder (see the package docstring).

The remote layout is the local one, except that a checkpoint folder ``<job>/checkpoints/<which>``
is stored as ``<which>/<version>/<files>`` plus the manifest ``<which>.json`` written last.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from sketchrnn.storage.runs_store import RunsStore
from sketchrnn.storage.uri import StorageError, check_reachable, join_uri, s3_client

CHECKPOINTS = "checkpoints"
CHECKPOINT_FILES = ("model.safetensors", "train_state.pt", "meta.json")  # meta.json last
LOCK_NAME = "fit.lock"
_VERSION = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ObjectRuns(RunsStore):
    """A runs folder under ``root`` in a ``pyarrow.fs`` filesystem, staged in a temp folder."""

    remote = True

    def __init__(self, text: str, fs: Any, root: str) -> None:
        super().__init__(text, Path(tempfile.mkdtemp(prefix="sketchrnn-runs-")))
        self.fs, self.root = fs, root.rstrip("/")
        self._stored: dict[str, tuple[int, int]] = {}  # rel path -> local (size, mtime) when in sync
        self._published: dict[str, dict[str, Any]] = {}  # rel checkpoint dir -> its manifest files

    def close(self) -> None:
        shutil.rmtree(self.local, ignore_errors=True)

    def where(self, name: str = "") -> str:
        return join_uri(self.text, name) if name else self.text

    def key(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def check(self) -> None:
        check_reachable(self.text, self.fs, self.root)

    def job_names(self) -> list[str]:
        from pyarrow.fs import FileSelector, FileType

        infos = self.fs.get_file_info(FileSelector(self.root, allow_not_found=True))
        return sorted(PurePosixPath(i.path).name for i in infos if i.type == FileType.Directory)

    def pull(self, names: Iterable[str] | None = None, *, checkpoints_only: bool = False,
             checkpoints: bool = True) -> None:
        from pyarrow.fs import FileSelector, FileType

        for name in self.job_names() if names is None else names:
            selector = FileSelector(self.key(name), recursive=True, allow_not_found=True)
            for info in self.fs.get_file_info(selector):
                if info.type != FileType.File:
                    continue
                rel = safe_relative(info.path, self.root, self.text)
                parts = PurePosixPath(rel).parts
                if CHECKPOINTS in parts[:-2] or parts[-1] == LOCK_NAME:
                    continue  # a checkpoint's payload: only through its manifest
                if len(parts) >= 2 and parts[-2] == CHECKPOINTS:
                    if checkpoints and parts[-1].endswith(".json"):
                        self._pull_checkpoint(str(PurePosixPath(rel).with_suffix("")))
                elif not checkpoints_only:
                    self._download(rel, self.local / rel)
                    self._remember(rel)

    def publish(self, name: str, *, checkpoints: bool = True) -> None:
        job = self.local / name
        if not job.is_dir():
            return
        folders = []
        for path in sorted(job.rglob("*")):
            rel = path.relative_to(self.local).as_posix()
            parts = PurePosixPath(rel).parts
            if path.is_symlink() or any(p.startswith(".") for p in parts) or parts[-1] == LOCK_NAME:
                continue  # temp files, moved-aside checkpoints, links (ray-logs), the lock
            if len(parts) >= 2 and parts[-2] == CHECKPOINTS and path.is_dir():
                folders.append(rel)
            elif path.is_file() and CHECKPOINTS not in parts[:-1] and self._changed(rel):
                self._upload(path, rel)
                self._remember(rel)
        for rel in folders if checkpoints else ():
            if (self.local / rel / CHECKPOINT_FILES[-1]).is_file():
                self._publish_checkpoint(rel)

    def clear(self, name: str) -> None:
        from pyarrow.fs import FileSelector, FileType

        for info in self.fs.get_file_info(FileSelector(self.key(name), recursive=True,
                                                       allow_not_found=True)):
            if info.type == FileType.File and PurePosixPath(info.path).name != LOCK_NAME:
                self.fs.delete_file(info.path)

    def create_exclusive(self, rel: str, data: bytes) -> bool:
        """Put ``rel`` unless it exists; False when it does."""
        client = s3_client(self.text)
        if client is None:
            if self.exists(rel):
                return False
            self._put(rel, data)
            return self._get(rel) == data  # a racing writer's object: theirs won
        bucket, _, key = self.key(rel).partition("/")
        try:
            client.put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*")
        except client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412",
                                                              "ConditionalRequestConflict"):
                return False
            raise
        return True

    def exists(self, rel: str) -> bool:
        from pyarrow.fs import FileType

        return self.fs.get_file_info(self.key(rel)).type == FileType.File

    def mtime(self, rel: str) -> float | None:
        from pyarrow.fs import FileType

        info = self.fs.get_file_info(self.key(rel))
        return info.mtime.timestamp() if info.type == FileType.File and info.mtime else None

    def read(self, rel: str) -> bytes | None:
        try:
            return self._get(rel)
        except FileNotFoundError:
            return None

    def read_checkpoint_file(self, checkpoint: str, name: str) -> bytes | None:
        """File ``name`` of the published checkpoint ``checkpoint`` (through its manifest)."""
        data = self.read(f"{checkpoint}.json")
        if data is None:
            return None
        manifest = read_manifest(data, self.where(checkpoint + ".json"))
        return self.read(f"{checkpoint}/{manifest['version']}/{name}") if name in manifest["files"] else None

    def put(self, rel: str, data: bytes) -> None:
        self._put(rel, data)

    def delete(self, rel: str) -> None:
        try:
            self.fs.delete_file(self.key(rel))
        except FileNotFoundError:
            pass

    # -- checkpoints --------------------------------------------------------------------------

    def _publish_checkpoint(self, rel: str) -> None:
        folder = self.local / rel
        files = {n: _describe(folder / n) for n in CHECKPOINT_FILES if (folder / n).is_file()}
        if self._published.get(rel) == files:
            return
        version = secrets.token_hex(6)
        for name in files:  # meta.json last: a checkpoint is whole once it has its meta
            self._upload(folder / name, f"{rel}/{version}/{name}")
        manifest = {"format": 1, "version": version, "files": files}
        self._put(f"{rel}.json", json.dumps(manifest, indent=1).encode())
        self._published[rel] = files
        self._drop_versions(rel, keep=version)

    def _drop_versions(self, rel: str, keep: str) -> None:
        from pyarrow.fs import FileSelector

        for info in self.fs.get_file_info(FileSelector(self.key(rel), allow_not_found=True)):
            if PurePosixPath(info.path).name != keep:
                self.fs.delete_dir(info.path)

    def _pull_checkpoint(self, rel: str) -> None:
        """Download the checkpoint ``rel``'s manifest names; retried once when a newer one
        replaced it meanwhile (its old version is deleted after the new manifest is written)."""
        for attempt in range(3):
            manifest = read_manifest(self._get(f"{rel}.json"), self.where(rel + ".json"))
            target = self.local / rel
            shutil.rmtree(target, ignore_errors=True)
            try:
                for name, want in manifest["files"].items():
                    self._download(f"{rel}/{manifest['version']}/{name}", target / name)
                    if _describe(target / name) != want:
                        raise StorageError(f"{self.where(rel)}/{manifest['version']}/{name} does "
                                           "not match its manifest",
                                           "it was changed after it was published; retrain the job")
            except FileNotFoundError:
                if attempt == 2:
                    raise
                continue
            self._published[rel] = manifest["files"]
            return

    # -- bytes ----------------------------------------------------------------------------------

    def _changed(self, rel: str) -> bool:
        stat = (self.local / rel).stat()
        return self._stored.get(rel) != (stat.st_size, stat.st_mtime_ns)

    def _remember(self, rel: str) -> None:
        stat = (self.local / rel).stat()
        self._stored[rel] = (stat.st_size, stat.st_mtime_ns)

    def _upload(self, path: Path, rel: str) -> None:
        self._put(rel, path.read_bytes())

    def _put(self, rel: str, data: bytes) -> None:
        with self.fs.open_output_stream(self.key(rel)) as out:  # one PUT: readers see all or nothing
            out.write(data)

    def _get(self, rel: str) -> bytes:
        with self.fs.open_input_stream(self.key(rel)) as src:
            return src.read()

    def _download(self, rel: str, target: Path) -> None:
        from sketchrnn._io import write_bytes_atomic

        write_bytes_atomic(target, self._get(rel))


def safe_relative(key: str, root: str, where: str) -> str:
    """``key`` relative to ``root``, refusing names that would leave the staging folder (an
    object store allows keys such as ``a/../../x``)."""
    rel = key[len(root):].lstrip("/") if key.startswith(root) else ""
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts):
        raise StorageError(f"{where}: object {key!r} has an unsafe name",
                           "remove it from the bucket; sketchrnn writes only plain names")
    return rel


def read_manifest(data: bytes, where: str) -> dict[str, Any]:
    """A checkpoint manifest, validated as untrusted input (names, version, sizes, digests)."""
    try:
        manifest = json.loads(data)
        files = manifest["files"]
        ok = (_VERSION.fullmatch(manifest["version"]) and isinstance(files, dict) and files
              and set(files) <= set(CHECKPOINT_FILES)
              and all(isinstance(f.get("size"), int) and re.fullmatch(r"[0-9a-f]{64}", f.get("sha256", ""))
                      for f in files.values()))
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise StorageError(f"{where} is not a valid checkpoint manifest",
                           "delete it (the checkpoint is then unpublished) or retrain the job")
    return manifest


def _describe(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}
