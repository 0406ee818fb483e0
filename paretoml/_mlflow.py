"""MLflow: a study's trials as runs (through Optuna's ``MLflowCallback``), a Predictor as a ``pyfunc`` model.

mlflow and optuna-integration are optional (``pip install 'paretoml[mlflow]'``) and imported on first use.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from paretoml._imports import require
from paretoml._version import __version__
from paretoml.exceptions import ConfigError

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial, TrialState

    from paretoml._result import Result
    from paretoml.serving import Predictor

__all__ = ["MLflowLogger", "log_model", "log_study", "save_model"]

_CODE = Path(__file__).with_name("_mlflow_model.py")  # the pyfunc model, executed by MLflow ("model from code")
_OUTPUTS = ("predict", "predict_proba")
_DEFAULT_NAMES = ["metric", "latency_p50_ms", "size_kb"]
FRONT_TAG = "paretoml.front"
FRONT_RAW_TAG = "paretoml.front_raw"


def _callback(study: optuna.Study, experiment_id: str | None, tags: dict[str, str], user_attrs: bool) -> Any:
    integration = require("optuna_integration.mlflow", "logging trials to MLflow")
    names = list(study.metric_names or _DEFAULT_NAMES[: len(study.directions)])
    return integration.MLflowCallback(
        metric_name=names,
        create_experiment=False,
        mlflow_kwargs={"experiment_id": experiment_id, "tags": tags},
        tag_trial_user_attrs=user_attrs,
    )


def _experiment(mlflow: Any, tracking_uri: str | None, experiment: str | None, study: optuna.Study) -> str:
    if tracking_uri is not None:
        mlflow.set_tracking_uri(tracking_uri)
    return str(mlflow.set_experiment(experiment or study.study_name).experiment_id)


class MLflowLogger:
    """An Optuna callback that logs each finished trial as an MLflow run while the study runs.

    Pass it in ``optimize(..., callbacks=[MLflowLogger(...)])``. It wraps
    ``optuna_integration.MLflowCallback`` with the study's objective names (the validation metric,
    ``latency_p50_ms``, ``size_kb``) as metric names. Front membership is only known at the end:
    :func:`log_study` tags it.

    Args:
        tracking_uri: Where MLflow records runs (None: MLflow's current tracking URI).
        experiment: MLflow experiment name (None: the study's name).
        tag_user_attrs: Also record each trial's user attributes (measurements, configuration) as tags.
    """

    def __init__(self, tracking_uri: str | None = None, experiment: str | None = None, tag_user_attrs: bool = True):
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.tag_user_attrs = tag_user_attrs

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        mlflow = require("mlflow", "logging trials to MLflow")
        experiment_id = _experiment(mlflow, self.tracking_uri, self.experiment, study)
        _callback(study, experiment_id, {}, self.tag_user_attrs)(study, trial)


def log_study(
    study: Result | optuna.Study,
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    states: Iterable[TrialState] | None = None,
    tag_user_attrs: bool = True,
) -> dict[int, str]:
    """Log a finished study's trials as MLflow runs, one run per trial.

    Each run (named by the trial number) holds the trial's parameters, its objectives as metrics under
    their names (the validation metric, ``latency_p50_ms``, ``size_kb``), Optuna's tags (``state``,
    ``direction``, distributions, and the trial's user attributes), and the tags ``paretoml.front``
    (on the trustworthy front, ``"true"``/``"false"``) and ``paretoml.front_raw`` (non-dominated). The
    runs are written by ``optuna_integration.MLflowCallback``. Calling it twice logs the trials twice.

    Args:
        study: A :class:`paretoml.Result` (front membership from :attr:`Result.front`) or an
            ``optuna.Study`` (front: ``study.best_trials``).
        tracking_uri: Where MLflow records runs (None: MLflow's current tracking URI).
        experiment: MLflow experiment name (None: the study's name).
        states: Trial states to log (default: completed, pruned and failed trials).
        tag_user_attrs: Also record each trial's user attributes as tags.

    Returns:
        The MLflow run id of each logged trial, by trial number.

    Example:
        >>> result = paretoml.optimize(df, "20 trials", target="churn")          # doctest: +SKIP
        >>> paretoml.mlflow.log_study(result, tracking_uri="sqlite:///mlflow.db")  # doctest: +SKIP
    """
    mlflow = require("mlflow", "logging a study to MLflow")
    from optuna.trial import TrialState

    from paretoml._result import Result

    if isinstance(study, Result):
        front, front_raw = set(study.front.trial.tolist()), set(study.front_raw.trial.tolist())
        optuna_study = study.study
    else:
        optuna_study = study
        front = front_raw = {t.number for t in study.best_trials}
    experiment_id = _experiment(mlflow, tracking_uri, experiment, optuna_study)
    wanted = tuple(states) if states is not None else (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    runs: dict[int, str] = {}
    for trial in optuna_study.get_trials(deepcopy=False, states=wanted):
        tags = {FRONT_TAG: str(trial.number in front).lower(), FRONT_RAW_TAG: str(trial.number in front_raw).lower()}
        _callback(optuna_study, experiment_id, tags, tag_user_attrs)(optuna_study, trial)
        runs[trial.number] = mlflow.last_active_run().info.run_id
    return runs


def _model_kwargs(predictor: Predictor, folder: Path, input_example: Any, output: str) -> dict[str, Any]:
    """What ``mlflow.pyfunc.save_model``/``log_model`` need besides the destination."""
    if output not in _OUTPUTS:
        raise ConfigError(
            f"`output` must be one of {list(_OUTPUTS)}; got {output!r}. Use 'predict' or 'predict_proba'."
        )
    if output == "predict_proba" and predictor.task == "regression":
        raise ConfigError("`output='predict_proba'` needs a classifier; this predictor does regression. Use 'predict'.")
    if not isinstance(input_example, pd.DataFrame) or input_example.empty:
        got = "an empty DataFrame" if isinstance(input_example, pd.DataFrame) else type(input_example).__name__
        raise ConfigError(
            f"`input_example` must be a non-empty pandas DataFrame of raw rows (the signature's column types "
            f"come from it); got {got}. Pass a few rows of the data the model will serve, e.g. X.head(3)."
        )
    models = require("mlflow.models", "saving a Predictor as an MLflow model")
    example = input_example.head(5)
    categorical = [c for c in example.columns if isinstance(example[c].dtype, pd.CategoricalDtype)]
    example = example.astype(dict.fromkeys(categorical, object))  # MLflow schemas have strings, not categories
    if output == "predict_proba":
        out: Any = pd.DataFrame(predictor.predict_proba(example), columns=[str(c) for c in predictor.classes_])
    else:
        out = np.asarray(predictor.predict(example))
    return {
        "python_model": str(_CODE),
        "artifacts": {"predictor": str(predictor.save(folder / "predictor"))},
        "signature": models.infer_signature(example, out),
        "input_example": example,
        "model_config": {"output": output},
        "pip_requirements": [f"paretoml=={__version__}"],
    }


def save_model(predictor: Predictor, path: str | Path, *, input_example: pd.DataFrame, output: str = "predict") -> Path:
    """Save a Predictor as an MLflow ``pyfunc`` model in folder ``path``.

    The model is a "model from code" (paretoml's ``_mlflow_model.py``, copied into the model): nothing is
    pickled. Its artifact is the saved predictor directory, loaded with :func:`paretoml.load`.

    Args:
        predictor: The predictor to save.
        path: A new folder.
        input_example: A few raw rows of the data the model will serve (the first 5 are recorded, and the
            signature is inferred from them: MLflow then checks each input's column types; pandas
            categorical columns are recorded as strings).
        output: What the model's ``predict`` returns: ``"predict"`` (labels or values) or
            ``"predict_proba"`` (one column per class).

    Returns:
        The folder written.

    Raises:
        ConfigError: For an unknown ``output``, ``"predict_proba"`` on a regression predictor, or an
            ``input_example`` that is not a non-empty DataFrame.
    """
    pyfunc = require("mlflow.pyfunc", "saving a Predictor as an MLflow model")
    with tempfile.TemporaryDirectory() as tmp:
        pyfunc.save_model(str(path), **_model_kwargs(predictor, Path(tmp), input_example, output))
    return Path(path)


def log_model(
    predictor: Predictor,
    name: str = "model",
    *,
    input_example: pd.DataFrame,
    output: str = "predict",
    registered_model_name: str | None = None,
) -> Any:
    """Log a Predictor as an MLflow ``pyfunc`` model in the active run (one is started if none is).

    ``mlflow.pyfunc.load_model(info.model_uri).predict(df)`` then serves it in any process where
    paretoml is installed. See :func:`save_model` for the model's form.

    Args:
        predictor: The predictor to log.
        name: The model's name within the run.
        input_example: As for :func:`save_model`.
        output: As for :func:`save_model`.
        registered_model_name: Also register the model under this name.

    Returns:
        MLflow's ``ModelInfo`` (``model_uri``, ``signature``, ...).

    Example:
        >>> info = paretoml.mlflow.log_model(predictor, input_example=X.head(3))  # doctest: +SKIP
        >>> mlflow.pyfunc.load_model(info.model_uri).predict(X)                 # doctest: +SKIP
    """
    pyfunc = require("mlflow.pyfunc", "logging a Predictor to MLflow")
    with tempfile.TemporaryDirectory() as tmp:
        kwargs = _model_kwargs(predictor, Path(tmp), input_example, output)
        return pyfunc.log_model(name=name, registered_model_name=registered_model_name, **kwargs)
