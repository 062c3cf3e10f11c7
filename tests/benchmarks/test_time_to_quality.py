"""benchmarks/time_to_quality.py end to end on a tiny run: the real CLI trains two tiny draw
models and a predict model on generated shapes, then the record holds the fit's wall time, the
reference protocol's accuracy and every draw model's recognisability and FID / precision /
recall, each within its range, and a markdown row per model. A second run into the same folder
is refused (nothing is overwritten)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmark_scripts import BENCHMARKS, load_script


def _script():
    return load_script("time_to_quality.py")


def test_tiny_run_records_time_and_quality(tmp_path, tiny_data, capsys):
    ttq = _script()
    out = tmp_path / "ttq"
    fit = [sys.executable, "-m", "sketchrnn", "fit", "circle", "square", "--preset", "tiny",
           "--steps", "30", "--workers", "0", "--data-dir", str(tiny_data)]
    assert ttq.main(["--out", str(out), "--quick", "--", *fit]) == 0
    record = json.loads((out / "time_to_quality.json").read_text())
    assert record["fit"]["exit_code"] == 0 and record["fit"]["wall_s"] > 0
    assert record["fit"]["command"].endswith(f"--data-dir {tiny_data}")
    assert 0 <= record["predict"]["accuracy"] <= 1 and record["predict"]["step"] == 30
    assert [row["category"] for row in record["draw"]] == ["circle", "square"]
    for row in record["draw"]:
        assert row["step"] == 30 and row["n"] == 16 and 0 <= row["recognised"] <= 1
        assert row["temperature_style"] == "magenta-js"
        assert row["fid"] >= 0 and 0 <= row["precision"] <= 1 and 0 <= row["recall"] <= 1
        assert 0 <= row["real_recognised_valid"] <= 1 and 0 <= row["real_recognised_test"] <= 1
        assert Path(row["grid"]).is_file()
    table = (out / "time_to_quality.md").read_text()
    assert "| draw circle | 30 |" in table and "| draw square | 30 |" in table
    assert "Predict model (step 30)" in table
    with pytest.raises(SystemExit):
        ttq.main(["--out", str(out), "--quick", "--", *fit])
    assert "exists" in capsys.readouterr().err


def test_default_command_is_the_readme_main_command():
    readme = (BENCHMARKS.parent / "README.md").read_text()
    assert _script().README_COMMAND in readme
