"""scikit-learn estimators over :func:`paretoml.optimize`: ``fit`` runs a study, picks, serves the refit pick.

The constructor stores its arguments unchanged (scikit-learn's convention), so ``clone``, ``get_params``,
``set_params``, ``Pipeline``, ``cross_val_score`` and ``GridSearchCV`` over these settings work. Input is
checked with scikit-learn's own ``validate_data`` (arrays become float64, NaN allowed, infinities refused); a
DataFrame is passed to the study as it is, so that string and categorical columns keep their meaning.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, column_or_1d, validate_data

from paretoml.exceptions import NoFeasibleModelError

if TYPE_CHECKING:
    from paretoml._pick import Pick
    from paretoml._result import Result

__all__ = ["ParetoClassifier", "ParetoRegressor"]


class _ParetoEstimator(BaseEstimator):
    """What the classifier and the regressor share: the settings, the study, the pick, the served model."""

    _task: str = ""  # "classification" or "regression", set by the subclasses

    def __init__(
        self,
        budget: Any = 60,
        *,
        preset: str | None = None,
        weights: Mapping[str, float] | Sequence[float] | None = None,
        limits: Mapping[str, float] | None = None,
        method: str | None = None,
        metric: str | None = None,
        families: Sequence[str] | None = None,
        features: Any = None,
        compression: Any = None,
        cv_folds: int | str = "auto",
        warm_start: bool = True,
        valid_size: float = 0.2,
        test_size: float = 0.2,
        refit: bool | str = True,
        hardware: Any = None,
        storage: str | Path | None = None,
        study_name: str = "paretoml",
        trial_timeout: float | None = 600.0,
        random_state: int | np.random.RandomState | None = 0,
        allow_degenerate: bool = False,
        progress: bool = False,
    ) -> None:
        self.budget = budget
        self.preset = preset
        self.weights = weights
        self.limits = limits
        self.method = method
        self.metric = metric
        self.families = families
        self.features = features
        self.compression = compression
        self.cv_folds = cv_folds
        self.warm_start = warm_start
        self.valid_size = valid_size
        self.test_size = test_size
        self.refit = refit
        self.hardware = hardware
        self.storage = storage
        self.study_name = study_name
        self.trial_timeout = trial_timeout
        self.random_state = random_state
        self.allow_degenerate = allow_degenerate
        self.progress = progress

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # the tree families take missing values as they are
        return tags

    # ------------------------------------------------------------------ fitting
    def _fit(self, X: Any, y: Any, task: str) -> None:
        from paretoml._api import optimize
        from paretoml._refit import refit_rows

        refit_rows(self.refit)  # the pick's settings are checked before the study starts
        self._check_pick()
        data = (X, pd.Series(y, index=X.index, name="target")) if isinstance(X, pd.DataFrame) else (X, y)
        seed = self.random_state
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            seed = int(check_random_state(seed).randint(0, 2**31 - 1))
        result = optimize(
            data, self.budget, task=task, metric=self.metric, families=self.families, features=self.features,
            compression=self.compression, cv_folds=self.cv_folds, warm_start=self.warm_start,
            valid_size=self.valid_size, test_size=self.test_size, hardware=self.hardware, storage=self.storage,
            study_name=self.study_name, trial_timeout=self.trial_timeout, seed=int(seed), progress=self.progress,
        )  # fmt: skip
        self.result_ = result
        self.pick_ = self._pick(result)
        self.predictor_ = result.predictor(self.pick_.trial, refit=self.refit)

    def _pick(self, result: Result) -> Pick:
        """The study's pick; with ``allow_degenerate``, from the raw front when no trial beats the baseline."""
        from paretoml._pick import pick_front

        if not self.allow_degenerate or len(result.front):
            return result.pick(preset=self.preset, weights=self.weights, limits=self.limits, method=self.method)
        warnings.warn(
            f"no trial beat a constant prediction of the target beyond noise (metric {result.metric}); "
            "allow_degenerate=True picks from the raw front anyway.", UserWarning, stacklevel=4,
        )  # fmt: skip
        maximize = result.study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
        return pick_front(
            result.front_raw.drop(columns="degenerate"), maximize=maximize, metric=result.metric,
            weights=self.weights, limits=self.limits, method=self.method, preset=self.preset,
        )  # fmt: skip

    def _check_pick(self) -> None:
        """Raise the picker's own errors for a bad preset, weights, limits or method, before any work."""
        from paretoml._pick import pick_front

        # an empty front: the picker checks its arguments, then finds nothing to pick
        with contextlib.suppress(NoFeasibleModelError):
            pick_front(
                pd.DataFrame(), maximize=True, metric="metric", weights=self.weights, limits=self.limits,
                method=self.method, preset=self.preset,
            )  # fmt: skip

    def _training_input(self, X: Any, y: Any) -> tuple[Any, np.ndarray]:
        """Checked rows and target (scikit-learn's rules); a DataFrame keeps its columns and dtypes."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, y, skip_check_array=True)  # names, column count, y given
            y = column_or_1d(y, warn=True)
            if len(y) != len(X):
                raise ValueError(f"X has {len(X)} rows but y has {len(y)}; pass one target value per row.")
            return _string_columns(X), y
        X, y = validate_data(
            self, X, y, dtype=np.float64, ensure_all_finite="allow-nan", ensure_min_samples=2,
            y_numeric=self._task == "regression",
        )  # fmt: skip
        return X, y

    def _served(self, X: Any) -> Any:
        """Checked rows for the served Predictor: the columns (count and names) seen in ``fit``."""
        check_is_fitted(self, "predictor_")
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=False, skip_check_array=True)
            return _string_columns(X)
        return validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")

    def __getstate__(self) -> dict[str, Any]:
        """Pickled state: the Predictor as its saved native files, without the in-memory study."""
        state = dict(super().__getstate__())
        state.pop("result_", None)
        if "pick_" in state:
            state["pick_"] = dataclasses.replace(state["pick_"], _load=None)
        if "predictor_" in state:
            with tempfile.TemporaryDirectory() as tmp:
                file = Path(tmp) / "predictor.zip"
                state["predictor_"].save_zip(file)
                state["predictor_"] = _SavedPredictor(file.read_bytes())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        saved = state.get("predictor_")
        if isinstance(saved, _SavedPredictor):
            from paretoml.serving import Predictor

            with tempfile.TemporaryDirectory() as tmp:
                file = Path(tmp) / "predictor.zip"
                file.write_bytes(saved.zip_bytes)
                state["predictor_"] = Predictor.load(file)
        super().__setstate__(state)


@dataclasses.dataclass(frozen=True)
class _SavedPredictor:
    """A Predictor inside a pickle: the bytes of its native zip (manifest plus model files), no objects."""

    zip_bytes: bytes


def _string_columns(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with its column names as strings (paretoml names columns by strings)."""
    if all(isinstance(c, str) for c in X.columns):
        return X
    return X.set_axis([str(c) for c in X.columns], axis=1)


