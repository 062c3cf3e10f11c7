"""The server's connection limits, deadlines and model-call parallelism (``server`` and ``app``
apply them; the CLI shows them). Kept apart so that `sketchrnn serve --help` imports nothing big.

Model calls: up to ``usable_cores()`` run at once (a thread pool), each with ``TORCH_THREADS``
torch threads. One thread per call because the served models are small: a 60-point sketch is a
few hundred tiny matmuls, where torch's intra-op threads only add hand-offs and spinning. With
torch's default (one thread per core in every call) and a call per core, a 2-core machine ran
4 threads on 2 cores, and one predict took 235 ms instead of 8 ms on a busy machine (a
completion 911 ms instead of 21 ms; docs/benchmarks.md).
"""

from __future__ import annotations

import os

HEADER_TIMEOUT_S = 10.0  # request headers complete this long after connecting or a response
BODY_TIMEOUT_S = 10.0  # the largest accepted body (256 KiB) at 25 KiB/s
KEEP_ALIVE_S = 5  # an idle keep-alive connection closes after this
MAX_CONNECTIONS = 256  # uvicorn's limit_concurrency: past it, requests get 503 at once
TORCH_THREADS = 1  # per model call (see the module docstring); `serve --threads` overrides


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a container's share), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
