"""Joining Ray: `fit` and `tune` share one connect, so a bad --address is the same clean error."""

from __future__ import annotations

import socket

import pytest

from distributed_helpers import run_cli
from sketchrnn.distributed.cluster import probe
from sketchrnn.errors import SketchRNNError

DEAD = "127.0.0.1:1"  # nothing listens on port 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("command", [
    ["fit", "pig", "--workers", "1"],
    ["tune", "draw", "pig", "--samples", "1"],
])
def test_a_dead_address_is_one_line_and_exit_1(command, sketch_dir, tmp_path):
    # Ray itself retries such an address for minutes; the timeout makes that a failure.
    proc = run_cli(*command, "--address", DEAD, "--data-dir", str(sketch_dir), "--runs", str(tmp_path),
                   timeout=90)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stderr.splitlines() == [
        f"error: cannot join the Ray cluster at '{DEAD}': nothing answers there (Connection refused) "
        "(check --address / RAY_ADDRESS, or leave both unset to start a local Ray)"], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not list(tmp_path.glob("*/checkpoints"))  # nothing trained


def test_probe_accepts_a_listening_port_in_both_address_forms():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        probe(f"127.0.0.1:{port}")
        probe(f"ray://127.0.0.1:{port}")


def test_probe_refuses_a_closed_port_in_both_address_forms():
    port = _free_port()
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}/"):
        with pytest.raises(SketchRNNError, match="nothing answers there"):
            probe(address)


def test_probe_leaves_what_ray_resolves_itself_to_ray():
    for address in ("auto", "local", "no-port-here"):
        probe(address)  # no exception: ray.init reads RAY_ADDRESS / parses these itself
