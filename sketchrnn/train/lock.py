"""Per-job lock files: one `sketchrnn fit` at a time trains a job folder.

Two fits on one runs folder would train the same job, overwrite each other's checkpoints and
write every metrics row twice. So the process that prepares the jobs (the CLI, or the Ray
driver) holds `<job>/fit.lock` until it is done, and a second fit stops with an error that
names the holder.

* **Created atomically** with ``O_CREAT | O_EXCL``, which a shared filesystem (NFS v3+) also
  honours: of two processes creating it at once, exactly one succeeds.
* **What it says**: who holds it (holder, user, PID, host, start time) as JSON, and a token that
  tells this holder's file from a newer one.
* **Heartbeat**: the holder touches the file every `HEARTBEAT_S`; a background thread does it
  while the jobs train.
* **Stale locks are taken over**: one whose holder ran on this host and is gone (its PID is
  dead: a `kill -9`, a crash), or whose heartbeat is older than `STALE_AFTER_S` (a holder on
  another host that died; the only sign it leaves on a shared filesystem).
* **Released** on exit, on errors and on Ctrl-C (the holder uses it as a context manager).
* **On object storage** (`--runs s3://...`) the same rules run over `ObjectLockFiles`: the lock
  is an object, created with the store's conditional put where it has one (`storage`), its
  heartbeat a rewrite (the object's modification time is the store's clock), its takeover
  a read-compare-delete that, unlike the rename above, can race (cluster/README.md).
"""

from __future__ import annotations

import datetime
import errno
import getpass
import json
import os
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any

from sketchrnn.errors import JobLockedError
from sketchrnn.storage import RunsStore

LOCK_NAME = "fit.lock"
HEARTBEAT_S = 30.0
STALE_AFTER_S = 300.0  # ten missed heartbeats; leaves room for clock skew between hosts
TAKEOVER_TRIES = 5


class JobLock:
    """One held lock file. `acquire` creates it; `release` removes it (only if still ours)."""

    def __init__(self, path: Any, token: str, files: Any = None) -> None:
        self.path, self.token = path, token
        self.files = files or PosixLockFiles()

    @classmethod
    def acquire(cls, job_dir: Path, holder: str = "sketchrnn fit", files: Any = None) -> JobLock:
        """Take `job_dir`'s lock, taking over a stale one; JobLockedError when a live fit holds it.
        `files`: where locks live (default: POSIX files; `ObjectLockFiles` for object storage)."""
        files = files or PosixLockFiles()
        path = files.lock_path(job_dir)
        where = files.where(job_dir)
        token = secrets.token_hex(8)
        for _ in range(TAKEOVER_TRIES):
            if files.create(path, _record(holder, token)):
                return cls(path, token, files)
            seen = parse_record(files.read(path))
            if seen is None:  # released between our attempt and our read: try again
                continue
            if not is_stale(seen, files.mtime(path)):
                raise JobLockedError(f"{where} is in use by {describe(seen)}",
                                     "wait for that run to finish or stop it, or use another --runs folder")
            files.remove_if_same(path, seen)
        raise JobLockedError(f"{where}: could not take over its stale lock {path}",
                             "another fit is starting on it at the same time; try again")

    def heartbeat(self) -> None:
        self.files.touch(self.path)

    def release(self) -> None:
        """Remove the lock if it is still ours (and a local job folder if the lock was all in it)."""
        seen = parse_record(self.files.read(self.path))
        if seen is not None and seen.get("token") == self.token:
            self.files.remove(self.path)
        self.files.cleanup(self.path)


class LockSet:
    """The locks of every job of one fit, kept alive by one heartbeat thread until released."""

    def __init__(self) -> None:
        self.locks: list[JobLock] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, job_dir: Path, files: Any = None) -> None:
        self.locks.append(JobLock.acquire(job_dir, files=files))
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="fit-lock-heartbeat", daemon=True)
            self._thread.start()

    def release(self) -> None:
        self._stop.set()
        for lock in self.locks:
            lock.release()
        self.locks = []

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            for lock in list(self.locks):
                lock.heartbeat()


def read_lock(path: Path) -> dict[str, Any] | None:
    """The lock file's record; {} for a lock being written (or garbage); None when there is none."""
    return parse_record(PosixLockFiles().read(path))


