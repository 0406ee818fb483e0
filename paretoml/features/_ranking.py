"""Feature ranking, computed once per study: mean |SHAP| (or split gain) of a reference model."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

from paretoml.exceptions import ConfigError
from paretoml.families import lightgbm_params

__all__ = ["RANKING_METHODS", "FeatureRanking", "FeatureSelection", "rank_features", "resolve_selection"]

RANKING_METHODS = ("shap", "gain")
_REFERENCE_PARAMS = {"learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 10, "verbosity": -1}
_REFERENCE_ROUNDS = 200


@dataclass(frozen=True)
class FeatureSelection:
    """How the search chooses feature subsets.

    Attributes:
        method: ``"shap"`` (mean |SHAP| of a reference LightGBM model), ``"gain"`` (its split gain,
            cheaper), or ``"off"`` (every trial uses every feature).
        sizes: Candidate numbers of top-ranked features; None searches a log-scale integer from
            ``min_features`` up to all features.
        min_features: Smallest subset searched when ``sizes`` is None.
        sample_rows: At most this many training rows are explained (SHAP cost does not grow with data).
    """

    method: str = "shap"
    sizes: tuple[int, ...] | None = None
    min_features: int = 1
    sample_rows: int = 2000

    @property
    def active(self) -> bool:
        """Whether the number of features is a searched dimension."""
        return self.method != "off"


def resolve_selection(spec: Any) -> FeatureSelection:
    """Build a :class:`FeatureSelection` from ``optimize(features=...)``.

    Args:
        spec: None or ``"shap"`` (default), ``"gain"``, ``False``/``"off"``, a list of candidate sizes
            (ranked by SHAP), a dict of :class:`FeatureSelection` fields, or a FeatureSelection.

    Raises:
        ConfigError: For an unknown method, or sizes that are not positive integers.
    """
    if isinstance(spec, FeatureSelection):
        selection = spec
    elif spec is None or spec is True:
        selection = FeatureSelection()
    elif spec is False:
        selection = FeatureSelection(method="off")
    elif isinstance(spec, str):
        selection = FeatureSelection(method=spec)
    elif isinstance(spec, (list, tuple)):
        selection = FeatureSelection(sizes=tuple(spec))
    elif isinstance(spec, dict):
        unknown = set(spec) - {"method", "sizes", "min_features", "sample_rows"}
        if unknown:
            raise ConfigError(
                f"`features` has unknown keys {sorted(unknown)}; allowed: method, sizes, min_features, sample_rows."
            )
        sizes = spec.get("sizes")
        counts = [spec.get("min_features", 1), spec.get("sample_rows", 2000)]
        if (sizes is not None and not isinstance(sizes, (list, tuple))) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in counts
        ):
            raise ConfigError(
                f"`features` sizes must be a list of positive integers and min_features, sample_rows integers; "
                f"got {spec!r}. Pass e.g. {{'method': 'gain', 'sizes': [5, 10, 20]}}."
            )
        selection = FeatureSelection(
            method=str(spec.get("method", "shap")),
            sizes=tuple(sizes) if sizes is not None else None,
            min_features=int(spec.get("min_features", 1)),
            sample_rows=int(spec.get("sample_rows", 2000)),
        )
    else:
        raise ConfigError(f"`features` must be 'shap', 'gain', 'off', a list of sizes or a dict; got {spec!r}.")
    if selection.method not in (*RANKING_METHODS, "off"):
        raise ConfigError(f"`features` method must be one of {[*RANKING_METHODS, 'off']}; got {selection.method!r}.")
    if selection.sizes is not None and (
        not selection.sizes or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in selection.sizes)
    ):
        raise ConfigError(f"`features` sizes must be positive integers; got {list(selection.sizes)!r}.")
    if selection.min_features < 1 or selection.sample_rows < 10:
        raise ConfigError(
            f"`features` needs min_features >= 1 and sample_rows >= 10; got {selection.min_features}, "
            f"{selection.sample_rows}."
        )
    return selection


@dataclass(frozen=True)
class FeatureRanking:
    """Input columns, most influential first, with their importance.

    Attributes:
        method: ``"shap"`` or ``"gain"``.
        features: Column names, most important first.
        scores: Mean |SHAP| (summed over classes) or total split gain, in the same order.
        rows_explained: Training rows the importance was computed on.
        seconds: Time taken (reference model and explanation).
    """

    method: str
    features: list[str]
    scores: list[float]
    rows_explained: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, stored as a study user attr."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureRanking:
        """Rebuild from :meth:`to_dict`."""
        return cls(**data)

    def top(self, k: int) -> list[str]:
        """The ``k`` most important columns."""
        return self.features[:k]


def shap_values(booster: lgb.Booster, X: np.ndarray) -> np.ndarray:
    """Exact TreeSHAP values of ``booster`` on rows ``X``: ``(rows, features)``, or ``(rows, classes, features)``.

    LightGBM computes them natively (``pred_contrib``: the TreeSHAP algorithm of Lundberg et al., the one the
    ``shap`` package's ``TreeExplainer`` runs, with the same values) without importing ``shap`` (about 3 s)
    or converting the model. Each row's values plus the expected value (dropped here) sum to its raw score.
    """
    contrib = np.asarray(booster.predict(X, pred_contrib=True))
    width = X.shape[1] + 1  # one column per feature, then the expected value
    if contrib.shape[1] == width:
        return contrib[:, :-1]
    return contrib.reshape(len(X), -1, width)[:, :, :-1]  # multiclass: one block per class


def _mean_abs_shap(booster: lgb.Booster, X: np.ndarray) -> np.ndarray:
    """Mean |SHAP| per feature, summed over classes for multiclass."""
    values = np.abs(shap_values(booster, X))
    return values.mean(axis=0) if values.ndim == 2 else values.mean(axis=0).sum(axis=0)


def rank_features(
    X: np.ndarray,
    y: np.ndarray,
    names: list[str],
    *,
    cat_indices: list[int],
    task: str,
    n_classes: int,
    method: str = "shap",
    sample_rows: int = 2000,
    n_threads: int = 1,
    seed: int = 0,
) -> FeatureRanking:
    """Rank encoded training columns by the importance a reference LightGBM model gives them.

    Each raw column is one model feature here (categories are integer codes, not one-hot), so a
    column's importance is its feature's importance; for multiclass, |SHAP| is summed over classes.

    Args:
        X: Encoded training features.
        y: Encoded training target.
        names: Column name of each feature.
        cat_indices: Columns holding category codes.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        n_classes: Number of classes (0 for regression).
        method: ``"shap"`` or ``"gain"``.
        sample_rows: At most this many rows (a seeded sample) are explained.
        n_threads: Threads for the reference model.
        seed: Seed of the model and the sample.

    Returns:
        The ranking; ties are broken by column order.
    """
    started = time.perf_counter()
    params = lightgbm_params(task, n_classes, n_threads=n_threads, seed=seed, **_REFERENCE_PARAMS)
    train = lgb.Dataset(X, y, categorical_feature=cat_indices or "auto")
    booster = lgb.train(params, train, _REFERENCE_ROUNDS)
    rows = min(len(X), sample_rows)
    if method == "gain":
        scores = booster.feature_importance(importance_type="gain").astype(np.float64)
    else:
        sample = np.sort(np.random.default_rng(seed).choice(len(X), size=rows, replace=False))
        scores = _mean_abs_shap(booster, X[sample])
    order = np.argsort(-scores, kind="stable")
    return FeatureRanking(
        method=method,
        features=[names[i] for i in order],
        scores=[float(scores[i]) for i in order],
        rows_explained=rows if method == "shap" else 0,
        seconds=time.perf_counter() - started,
    )
