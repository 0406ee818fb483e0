"""The OpenAPI 3.1 description of ``paretoml serve``, written for the model being served.

Records are described with the model's own feature columns, so that a client generator or the Swagger UI
shows which fields to send.
"""

from __future__ import annotations

from typing import Any

from paretoml._version import __version__
from paretoml.serving._predictor import Predictor

__all__ = ["openapi_schema"]

_KIND_SCHEMA: dict[str, dict[str, Any]] = {
    "num": {"type": ["number", "boolean", "null"]},
    "cat": {"type": ["string", "number", "boolean", "null"], "description": "a category seen in training"},
    "dt": {"type": ["string", "null"], "description": "a date or date-time, e.g. 2024-05-01T12:00:00"},
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_schema(predictor: Predictor, max_body_mb: float) -> dict[str, Any]:
    """The OpenAPI document of the server for ``predictor``.

    Args:
        predictor: The model being served (its features name the record fields).
        max_body_mb: The request size limit, stated in the description.
    """
    features = predictor.preprocessor.features
    record = {
        "type": "object",
        "description": "One row: a value per feature column (extra fields are ignored; null is a missing value).",
        "properties": {f.name: _KIND_SCHEMA[f.kind] for f in features},
        "required": [f.name for f in features],
    }
    value = {"type": ["number", "string", "boolean", "null"]}
    body = {
        "oneOf": [
            {"type": "array", "items": {"$ref": "#/components/schemas/Record"}, "minItems": 1,
             "description": "A list of records."},
            {"type": "object", "additionalProperties": {"type": "array", "items": value},
             "description": "An object of columns: a list of values per feature column, all of one length."},
            {"$ref": "#/components/schemas/Record"},
            {"type": "array", "items": {"type": "array"}, "minItems": 1,
             "description": f"Rows of values in feature order ({[f.name for f in features][:5]}...), or images."},
        ]
    }  # fmt: skip
    answer: dict[str, Any] = {"predictions": {"type": "array", "description": "One label or value per row."}}
    if predictor.task != "regression":
        answer["probabilities"] = {"type": "array", "items": {"type": "array", "items": {"type": "number"}},
                                   "description": "One list per row, in `classes` order."}  # fmt: skip
        answer["classes"] = {"type": "array", "description": "The class labels."}
    json_ok = {"application/json": {"schema": {"type": "object"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"paretoml model: {predictor.family} {predictor.task}",
            "version": __version__,
            "description": f"Predictions of one exported paretoml model. Request bodies up to {max_body_mb:g} MB.",
        },
        "paths": {
            "/predict": {
                "post": {
                    "summary": "Predict for a batch of rows",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                    "responses": {
                        "200": {
                            "description": "Predictions",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "object", "properties": answer, "required": list(answer)}
                                }
                            },
                        },
                        "400": _error("The body is not JSON."),
                        "413": _error(f"The body is over {max_body_mb:g} MB."),
                        "422": _error("The rows do not match the model (the Python API's typed error)."),
                    },
                }
            },
            "/health": {
                "get": {"summary": "Liveness", "responses": {"200": {"description": "ok", "content": json_ok}}}
            },
            "/model": {
                "get": {
                    "summary": "The model's manifest and model card",
                    "responses": {"200": {"description": "The model", "content": json_ok}},
                }
            },
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI"}}}},
        },
        "components": {
            "schemas": {
                "Record": record,
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
                    "required": ["error", "detail"],
                },
            }
        },
    }
