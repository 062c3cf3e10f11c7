"""Which filesystem a `--runs` URI names, and whether it can be used (before any work starts)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from sketchrnn.errors import SketchRNNError

PROBE_TIMEOUT_S = 3.0
_FIX_URI = ("use a local folder, s3://bucket/prefix, gs://bucket/prefix, or a URI of a "
            "filesystem fsspec knows (with its package installed)")


class StorageError(SketchRNNError):
    """A runs folder that cannot be used: unknown scheme, no bucket, no credentials, no server."""


def resolve_uri(uri: str) -> tuple[Any, str]:
    """``(pyarrow filesystem, path inside it)``: pyarrow's own filesystems first (S3, GCS, HDFS),
    then any fsspec filesystem, wrapped so that the rest of the code sees one API."""
    import pyarrow
    from pyarrow import fs as pafs

    scheme = urlsplit(uri).scheme
    if scheme == "s3":
        _require_s3_credentials(uri)
        probe_endpoint(uri)
    try:
        return pafs.FileSystem.from_uri(uri)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError, ValueError):
        pass
    try:
        import fsspec

        fs, path = fsspec.core.url_to_fs(uri)
    except (ValueError, ImportError) as exc:
        raise StorageError(f"--runs {uri}: unknown URI scheme {scheme!r} ({exc})".replace("\n", " "),
                           _FIX_URI) from None
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), path


def probe_endpoint(uri: str) -> None:
    """A StorageError when the URI's S3 endpoint does not answer a TCP connection within
    PROBE_TIMEOUT_S (the SDKs retry an endpoint where nothing listens for many seconds)."""
    endpoint = endpoint_url(uri)
    if endpoint:
        parts = urlsplit(endpoint)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            socket.create_connection((parts.hostname, port), timeout=PROBE_TIMEOUT_S).close()
        except OSError as exc:
            raise StorageError(f"--runs {uri}: the storage endpoint {endpoint} does not answer ({exc})",
                               "check AWS_ENDPOINT_URL / the URI's endpoint_override, and that the "
                               "server is running") from None


def check_reachable(uri: str, fs: Any, root: str) -> None:
    """The bucket exists; one StorageError line otherwise."""
    from pyarrow.fs import FileType

    if urlsplit(uri).scheme not in ("s3", "gs", "gcs"):
        return  # no buckets to check: the first write will say what is wrong
    bucket = root.split("/", 1)[0]
    try:
        found = fs.get_file_info(bucket).type != FileType.NotFound
    except OSError as exc:
        raise StorageError(f"--runs {uri}: cannot reach bucket {bucket!r}: {exc}".replace("\n", " "),
                           "check the credentials and endpoint (cluster/README.md)") from None
    if not found:
        raise StorageError(f"--runs {uri}: bucket {bucket!r} does not exist",
                           "create it first (e.g. `aws s3 mb s3://" + bucket + "`), or fix the name")


def join_uri(uri: str, name: str) -> str:
    """The URI of ``name`` inside the folder ``uri`` names, keeping its query (an
    ``endpoint_override``, ``anonymous``): ``s3://b/runs?x=1`` + ``t`` -> ``s3://b/runs/t?x=1``."""
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{name}"))


def endpoint_url(uri: str) -> str | None:
    """The S3 endpoint a URI talks to when it is not AWS's own: the URI's ``endpoint_override``
    (with its ``scheme``), else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL."""
    parts = urlsplit(uri)
    if parts.scheme != "s3":
        return None
    query = parse_qs(parts.query)
    if "endpoint_override" in query:
        host = query["endpoint_override"][0]
        return host if "://" in host else f"{query.get('scheme', ['https'])[0]}://{host}"
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def _require_s3_credentials(uri: str) -> None:
    """The AWS SDK falls back to anonymous requests when it finds no credentials, which a real
    bucket refuses only later, deep in training; say so now. Instance-role credentials cannot be
    seen without a network call, so only AWS_EC2_METADATA_DISABLED=true makes their absence
    certain."""
    env = os.environ
    if "anonymous=true" in urlsplit(uri).query.lower():
        return
    found = (
        (env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"))
        or any(env.get(k) for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                    "AWS_CONTAINER_CREDENTIALS_FULL_URI"))
        or Path(env.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")).expanduser().is_file()
        or Path(env.get("AWS_CONFIG_FILE", "~/.aws/config")).expanduser().is_file()
        or env.get("AWS_EC2_METADATA_DISABLED", "").lower() != "true"
    )
    if not found:
        raise StorageError(f"--runs {uri}: no AWS credentials found",
                           "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or add "
                           "?anonymous=true for a public bucket (cluster/README.md)")


def s3_client(uri: str) -> Any:
    """A boto3 S3 client for the URI's endpoint, or None (not S3, or boto3 not installed)."""
    if urlsplit(uri).scheme != "s3":
        return None
    try:
        import boto3
    except ImportError:
        return None
    return boto3.client("s3", endpoint_url=endpoint_url(uri))


