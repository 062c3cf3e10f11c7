"""Checkpoint directories: round trips, no pickle, clear errors, atomic replacement."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch
from torch import nn

from sketchrnn import checkpoint as ckpt
from sketchrnn import checkpoint_meta as ckpt_meta
from sketchrnn.checkpoint import CheckpointMeta, load_checkpoint, save_checkpoint
from sketchrnn.config import DataConfig, LossConfig
from sketchrnn.errors import CheckpointError


class Net(nn.Module):
    """A stand-in with an LSTM, a head and a buffer: the checkpoint code is model-agnostic."""

    def __init__(self, hidden: int = 8, out: int = 3) -> None:
        super().__init__()
        self.lstm = nn.LSTM(5, hidden, batch_first=True)
        self.head = nn.Linear(hidden, out)
        self.register_buffer("count", torch.tensor(7))

    def forward(self, x):
        return self.head(self.lstm(x)[0])


def build(name: str, kwargs: dict) -> nn.Module:
    assert name == "net"
    return Net(**kwargs)


def make_meta(**overrides) -> CheckpointMeta:
    fields = dict(model="net", model_kwargs={"hidden": 8}, task="draw", categories=["cat"],
                  scale=12.5, max_seq_len=250,
                  data=DataConfig(max_seq_len=250), loss=LossConfig(), step=3,
                  metrics={"valid_loss": 0.5})
    return CheckpointMeta(**{**fields, **overrides})


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = Net(hidden=8)
    path = save_checkpoint(tmp_path / "ckpt", model, make_meta())
    return path, model


def test_round_trip_gives_identical_outputs_and_meta(saved):
    path, model = saved
    loaded, meta, train_state = load_checkpoint(path, build_model=build)
    x = torch.randn(2, 6, 5)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert not loaded.training and train_state is None
    assert meta == make_meta().model_copy(update={"created": meta.created})
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "model.safetensors"]


def test_weights_file_is_safetensors_not_pickle(saved):
    path, _ = saved
    raw = (path / "model.safetensors").read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + header_len])
    assert "head.weight" in header and header["head.weight"]["dtype"] == "F32"
    assert raw[0] != 0x80 and not raw.startswith(b"PK")  # neither a pickle nor torch.save's zip


def test_wrapped_models_are_saved_unwrapped(tmp_path):
    model = Net()
    save_checkpoint(tmp_path / "a", nn.DataParallel(model), make_meta())
    compiled_like = nn.Module()
    compiled_like._orig_mod = model  # what torch.compile's OptimizedModule holds
    save_checkpoint(tmp_path / "b", compiled_like, make_meta())
    for name in ("a", "b"):
        loaded, _, _ = load_checkpoint(tmp_path / name, build_model=build)
        assert torch.equal(loaded.head.weight, model.head.weight)


def test_train_state_loads_with_weights_only(tmp_path):
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(2, 4, 5)).sum().backward()
    opt.step()
    state = {"optimizer": opt.state_dict(), "step": 3, "best": math.inf,
             "rng": {"torch": torch.get_rng_state(), "python": random.getstate()}}
    path = save_checkpoint(tmp_path / "c", model, make_meta(), train_state=state)
    direct = torch.load(path / "train_state.pt", weights_only=True)
    assert direct["step"] == 3 and torch.equal(direct["rng"]["torch"], state["rng"]["torch"])
    _, _, loaded = load_checkpoint(path, build_model=build)
    opt2 = torch.optim.Adam(Net().parameters(), lr=1e-3)
    opt2.load_state_dict(loaded["optimizer"])
    assert loaded["best"] == math.inf


def test_train_state_with_numpy_is_refused_at_save_time(tmp_path):
    np = pytest.importorskip("numpy")
    with pytest.raises(TypeError, match=r"train_state\['rng'\]\['numpy'\]\[1\].*ndarray"):
        save_checkpoint(tmp_path / "c", Net(), make_meta(),
                        train_state={"rng": {"numpy": np.random.get_state()}})
    assert not (tmp_path / "c").exists()


def test_missing_directory_and_files(tmp_path, saved):
    path, _ = saved
    with pytest.raises(CheckpointError, match="No checkpoint at .*nope"):
        load_checkpoint(tmp_path / "nope", build_model=build)
    with pytest.raises(CheckpointError, match="is a file.*e.g. .*ckpt"):
        load_checkpoint(path / "meta.json", build_model=build)
    (path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="has no model.safetensors"):
        load_checkpoint(path, build_model=build)
    (path / "meta.json").unlink()
    with pytest.raises(CheckpointError, match="has no meta.json"):
        load_checkpoint(path, build_model=build)


def test_corrupt_meta_json(saved):
    path, _ = saved
    (path / "meta.json").write_text('{"model": "net",', encoding="utf-8")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(path, build_model=build)


def test_invalid_meta_lists_every_problem(saved):
    path, _ = saved
    raw = json.loads((path / "meta.json").read_text())
    raw.update(task="paint", scale=-1.0, surprise=1)
    (path / "meta.json").write_text(json.dumps(raw))
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path, build_model=build)
    message = str(err.value)
    assert "task" in message and "scale" in message and "surprise" in message


def test_newer_format_version_is_refused(saved):
    path, _ = saved
    raw = json.loads((path / "meta.json").read_text())
    raw["format_version"] = ckpt_meta.FORMAT_VERSION + 1
    (path / "meta.json").write_text(json.dumps(raw))
    with pytest.raises(CheckpointError, match="format_version.*upgrade"):
        load_checkpoint(path, build_model=build)


def test_truncated_safetensors(saved):
    path, _ = saved
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(path, build_model=build)


def test_missing_and_unexpected_tensors_are_named(tmp_path):
    class Smaller(Net):
        def __init__(self):
            super().__init__()
            del self.head
            self.other = nn.Linear(2, 2)

    path = save_checkpoint(tmp_path / "c", Smaller(), make_meta())
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path, build_model=build)
    message = str(err.value)
    assert "2 missing tensors: head.bias, head.weight" in message
    assert "2 unexpected tensors: other.bias, other.weight" in message


def test_wrong_shape_is_named(tmp_path):
    path = save_checkpoint(tmp_path / "c", Net(hidden=4), make_meta())  # meta says hidden=8
    with pytest.raises(CheckpointError, match=r"shape mismatches: head.weight \(3, 4\) vs model "
                                              r"\(3, 8\)"):
        load_checkpoint(path, build_model=build)


def test_bad_model_kwargs(tmp_path):
    path = save_checkpoint(tmp_path / "c", Net(), make_meta(model_kwargs={"width": 3}))
    with pytest.raises(CheckpointError, match="does not accept model_kwargs"):
        load_checkpoint(path, build_model=build)


def test_interrupted_save_keeps_previous_checkpoint(saved, monkeypatch):
    path, model = saved
    before = {p.name: p.read_bytes() for p in path.iterdir()}

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # e.g. the job is killed while train_state.pt is written

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, Net(hidden=8), make_meta(step=99), train_state={"step": 99})
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    assert [p.name for p in path.parent.iterdir()] == ["ckpt"]  # no temp dirs left behind
    assert load_checkpoint(path, build_model=build)[1].step == 3


def test_save_replaces_existing_checkpoint(saved):
    path, _ = saved
    save_checkpoint(path, Net(hidden=8), make_meta(step=10), train_state={"step": 10})
    _, meta, state = load_checkpoint(path, build_model=build)
    assert meta.step == 10 and state == {"step": 10}
    assert [p.name for p in path.parent.iterdir()] == ["ckpt"]


def test_crash_between_renames_is_explained(saved):
    path, _ = saved
    aside = path.parent / ".ckpt.old-1234abcd"
    path.rename(aside)  # what a crash right after "rename old aside" leaves
    with pytest.raises(CheckpointError, match=r"interrupted save.*\.ckpt\.old-1234abcd"):
        load_checkpoint(path, build_model=build)


def test_nan_metrics_survive(tmp_path):
    path = save_checkpoint(tmp_path / "c", Net(), make_meta(metrics={"valid_loss": math.nan}))
    assert math.isnan(ckpt.read_meta(path).metrics["valid_loss"])


@pytest.mark.parametrize("name", ["sketch_rnn", "sketch_rnn_uncond"])
def test_real_model_round_trip_through_the_registry(tmp_path, name):
    """The default builder is the registry: a checkpoint alone is enough to sample."""
    from sketchrnn import sampling
    from sketchrnn.model.presets import PRESETS
    from sketchrnn.registry import build_model

    kwargs = {**PRESETS["tiny"], "cell": "layer_norm"}
    torch.manual_seed(0)
    model = build_model(name, **kwargs)
    path = save_checkpoint(tmp_path / name, model,
                           make_meta(model=name, model_kwargs=kwargs, scale=20.0))
    loaded, meta, _ = load_checkpoint(path)
    assert type(loaded) is type(model) and meta.scale == 20.0
    x = torch.randn(2, 7, 5)
    lengths = torch.tensor([7, 4])
    model.eval()
    with torch.no_grad():
        a, b = model(x, lengths), loaded(x, lengths)
    assert torch.equal(a.q_logits, b.q_logits) and torch.equal(a.mixture.mu_x, b.mixture.mu_x)
    for s, t in zip(sampling.sample(model, 3, max_len=10, seed=0),
                    sampling.sample(loaded, 3, max_len=10, seed=0)):
        assert (s == t).all()


def test_update_meta_metrics_merges_and_keeps_weights(saved):
    path, _ = saved
    weights = (path / "model.safetensors").read_bytes()
    meta = ckpt.update_meta(path, metrics={"test_loss": 0.25, "test_kl": None})
    assert meta.metrics == {"valid_loss": 0.5, "test_loss": 0.25, "test_kl": None}
    assert ckpt.read_meta(path) == meta and (path / "model.safetensors").read_bytes() == weights
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "model.safetensors"]
