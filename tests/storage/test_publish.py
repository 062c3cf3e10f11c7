"""The object-storage runs folder's publish/pull rules, on fsspec's in-memory filesystem (the
same code path as any fsspec URI): a checkpoint counts only once its manifest is written, and
what the store holds is untrusted (names, manifests)."""

from __future__ import annotations

import json
import uuid

import pytest
import torch

from sketchrnn.checkpoint import load_checkpoint, save_checkpoint
from sketchrnn.checkpoint_meta import CheckpointMeta
from sketchrnn.config import DataConfig, LossConfig
from sketchrnn.registry import build_model
from sketchrnn.storage import StorageError, open_runs

KWARGS = {"dec_hidden": 8, "n_mixtures": 2, "cell": "lstm", "recurrent_dropout": 0.0}


@pytest.fixture
def uri() -> str:
    return f"memory://runs-{uuid.uuid4().hex[:8]}/runs"


def _save(store, step: int) -> torch.nn.Module:
    model = build_model("sketch_rnn_uncond", **KWARGS)
    meta = CheckpointMeta(model="sketch_rnn_uncond", model_kwargs=KWARGS, task="draw", categories=["pig"],
                          scale=10.0, max_seq_len=40, data=DataConfig(max_seq_len=40), loss=LossConfig(),
                          step=step)
    save_checkpoint(store.job_dir("draw-pig") / "checkpoints" / "latest", model, meta,
                    train_state={"step": step})
    (store.job_dir("draw-pig") / "metrics.jsonl").write_text(json.dumps({"step": step}) + "\n")
    store.publish("draw-pig")
    return model


def test_a_published_checkpoint_comes_back_whole(uri):
    with open_runs(uri) as writer:
        model = _save(writer, 10)
    with open_runs(uri) as reader:
        reader.pull(["draw-pig"])
        loaded, meta, state = load_checkpoint(reader.job_dir("draw-pig") / "checkpoints" / "latest")
        assert meta.step == 10 and state == {"step": 10}
        for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
            assert torch.equal(a, b)
        assert (reader.job_dir("draw-pig") / "metrics.jsonl").read_text() == '{"step": 10}\n'


def test_an_upload_cut_short_leaves_the_previous_checkpoint_in_force(uri, monkeypatch):
    with open_runs(uri) as writer:
        _save(writer, 10)
        real_put, puts = writer._put, []

        def dies_after_two(rel, data):  # killed while uploading step 20's files
            if len(puts) == 2:
                raise KeyboardInterrupt
            puts.append(rel)
            real_put(rel, data)

        monkeypatch.setattr(writer, "_put", dies_after_two)
        with pytest.raises(KeyboardInterrupt):
            _save(writer, 20)
    assert any("/checkpoints/latest/" in p for p in puts), "no checkpoint file got up before the kill"
    with open_runs(uri) as reader:
        reader.pull(["draw-pig"])
        _, meta, _ = load_checkpoint(reader.job_dir("draw-pig") / "checkpoints" / "latest")
        assert meta.step == 10


def test_old_versions_are_deleted_once_the_new_manifest_is_written(uri):
    with open_runs(uri) as writer:
        _save(writer, 10)
        _save(writer, 20)
        versions = writer.fs.get_file_info(__import__("pyarrow.fs").fs.FileSelector(
            writer.key("draw-pig/checkpoints/latest")))
        assert len(versions) == 1


@pytest.mark.parametrize("manifest", [
    {"format": 1, "version": "../../x", "files": {"meta.json": {"size": 1, "sha256": "0" * 64}}},
    {"format": 1, "version": "v1", "files": {"../evil.py": {"size": 1, "sha256": "0" * 64}}},
    {"format": 1, "version": "v1", "files": {}},
    "not a manifest",
])
def test_a_bad_manifest_is_refused(uri, manifest):
    with open_runs(uri) as store:
        store._put("draw-pig/checkpoints/latest.json", json.dumps(manifest).encode())
        with pytest.raises(StorageError, match="not a valid checkpoint manifest"):
            store.pull(["draw-pig"])


def test_a_tampered_checkpoint_file_is_refused(uri):
    with open_runs(uri) as writer:
        _save(writer, 10)
        manifest = json.loads(writer._get("draw-pig/checkpoints/latest.json"))
        writer._put(f"draw-pig/checkpoints/latest/{manifest['version']}/meta.json", b"{}")
    with open_runs(uri) as reader, pytest.raises(StorageError, match="does not match its manifest"):
        reader.pull(["draw-pig"])


def test_an_object_name_leaving_the_staging_folder_is_refused(uri, tmp_path):
    with open_runs(uri) as store:
        store._put("draw-pig/samples/x.png", b"png")
        store.fs.move(store.key("draw-pig/samples/x.png"), store.key("draw-pig/samples/../../../x.png"))
        with pytest.raises(StorageError, match="unsafe name"):
            store.pull(["draw-pig"])
        assert not (store.local.parent / "x.png").exists()


def test_an_unknown_scheme_is_a_storage_error():
    with pytest.raises(StorageError, match="unknown URI scheme 'nosuch'"):
        open_runs("nosuch://bucket/runs")


def test_a_local_folder_is_used_in_place(tmp_path):
    with open_runs(tmp_path / "runs") as store:
        assert not store.remote and store.local == tmp_path / "runs"
        assert store.job_dir("draw-pig") == tmp_path / "runs" / "draw-pig"
