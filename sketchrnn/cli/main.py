"""The `sketchrnn` command: a lazy click group and the one error boundary.

Subcommand modules are imported only when they run or when help lists them, and those modules
import torch/ray inside their functions, so `sketchrnn --help` stays instant.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import click

from sketchrnn import __version__
from sketchrnn.errors import SketchRNNError

# name -> (module, attribute). Order is the order `--help` lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "fit": ("sketchrnn.cli.fit_cmd", "fit"),
    "tune": ("sketchrnn.cli.tune_cmd", "tune"),
    "recipes": ("sketchrnn.cli.recipes_cmd", "recipes"),
    "sample": ("sketchrnn.cli.sample_cmd", "sample"),
    "reconstruct": ("sketchrnn.cli.sample_cmd", "reconstruct"),
    "interpolate": ("sketchrnn.cli.sample_cmd", "interpolate"),
    "data": ("sketchrnn.cli.data_cmd", "data"),
    "plugins": ("sketchrnn.cli.plugins_cmd", "plugins"),
    "predict": ("sketchrnn.cli.predict_cmd", "predict"),
    "eval": ("sketchrnn.cli.eval_cmd", "eval_group"),
    "serve": ("sketchrnn.cli.serve_cmd", "serve"),
    "import": ("sketchrnn.cli.import_cmd", "import_model"),
    "export": ("sketchrnn.cli.export_cmd", "export_model"),
    "status": ("sketchrnn.cli.status_cmd", "status"),
}

DEBUG_ENV = "SKETCHRNN_DEBUG"


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attr = COMMANDS[cmd_name]
        return getattr(importlib.import_module(module), attr)

    def resolve_command(self, ctx, args):  # type: ignore[no-untyped-def]
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            import difflib

            close = difflib.get_close_matches(args[0], list(COMMANDS), n=1) if args else []
            if close:
                exc.message += f" Did you mean {close[0]!r}?"
            raise


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sketchrnn")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Train, tune and serve Sketch-RNN models (Ha & Eck 2017) on QuickDraw.

    \b
    Examples:
      sketchrnn fit --all-categories --workers 8
      sketchrnn fit pig --workers 0 --data-dir data/ --preset tiny --steps 300
      sketchrnn sample sun -n 10
      sketchrnn tune draw pig --steps 2000 --samples 20
      sketchrnn data info pig --data-dir data/
      sketchrnn plugins
      sketchrnn serve --runs runs/
    """
    if debug:
        os.environ[DEBUG_ENV] = "1"
    _show_capture_notices()


def _show_capture_notices() -> None:
    """A capture that falls back to eager (model/capture.py) says so in one line on stderr."""
    import logging

    class ToStderr(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            click.echo(self.format(record), err=True)  # the stderr of the moment, not of set-up

    log = logging.getLogger("sketchrnn.model.capture")
    if not log.handlers:
        handler = ToStderr()
        handler.setFormatter(logging.Formatter("note: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def _debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get(DEBUG_ENV, "") not in ("", "0")


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (``timeout``, a scheduler, a closed terminal) unwinds like Ctrl-C: locks
    are released and the user is told, where the default action ends the process without a word
    and leaves its lock behind."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


@contextmanager
def _termination_unwinds() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``Terminated`` while the command runs (main thread only; a signal
    the caller ignores, e.g. under nohup, stays ignored); the previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    for sig, handler in before.items():
        if handler == signal.SIG_DFL:
            signal.signal(sig, _raise_terminated)
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> None:
    """Entry point: known errors -> one line + exit 1; usage errors -> exit 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    with _termination_unwinds():
        _run(args)


def _run(args: list[str]) -> None:
    try:
        rc = cli.main(args=args, prog_name="sketchrnn", standalone_mode=False)
        if isinstance(rc, int) and rc != 0:  # click returns Exit codes here instead of raising
            sys.exit(rc)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        exc.show()
        sys.exit(2)
    except (click.Abort, KeyboardInterrupt) as exc:
        # click turns a KeyboardInterrupt (Terminated included) into Abort, keeping it as cause
        cause = exc if isinstance(exc, Terminated) else exc.__cause__
        if isinstance(cause, Terminated):
            click.echo(f"terminated by {cause.args[0]}: checkpoints already written are kept; "
                       "run the same command again to resume", err=True)
            sys.exit(128 + cause.signum)
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except SketchRNNError as exc:
        if _debug_requested(args):
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # an internal bug: one line unless --debug
        if _debug_requested(args):
            traceback.print_exc()
        else:
            msg = f"{type(exc).__name__}: {exc}".replace("\n", " ")
            click.echo(f"error: unexpected {msg} (rerun with --debug for the traceback)", err=True)
        sys.exit(1)
    sys.exit(0)
