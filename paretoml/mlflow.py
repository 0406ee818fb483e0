"""MLflow integration: log a study's trials as runs, and a Predictor as an MLflow ``pyfunc`` model.

Needs the ``mlflow`` extra (``pip install 'paretoml[mlflow]'``: mlflow-skinny and optuna-integration).

Example:
    >>> import paretoml.mlflow                                                  # doctest: +SKIP
    >>> paretoml.mlflow.log_study(result, tracking_uri="sqlite:///mlflow.db")   # doctest: +SKIP
    >>> info = paretoml.mlflow.log_model(predictor, input_example=X.head(3))    # doctest: +SKIP
"""

from __future__ import annotations

from paretoml._mlflow import FRONT_RAW_TAG, FRONT_TAG, MLflowLogger, log_model, log_study, save_model

__all__ = ["FRONT_RAW_TAG", "FRONT_TAG", "MLflowLogger", "log_model", "log_study", "save_model"]
