"""`sketchrnn serve`: the drawing page and its JSON API over a runs directory.

Binding to anything but loopback exposes the models to the network, so it takes an explicit
``--allow-remote``. The port is bound first (a taken port is one line and exit 1, before any
model loads), then the models are loaded and reported, then "serving on" names the bound port.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from sketchrnn.cli.options import RUNS_HELP, reading_runs
from sketchrnn.serve.limits import MAX_CONNECTIONS, TORCH_THREADS


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost: may resolve anywhere
        return False


@click.command()
@click.option("--runs", "runs_dir", default="runs", show_default=True,
              help=RUNS_HELP.removesuffix(".") + " (read once, at startup).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="TCP port (0: any free port).")
@click.option("--allow-remote", is_flag=True,
              help="Allow a non-loopback --host (the API is then reachable from the network).")
@click.option("--threads", type=click.IntRange(min=1), default=TORCH_THREADS, show_default=True,
              help="Torch threads per model call (calls run in parallel, one per core).")
@click.option("--max-connections", type=click.IntRange(min=1), default=MAX_CONNECTIONS,
              show_default=True, help="Open connections at most; past it requests get 503.")
def serve(runs_dir: str, host: str, port: int, allow_remote: bool, threads: int,
          max_connections: int) -> None:
    """Serve a page to draw on (live predictions, "finish it", a gallery) and a JSON API.

    \b
    Examples:
      sketchrnn serve --runs runs/
      sketchrnn serve --port 9000
      sketchrnn serve --host 0.0.0.0 --allow-remote
    """
    from sketchrnn.errors import InputError

    if not is_loopback(host) and not allow_remote:
        raise InputError(f"--host {host} is not a loopback address",
                         "add --allow-remote to serve to the network, or use --host 127.0.0.1")
    try:
        from sketchrnn.serve import server
        from sketchrnn.serve.app import create_app
    except ImportError as e:
        raise InputError(f"`sketchrnn serve` needs {e.name}, which is not installed",
                         "pip install fastapi uvicorn") from e
    sock = server.bind(host, port)  # before anything slow: a taken port fails at once
    import torch

    from sketchrnn.serve.models import ServeModels

    torch.set_num_threads(threads)  # process-wide: every model call of the pool uses this many
    with reading_runs(runs_dir) as local:  # models are loaded into memory, then not read again
        models = ServeModels.load(local)
    for problem in models.problems:
        click.echo(f"warning: skipped {problem}", err=True)
    if not models.empty:
        predict = ", ".join(models.predictor.categories) if models.predictor else "none"
        click.echo(f"predict model: {predict}; draw models: "
                   f"{', '.join(sorted(models.draw)) or 'none'}", err=True)
    if (missing := models.missing()) is not None:
        click.echo(f"warning: {missing}", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"serving on http://{shown}:{sock.getsockname()[1]}/ (Ctrl+C to stop)", err=True)
    server.make_server(create_app(models), max_connections=max_connections).run(sockets=[sock])
