"""Start or join Ray, for `fit --workers N` and `tune` alike: one place that calls `ray.init`.

`--address` (or RAY_ADDRESS) joins a running cluster; without it a private, quiet local Ray is
started (`address="local"`: never a `ray start` cluster on this machine by accident) and shut
down again at the end. A bad address is a one-line `SketchRNNError`, and fast: Ray itself
retries an address where nothing listens for minutes (20 attempts of ~40 s), so the address is
first probed with a plain TCP connection.

Ray's own messages stay off the user's terminal unless `verbose`: the workers' output and Ray's
log records are not forwarded to the driver (`log_to_driver=False`, `logging_level=ERROR`), and
the raylet's messages (worker-start warnings, errors of killed workers), which Ray prints on the
driver's stdout whatever `log_to_driver` says, go to `raylet-messages.log` in the session's
logs folder, and the driver's "ray" logger to `ray-driver.log` there. That folder is linked
as `<log_dir>/ray-logs`, so the run's folder leads to them.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sketchrnn.errors import SketchRNNError

# Defaults for Ray Train (the user's environment wins). Starting many worker processes on a busy
# machine can take longer than Train's 60 s worker-group start timeout.
RAY_ENV = {"RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S": "600"}
# Only for the private local instance: nothing preempts it, and each job saves one actor process.
RAY_LOCAL_ENV = {"RAY_TRAIN_ENABLE_PREEMPTION_WATCHER": "0"}
PROBE_TIMEOUT_S = 5.0
ADDRESS_FIX = "check --address / RAY_ADDRESS, or leave both unset to start a local Ray"
TOKEN_FIX = ("give this driver the cluster's token: RAY_AUTH_MODE=token and RAY_AUTH_TOKEN, "
             "RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token")
UNKNOWN_LOGS = "the Ray session's logs/ folder"
LOG_LINK = "ray-logs"  # <log_dir>/ray-logs -> the Ray session's logs folder
RAYLET_MESSAGES = "raylet-messages.log"
DRIVER_LOG = "ray-driver.log"  # the driver's own Ray log records (e.g. Tune's failed-trial tracebacks)


@dataclass(frozen=True)
class RaySession:
    owned: bool  # started (or joined) here, so shut down here
    logs: str  # where the workers' logs are, for failure messages


@contextmanager
def ray_session(address: str | None, *, log_dir: Path | None = None,
                verbose: bool = False) -> Iterator[RaySession]:
    """Ray for the duration of the block; shut down afterwards (Ctrl-C included) if this call
    connected it. Ray's messages: see the module docstring."""
    session = connect(address, log_dir=log_dir, verbose=verbose)
    try:
        yield session
    finally:
        if session.owned:
            import ray

            ray.shutdown()  # the driver owns every controller and worker: they all go with it
            _undo_redirections()


def connect(address: str | None, *, log_dir: Path | None = None, verbose: bool = False) -> RaySession:
    """Join `address`, or start a private local Ray; reuse one already initialised (a test's)."""
    import ray

    if ray.is_initialized():
        return RaySession(owned=False, logs=UNKNOWN_LOGS)
    for key, value in {**RAY_ENV, **({} if address else RAY_LOCAL_ENV)}.items():
        os.environ.setdefault(key, value)  # read by ray.init, the raylet and Train's controllers
    quiet = dict(logging_level=logging.INFO if verbose else logging.ERROR, log_to_driver=verbose)
    if address:
        probe(address)
        try:
            ctx = ray.init(address=address, **quiet)
        except ray.exceptions.AuthenticationError as exc:  # token authentication, no token here
            first = str(exc).split(". ")[0]
            raise SketchRNNError(f"cannot join the Ray cluster at {address!r}: {first}", TOKEN_FIX) from exc
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise SketchRNNError(f"cannot join the Ray cluster at {address!r}: {exc}".replace("\n", " "),
                                 f"{ADDRESS_FIX}; {TOKEN_FIX} if it uses token authentication") from exc
    else:
        ctx = ray.init(address="local", include_dashboard=False, **quiet)
    session_dir = (getattr(ctx, "address_info", None) or {}).get("session_dir")
    logs = Path(session_dir) / "logs" if session_dir else None
    if logs is not None and logs.is_dir():  # not so for a ray:// client
        if not verbose:
            _print_raylet_messages_to(logs / RAYLET_MESSAGES)
            _log_ray_records_to(logs / DRIVER_LOG)
        if log_dir is not None:
            _link(Path(log_dir) / LOG_LINK, logs)
    return RaySession(owned=True, logs=str(logs) if logs else UNKNOWN_LOGS)


def _print_raylet_messages_to(path: Path) -> None:
    """Ray's driver thread that listens for the raylet's messages prints each with
    `ray._private.worker.print_to_stdstream` (Ray 2.x, a private name): send them to `path`."""
    import ray._private.worker as ray_worker

    if not hasattr(ray_worker, "print_to_stdstream"):
        return  # another Ray version: its messages stay on the terminal
    original = ray_worker.print_to_stdstream

    def to_file(data: dict, ignore_prefix: bool) -> None:
        with open(path, "a", encoding="utf-8") as sink:
            ray_worker.print_worker_logs(data, sink, ignore_prefix)

    ray_worker.print_to_stdstream = to_file
    _UNDO.append(lambda: setattr(ray_worker, "print_to_stdstream", original))


def _log_ray_records_to(path: Path) -> None:
    """The driver's "ray" logger (Tune's controller logs each failed trial with its traceback
    there, although the CLI reports it) writes to `path` instead of stderr."""
    ray_logger = logging.getLogger("ray")
    original = list(ray_logger.handlers)
    to_file = logging.FileHandler(path, encoding="utf-8", delay=True)
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for handler in original:
        ray_logger.removeHandler(handler)
    ray_logger.addHandler(to_file)

    def undo() -> None:
        ray_logger.removeHandler(to_file)
        to_file.close()
        for handler in original:
            ray_logger.addHandler(handler)

    _UNDO.append(undo)


def _undo_redirections() -> None:
    while _UNDO:
        _UNDO.pop()()


_UNDO: list[Callable[[], None]] = []  # what connect() redirected, undone after ray.shutdown()


def _link(link: Path, target: Path) -> None:
    """`link` -> `target`, replacing an older link; a real file or folder there is left alone."""
    if link.is_symlink():
        link.unlink()
    elif link.exists():
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target, target_is_directory=True)


def probe(address: str) -> None:
    """Fail at once when nothing accepts connections at `address` (host:port or ray://host:port).

    Addresses Ray resolves itself ("auto", "local") and ones that do not parse are left to
    `ray.init`, which reports them quickly.
    """
    host_port = address.removeprefix("ray://").rstrip("/")
    host, sep, port = host_port.rpartition(":")
    if not sep or not host or not port.isdigit():
        return
    host = host.strip("[]")  # [::1]:6379
    try:
        with socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SketchRNNError(f"cannot join the Ray cluster at {address!r}: nothing answers there ({reason})",
                             ADDRESS_FIX) from exc
