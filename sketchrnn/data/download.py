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

import contextlib
import functools
import http.client
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sketchrnn._io import atomic_write
from sketchrnn.data.names import check_file_stem
from sketchrnn.errors import DataError, DownloadError, UnreachableError

BASE_URL = "https://storage.googleapis.com/quickdraw_dataset/sketchrnn"
MIRROR_ENV = "SKETCHRNN_MIRROR"
CACHE_ENV = "SKETCHRNN_CACHE"
CHUNK_SIZE = 1 << 16  # bytes per read; also how often progress is reported

# progress(bytes_done, bytes_total_or_None): called with 0 first, then after every chunk.
ProgressCallback = Callable[[int, int | None], None]

# Size caps, from the files themselves: the sketch-rnn QuickDraw .npy members hold about 430
# bytes per sketch (our shared copies of four categories), so a 75,000-sketch <name>.npz is
# about 32 MB and even a category of three times longer drawings stays near 100 MB. The
# .full.npz files hold every drawing of a category, at most about 340,000 (the largest QuickDraw
# categories): about 150 MB at that size, 450 MB at three times. The caps leave a wide margin.
MAX_BYTES = 256 * 2**20
MAX_FULL_BYTES = 2 * 2**30
# A download slower than this on average (after the first GRACE_S seconds) is abandoned: a
# 1-byte-per-2-s drip would otherwise never end. The overall deadline also covers what the rate
# cannot see (a server that drips its headers): a typical 32 MB file needs 2,000 s at the
# minimum rate, the largest .full.npz about 8 hours.
MIN_BYTES_PER_S = 16 * 1024
GRACE_S = 30.0
DEADLINE_S = 3600.0
FULL_DEADLINE_S = 12 * 3600.0


@dataclass(frozen=True)
class DownloadLimits:
    """How much, how slowly and for how long a download may arrive before it is abandoned."""

    max_bytes: int = MAX_BYTES  # announced (Content-Length) or received
    min_bytes_per_s: float = MIN_BYTES_PER_S  # average since the body started, judged after grace_s
    grace_s: float = GRACE_S
    stall_s: float = 60.0  # the longest wait for the connection, the headers or any next byte
    deadline_s: float = DEADLINE_S  # the whole transfer, connecting and headers included


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


def how_to_provide(files: str) -> str:
    """The ``fix`` shared by every download failure: the two ways to work without the bucket."""
    return (
        f"put {files} in a folder and pass --data-dir DIR, "
        f"or set {MIRROR_ENV} to a reachable copy of {BASE_URL}"
    )


def download_category(
    name: str,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    full: bool = False,
    progress: ProgressCallback | None = None,
    limits: DownloadLimits | None = None,
) -> Path:
    """Download category ``name`` into the cache and return the final path.

    ``name`` must be the canonical QuickDraw name (``"alarm clock"``); callers normalise it. A
    name that is not one plain file name (``../x``, ``a/b``, ``.x``, control characters) is a
    ``DataError``.
    Raises ``DownloadError`` naming the URL on HTTP errors, unreachable hosts, short bodies,
    bodies beyond ``limits`` (size, speed, stalls; default :func:`limits_for`) and files that do
    not load; nothing is left in the cache in those cases.
    """
    from sketchrnn.data.npz import load_npz  # lazy: keeps this module importable on its own

    check_file_stem(name, "category name")  # '../../x' would write outside the cache
    url = category_url(name, base_url=base_url, full=full)
    fix = how_to_provide(f"'{file_name(name, full=full)}'")
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

    return download_file(url, final, check=check, limits=limits or limits_for(full=full), fix=fix,
                         progress=progress, write_fix=f"or pass --data-dir DIR with '{final.name}'")


def download_file(url: str, final: Path, *, check: Callable[[Path], Any], limits: DownloadLimits,
                  fix: str, progress: ProgressCallback | None = None, write_fix: str = "") -> Path:
    """Stream ``url`` within ``limits`` into a temp file beside ``final``, run ``check`` on it,
    then rename it to ``final`` (any download, not only sketch data: e.g. pretrained models).

    Any failure, Ctrl-C included, leaves no partial file (atomic_write's promise); network
    failures are ``DownloadError``s naming ``url`` with ``fix``.
    """
    try:
        return atomic_write(final, lambda out: _stream(url, out, progress=progress, limits=limits,
                                                       fix=fix), check=check)
    except OSError as e:  # the cache or the temp file could not be created (_stream wraps its own)
        raise DataError(
            f"cannot write to the sketch cache {final.parent}: {e.strerror or e}",
            f"set {CACHE_ENV} to a writable folder" + (f", {write_fix}" if write_fix else ""),
        ) from e


