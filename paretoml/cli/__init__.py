"""Command-line interface: a thin typer app over the public API (``paretoml --help``).

``_study`` runs and shows studies, ``_decide`` turns a stored study into a decision; ``_common`` holds
the one error handler and the one block of pick options they share; ``_serve`` serves an exported model.
``paretoml serve`` loads only the serving command, so a serving process does not import the search
(optuna, the study, compression); every other command goes through the full app in ``_app``, which also
holds ``--version`` and shell completion (``--install-completion``, ``--show-completion``).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    if sys.argv[1:2] == ["serve"]:
        import typer

        from paretoml.cli._serve import serve

        only = typer.Typer(add_completion=False)
        only.command()(serve)  # one command: typer runs it as the root
        only(args=sys.argv[2:], prog_name="paretoml serve")
        return
    from paretoml.cli._app import app

    app()


def __getattr__(name: str) -> Any:
    if name == "app":  # the full app, for typer's CliRunner and embedding
        from paretoml.cli._app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