def parse_record(text: str | None) -> dict[str, Any] | None:
    """A JSON object's text -> the dict; {} for anything else; None for no text."""
    if text is None:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def is_stale(record: dict[str, Any], mtime: float | None, now: float | None = None) -> bool:
    """Whether a lock's holder is gone: same host and dead PID, or no heartbeat for too long."""
    now = time.time() if now is None else now
    if mtime is None or now - mtime > STALE_AFTER_S:
        return True
    pid = record.get("pid")
    return (record.get("host") == socket.gethostname() and isinstance(pid, int)
            and not isinstance(pid, bool) and not _pid_alive(pid))


def describe(record: dict[str, Any]) -> str:
    if not record:
        return "another fit that is just starting"
    return (f"{record.get('holder', 'another fit')} (user {record.get('user', '?')}, "
            f"pid {record.get('pid', '?')} on {record.get('host', '?')}, since {record.get('started', '?')})")


def _record(holder: str, token: str) -> str:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        user = "?"
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return json.dumps({"holder": holder, "user": user, "pid": os.getpid(), "host": socket.gethostname(),
                       "started": started, "token": token})


class PosixLockFiles:
    """Lock files on a POSIX (or NFS) filesystem."""

    def lock_path(self, job_dir: Path) -> Path:
        Path(job_dir).mkdir(parents=True, exist_ok=True)
        return Path(job_dir) / LOCK_NAME

    def where(self, job_dir: Path) -> str:
        return str(job_dir)

    def create(self, path: Path, text: str) -> bool:
        return _create(path, text)

    def read(self, path: Path) -> str | None:
        """The text; None when there is no file; "" when it cannot be read (garbage)."""
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError:
            return ""

    def mtime(self, path: Path) -> float | None:
        return _mtime(path)

    def touch(self, path: Path) -> None:
        try:
            os.utime(path)
        except OSError:  # removed by hand: nothing to keep alive
            pass

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def remove_if_same(self, path: Path, stale: dict[str, Any]) -> None:
        _remove_if_same(path, stale)

    def cleanup(self, path: Path) -> None:
        try:
            path.parent.rmdir()  # only succeeds when empty: a job that never started
        except OSError:
            pass


class ObjectLockFiles:
    """Lock objects in a runs folder on object storage (`job_dir` is the job's name)."""

    def __init__(self, store: RunsStore) -> None:
        self.store = store

    def lock_path(self, job_dir: Path) -> str:
        return f"{Path(job_dir).name}/{LOCK_NAME}"

    def where(self, job_dir: Path) -> str:
        return self.store.where(Path(job_dir).name)

    def create(self, path: str, text: str) -> bool:
        return self.store.create_exclusive(path, text.encode())

    def read(self, path: str) -> str | None:
        data = self.store.read(path)
        return None if data is None else data.decode("utf-8", "replace")

    def mtime(self, path: str) -> float | None:
        return self.store.mtime(path)

    def touch(self, path: str) -> None:
        data = self.store.read(path)
        if data is not None:  # a rewrite: object stores have no utime
            self.store.put(path, data)

    def remove(self, path: str) -> None:
        self.store.delete(path)

    def remove_if_same(self, path: str, stale: dict[str, Any]) -> None:
        seen = parse_record(self.read(path))
        if seen is not None and seen.get("token") == stale.get("token"):
            self.store.delete(path)

    def cleanup(self, path: str) -> None:
        """Nothing: object stores have no empty folders."""


def _create(path: Path, text: str) -> bool:
    """Create `path` holding `text` if it does not exist; False if it does."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return True


def _remove_if_same(path: Path, stale: dict[str, Any]) -> None:
    """Remove the stale lock `stale`, but never a fresh one that replaced it meanwhile: move it
    aside under a unique name first (atomic), then check what was moved."""
    aside = path.with_name(f".{path.name}.stale-{secrets.token_hex(4)}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    moved = read_lock(aside)
    if moved is not None and moved.get("token") != stale.get("token"):
        try:  # someone else's new lock: put it back (a link never replaces an existing name)
            os.link(aside, path)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
    aside.unlink(missing_ok=True)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True
