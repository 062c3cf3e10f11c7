"""Fetch one QuickDraw sketch-rnn ``.npz`` into the local cache, atomically.

Why this shape: several processes (Ray workers, two terminals) may ask for the same category at
once, and a network can die mid-transfer. So a download streams through
``sketchrnn._io.atomic_write`` into a private temp file *inside the cache dir* (same filesystem,
so the final rename is atomic), is validated with ``load_npz`` before it gets its real name, and
on any failure the temp file is removed. The cache
therefore only ever holds complete, loadable files, and "is it cached?" is just "does it exist?".

Air-gapped clusters point ``SKETCHRNN_MIRROR`` at a copy of the bucket (``http://``, ``https://``
or ``file://``); ``SKETCHRNN_CACHE`` moves the cache (e.g. to a shared volume). Library code never
prints: progress is reported through a callback, which the CLI turns into a progress bar.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from sketchrnn._io import atomic_write
from sketchrnn.errors import DataError, DownloadError

BASE_URL = "https://storage.googleapis.com/quickdraw_dataset/sketchrnn"
MIRROR_ENV = "SKETCHRNN_MIRROR"
CACHE_ENV = "SKETCHRNN_CACHE"
CHUNK_SIZE = 1 << 16  # bytes per read; also how often progress is reported

# progress(bytes_done, bytes_total_or_None): called with 0 first, then after every chunk.
ProgressCallback = Callable[[int, int | None], None]


def default_cache_dir() -> Path:
    """The per-user cache (``~/.cache/sketchrnn/quickdraw`` on Linux), ignoring overrides."""
    import platformdirs  # lazy: only needed when data is actually located

    return Path(platformdirs.user_cache_dir("sketchrnn")) / "quickdraw"


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Explicit argument, else ``$SKETCHRNN_CACHE``, else :func:`default_cache_dir`."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return default_cache_dir()


def resolve_base_url(base_url: str | None = None) -> str:
    """Explicit argument, else ``$SKETCHRNN_MIRROR``, else Google's public bucket."""
    url = base_url or os.environ.get(MIRROR_ENV) or BASE_URL
    return url.rstrip("/")


def file_name(name: str, *, full: bool = False) -> str:
    """The bucket's file name for a category: ``<name>.npz`` or ``<name>.full.npz``."""
    return f"{name}.full.npz" if full else f"{name}.npz"


def category_url(name: str, *, base_url: str | None = None, full: bool = False) -> str:
    """The URL of a category's file; spaces and other unsafe characters are %-quoted."""
    return f"{resolve_base_url(base_url)}/{urllib.parse.quote(file_name(name, full=full))}"


def _how_to_provide(name: str, *, full: bool) -> str:
    """The ``fix`` shared by every download failure: the two ways to work without the bucket."""
    return (
        f"put '{file_name(name, full=full)}' in a folder and pass --data-dir DIR, "
        f"or set {MIRROR_ENV} to a reachable copy of {BASE_URL}"
    )


def download_category(
    name: str,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    full: bool = False,
    progress: ProgressCallback | None = None,
    timeout: float = 60,
) -> Path:
    """Download category ``name`` into the cache and return the final path.

    ``name`` must be the canonical QuickDraw name (``"alarm clock"``); callers normalise it.
    Raises ``DownloadError`` naming the URL on HTTP errors, unreachable hosts, short bodies and
    files that do not load; nothing is left in the cache in those cases.
    """
    from sketchrnn.data.npz import load_npz  # lazy: keeps this module importable on its own

    url = category_url(name, base_url=base_url, full=full)
    fix = _how_to_provide(name, full=full)
    cache = resolve_cache_dir(cache_dir)
    final = cache / file_name(name, full=full)

    def check(tmp: Path) -> None:
        try:
            load_npz(tmp)
        except DataError as e:
            detail = e.message.removeprefix(f"{tmp}: ")  # the temp file's name helps no one
            raise DownloadError(
                f"the file downloaded from {url} is not a valid sketch-rnn npz ({detail})", fix
            ) from e

    # Any failure, Ctrl-C included, leaves no partial file in the cache (atomic_write's promise).
    try:
        atomic_write(final, lambda out: _stream(url, out, progress=progress, timeout=timeout,
                                                fix=fix), check=check)
    except OSError as e:  # the cache or the temp file could not be created (_stream wraps its own)
        raise DataError(
            f"cannot write to the sketch cache {cache}: {e.strerror or e}",
            f"set {CACHE_ENV} to a writable folder, or pass --data-dir DIR with '{final.name}'",
        ) from e
    return final


def _stream(
    url: str,
    out: BinaryIO,
    *,
    progress: ProgressCallback | None,
    timeout: float,
    fix: str,
) -> None:
    """Copy ``url`` into the open file ``out``, checking the byte count against Content-Length.

    ``http.client`` returns a short body without complaint when the server closes early, so
    the length check here is what catches a truncated download.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "sketchrnn"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            if progress is not None:
                progress(0, total)
            while chunk := response.read(CHUNK_SIZE):
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except urllib.error.HTTPError as e:
        raise DownloadError(f"download of {url} failed: HTTP {e.code} {e.reason}", fix) from e
    except urllib.error.URLError as e:
        raise DownloadError(f"could not reach {url}: {e.reason}", fix) from e
    except TimeoutError as e:
        raise DownloadError(f"download of {url} timed out after {timeout:g} s", fix) from e
    except (OSError, http.client.HTTPException) as e:  # reset mid-body, bad chunking, disk full
        raise DownloadError(f"download of {url} failed: {e!r}", fix) from e
    if total is not None and done != total:
        raise DownloadError(f"download of {url} was cut short: got {done} of {total} bytes", fix)
