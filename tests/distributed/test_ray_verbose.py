"""`fit --verbose` shows Ray's own messages on the terminal (by default they stay in
`<runs>/ray-logs/`, see test_fit_ray.py): a tiny one-worker job whose worker is killed once."""

from __future__ import annotations

import pytest

from distributed_helpers import RAY_LINE, fault_injection_env, run_cli

pytestmark = pytest.mark.e2e


def test_verbose_shows_rays_messages(sketch_dir, tmp_path):
    runs = tmp_path / "runs"
    proc = run_cli("fit", "cat", "--workers", "1", "--verbose", "--steps", "4", "--data-dir", str(sketch_dir),
                   "--preset", "tiny", "--runs", str(runs), "--set", "data.batch_size=16",
                   "--set", "draw.train.eval_every=2", "--set", "draw.train.checkpoint_every=2",
                   env=fault_injection_env("draw-cat:3"))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert (runs / "draw-cat" / ".fault_injected").exists(), "the fault was never injected"
    assert f"Ray's logs: {runs / 'ray-logs'}/\n" in output
    ray_lines = [line for line in output.splitlines() if RAY_LINE.search(line)]
    assert ray_lines, output[-3000:]  # the killed worker, as Ray reports it
    assert not (runs / "ray-logs" / "raylet-messages.log").exists()  # printed, not filed away
