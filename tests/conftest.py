"""Shared fixtures: seeded, small data sets built in memory."""

from __future__ import annotations

import random

import numpy as np
import optuna
import pandas as pd
import pytest

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(autouse=True)
def _seed() -> None:
    random.seed(0)
    np.random.seed(0)


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    """300 rows: numeric with missing values, a string category, a bool, a pandas category, a binary target."""
    rng = np.random.default_rng(0)
    n = 300
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    flag = rng.random(n) < 0.5
    score = x1 + (colour == "red") * 1.5 + flag * 0.5 + rng.normal(scale=0.3, size=n)
    x1_missing = x1.copy()
    x1_missing[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame(
        {
            "x1": x1_missing,
            "x2": x2,
            "colour": pd.Series(colour, dtype=object),
            "flag": flag,
            "size": pd.Categorical(rng.choice(["S", "M", "L"], size=n)),
            "label": np.where(score > 0.7, "yes", "no"),
        }
    )
    frame.loc[rng.random(n) < 0.05, "colour"] = None
    return frame


@pytest.fixture(autouse=True, scope="session")
def _compile_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Compiled libraries go to a cache private to the test session."""
    import os

    os.environ["PARETOML_CACHE"] = str(tmp_path_factory.mktemp("compile-cache"))