class ParetoClassifier(ClassifierMixin, _ParetoEstimator):
    """A classifier whose ``fit`` searches accuracy/latency/size trade-offs and serves the picked model.

    ``fit`` runs :func:`paretoml.optimize` on the rows (a study in memory unless ``storage`` is given),
    picks one front member with :meth:`paretoml.Result.pick` (``preset``, ``weights``, ``limits``,
    ``method``), and serves that trial's model refit on train + validation rows (``refit``).

    Args:
        budget: The search budget, as for :func:`paretoml.optimize` (seconds, ``"5m"``, ``"20 trials"``).
        preset: A pick preset (see :data:`paretoml.PRESETS`), e.g. ``"customer_facing"``.
        weights: Pick weights of ``metric``, ``latency`` and ``size``.
        limits: Hard pick limits such as ``{"max_latency_p95_ms": 5}``.
        method: The pick's scalarisation: ``weighted_sum``, ``tchebycheff``, ``knee`` or ``topsis``.
        metric: A scikit-learn scorer name for the study (default ROC AUC for two classes, else accuracy).
            ``score`` stays scikit-learn's accuracy.
        families: Model families to search (default LightGBM and XGBoost).
        features: Feature subsets searched, as for :func:`paretoml.optimize`.
        compression: Compression searched, as for :func:`paretoml.optimize`.
        cv_folds: How the metric objective is validated, as for :func:`paretoml.optimize`.
        warm_start: Whether the first trials are well-established configurations.
        valid_size: Fraction of rows for validation.
        test_size: Fraction of rows held out to score the front on (the pick uses these scores).
        refit: ``True``: the pick refit on train + validation rows; ``"all"``: on every row; ``False``:
            the search-time model.
        hardware: Thread count or ``{"n_threads": ...}`` for training and serving.
        storage: Where the study is kept (default: in memory, nothing written to the working directory). A fit
            continues a study of the same name there, so give each fit (each fold) its own ``study_name``.
        study_name: The study's name in ``storage``.
        trial_timeout: Seconds one trial may take.
        random_state: An int seed for the split, sampler and models (a RandomState or None draws one).
        allow_degenerate: When no trial beats a constant prediction beyond noise (random labels, a tiny
            budget), False raises :class:`~paretoml.NoFeasibleModelError`; True picks from the raw front
            with a warning (e.g. inside a grid search that must not stop).
        progress: Show the study's progress line on standard error.

    Attributes:
        classes_: The class labels, sorted.
        n_features_in_: The number of input columns.
        feature_names_in_: The input column names (when ``X`` was a DataFrame with string names).
        result_: The study's :class:`paretoml.Result` (front, trials, study).
        pick_: The :class:`paretoml.Pick`: the chosen trial and why.
        predictor_: The served :class:`paretoml.Predictor` (save it with ``predictor_.save(path)``).

    Example:
        >>> from paretoml.sklearn import ParetoClassifier
        >>> clf = ParetoClassifier("20 trials", preset="customer_facing").fit(X, y)  # doctest: +SKIP
        >>> clf.predict_proba(X[:3])                                               # doctest: +SKIP
    """

    _task = "classification"

    def fit(self, X: Any, y: Any) -> ParetoClassifier:
        """Run the study on ``(X, y)``, pick, and keep the picked Predictor.

        Args:
            X: A DataFrame (string and categorical columns allowed) or a 2-D numeric array.
            y: The class labels, one per row (at least two classes).

        Returns:
            This estimator, fitted.

        Raises:
            ValueError: For input scikit-learn's checks refuse, or a target with fewer than two classes.
            ConfigError: For a setting optimize or the picker refuses (raised before the study starts).
            NoFeasibleModelError: When no front member meets the pick's limits.
        """
        X, y = self._training_input(X, y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"y holds a single class ({self.classes_[0]!r}); a classifier needs at least two classes.")
        self._fit(X, y, "binary" if len(self.classes_) == 2 else "multiclass")
        served = list(self.predictor_.classes_)
        self._order = np.array([served.index(c) for c in self.classes_])
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row (labels from :attr:`classes_`)."""
        check_is_fitted(self, "predictor_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of each row, columns in :attr:`classes_` order."""
        rows = self._served(X)
        return np.asarray(self.predictor_.predict_proba(rows))[:, self._order]


