"""The sweep's pure parts: resources, resume checks, per-trial rows, the best config, the plot."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from sketchrnn.config_sources import load_config
from sketchrnn.errors import ConfigError, SketchRNNError
from sketchrnn.tuning.report import best_row, plot_trials, resolved_config, summarise, write_best
from sketchrnn.tuning.space import parse_space
from sketchrnn.tuning.sweep import SweepRun, SweepSpec, plan_resources, prepare_dir
from sketchrnn.tuning.trial import TrialFailed, final_valid_metrics, valid_metrics


def make_spec(tmp_path: Path, **kw) -> SweepSpec:
    space = parse_space({"predict.train.lr": {"loguniform": [1e-4, 1e-2]},
                         "predict.model.head_hidden": {"choice": [16, 32]}}, "predict")
    args = dict(task="predict", categories=["cat", "pig"], base={"draw": {"model": {"preset": "tiny"}}, "predict": {"model": {"preset": "tiny"}}},
                space=space, steps=10, eval_every=5, seed=0, runs_dir=tmp_path / "runs", samples=3)
    return SweepSpec(**{**args, **kw})


def test_sweep_names():
    spec = make_spec(Path("/r"))
    assert spec.name == "tune-predict" and spec.sweep_dir == Path("/r/runs/tune-predict").resolve()
    assert make_spec(Path("/r"), task="draw", categories=["alarm clock"]).name == "tune-draw-alarm_clock"


@pytest.mark.parametrize("cpus, gpus, kw, expected", [
    (2, 0, {}, (2, 0.99, 0.0)),  # two trials at once, each worker nearly one CPU
    (2, 0, {"max_concurrent": 1}, (1, 1.0, 0.0)),
    (16, 0, {"workers_per_trial": 2}, (3, 2.0, 0.0)),  # capped by --samples 3
    (8, 2, {}, (2, 3.0, 1.0)),  # one GPU per worker: two trials
    (8, 2, {"device": "cpu"}, (3, 2.0, 0.0)),
])
def test_plan_resources_shares_the_cluster(tmp_path, cpus, gpus, kw, expected):
    assert plan_resources(make_spec(tmp_path, **kw), {"CPU": cpus, "GPU": gpus}) == expected


def test_plan_resources_refuses_impossible_trials(tmp_path):
    with pytest.raises(ConfigError, match="a trial needs 2 GPUs but the cluster has 1"):
        plan_resources(make_spec(tmp_path, workers_per_trial=2), {"CPU": 8, "GPU": 1})


def test_a_rerun_with_other_settings_is_refused_unless_fresh(tmp_path):
    assert prepare_dir(make_spec(tmp_path)) is False  # nothing to restore yet
    assert prepare_dir(make_spec(tmp_path)) is False  # same settings: fine
    with pytest.raises(SketchRNNError, match=r"started with other settings \(base, samples\)"):
        prepare_dir(make_spec(tmp_path, samples=5, base={}))
    assert prepare_dir(make_spec(tmp_path, samples=5, fresh=True)) is False
    assert json.loads((make_spec(tmp_path).sweep_dir / "sweep.json").read_text())["samples"] == 5


def test_valid_rows_become_tune_metrics():
    assert valid_metrics({"job": "t", "step": 5, "split": "valid", "loss": 1.5, "accuracy": 0.5}) == {
        "valid_loss": 1.5, "valid_accuracy": 0.5, "step": 5}
    assert valid_metrics({"job": "t", "step": 5, "split": "train", "loss": 1.5}) is None


def test_a_finished_trial_hands_tune_its_recorded_validation_metrics(tiny_runs):
    # A trial restored after finishing must still give Tune a result with the sweep's metric.
    recorded = json.loads((tiny_runs / "predict" / "checkpoints" / "latest" / "meta.json").read_text())
    final = final_valid_metrics(tiny_runs / "predict")
    assert final["valid_accuracy"] == recorded["metrics"]["valid_accuracy"]
    assert final["step"] == recorded["step"]
    assert final_valid_metrics(tiny_runs / "no-such-job") is None


def _trial(root: Path, trial_id: str, params: dict, valid: list[tuple[int, float]], error=None):
    job = root / trial_id / "job"
    job.mkdir(parents=True)
    rows = [{"job": trial_id, "step": s, "split": "valid", "loss": 1.0, "accuracy": a} for s, a in valid]
    (job / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return SimpleNamespace(path=str(root / trial_id), config=params, error=error)


def test_trials_are_ranked_and_labelled(tmp_path):
    spec = make_spec(tmp_path)
    root = spec.sweep_dir
    results = [
        _trial(root, "t0", {"predict.train.lr": 1e-3}, [(5, 0.4), (10, 0.5)]),
        _trial(root, "t1", {"predict.train.lr": 2e-3}, [(5, 0.2)]),  # stopped by ASHA
        _trial(root, "t2", {"predict.train.lr": 3e-3}, [(5, 0.7), (10, 0.6)]),
        _trial(root, "t3", {"predict.train.lr": 4e-3}, [], error=TrialFailed("PluginError: no model 'x'")),
        _trial(root, "t4", {"predict.train.lr": 5e-3}, [(5, 0.3)]),  # cut off by Ctrl-C
    ]
    run = SweepRun(results=results, metric="valid_accuracy", mode="max", search="random", resumed=False,
                   statuses={"t0": "TERMINATED", "t1": "TERMINATED", "t2": "TERMINATED", "t3": "ERROR",
                             "t4": "RUNNING"})
    rows = summarise(run, spec)
    assert [(r.trial_id, r.status) for r in rows] == [
        ("t2", "done"), ("t0", "done"), ("t4", "interrupted"), ("t1", "stopped early"), ("t3", "failed")]
    assert rows[0].best("max") == (5, 0.7) and rows[-1].error == "PluginError: no model 'x'"
    assert run.interrupted and best_row(rows, "max").trial_id == "t2"
    png = plot_trials(rows, run.metric, run.mode, root / "trials.png", "title")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_best_config_is_complete_resolved_and_loadable(tmp_path):
    spec = make_spec(tmp_path)
    row = summarise(SweepRun(results=[_trial(spec.sweep_dir, "t0", {"predict.train.lr": 2e-3,
                                                                      "predict.model.head_hidden": 32},
                                             [(5, 0.4)])],
                             metric="valid_accuracy", mode="max", search="random", resumed=False), spec)[0]
    config_path, info_path = write_best(spec, SweepRun(results=[], metric="valid_accuracy", mode="max",
                                                       search="random", resumed=False), row)
    config = load_config(config_path)  # what `fit --config` does
    assert config.predict.train.lr == 2e-3 and config.data.categories == ["cat", "pig"]
    kwargs = config.predict.model.build_kwargs()
    assert kwargs["head_hidden"] == 32 and kwargs["enc_hidden"] == 16  # the tiny preset, written out
    assert config.predict.model.preset is None
    info = json.loads(info_path.read_text())
    assert info["trial"] == "t0" and info["value"] == 0.4 and info["params"]["predict.model.head_hidden"] == 32
    assert resolved_config(spec, row.params)["draw"]["model"]["dec_hidden"] == 32  # tiny draw sizes too


@pytest.mark.parametrize("task, categories, job", [
    ("draw", ["alarm clock"], "draw-alarm_clock"),
    ("predict", ["cat", "pig"], "predict"),
])
def test_best_config_header_is_a_fit_command_that_trains_the_tuned_model(tmp_path, monkeypatch, task,
                                                                          categories, job):
    import shlex

    from sketchrnn.cli import fit_cmd

    space = parse_space({f"{task}.train.lr": {"loguniform": [1e-4, 1e-2]}}, task)
    spec = make_spec(tmp_path, task=task, categories=categories, space=space)
    row = summarise(SweepRun(results=[_trial(spec.sweep_dir, "t0", {f"{task}.train.lr": 2e-3}, [(5, 0.4)])],
                             metric=f"valid_{'loss' if task == 'draw' else 'accuracy'}", mode="min",
                             search="random", resumed=False), spec)[0]
    config_path, _ = write_best(spec, SweepRun(results=[], metric="m", mode="min", search="random",
                                               resumed=False), row)
    header = config_path.read_text().splitlines()[1]
    command = shlex.split(header.split("Train it: ", 1)[1].replace(" N", " 10"))
    assert command[:2] == ["sketchrnn", "fit"]
    trained = []  # the real `fit` command, with training replaced by a record of its jobs
    monkeypatch.setattr(fit_cmd, "run_in_process", lambda jobs, *a, **k: trained.extend(jobs) or [])
    monkeypatch.setattr(fit_cmd, "fetch_data", lambda categories, data: None)  # no data, no network
    fit_cmd.fit.main(command[2:], standalone_mode=False)
    assert [(j.name, j.categories) for j in trained] == [(job, categories)]
    assert trained[0].settings.train.lr == 2e-3 and trained[0].settings.train.steps == 10
