"""`fit`'s judging of a draw job's two checkpoints: both are sampled and scored like `eval draw`
with its defaults (so the records compare), and sampling then uses the lower-FID one."""

from __future__ import annotations

import shutil

import pytest
import torch

from sketchrnn.checkpoint import save_checkpoint
from sketchrnn.evaluation.checkpoint_choice import SampleSettings, measure_draw_checkpoints
from sketchrnn.runs import JobDir, draw_checkpoint, load_draw, recorded_sample_fid


@pytest.fixture
def two_checkpoints(tiny_runs, tmp_path):
    """A copy of the tiny runs whose circle job's best holds other weights at another step."""
    runs = tmp_path / "runs"
    shutil.copytree(tiny_runs, runs)
    jd = JobDir(runs / "draw-circle")
    model, meta = load_draw(jd.latest)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5 * torch.randn_like(p))  # a different (worse) model
    save_checkpoint(jd.best, model, meta.model_copy(update={"step": meta.step - 2}))
    return runs, jd


def test_both_checkpoints_are_judged_and_sampling_follows_the_lower_fid(two_checkpoints, capsys):
    from sketchrnn.cli.fit_cmd import judge_draw_checkpoints
    from sketchrnn.evaluation.report import evaluate_draw

    runs, jd = two_checkpoints
    settings = SampleSettings(n=40)
    result = measure_draw_checkpoints("circle", runs, settings)
    best, latest = recorded_sample_fid(jd.best), recorded_sample_fid(jd.latest)
    assert best[1] == latest[1] and best[1]["n"] == 40  # comparable records
    assert (result["best"]["fid"], result["latest"]["fid"]) == (best[0], latest[0])
    better = "best" if best[0] < latest[0] else "latest"
    assert best[0] != latest[0] and result["chosen"] == better
    assert draw_checkpoint(runs, "circle") == getattr(jd, better)
    # eval draw with the same settings records the same figure: fit's and eval's records compare
    again = evaluate_draw("circle", runs, jd.best, n=40)
    assert again["sample_quality"]["generated"]["fid"] == best[0]
    judge_draw_checkpoints(["circle"], runs)  # what fit prints (defaults: 500 samples)
    printed = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert f"sampling uses {result['chosen']}" in printed and "draw-circle" in printed
    assert recorded_sample_fid(jd.best)[1]["n"] == SampleSettings().n


def test_nothing_to_judge_when_best_is_latest_or_no_predict_model(tiny_runs, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(tiny_runs, runs)
    assert measure_draw_checkpoints("circle", runs, SampleSettings(n=10)) is None  # same step
    assert recorded_sample_fid(JobDir(runs / "draw-circle").latest) is None
    shutil.rmtree(runs / "predict")
    assert measure_draw_checkpoints("circle", runs, SampleSettings(n=10)) is None


def test_a_second_judging_reuses_the_records_and_writes_nothing(two_checkpoints):
    runs, jd = two_checkpoints
    settings = SampleSettings(n=40)
    first = measure_draw_checkpoints("circle", runs, settings)
    metas = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in
             (jd.best / "meta.json", jd.latest / "meta.json")}
    again = measure_draw_checkpoints("circle", runs, settings)  # fit re-run over finished jobs
    assert again == first
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in metas} == metas
    other = measure_draw_checkpoints("circle", runs, SampleSettings(n=41))  # other settings: judged
    assert recorded_sample_fid(jd.best)[1]["n"] == 41
    assert other["best"]["step"] == first["best"]["step"]
