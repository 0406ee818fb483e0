"""``paretoml serve``: an exported model over HTTP (the ``serve`` extra: Starlette on uvicorn)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paretoml.cli._common import console, reported_errors

__all__ = ["serve"]


def serve(
    model_dir: Annotated[Path, typer.Argument(help="A directory written by `paretoml export` (or Predictor.save).")],
    host: Annotated[str, typer.Option(help="Address to bind; 127.0.0.1 keeps it on this machine.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes, each with its own copy of the model.")] = 1,
    max_body_mb: Annotated[float, typer.Option("--max-body-mb", help="Larger request bodies are answered 413.")] = 10.0,
    threads: Annotated[int, typer.Option(help="Threads each worker's model predicts with.")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log one line per request.")] = True,
) -> None:
    """Serve an exported model: POST /predict, GET /health, GET /model, GET /openapi.json."""
    with reported_errors():
        from paretoml import serving

        run = serving.serve  # the install hint, when the `serve` extra is missing
        console.print(f"serving {model_dir} on http://{host}:{port}/ (POST /predict, GET /openapi.json; Ctrl-C stops)")
        run(
            model_dir,
            host=host,
            port=port,
            workers=workers,
            max_body_mb=max_body_mb,
            threads=threads,
            access_log=access_log,
        )
