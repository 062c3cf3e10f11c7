"""Search-space files: parsing, every problem reported at once, conversion to Ray Tune domains."""

from __future__ import annotations

import pytest

from sketchrnn.config import validate_config
from sketchrnn.errors import ConfigError
from sketchrnn.tuning.space import leaf_paths, load_default_space, load_space, parse_space


def problems(data: dict, task: str = "predict", base: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_space(data, task, source="space.yaml", base=base)
    message = info.value.message
    assert message.startswith("space.yaml: ") and "\n" not in str(info.value)
    return message.removeprefix("space.yaml: ").split("; ")


def test_flat_and_nested_keys_mean_the_same():
    flat = parse_space({"draw.train.lr": {"loguniform": [1e-4, 1e-2]},
                        "draw.model.dec_hidden": {"choice": [256, 512]}}, "draw")
    nested = parse_space({"draw": {"train": {"lr": {"loguniform": [1e-4, 1e-2]}},
                                   "model": {"dec_hidden": {"choice": [256, 512]}}}}, "draw")
    assert flat.as_json() == nested.as_json() == {
        "draw.train.lr": {"loguniform": [1e-4, 1e-2]}, "draw.model.dec_hidden": {"choice": [256, 512]}}


@pytest.mark.parametrize("task", ["draw", "predict"])
def test_the_shipped_spaces_are_valid_and_cover_the_issue(task):
    space = load_default_space(task)
    paths = {p.path for p in space.params}
    assert {f"{task}.train.lr", "data.batch_size", f"{task}.model.enc_hidden"} <= paths
    # the lr decays to its floor over each trial (train.schedule); for predict (cosine, AdamW) its
    # end point and the weight decay are searched
    if task == "predict":
        assert {"predict.train.min_lr", "predict.train.weight_decay"} <= paths
    if task == "draw":
        assert {"draw.model.dec_hidden", "draw.model.z_dim", "draw.model.n_mixtures",
                "draw.model.recurrent_dropout", "draw.loss.kl_weight",
                "draw.loss.kl_anneal_fraction"} <= paths
    else:
        assert {"predict.model.head_hidden", "predict.model.head_dropout", "data.truncate_max"} <= paths


def test_every_problem_is_listed_in_one_message():
    found = problems({
        "predict.train.lrr": {"loguniform": [1e-4, 1e-2]},  # typo
        "draw.train.lr": {"uniform": [1e-4, 1e-2]},  # the other task
        "predict.train.min_lr": {"uniform": [3e-3, 1e-3]},  # low >= high
        "predict.train.lr_decay": {"loguniform": [0, 1]},  # log of 0
        "predict.loss.label_smoothing": {"normal": [0, 1]},  # unknown kind
        "predict.model.head_hidden": {"uniform": [64, 128]},  # int field, float distribution
        "data.truncate_max": {"uniform": [0.3, 1.0]},  # field needs < 1
        "predict.model.cell": {"choice": ["lstm", "gru"]},  # not an allowed literal
        "predict.train.steps": {"randint": [10, 20]},  # fixed by --steps
        "predict.model": {"choice": [1]},  # a section
        "predict.train.grad_clip": 1.0,  # no distribution
    })
    assert len(found) == 11, found
    text = "; ".join(found)
    assert "predict.train.lrr: unknown key (did you mean 'predict.train.lr'?)" in text
    assert "draw.train.lr: belongs to the draw models" in text and "use predict.train.lr" in text
    assert "predict.train.min_lr: uniform [0.003, 0.001]: low must be below high" in text
    assert "low must be > 0 on a log scale" in text
    assert "predict.loss.label_smoothing: unknown distribution 'normal'" in text
    assert "predict.model.head_hidden: is a whole number, use randint, lograndint or choice" in text
    assert "data.truncate_max: 1.0 is not allowed (Input should be less than 1)" in text
    assert "predict.model.cell: 'gru' is not allowed" in text
    assert "predict.train.steps: cannot be tuned" in text
    assert "predict.model: is a section" in text
    assert "predict.train.grad_clip: must be one distribution" in text


def test_argument_shapes_are_checked():
    found = problems({"predict.train.lr": {"uniform": [1e-3]}, "predict.model.z_dim": {"randint": [8.5, 16]},
                      "predict.model.head_hidden": {"choice": []}, "data.batch_size": {"quniform": [8, 64, 0]},
                      "predict.train.grad_clip": {"uniform": "0.5..2"}, "data.clamp": {"uniform": ["a", "b"]}})
    assert [p.split(":")[0] for p in found] == ["predict.train.lr", "predict.model.z_dim",
                                                "predict.model.head_hidden", "data.batch_size",
                                                "predict.train.grad_clip", "data.clamp"]


def test_ranges_that_can_cross_an_ordered_pair_are_refused():
    overlapping = {"data.truncate_min": {"uniform": [0.1, 0.4]}, "data.truncate_max": {"uniform": [0.3, 0.6]}}
    assert problems(overlapping) == [
        "data.truncate_min 0.4 > data.truncate_max 0.3 for some samples (make the ranges disjoint)"]
    # Against the base config too: the sweep starts from --set data.truncate_min=0.5.
    assert problems({"data.truncate_max": {"uniform": [0.3, 0.6]}}, base={"data": {"truncate_min": 0.5}})
    parse_space({"data.truncate_min": {"uniform": [0.0, 0.2]}, "data.truncate_max": {"uniform": [0.3, 0.6]}},
                "predict")


def test_conversion_to_ray_tune_domains():
    from ray.tune.search.sample import Categorical, Float, Integer

    space = parse_space({"draw.train.lr": {"loguniform": [1e-4, 1e-2]},
                         "draw.model.n_mixtures": {"randint": [10, 12]},
                         "draw.model.z_dim": {"lograndint": [8, 64]},
                         "draw.loss.kl_weight": {"quniform": [0.25, 1.0, 0.25]},
                         "draw.model.dec_hidden": {"choice": [256, 512]}}, "draw")
    domains = space.to_tune()
    lr, m, z, w, dec = (domains[k] for k in ("draw.train.lr", "draw.model.n_mixtures", "draw.model.z_dim",
                                             "draw.loss.kl_weight", "draw.model.dec_hidden"))
    assert isinstance(lr, Float) and (lr.lower, lr.upper) == (1e-4, 1e-2)
    assert isinstance(lr.get_sampler(), Float._LogUniform)
    assert isinstance(m, Integer) and (m.lower, m.upper) == (10, 13)  # inclusive here, exclusive in Ray
    assert isinstance(z, Integer) and isinstance(z.get_sampler(), Integer._LogUniform)
    assert isinstance(w, Float) and w.get_sampler().q == 0.25
    assert isinstance(dec, Categorical) and dec.categories == [256, 512]
    samples = [m.sample() for _ in range(200)]
    assert set(samples) == {10, 11, 12}


def test_a_sample_applied_to_the_base_config_validates():
    base = {"draw": {"model": {"preset": "tiny"}}}
    space = parse_space({"draw.model.dec_hidden": {"choice": [64]}, "data.batch_size": {"randint": [8, 16]}}, "draw")
    data = space.apply(base, {"draw.model.dec_hidden": 64, "data.batch_size": 9})
    assert base == {"draw": {"model": {"preset": "tiny"}}}  # not modified
    config = validate_config(data)
    kwargs = config.draw.model.build_kwargs()
    assert kwargs["dec_hidden"] == 64 and kwargs["enc_hidden"] == 16  # the space wins, the preset fills in
    assert config.data.batch_size == 9


def test_leaf_paths_cover_the_config():
    paths = leaf_paths()
    assert "draw.train.lr" in paths and "data.truncate_max" in paths and "predict.model.head_dropout" in paths
    assert "draw.train" not in paths


def test_load_space_reads_yaml_files(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("# comment\npredict.train.lr: {loguniform: [1.0e-4, 1.0e-2]}\n")
    assert load_space(path, "predict").params[0].path == "predict.train.lr"
    path.write_text("predict.train.lr: [1, 2\n")
    with pytest.raises(ConfigError, match="is not valid"):
        load_space(path, "predict")
    with pytest.raises(ConfigError, match="no parameters to tune"):
        parse_space({}, "predict")
