"""Warm start: a new study's first trials are known-strong configurations, enqueued through Optuna.

Each searched family gets its library's defaults and one well-established setting (a lower learning
rate with more rounds, left to early stopping, and row/column sampling), on all features and without
compression, so that even a short budget holds a strong accurate model. A value outside the study's
search space (a user's narrower YAML) is left out and sampled instead. The configurations are enqueued
once, when the study is created; a resumed study (or another worker joining it) does not repeat them.
"""

from __future__ import annotations

from typing import Any

import optuna

from paretoml.spaces import SearchSpace

__all__ = ["WARM_ATTR", "WARM_START", "enqueue_warm_start", "warm_start_params"]

#: Study user attr set once the warm-start trials are enqueued.
WARM_ATTR = "warm_start_enqueued"

#: Per family: the library's defaults, then a well-established setting.
WARM_START: dict[str, list[dict[str, Any]]] = {
    "lightgbm": [
        {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31, "max_depth": -1, "min_child_samples": 20,
         "colsample_bytree": 1.0, "bagging_freq": 0, "reg_lambda": 1.0e-3, "max_bin": 255},
        {"n_estimators": 400, "learning_rate": 0.03, "num_leaves": 15, "max_depth": -1, "min_child_samples": 20,
         "colsample_bytree": 0.6, "bagging_freq": 1, "bagging_fraction": 0.8, "reg_lambda": 1.0, "max_bin": 255},
    ],
    "xgboost": [
        {"n_estimators": 100, "learning_rate": 0.3, "grow_policy": "depthwise", "max_depth": 6,
         "min_child_weight": 1.0, "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1.0, "max_bin": 256},
        {"n_estimators": 400, "learning_rate": 0.05, "grow_policy": "depthwise", "max_depth": 5,
         "min_child_weight": 1.0, "subsample": 0.8, "colsample_bytree": 0.7, "reg_lambda": 1.0, "max_bin": 256},
    ],
    "cnn": [
        {"n_blocks": 2, "channels": 16, "channel_growth": 2, "kernel_size": 3, "batch_norm": True,
         "activation": "relu", "head": "gap", "dropout": 0.1, "optimizer": "adam", "learning_rate": 3.0e-3,
         "weight_decay": 1.0e-5, "batch_size": 64, "max_epochs": 30},
    ],
}  # fmt: skip

#: Compression settings that mean "none", per compression space.
_NO_COMPRESSION = {
    "compression": {"tree_fraction": 1.0, "runtime": "native", "distill": False},
    "cnn_compression": {"distill": False, "prune_fraction": 0.0, "quantize": "none"},
}


def _inside(space: SearchSpace, values: dict[str, Any]) -> dict[str, Any]:
    """The values that lie inside ``space``, under Optuna's names (``<family>.<name>``); conditions honoured."""
    kept: dict[str, Any] = {}
    chosen: dict[str, Any] = {}
    for p in space.params:
        if not p.active(chosen) or p.name not in values:
            continue
        value = values[p.name]
        if p.type == "categorical":
            ok = value in p.choices
        elif p.type in ("int", "float"):
            ok = p.low is not None and p.high is not None and p.low <= float(value) <= p.high
        else:
            ok = False
        if ok:
            kept[f"{space.family}.{p.name}"] = value
            chosen[p.name] = value
    return kept


def warm_start_params(
    spaces: dict[str, SearchSpace],
    compression: dict[str, SearchSpace],
    n_features: int | None,
    compression_space_of: dict[str, str],
    image_families: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """The parameters of each warm-start trial, as ``study.enqueue_trial`` takes them.

    Args:
        spaces: The searched families' spaces.
        compression: The searched compression spaces, by name.
        n_features: The ``n_features`` value meaning "all features" (None when features are not searched).
        compression_space_of: Each family's compression space name.
        image_families: Families that keep every pixel (no ``n_features``).
    """
    out: list[dict[str, Any]] = []
    rounds = max((len(WARM_START.get(name, [])) for name in spaces), default=0)
    for i in range(rounds):  # defaults of every family first, then the second settings
        for name in sorted(spaces):
            settings = WARM_START.get(name, [])
            if i >= len(settings):
                continue
            params: dict[str, Any] = {"family": name, **_inside(spaces[name], settings[i])}
            if n_features is not None and name not in image_families:
                params["n_features"] = n_features
            squeeze = compression.get(compression_space_of[name])
            if squeeze is not None:
                params.update(_inside(squeeze, _NO_COMPRESSION.get(squeeze.family, {})))
            out.append(params)
    return out


def enqueue_warm_start(study: optuna.Study, params: list[dict[str, Any]], max_trials: int | None = None) -> int:
    """Enqueue ``params`` once per study: not on a study that has trials or was warm-started before.

    At most ``max_trials`` are enqueued (a trial-count budget), so that none is left waiting.

    Returns:
        The number of trials enqueued.
    """
    if study.user_attrs.get(WARM_ATTR) or study.trials:
        return 0
    params = params if max_trials is None else params[:max_trials]
    study.set_user_attr(WARM_ATTR, len(params))
    for p in params:
        study.enqueue_trial(p, skip_if_exists=True)
    return len(params)
