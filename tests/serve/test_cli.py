"""`sketchrnn serve` argument checks; the uvicorn server is replaced, so nothing is served (the
port is bound and released: --port 0). Real servers are in test_server.py."""

from __future__ import annotations

from unittest import mock

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from sketchrnn.cli.serve_cmd import is_loopback, serve  # noqa: E402
from sketchrnn.errors import InputError  # noqa: E402


@pytest.mark.parametrize("host,expected", [
    ("127.0.0.1", True), ("127.0.0.5", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.4", False), ("example.com", False),
])
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


def test_remote_host_needs_allow_remote(tmp_path):
    with pytest.raises(InputError, match="--allow-remote"):
        serve.main(["--runs", str(tmp_path), "--host", "0.0.0.0"], standalone_mode=False)


def test_serve_loads_models_then_runs_uvicorn(tiny_serve_runs, capsys):
    with mock.patch("sketchrnn.serve.server.make_server") as make:
        serve.main(["--runs", str(tiny_serve_runs), "--port", "0", "--max-connections", "9"],
                   standalone_mode=False)
    app = make.call_args.args[0]
    assert make.call_args.kwargs["max_connections"] == 9
    (sock,) = make.return_value.run.call_args.kwargs["sockets"]
    assert sock.getsockname()[0] == "127.0.0.1"
    assert any(getattr(r, "path", "") == "/api/predict" for r in app.routes)
    err = capsys.readouterr().err
    assert "draw models: circle, square" in err
    assert f"serving on http://127.0.0.1:{sock.getsockname()[1]}/" in err  # the bound port


def test_model_calls_use_one_torch_thread_by_default(tiny_serve_runs):
    """Calls run in parallel, one per core; torch's default (a thread per core in every call)
    oversubscribes the cores (see serve/limits.py)."""
    with mock.patch("sketchrnn.serve.server.make_server"), \
            mock.patch("torch.set_num_threads") as set_threads:
        serve.main(["--runs", str(tiny_serve_runs), "--port", "0"], standalone_mode=False)
    set_threads.assert_called_once_with(1)


def test_allow_remote_binds_as_asked(tmp_path, capsys):
    with mock.patch("sketchrnn.serve.server.make_server") as make:
        serve.main(["--runs", str(tmp_path / "none"), "--host", "0.0.0.0", "--allow-remote",
                    "--port", "0"], standalone_mode=False)
    (sock,) = make.return_value.run.call_args.kwargs["sockets"]
    assert sock.getsockname()[0] == "0.0.0.0"
    assert "sketchrnn fit" in capsys.readouterr().err  # no models: says how to train them


def test_error_boundary_prints_one_line(monkeypatch, capsys):
    """Through `sketchrnn`'s error boundary: one line, exit 1 (registers serve if main lacks it)."""
    from sketchrnn.cli import main

    monkeypatch.setitem(main.COMMANDS, "serve", ("sketchrnn.cli.serve_cmd", "serve"))
    with pytest.raises(SystemExit) as exit_info:
        main.main(["serve", "--host", "10.0.0.1"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and err.count("\n") == 1 and "--allow-remote" in err


def test_predict_model_without_draw_models_says_what_is_there_and_how_to_train_the_rest(runs_factory, capsys):
    runs = runs_factory("predict-only", draw=())
    with mock.patch("sketchrnn.serve.server.make_server"):
        serve.main(["--runs", str(runs), "--port", "0"], standalone_mode=False)
    err = capsys.readouterr().err
    assert "no trained models" not in err  # it has one: the predict model
    assert "predict model: circle, square; draw models: none" in err
    warning = next(line for line in err.splitlines() if line.startswith("warning:"))
    assert '"finish it" needs the draw model of the predicted category' in warning
    assert f"`sketchrnn fit --only draw --categories circle,square --runs {runs}`" in warning


def test_missing_draw_models_of_some_predicted_categories_are_named(runs_factory, capsys):
    runs = runs_factory("one-draw", draw=("circle",))
    with mock.patch("sketchrnn.serve.server.make_server"):
        serve.main(["--runs", str(runs), "--port", "0"], standalone_mode=False)
    warning = next(line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:"))
    assert "draw models for circle" in warning
    assert f"`sketchrnn fit --only draw --categories square --runs {runs}`" in warning
