"""A job crosses process boundaries as JSON (Ray workers, config.yaml) and must mean the same."""

from __future__ import annotations

from sketchrnn.config import validate_config
from sketchrnn.model.presets import PRESETS
from sketchrnn.train.job import JobSpec, make_jobs
from sketchrnn.train.tasks import task_for


def test_a_preset_survives_the_json_round_trip_to_a_worker():
    config = validate_config({"draw": {"model": {"preset": "tiny", "n_mixtures": 4}},
                              "predict": {"model": {"preset": "small"}}})
    for job in make_jobs(config, ["cat", "pig"]):
        sent = JobSpec.model_validate_json(job.model_dump_json())
        kwargs = task_for(sent).model_kwargs()
        preset = PRESETS["tiny" if job.task == "draw" else "small"]
        expected = {**preset, "n_mixtures": 4} if job.task == "draw" else preset
        sizes = {k: kwargs[k] for k in expected if k in kwargs}  # the options this model has
        assert {"enc_hidden", "z_dim"} <= set(sizes), job.name
        assert sizes == {k: expected[k] for k in sizes}, job.name
        assert kwargs == task_for(job).model_kwargs()