def limits_for(*, full: bool) -> DownloadLimits:
    """The default limits for a category file (``full``: the larger ``.full.npz``)."""
    if full:
        return DownloadLimits(max_bytes=MAX_FULL_BYTES, deadline_s=FULL_DEADLINE_S)
    return DownloadLimits()


def _stream(
    url: str,
    out: BinaryIO,
    *,
    progress: ProgressCallback | None,
    limits: DownloadLimits,
    fix: str,
) -> None:
    """Copy ``url`` into the open file ``out`` within ``limits``, checking the byte count
    against Content-Length.

    ``http.client`` returns a short body without complaint when the server closes early, so
    the length check here is what catches a truncated download.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "sketchrnn"})
    with _Deadline(limits.deadline_s) as deadline:
        try:
            with _opener(deadline).open(request, timeout=limits.stall_s) as response:
                done, total = _copy_body(response, out, url=url, limits=limits, progress=progress,
                                         fix=fix)
        except (OSError, http.client.HTTPException) as e:  # URLError and TimeoutError included
            if deadline.expired:
                raise deadline.error(url, fix) from e
            raise _explain(e, url, limits, fix) from e
    if deadline.expired:  # the shut socket ended the body early
        raise deadline.error(url, fix)
    if total is not None and done != total:
        raise DownloadError(f"download of {url} was cut short: got {done} of {total} bytes", fix)


def _explain(e: Exception, url: str, limits: DownloadLimits, fix: str) -> DownloadError:
    """One line for a network failure."""
    if isinstance(e, urllib.error.HTTPError):
        return DownloadError(f"download of {url} failed: HTTP {e.code} {e.reason}", fix)
    if isinstance(e, urllib.error.URLError):
        return UnreachableError(f"could not reach {url}: {e.reason}", fix)
    if isinstance(e, TimeoutError):
        return DownloadError(f"download of {url} stalled: no data for {limits.stall_s:g} s", fix)
    return DownloadError(f"download of {url} failed: {e!r}", fix)  # reset, bad chunking, disk full


class _Deadline:
    """Shuts the download's sockets when the deadline passes, wherever the download is blocked
    (connecting, headers, body): a per-read timeout alone never ends a slow drip."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.expired = seconds, False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def error(self, url: str, fix: str) -> DownloadError:
        return DownloadError(f"download of {url} took longer than {self.seconds:g} s", fix)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class _Watched:
    """A connection that hands its socket to a ``_Deadline`` once connected."""

    def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = deadline

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._deadline.watch(self.sock)  # type: ignore[attr-defined]


class _WatchedHTTP(_Watched, http.client.HTTPConnection):
    pass


class _WatchedHTTPS(_Watched, http.client.HTTPSConnection):
    pass


def _opener(deadline: _Deadline) -> urllib.request.OpenerDirector:
    """urllib's opener (proxies, redirects, file:// included) with watched connections."""

    class HTTP(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> Any:
            return self.do_open(functools.partial(_WatchedHTTP, deadline=deadline), req)

    class HTTPS(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> Any:
            return self.do_open(functools.partial(_WatchedHTTPS, deadline=deadline), req,
                                context=self._context)

    return urllib.request.build_opener(HTTP, HTTPS)


def _copy_body(response: Any, out: BinaryIO, *, url: str, limits: DownloadLimits,
               progress: ProgressCallback | None, fix: str) -> tuple[int, int | None]:
    """``(bytes copied, Content-Length or None)``; a ``DownloadError`` as soon as a limit is hit."""
    length = response.headers.get("Content-Length") if response.headers else None
    total = int(length) if length and length.isdigit() else None
    if total is not None and total > limits.max_bytes:
        raise DownloadError(f"download of {url} refused: the server announces {total:,} bytes, "
                            f"more than the {limits.max_bytes:,} a sketch-rnn file can need", fix)
    # read1 returns whatever one receive brings, so the checks below run even on a trickle;
    # read(n) would block until n bytes arrived.
    read = getattr(response, "read1", response.read)
    start, done = time.monotonic(), 0
    if progress is not None:
        progress(0, total)
    while chunk := read(CHUNK_SIZE):
        out.write(chunk)
        done += len(chunk)
        if done > limits.max_bytes:
            raise DownloadError(f"download of {url} stopped: more than {limits.max_bytes:,} "
                                "bytes, more than a sketch-rnn file can need", fix)
        elapsed = time.monotonic() - start
        if elapsed > limits.grace_s and done < limits.min_bytes_per_s * elapsed:
            raise DownloadError(f"download of {url} is too slow: {done:,} bytes in {elapsed:.0f} s "
                                f"(at least {limits.min_bytes_per_s:,.0f} bytes/s are needed)", fix)
        if progress is not None:
            progress(done, total)
    return done, total
