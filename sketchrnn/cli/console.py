"""The rich consoles the CLI prints to (library code never prints)."""

from __future__ import annotations

from functools import cache

from rich.console import Console


@cache
def console() -> Console:
    return Console()


@cache
def err_console() -> Console:
    return Console(stderr=True)
