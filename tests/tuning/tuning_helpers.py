"""Helpers for the tuning tests: the real CLI in a subprocess, the shared sketch generator."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HELPERS = "distributed_helpers"  # the module name tests/distributed uses for the same file
# `sketchrnn tune` through the real entry point (main's error boundary). The registration is a
# no-op once `tune` is in cli/main.py COMMANDS; it lets this package be tested before that.
BOOT = ("import sys\nfrom sketchrnn.cli import main as m\n"
        "m.COMMANDS.setdefault('tune', ('sketchrnn.cli.tune_cmd', 'tune'))\nm.main(sys.argv[1:])\n")
ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", "RAY_USAGE_STATS_ENABLED": "0"}


def helpers():
    """tests/distributed/distributed_helpers.py: the sketch-rnn npz generator, shared, not copied."""
    if HELPERS not in sys.modules:
        spec = importlib.util.spec_from_file_location(HELPERS, REPO / "tests" / "distributed" / f"{HELPERS}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[HELPERS] = module
        spec.loader.exec_module(module)
    return sys.modules[HELPERS]


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-c", BOOT, *args]


def cli_env() -> dict[str, str]:
    env = {**os.environ, **ENV}
    env.pop("RAY_ADDRESS", None)
    return env


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cli_command(*args), cwd=REPO, env=cli_env(), capture_output=True, text=True,
                          timeout=timeout)
