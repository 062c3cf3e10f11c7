"""Shared fixtures: the real data folder (when present) and fake installed plugins."""

from __future__ import annotations

import functools
import json
import http.server
import importlib.util
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

# A shell without job control (CI scripts, `cmd &`) starts background jobs with SIGINT ignored,
# and children inherit an ignored signal: the `fit` and `tune` processes the tests interrupt
# like Ctrl-C would then never see it. Catching it here gives every child the default again.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Tiny models gain nothing from intra-op threads, and on a busy 2-core machine OpenMP's spinning
# threads make them many times slower. Subprocess and Ray tests set their own.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SKETCHRNN_SHARED_DATA", REPO.parent / "shared" / "data"))
QUICKDRAW_NPZ = SHARED_DATA / "quickdraw"
MAGENTA_MODELS = SHARED_DATA / "magenta_models"


@pytest.fixture
def shared_quickdraw() -> Path:
    if not (QUICKDRAW_NPZ / "pig.npz").exists():
        pytest.skip(f"real QuickDraw data not found at {QUICKDRAW_NPZ} (set SKETCHRNN_SHARED_DATA)")
    return QUICKDRAW_NPZ


class _RecordingHandler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.server.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def start_http_server():
    """``start(handler)`` -> a ThreadingHTTPServer on 127.0.0.1 (never the internet), with
    ``.url``; every server started is shut down after the test."""
    servers = []

    def start(handler) -> http.server.ThreadingHTTPServer:
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
        threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def http_folder(tmp_path, start_http_server):
    """A local HTTP server serving ``tmp_path/served`` (``.root``), recording the paths asked for
    (``.requests``)."""
    root = tmp_path / "served"
    root.mkdir()
    srv = start_http_server(functools.partial(_RecordingHandler, directory=str(root)))
    srv.root, srv.requests = root, []
    return srv


@pytest.fixture
def magenta_models() -> Path:
    """Google's pretrained magenta-js models (bicycle, sheep .gen.json)."""
    if not (MAGENTA_MODELS / "bicycle.gen.json").exists():
        pytest.skip(f"Google's magenta-js models not found at {MAGENTA_MODELS} (set SKETCHRNN_SHARED_DATA)")
    return MAGENTA_MODELS


@pytest.fixture
def install_fake_dist(tmp_path, monkeypatch):
    """Make a distribution look installed: a dist-info folder with entry points, on sys.path."""
    from sketchrnn.registry import reset_registry

    def install(name: str, entry_points: dict[str, dict[str, str]], modules: dict[str, str] | None = None,
                version: str = "1.0") -> None:
        root = tmp_path / f"site-{name}"
        info = root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = []
        for group, eps in entry_points.items():
            lines.append(f"[{group}]")
            lines += [f"{k} = {v}" for k, v in eps.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for mod, source in (modules or {}).items():
            (root / f"{mod}.py").write_text(source)
        monkeypatch.syspath_prepend(str(root))
        reset_registry()

    yield install
    reset_registry()
    for mod in [m for m in sys.modules if m.startswith("fake_")]:
        del sys.modules[mod]


TINY_RUNS_MODULE = "sketchrnn_tests_tiny_runs"


def tiny_runs_module():
    """``predict/tiny_runs.py`` under one module name, so its cache is shared by every test dir."""
    if TINY_RUNS_MODULE not in sys.modules:
        path = Path(__file__).parent / "predict" / "tiny_runs.py"
        spec = importlib.util.spec_from_file_location(TINY_RUNS_MODULE, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[TINY_RUNS_MODULE] = module
        spec.loader.exec_module(module)
    return sys.modules[TINY_RUNS_MODULE]


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory) -> Path:
    """A runs directory with a tiny trained classifier and draw models (see predict/tiny_runs.py)."""
    return tiny_runs_module().build(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_data(tiny_runs) -> Path:
    return tiny_runs_module()._CACHE["data"]


@pytest.fixture
def sample_styles(monkeypatch) -> list[str]:
    """The temperature style each ``sampling.sample`` call resolves to, in call order (the real
    sampler still runs). Commands import it lazily, so patching the module attribute reaches them."""
    import inspect

    import sketchrnn.sampling as sampling

    seen: list[str] = []
    real = sampling.sample
    default = inspect.signature(real).parameters["temperature_style"].default

    def spy(*args, **kwargs):
        seen.append(kwargs.get("temperature_style", default))
        return real(*args, **kwargs)

    monkeypatch.setattr(sampling, "sample", spy)
    return seen


def wait_for_lock(lock: Path, pid: int, timeout: float = 180) -> None:
    """Wait until a fit's lock file names the process ``pid`` (it has started and holds the folder)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if json.loads(lock.read_text()).get("pid") == pid:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{lock} never named pid {pid}")
