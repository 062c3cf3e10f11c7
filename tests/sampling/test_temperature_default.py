"""One default temperature rule, shared by every way of drawing with a draw model.

The ``sample_styles`` spy (tests/conftest.py) records the style each ``sampling.sample`` call
resolves to: a command that forgot to pass ``--temperature-style`` through would record the
library default even when asked for the other rule.
"""

from __future__ import annotations

import numpy as np
import pytest

import sketchrnn.sampling as sampling
from sketchrnn.cli import main as cli_main
from sketchrnn.config import DEFAULT_TEMPERATURE_STYLE, TEMPERATURE_STYLES

OTHER = next(s for s in TEMPERATURE_STYLES if s != DEFAULT_TEMPERATURE_STYLE)


def _cli(*args: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(list(args))
    assert exit_info.value.code == 0


def test_the_default_is_magenta_js_logits_over_half_plus_half_t():
    """The measured winner (docs/sampling.md); its factors against the formula itself."""
    assert DEFAULT_TEMPERATURE_STYLE == "magenta-js"
    for t in (0.1, 0.25, 1.0, 2.0):
        assert sampling.temperature_factors(t) == pytest.approx((0.5 + 0.5 * t, t))
        assert sampling.temperature_factors(t, "paper") == pytest.approx((t, t))


def test_library_default_draws_what_the_default_style_draws(pig):
    from sketchrnn.runs import load_draw

    model, _ = load_draw(pig)
    implicit = sampling.sample(model, 4, max_len=15, seed=1)
    explicit = sampling.sample(model, 4, max_len=15, seed=1, temperature_style="magenta-js")
    other = sampling.sample(model, 4, max_len=15, seed=1, temperature_style="paper")
    assert all(np.array_equal(a, b) for a, b in zip(implicit, explicit))
    assert any(a.shape != b.shape or not np.allclose(a, b) for a, b in zip(implicit, other))


@pytest.mark.parametrize("command", ["sample", "reconstruct", "interpolate"])
def test_drawing_commands_share_the_default_and_take_the_option(command, pig, tmp_path,
                                                                tiny_data, sample_styles, monkeypatch):
    if command != "sample":  # need test sketches of the category and a conditional model
        monkeypatch.setattr("sketchrnn.cli.sample_cmd._test_sketches",
                            lambda meta, data_dir, count, seed: _batch(count))
    base = [command, "pig", "--checkpoint", str(pig), "--format", "png", "--out", str(tmp_path / "o")]
    _cli(*base)
    _cli(*base, "--temperature-style", OTHER)
    assert sample_styles and sample_styles[0] == DEFAULT_TEMPERATURE_STYLE and sample_styles[-1] == OTHER


def _batch(count: int):
    from sketchrnn.data.batching import make_batch
    from sketchrnn.data.strokes import SketchSet

    rng = np.random.default_rng(0)
    points = rng.normal(0, 1, (count * 6, 3)).astype(np.float32)
    points[:, 2] = 0
    points[5::6, 2] = 1
    sketches = SketchSet(points=points, offsets=np.arange(0, count * 6 + 1, 6),
                         labels=np.zeros(count, dtype=np.int64))
    return make_batch(sketches, np.arange(count))


def test_completion_and_eval_draw_take_the_option(tiny_runs, tiny_data, tmp_path, sample_styles):
    _cli("predict", "--from-test", "circle", "--cut", "0.4", "--runs", str(tiny_runs),
         "--data-dir", str(tiny_data), "--out", str(tmp_path / "p"), "--json")
    _cli("predict", "--from-test", "circle", "--cut", "0.4", "--runs", str(tiny_runs),
         "--data-dir", str(tiny_data), "--out", str(tmp_path / "q"), "--json",
         "--temperature-style", OTHER)
    assert sample_styles[-2:] == [DEFAULT_TEMPERATURE_STYLE, OTHER]
    _cli("eval", "draw", "circle", "-n", "4", "--runs", str(tiny_runs), "--data-dir", str(tiny_data),
         "--checkpoint", str(tiny_runs / "draw-circle" / "checkpoints" / "latest"),
         "--temperature-style", OTHER, "--json")
    assert sample_styles[-1] == OTHER
