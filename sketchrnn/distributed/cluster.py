"""Start or join Ray, for `fit --workers N` and `tune` alike: one place that calls `ray.init`.

`--address` (or RAY_ADDRESS) joins a running cluster; without it a private, quiet local Ray is
started (`address="local"`: never a `ray start` cluster on this machine by accident) and shut
down again at the end. A bad address is a one-line `SketchRNNError`, and fast: Ray itself
retries an address where nothing listens for minutes (20 attempts of ~40 s), so the address is
first probed with a plain TCP connection.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sketchrnn.errors import SketchRNNError

# Defaults for Ray Train (the user's environment wins). Starting many worker processes on a busy
# machine can take longer than Train's 60 s worker-group start timeout.
RAY_ENV = {"RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S": "600"}
# Only for the private local instance: nothing preempts it, and each job saves one actor process.
RAY_LOCAL_ENV = {"RAY_TRAIN_ENABLE_PREEMPTION_WATCHER": "0"}
PROBE_TIMEOUT_S = 5.0
ADDRESS_FIX = "check --address / RAY_ADDRESS, or leave both unset to start a local Ray"
UNKNOWN_LOGS = "the Ray session's logs/ folder"


@dataclass(frozen=True)
class RaySession:
    owned: bool  # started (or joined) here, so shut down here
    logs: str  # where the workers' logs are, for failure messages


@contextmanager
def ray_session(address: str | None) -> Iterator[RaySession]:
    """Ray for the duration of the block; shut down afterwards if this call connected it."""
    session = connect(address)
    try:
        yield session
    finally:
        if session.owned:
            import ray

            ray.shutdown()  # the driver owns every controller and worker: they all go with it


def connect(address: str | None) -> RaySession:
    """Join `address`, or start a private local Ray; reuse one already initialised (a test's)."""
    import ray

    if ray.is_initialized():
        return RaySession(owned=False, logs=UNKNOWN_LOGS)
    for key, value in {**RAY_ENV, **({} if address else RAY_LOCAL_ENV)}.items():
        os.environ.setdefault(key, value)  # read by ray.init, the raylet and Train's controllers
    quiet = dict(logging_level=logging.ERROR, log_to_driver=False)
    if address:
        probe(address)
        try:
            ctx = ray.init(address=address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise SketchRNNError(f"cannot join the Ray cluster at {address!r}: {exc}".replace("\n", " "),
                                 ADDRESS_FIX) from exc
    else:
        ctx = ray.init(address="local", include_dashboard=False, **quiet)
    session_dir = (getattr(ctx, "address_info", None) or {}).get("session_dir")
    return RaySession(owned=True, logs=f"{session_dir}/logs" if session_dir else UNKNOWN_LOGS)


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
