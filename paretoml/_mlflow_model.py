"""The MLflow ``pyfunc`` model of a paretoml Predictor, as a "model from code" file.

MLflow copies this file into the saved model and executes it at load time (``mlflow.models.set_model``
below), so the model object is never pickled; its one artifact is a saved paretoml predictor directory,
read by :func:`paretoml.load` (native formats, checksums verified). Not meant to be imported by paretoml
itself: :mod:`paretoml.mlflow` passes this file's path to ``mlflow.pyfunc.save_model``.
"""

from __future__ import annotations

from typing import Any

import mlflow
import numpy as np
import pandas as pd

PREDICTOR_ARTIFACT = "predictor"
OUTPUTS = ("predict", "predict_proba")


class ParetomlModel(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
    """Serves a saved paretoml Predictor through MLflow's ``pyfunc`` interface.

    The model config key ``output`` picks what ``predict`` returns: ``"predict"`` (labels or values, the
    default) or ``"predict_proba"`` (a DataFrame with one column per class).
    """

    def load_context(self, context: Any) -> None:
        """Load the predictor directory MLflow hands over as an artifact (never unpickled)."""
        import paretoml

        self.predictor = paretoml.load(context.artifacts[PREDICTOR_ARTIFACT])
        self.output = str((context.model_config or {}).get("output", "predict"))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        """Predict for a DataFrame (or anything :meth:`paretoml.Predictor.predict` takes)."""
        output = str((params or {}).get("output", self.output))
        if output == "predict_proba":
            proba = self.predictor.predict_proba(model_input)
            return pd.DataFrame(proba, columns=[str(c) for c in self.predictor.classes_])
        return np.asarray(self.predictor.predict(model_input))


mlflow.models.set_model(ParetomlModel())
