"""Command-line interface: a thin typer app over the public API (``paretoml --help``).

``_study`` runs and shows studies, ``_decide`` turns a stored study into a decision; ``_common`` holds
the one error handler and the one block of pick options they share; ``_serve`` serves an exported model.
"""

from __future__ import annotations

import typer

from paretoml.cli._decide import dashboard, export, pick, report
from paretoml.cli._serve import serve
from paretoml.cli._study import front, run, worker

__all__ = ["app", "main"]

app = typer.Typer(
    help="Find the model to ship: the best trade-off between accuracy, latency and size.",
    no_args_is_help=True,
    add_completion=False,
)
for command in (run, worker, front, pick, export, report, dashboard, serve):
    app.command()(command)


def main() -> None:
    """Console-script entry point."""
    app()
