"""QuickDrawSource: the 345 names, name normalisation, the local/cache/download lookup order.

Downloads go to a plain ``http.server`` on 127.0.0.1 that records what was asked for, so a test
can also assert that *no* request was made (``--data-dir`` must never fall back to the network).
The autouse fixture points the mirror at a closed port and the cache at a temp dir.
"""

from __future__ import annotations

import os
import socket
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest

from sketchrnn.data.categories import QUICKDRAW, CategorySource, QuickDrawSource
from sketchrnn.data.download import CACHE_ENV, MIRROR_ENV
from sketchrnn.data.quickdraw_names import DEFAULT_CATEGORIES, QUICKDRAW_NAMES
from sketchrnn.errors import DataError, DownloadError

# <repo>/../shared/data unless SKETCHRNN_SHARED_DATA says otherwise.
SHARED = Path(os.environ.get("SKETCHRNN_SHARED_DATA", Path(__file__).parents[3] / "shared/data"))


def write_npz(path: Path, n_train: int = 6) -> Path:
    """A tiny sketch-rnn npz written with numpy directly; ``n_train`` tells files apart."""
    def split(n):
        arr = np.empty(n, dtype=object)
        for i in range(n):
            arr[i] = np.array([[1, 2, 0], [3, -4, 0], [5, 6, 1]], dtype=np.int16)
        return arr

    np.savez_compressed(path, train=split(n_train), valid=split(2), test=split(2))
    return path


@pytest.fixture
def server(http_folder, monkeypatch):
    """Serves ``tmp_path/served`` and is the mirror for the test."""
    monkeypatch.setenv(MIRROR_ENV, http_folder.url)
    return http_folder


@pytest.fixture(autouse=True)
def offline_env(monkeypatch, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(MIRROR_ENV, f"http://127.0.0.1:{port}")  # closed: refused at once
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))


@pytest.fixture
def cache(tmp_path) -> Path:
    path = tmp_path / "cache"
    path.mkdir()
    return path


# -- names -------------------------------------------------------------------------------------


def test_345_names():
    assert len(QUICKDRAW_NAMES) == 345 and len(set(QUICKDRAW_NAMES)) == 345
    assert set(DEFAULT_CATEGORIES) <= set(QUICKDRAW_NAMES)
    assert DEFAULT_CATEGORIES == ("bicycle", "clock", "hand", "spider", "sun")
    for name in ("alarm clock", "The Eiffel Tower", "teddy-bear", "t-shirt", "zigzag"):
        assert name in QUICKDRAW_NAMES
    assert QUICKDRAW.names() == list(QUICKDRAW_NAMES)


def test_names_match_a_full_quickdraw_mirror():
    folder = SHARED / "quickdraw" / "raw" / "raw_first100KB_exupery"
    if not folder.is_dir():
        pytest.skip(f"shared QuickDraw data not found at {folder} (set SKETCHRNN_SHARED_DATA)")
    on_disk = {p.name[: -len(".ndjson")] for p in folder.glob("*.ndjson")}
    assert on_disk == set(QUICKDRAW_NAMES)


@pytest.mark.parametrize(
    "given", ["alarm clock", "alarm_clock", "Alarm Clock", "ALARM-CLOCK", "  alarm   clock "]
)
def test_name_normalisation(given):
    assert QUICKDRAW.canonical(given) == "alarm clock"


def test_every_name_survives_normalisation():
    """No two names collapse onto the same key, and the CLI-friendly spelling maps back."""
    for name in QUICKDRAW_NAMES:
        assert QUICKDRAW.canonical(name) == name
        assert QUICKDRAW.canonical(name.upper().replace(" ", "_")) == name


def test_unknown_name_suggests_close_match(cache):
    with pytest.raises(DataError, match="unknown QuickDraw category 'alarm clok'") as info:
        QUICKDRAW.load("alarm clok", cache_dir=cache)
    assert "'alarm clock'" in info.value.fix
    with pytest.raises(DataError, match="xqzv") as info:
        QUICKDRAW.load("xqzv")
    assert "345" in info.value.fix


def test_protocol_and_entry_point():
    assert isinstance(QUICKDRAW, CategorySource) and isinstance(QUICKDRAW, QuickDrawSource)
    assert QUICKDRAW.name == "quickdraw"
    (ep,) = entry_points(group="sketchrnn.categories", name="quickdraw")
    assert ep.load() is QUICKDRAW


def test_describe_is_one_line(server):
    line = QUICKDRAW.describe("alarm_clock")
    assert "\n" not in line and "alarm clock" in line and "alarm%20clock.npz" in line


# -- data_dir ----------------------------------------------------------------------------------


def test_data_dir_npz(tmp_path):
    write_npz(tmp_path / "alarm clock.npz", n_train=5)
    assert len(QUICKDRAW.load("alarm_clock", data_dir=tmp_path).train) == 5


def test_data_dir_full_npz_accepted_and_plain_preferred(tmp_path):
    write_npz(tmp_path / "pig.full.npz", n_train=7)
    assert len(QUICKDRAW.load("pig", data_dir=tmp_path).train) == 7
    write_npz(tmp_path / "pig.npz", n_train=3)
    assert len(QUICKDRAW.load("pig", data_dir=tmp_path).train) == 3


