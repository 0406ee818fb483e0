"""The typer app with every command (built on first use: see :mod:`paretoml.cli`)."""

from __future__ import annotations

import typer

from paretoml.cli._decide import dashboard, export, pick, report
from paretoml.cli._serve import serve
from paretoml.cli._study import front, run, worker

__all__ = ["HELP", "app"]

HELP = "Find the model to ship: the best trade-off between accuracy, latency and size."
app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
for command in (run, worker, front, pick, export, report, dashboard, serve):
    app.command()(command)
