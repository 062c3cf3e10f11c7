"""`sketchrnn tune predict` end to end: the real CLI, a real local Ray cluster, tiny models.

Ray starts slowly on small machines, so one sweep serves every test: three trials of ten steps
(evaluation every five), one at a time. The first run is interrupted with SIGINT (what Ctrl-C
sends) once a trial has finished; the second, the same command again, resumes it. The space
lets some trials pick a model name that does not exist, so a crashing trial is part of the sweep.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tuning_helpers import REPO, cli_command, cli_env, helpers, run_cli

pytestmark = pytest.mark.e2e

CATEGORIES = "cat,pig,sun"
# With seed 1, Ray's random search draws classifier, no_such_model, classifier (checked below).
SPACE = """\
predict.model.name: {choice: [classifier, no_such_model]}
predict.train.lr: {loguniform: [1.0e-3, 1.0e-2]}
predict.model.head_hidden: {choice: [16, 32]}
data.truncate_max: {uniform: [0.3, 0.6]}
"""


def _args(data: Path, runs: Path, space: Path) -> list[str]:
    sets = ["data.batch_size=16", "data.max_seq_len=60", "predict.loss.name=classification",
            "predict.train.eval_every=5", "predict.train.checkpoint_every=5", "predict.train.eval_batches=2",
            "predict.train.seed=1"]
    return ["tune", "predict", "--categories", CATEGORIES, "--space", str(space), "--search", "random", "--samples", "3",
            "--max-concurrent", "1", "--steps", "10", "--preset", "tiny", "--data-dir", str(data),
            "--runs", str(runs), *[a for s in sets for a in ("--set", s)]]


def _finished_trials(sweep: Path) -> list[Path]:
    """Trials whose loop has ended: the test metrics are in the latest checkpoint (written last)."""
    found = []
    for meta in sweep.glob("*/job/checkpoints/latest/meta.json"):
        try:
            if "test_loss" in json.loads(meta.read_text()).get("metrics", {}):
                found.append(meta.parents[3])
        except ValueError:  # being replaced right now
            continue
    return found


@pytest.fixture(scope="module")
def sweep(sketch_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("tune")
    space = root / "space.yaml"
    space.write_text(SPACE)
    runs, args = root / "runs", _args(sketch_dir, root / "runs", space)
    sweep_dir = runs / "tune-predict"

    start = time.perf_counter()
    proc = subprocess.Popen(cli_command(*args), cwd=REPO, env=cli_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not _finished_trials(sweep_dir) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)  # the driver only, like Ctrl-C would reach it
    out1, err1 = proc.communicate(timeout=180)
    first = SimpleNamespace(returncode=proc.returncode, stdout=out1, stderr=err1,
                            wall=time.perf_counter() - start)
    done_first = {p.name: (p / "job" / "metrics.jsonl").stat().st_mtime_ns for p in _finished_trials(sweep_dir)}
    trials_first = sorted(p.name for p in sweep_dir.iterdir() if (p / "params.json").exists())

    start = time.perf_counter()
    second = run_cli(*args, timeout=400)
    print(f"\ninterrupted run: {first.wall:.0f} s wall; resumed run: {time.perf_counter() - start:.0f} s wall")
    return SimpleNamespace(first=first, second=second, dir=sweep_dir, done_first=done_first,
                           trials_first=trials_first, args=args)


def _trials(sweep_dir: Path) -> dict[str, dict]:
    return {p.name: json.loads((p / "params.json").read_text()) for p in sweep_dir.iterdir()
            if (p / "params.json").exists()}


def test_the_interrupted_run_says_how_to_resume(sweep):
    first = sweep.first
    assert first.returncode == 130, first.stdout[-3000:] + first.stderr[-3000:]
    assert "run the same command again to resume" in first.stdout
    assert sweep.done_first, "no trial finished before the interruption"


def test_rays_own_messages_stay_off_the_terminal_also_on_ctrl_c(sweep):
    ray_line = helpers().RAY_LINE
    for run in (sweep.first, sweep.second):  # interrupted (Ray shut down on SIGINT), then completed
        output = run.stdout + run.stderr
        assert not [line for line in output.splitlines() if ray_line.search(line)], output[-3000:]
        assert f"Ray's logs: {sweep.dir / 'ray-logs'}/ (--verbose shows them here)" in output
    assert (sweep.dir / "ray-logs").resolve().name == "logs"


def test_the_same_command_resumes_the_sweep(sweep):
    second = sweep.second
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-3000:]
    assert "resuming sweep" in second.stdout and ", resumed" in second.stdout
    trials = _trials(sweep.dir)
    context = f"before: {sweep.trials_first}, after: {sorted(trials)}\n{second.stdout[-4000:]}"
    assert len(trials) == 3 and set(sweep.trials_first) <= set(trials), context  # restored, not restarted
    assert len({t.split("_")[0] for t in trials}) == 1, context  # one experiment
    for name, mtime in sweep.done_first.items():  # finished trials were not trained again
        assert (sweep.dir / name / "job" / "metrics.jsonl").stat().st_mtime_ns == mtime, f"{name}: {context}"


def test_the_results_table_lists_every_trial_and_the_crash(sweep):
    out = sweep.second.stdout
    trials = _trials(sweep.dir)
    names = sorted(trials, key=lambda t: t.split("_")[-1])
    assert [trials[t]["predict.model.name"] for t in names] == ["classifier", "no_such_model", "classifier"], (
        f"{trials}\nfirst run:\n{sweep.first.stdout[-3000:]}\nsecond run:\n{out[-3000:]}")
    assert "tune-predict: 3 trials" in out and "ASHA on valid_accuracy (max)" in out
    table = out.split("tune-predict: 3 trials (", 1)[1]  # the results, after the live progress table
    for trial in names:
        assert trial in table
    crashed = names[1]
    row = next(line for line in table.splitlines() if f"│ {crashed}" in line)
    assert "ERROR" in row
    assert f"ERROR {crashed}: " in out and "no_such_model" in out.split(f"ERROR {crashed}: ")[1].splitlines()[0]
    assert not (sweep.dir / crashed / "job" / "checkpoints").exists()


def test_best_config_trains_with_fit(sweep, tmp_path):
    info = json.loads((sweep.dir / "best.json").read_text())
    assert info["params"]["predict.model.name"] == "classifier" and info["metric"] == "valid_accuracy"
    assert Path(info["checkpoint"], "model.safetensors").exists()
    assert (sweep.dir / "trials.png").read_bytes()[:4] == b"\x89PNG"
    proc = run_cli("fit", "--only", "predict", "--categories", CATEGORIES, "--config", info["config"],
                   "--steps", "2", "--runs", str(tmp_path), "--workers", "0")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    meta = json.loads((tmp_path / "predict" / "checkpoints" / "latest" / "meta.json").read_text())
    assert meta["model_kwargs"]["head_hidden"] == info["params"]["predict.model.head_hidden"]
    assert meta["model_kwargs"]["enc_hidden"] == 16  # the tiny preset, resolved into best.yaml
