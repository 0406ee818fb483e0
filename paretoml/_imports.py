"""Deferred imports of optional dependencies, with an install hint when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from paretoml.exceptions import MissingDependencyError

_EXTRA_OF = {"torch": "cnn", "optuna_dashboard": "dashboard", "psycopg": "postgres", "matplotlib": "report",
            "starlette": "serve", "uvicorn": "serve", "onnx": "onnx", "onnxmltools": "onnx", "onnxruntime": "onnx",
            "lleaves": "lleaves", "mlflow": "mlflow", "mlflow.models": "mlflow", "mlflow.pyfunc": "mlflow",
            "optuna_integration.mlflow": "mlflow"}  # fmt: skip


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` or raise a :class:`MissingDependencyError` that says how to install it.

    Args:
        module: The importable module name, e.g. ``"torch"``.
        feature: What the user asked for that needs it, used in the message.

    Returns:
        The imported module.

    Raises:
        MissingDependencyError: When the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = _EXTRA_OF.get(module)
        hint = f"pip install 'paretoml[{extra}]'" if extra else f"pip install {module}"
        raise MissingDependencyError(
            f"{feature} needs the optional package {module!r}, which is not installed. Install it with: {hint}"
        ) from exc
