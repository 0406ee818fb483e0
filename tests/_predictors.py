"""Small fitted Predictors for tests that need a real model without running a study."""

from __future__ import annotations

from typing import Any

import pandas as pd

from paretoml import Predictor
from paretoml.data import Preprocessor, intake, make_splits
from paretoml.families import FitData, get_family


def fitted_predictor(frame: pd.DataFrame, family: str, params: dict[str, Any]) -> tuple[Predictor, pd.DataFrame]:
    """A ``family`` model fitted with ``params`` on ``frame``'s seeded training split (target ``label``),
    served as a Predictor; and the test split's raw rows."""
    ds = intake(frame, target="label")
    sp = make_splits(ds, seed=0)
    pre = Preprocessor.fit(sp.train.X)
    data = FitData(
        pre.transform_frame(sp.train.X), sp.train.y, pre.transform_frame(sp.valid.X), sp.valid.y,
        pre.cat_indices, ds.task, len(ds.classes), 1, 0,
    )  # fmt: skip
    model = get_family(family).fit(data, params)
    return Predictor(pre, model, task=ds.task, classes=ds.classes), sp.test.X.reset_index(drop=True)
