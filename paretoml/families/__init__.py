"""Model families behind one abstract base, kept in a plain registry dict.

Importing this package imports no model library: LightGBM, XGBoost and torch load when a model of
theirs is trained or loaded.
"""

from __future__ import annotations

import difflib

from paretoml.exceptions import ConfigError
from paretoml.families._base import BaseFamily, Capability, FitData, FittedModel
from paretoml.families._boosted import BoostedTreeFamily, BoostedTreeModel
from paretoml.families._cnn import CNNFamily
from paretoml.families._lightgbm import LightGBMFamily, lightgbm_params
from paretoml.families._xgboost import XGBoostFamily

__all__ = [
    "FAMILIES",
    "BaseFamily",
    "BoostedTreeFamily",
    "BoostedTreeModel",
    "Capability",
    "FitData",
    "FittedModel",
    "get_family",
    "lightgbm_params",
    "register_family",
]

FAMILIES: dict[str, BaseFamily] = {}


def register_family(family: BaseFamily) -> BaseFamily:
    """Add ``family`` to :data:`FAMILIES` under its ``name`` (replacing one of the same name)."""
    if not family.name:
        raise ConfigError("a family must set a non-empty `name` before it is registered.")
    FAMILIES[family.name] = family
    return family


def get_family(name: str) -> BaseFamily:
    """The registered family called ``name``.

    Raises:
        ConfigError: When no family has that name; the message lists the known ones.
    """
    try:
        return FAMILIES[name]
    except KeyError:
        close = difflib.get_close_matches(name, FAMILIES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown family {name!r}; known families are {sorted(FAMILIES)}.{hint}") from None


register_family(LightGBMFamily())
register_family(XGBoostFamily())
register_family(CNNFamily())
