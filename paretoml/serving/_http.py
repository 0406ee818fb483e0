"""The HTTP server behind ``paretoml serve``: a Starlette app on uvicorn (the ``serve`` extra).

Endpoints:

- ``POST /predict``: a JSON body of rows, answered with predictions (and, for a classifier, class
  probabilities in ``classes`` order). The body is one of: a list of records
  (``[{"age": 31, "plan": "pro"}, ...]``), an object of columns (``{"age": [31, 45], ...}``), one record
  (``{"age": 31, ...}``), or a list of rows of values in :attr:`Predictor.feature_names_in_` order (also
  images as nested lists for an image predictor). ``null`` is a missing value.
- ``GET /health``: ``{"status": "ok"}`` once the model is loaded.
- ``GET /model``: the model's manifest facts and its model card (``model_card.json``, written by
  ``paretoml export``), as JSON.
- ``GET /openapi.json``: an OpenAPI 3.1 description of the above.

Bad input is answered 400 (not JSON) or 422 (JSON that is not rows the model can read) with the typed
message the Python API raises (``{"error": "ColumnMismatchError", "detail": "..."}``), a body over the
size limit 413, never 500. Each worker process predicts one request at a time, on its event loop
(a prediction takes microseconds to milliseconds) with ``threads`` model threads (1 by default: a
library's default of all cores fights the event loop); ``workers`` processes serve in parallel.

Importing this module imports Starlette and no search code (no optuna, shap, study or compression).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paretoml._version import __version__
from paretoml.exceptions import ConfigError, ParetoMLError
from paretoml.serving._manifest import read_manifest
from paretoml.serving._openapi import openapi_schema
from paretoml.serving._predictor import Predictor
from paretoml.serving._store import unpacked

__all__ = ["DEFAULT_MAX_BODY_MB", "answer", "create_app", "model_description", "serve"]

DEFAULT_MAX_BODY_MB = 10.0
_ENV = "PARETOML_SERVE"  # what each worker process of serve(workers > 1) loads, as JSON
_JSON = "application/json"


class _BodyTooLarge(Exception):
    pass


def _json(content: Any, status: int = 200) -> Response:
    return Response(json.dumps(content, separators=(",", ":"), allow_nan=False), status, media_type=_JSON)


def _error(status: int, error: str, detail: str) -> Response:
    return _json({"error": error, "detail": detail}, status)


def _floats(values: np.ndarray) -> list[Any]:
    """``values`` as JSON numbers (NaN and infinities as null, which JSON has no other way to say)."""
    if np.isfinite(values).all():
        out: list[Any] = values.tolist()
        return out
    return [[None if not math.isfinite(v) else v for v in row] if isinstance(row, list) else
            (None if not math.isfinite(row) else row) for row in values.tolist()]  # fmt: skip


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (nested in dicts and lists) as None: strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def answer(predictor: Predictor, rows: Any) -> dict[str, Any]:
    """The ``/predict`` answer for ``rows`` (any input :meth:`Predictor.predict` takes).

    Returns:
        ``{"predictions": [...]}``, plus ``"probabilities"`` (one list per row, in ``classes`` order) and
        ``"classes"`` for a classifier.

    Raises:
        ParetoMLError: Whatever the Predictor raises for input it cannot read.
    """
    out = predictor.output(rows)
    if predictor.task == "regression":
        return {"predictions": _floats(out)}
    return {
        "predictions": predictor.classes_[np.argmax(out, axis=1)].tolist(),
        "probabilities": _floats(out),
        "classes": predictor.classes_.tolist(),
    }


def model_description(model_dir: Path, predictor: Predictor) -> dict[str, Any]:
    """What ``GET /model`` answers: the manifest's facts (without the fitted preprocessing), the features
    with their kinds, and the model card when the directory holds one (``paretoml export`` writes it)."""
    with unpacked(model_dir) as source:
        manifest = {k: v for k, v in read_manifest(source).items() if k != "preprocessing"}
        card_file = source / "model_card.json"
        card = json.loads(card_file.read_text()) if card_file.is_file() else None
    described = {
        **manifest,
        "features": [{"name": f.name, "kind": f.kind} for f in predictor.preprocessor.features],
        "paretoml_version": __version__,
        "model_card": card,
    }
    return dict(_finite(json.loads(json.dumps(described, default=str))))


async def _body(request: Request, limit: int) -> bytes:
    """The request body, read no further than ``limit`` bytes.

    Raises:
        _BodyTooLarge: When the declared or the received length is over ``limit``.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(model_dir: str | Path, *, max_body_mb: float = DEFAULT_MAX_BODY_MB, threads: int = 1) -> Starlette:
    """The Starlette app serving the predictor saved in ``model_dir``.

    Args:
        model_dir: A directory written by ``paretoml export`` or :meth:`Predictor.save` (or a zip file).
        max_body_mb: Requests with a larger body are answered 413.
        threads: Threads the model predicts with (1: each worker process uses one core, as the search
            measured it; a library's default of all cores fights the event loop and the other workers).

    Returns:
        An ASGI app; run it with any ASGI server (``serve`` runs it on uvicorn).

    Raises:
        ConfigError: When ``max_body_mb`` or ``threads`` is not positive.
        DataError: When ``model_dir`` is not a saved paretoml predictor.

    Example:
        >>> app = create_app("model/")  # doctest: +SKIP
        >>> uvicorn.run(app)            # doctest: +SKIP
    """
    if not max_body_mb > 0:
        raise ConfigError(f"`max_body_mb` must be positive; got {max_body_mb!r}. Pass e.g. 10.")
    if threads < 1:
        raise ConfigError(f"`threads` must be at least 1; got {threads}. Pass e.g. --threads 1.")
    path = Path(model_dir)
    predictor = Predictor.load(path).set_threads(threads)
    limit = int(max_body_mb * 1e6)
    described = json.dumps(model_description(path, predictor), allow_nan=False).encode()
    schema = json.dumps(openapi_schema(predictor, max_body_mb)).encode()

    async def predict(request: Request) -> Response:
        try:
            body = await _body(request, limit)
        except _BodyTooLarge:
            return _error(413, "PayloadTooLarge", f"the request body is over the {max_body_mb:g} MB limit "
                          "(`--max-body-mb`); send fewer rows per request, or raise the limit.")  # fmt: skip
        try:
            rows = json.loads(body)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            return _error(400, "InvalidJSON", f"the request body is not JSON ({exc}). Send a list of records, "
                          'e.g. [{"age": 31, "plan": "pro"}], or an object of columns.')  # fmt: skip
        if not isinstance(rows, (list, dict)):
            return _error(422, "DataError", f"the request body must be a JSON list of rows or an object of "
                          f"columns (or one record); got a JSON {type(rows).__name__}.")  # fmt: skip
        try:
            return _json(answer(predictor, rows))
        except ParetoMLError as exc:
            return _error(422, type(exc).__name__, str(exc))
        except (TypeError, ValueError) as exc:  # e.g. a list or an object where a value belongs
            return _error(422, "DataError", f"the rows hold a value the model cannot read ({exc}). Values must "
                          "be numbers, strings, booleans or null.")  # fmt: skip

    async def health(request: Request) -> Response:
        return _json({"status": "ok"})

    async def model(request: Request) -> Response:
        return Response(described, media_type=_JSON)

    async def openapi(request: Request) -> Response:
        return Response(schema, media_type=_JSON)

    app = Starlette(
        routes=[
            Route("/predict", predict, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/model", model, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ]
    )
    app.state.predictor = predictor
    return app


def app_from_environment() -> Starlette:
    """The app of one worker process of ``serve(workers > 1)`` (uvicorn's factory; settings in the environment)."""
    settings = json.loads(os.environ[_ENV])
    return create_app(settings["model_dir"], max_body_mb=settings["max_body_mb"], threads=settings["threads"])


def serve(
    model_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    max_body_mb: float = DEFAULT_MAX_BODY_MB,
    threads: int = 1,
    access_log: bool = True,
) -> None:
    """Serve the predictor saved in ``model_dir`` over HTTP until interrupted (uvicorn).

    Args:
        model_dir: A directory written by ``paretoml export`` or :meth:`Predictor.save`.
        host: The address to bind; ``127.0.0.1`` keeps the server on this machine, ``0.0.0.0`` opens it
            to the network (e.g. in a container).
        port: The TCP port.
        workers: Worker processes, each with its own copy of the model.
        max_body_mb: Requests with a larger body are answered 413.
        threads: Threads each worker's model predicts with.
        access_log: Log one line per request.

    Raises:
        ConfigError: For a port outside 0..65535, fewer than one worker or thread, or a non-positive body limit.
        DataError: When ``model_dir`` is not a saved paretoml predictor.
    """
    import uvicorn

    if not 0 <= port <= 65535:
        raise ConfigError(f"`port` must be in 0..65535; got {port}.")
    if workers < 1:
        raise ConfigError(f"`workers` must be at least 1; got {workers}. Pass e.g. --workers 2.")
    app = create_app(model_dir, max_body_mb=max_body_mb, threads=threads)  # a bad folder fails here, now
    if workers == 1:
        uvicorn.run(app, host=host, port=port, access_log=access_log, log_level="info")
        return
    settings = {"model_dir": str(Path(model_dir).resolve()), "max_body_mb": max_body_mb, "threads": threads}
    os.environ[_ENV] = json.dumps(settings)
    uvicorn.run(
        f"{__name__}:app_from_environment", factory=True, host=host, port=port, workers=workers,
        access_log=access_log, log_level="info",
    )  # fmt: skip