def test_data_dir_missing_lists_files_and_never_downloads(tmp_path, server, cache):
    write_npz(server.root / "pig.npz")
    write_npz(cache / "pig.npz")  # a cached copy must not be used either
    local = tmp_path / "mine"
    local.mkdir()
    with pytest.raises(DataError) as info:
        QUICKDRAW.load("pig", data_dir=local, cache_dir=cache)
    message = str(info.value)
    assert str(local / "pig.npz") in message and str(local / "pig.full.npz") in message
    assert "drop --data-dir" in info.value.fix
    assert server.requests == []


def test_data_dir_that_does_not_exist(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        QUICKDRAW.load("pig", data_dir=tmp_path / "nope")


# -- cache and download ------------------------------------------------------------------------


@pytest.mark.parametrize("file", ["pig.npz", "pig.full.npz"])
def test_cache_hit_needs_no_network(cache, file):
    write_npz(cache / file, n_train=4)  # the mirror is a closed port
    assert len(QUICKDRAW.load("pig", cache_dir=cache).train) == 4


def test_cache_env_is_the_default_cache(tmp_path, monkeypatch):
    env_cache = tmp_path / "env-cache"
    env_cache.mkdir()
    write_npz(env_cache / "sun.npz", n_train=9)
    monkeypatch.setenv(CACHE_ENV, str(env_cache))
    assert len(QUICKDRAW.load("sun").train) == 9


def test_download_then_cached(server, cache):
    write_npz(server.root / "alarm clock.npz", n_train=8)
    progress = []
    splits = QUICKDRAW.load("Alarm_Clock", cache_dir=cache, progress=lambda *a: progress.append(a))
    assert len(splits.train) == 8 and progress
    assert (cache / "alarm clock.npz").is_file()
    assert server.requests == ["/alarm%20clock.npz"]
    QUICKDRAW.load("alarm clock", cache_dir=cache)
    assert len(server.requests) == 1  # second load came from the cache


def test_download_failure_is_a_download_error(server, cache):
    with pytest.raises(DownloadError, match="HTTP 404") as info:
        QUICKDRAW.load("pig", cache_dir=cache)
    assert "pig.npz" in str(info.value) and "--data-dir" in info.value.fix
    assert list(cache.iterdir()) == []


def test_download_off_names_url(server, cache):
    with pytest.raises(DataError, match="downloading is off") as info:
        QUICKDRAW.load("pig", cache_dir=cache, download=False)
    assert "/pig.npz" in info.value.fix and "--data-dir" in info.value.fix
    assert server.requests == []


def test_corrupt_cached_file_says_delete_it(cache):
    (cache / "pig.npz").write_bytes(b"garbage")
    with pytest.raises(DataError) as info:
        QUICKDRAW.load("pig", cache_dir=cache)
    assert "delete" in info.value.fix and str(cache / "pig.npz") in info.value.fix


# -- real data ---------------------------------------------------------------------------------


def test_real_shared_pig():
    folder = SHARED / "quickdraw"
    if not (folder / "pig.npz").is_file():
        pytest.skip(f"shared QuickDraw data not found at {folder} (set SKETCHRNN_SHARED_DATA)")
    splits = QUICKDRAW.load("pig", data_dir=folder)
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (1800, 200, 200)
    assert all(s.ndim == 2 and s.shape[1] == 3 for s in splits.train[:50])
    alarm = QUICKDRAW.load("alarm_clock", data_dir=folder)  # file name has a space
    assert len(alarm.train) == 1800


# -- fetching before training (what `fit` does on the driver) ----------------------------------


def test_fetch_downloads_each_category_once_and_training_reads_the_cache(server, cache):
    from sketchrnn.config import DataConfig
    from sketchrnn.train.fetch import fetch_categories
    from sketchrnn.train.job import load_splits

    write_npz(server.root / "pig.npz", n_train=5)
    write_npz(server.root / "alarm clock.npz", n_train=7)
    data = DataConfig(cache_dir=cache)
    seen = []
    fetch_categories(["pig", "alarm clock"], data, progress=lambda name, done, total: seen.append(name))
    assert server.requests == ["/pig.npz", "/alarm%20clock.npz"] and set(seen) == {"pig", "alarm clock"}
    fetch_categories(["pig", "alarm clock"], data)
    assert len(load_splits("alarm clock", data).train) == 7  # what a worker does
    assert len(server.requests) == 2  # neither the second fetch nor the load downloaded again


def test_fetch_reports_every_failed_download_together(server, cache):
    from sketchrnn.config import DataConfig
    from sketchrnn.train.fetch import fetch_categories

    write_npz(server.root / "pig.npz")
    with pytest.raises(DataError) as info:
        fetch_categories(["pig", "sun", "cat"], DataConfig(cache_dir=cache))
    message = info.value.message
    assert message.startswith("no data for 2 of 3 categories") and "HTTP 404" in message
    assert "/sun.npz" in message and "/cat.npz" in message and "/pig.npz" not in message
    assert sorted(p.name for p in cache.iterdir()) == ["pig.npz"]
