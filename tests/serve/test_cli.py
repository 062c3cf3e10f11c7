"""`sketchrnn serve` argument checks; uvicorn itself is replaced, so no port is opened."""

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
    with mock.patch("uvicorn.run") as run:
        serve.main(["--runs", str(tiny_serve_runs), "--port", "0"], standalone_mode=False)
    app = run.call_args.args[0]
    assert run.call_args.kwargs["host"] == "127.0.0.1" and run.call_args.kwargs["port"] == 0
    assert any(getattr(r, "path", "") == "/api/predict" for r in app.routes)
    assert "draw models: circle, square" in capsys.readouterr().err


def test_allow_remote_binds_as_asked(tmp_path, capsys):
    with mock.patch("uvicorn.run") as run:
        serve.main(["--runs", str(tmp_path / "none"), "--host", "0.0.0.0", "--allow-remote"],
                   standalone_mode=False)
    assert run.call_args.kwargs["host"] == "0.0.0.0"
    assert "sketchrnn fit" in capsys.readouterr().err  # no models: says how to train them


def test_error_boundary_prints_one_line(monkeypatch, capsys):
    """Through `sketchrnn`'s error boundary: one line, exit 1 (registers serve if main lacks it)."""
    from sketchrnn.cli import main

    monkeypatch.setitem(main.COMMANDS, "serve", ("sketchrnn.cli.serve_cmd", "serve"))
    with pytest.raises(SystemExit) as exit_info:
        main.main(["serve", "--host", "10.0.0.1"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and err.count("\n") == 1 and "--allow-remote" in err
