"""A checkpoint describes itself: a predict checkpoint folder copied out of its runs folder gives
identical `predict` and `eval predict` results, with no config.yaml beside it.

The tiny runs train with non-default data settings (min_seq_len 5, max_seq_len 60), so a copy
that fell back to default settings (min_seq_len 10) would filter the splits differently: other
test sketches, other numbers.
"""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from sketchrnn.checkpoint import read_meta
from sketchrnn.cli import main as cli_main
from sketchrnn.config import DataConfig

SAME_EVAL = ("summary", "runs", "confusion", "per_category_accuracy", "accuracy_by_cut",
             "calibration", "step", "categories", "protocol")


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setitem(cli_main.COMMANDS, "predict", ("sketchrnn.cli.predict_cmd", "predict"))
    monkeypatch.setitem(cli_main.COMMANDS, "eval", ("sketchrnn.cli.eval_cmd", "eval_group"))

    def invoke(*args: str) -> dict:
        result = CliRunner().invoke(cli_main.cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    return invoke


@pytest.fixture
def copied(tiny_runs, tmp_path):
    """The predict job's best checkpoint, copied to a folder with no job around it."""
    copy = tmp_path / "elsewhere" / "my-model"
    shutil.copytree(tiny_runs / "predict" / "checkpoints" / "best", copy)
    return copy


def test_the_settings_travel_in_the_meta(copied):
    data = read_meta(copied).data
    assert (data.min_seq_len, data.max_seq_len) == (5, 60)
    assert (data.min_seq_len, data.max_seq_len) != (DataConfig().min_seq_len, 200)


def test_copied_checkpoint_predicts_identically(cli, tiny_runs, copied):
    args = ["--from-test", "square", "--cut", "0.4", "--index", "3", "--json", "--no-complete"]
    original = cli("predict", *args, "--runs", str(tiny_runs))
    moved = cli("predict", *args, "--checkpoint", str(copied))
    assert moved == original and original["source"] == "test:square[3] cut 40%"


def test_copied_checkpoint_evaluates_identically(cli, tiny_runs, copied):
    args = ["eval", "predict", "--n-runs", "2", "-n", "40", "--json"]
    original = cli(*args, "--runs", str(tiny_runs))
    moved = cli(*args, "--checkpoint", str(copied))
    assert {k: moved[k] for k in SAME_EVAL} == {k: original[k] for k in SAME_EVAL}
    # Its results stay beside the copy: nothing is written into the runs folder it came from.
    assert moved["paths"]["json"] == str(copied / "eval.json")
    assert (copied / "eval.json").is_file()
