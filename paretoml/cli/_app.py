"""The typer app with every command (built on first use: see :mod:`paretoml.cli`)."""

from __future__ import annotations

from typing import Annotated

import typer

from paretoml._version import __version__
from paretoml.cli._decide import dashboard, export, pick, report
from paretoml.cli._serve import serve
from paretoml.cli._study import front, run, worker

__all__ = ["HELP", "app"]

HELP = "Find the model to ship: the best trade-off between accuracy, latency and size."
app = typer.Typer(help=HELP, no_args_is_help=True)  # with --install-completion / --show-completion
for command in (run, worker, front, pick, export, report, dashboard, serve):
    app.command()(command)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"paretoml {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Find the model to ship: the best trade-off between accuracy, latency and size."""