class ParetoRegressor(RegressorMixin, _ParetoEstimator):
    """A regressor whose ``fit`` searches accuracy/latency/size trade-offs and serves the picked model.

    Arguments and attributes as :class:`ParetoClassifier` (no ``classes_``); the study's default metric is
    R², and ``score`` is scikit-learn's R².

    Example:
        >>> from paretoml.sklearn import ParetoRegressor
        >>> reg = ParetoRegressor("20 trials", preset="edge").fit(X, y)  # doctest: +SKIP
        >>> reg.predict(X[:3])                                          # doctest: +SKIP
    """

    _task = "regression"

    def fit(self, X: Any, y: Any) -> ParetoRegressor:
        """Run the study on ``(X, y)``, pick, and keep the picked Predictor.

        Args:
            X: A DataFrame (string and categorical columns allowed) or a 2-D numeric array.
            y: The numeric target, one value per row.

        Returns:
            This estimator, fitted.

        Raises:
            ValueError: For input scikit-learn's checks refuse.
            ConfigError: For a setting optimize or the picker refuses (raised before the study starts).
            NoFeasibleModelError: When no front member meets the pick's limits.
        """
        X, y = self._training_input(X, y)
        self._fit(X, np.asarray(y, dtype=np.float64), "regression")
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The predicted value of each row."""
        rows = self._served(X)
        return np.asarray(self.predictor_.predict(rows), dtype=np.float64)
