"""Extending paretoml: a family defined only here, added through the public extension points.

The family is a linear model (scikit-learn's Ridge / LogisticRegression for fitting) that saves its
coefficients as JSON and predicts with NumPy. It is registered with ``register_family`` and searched
with a YAML space written by the test, through a real study, then saved and loaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import paretoml
from paretoml.compression import CompressionContext, before_fit
from paretoml.exceptions import UnsupportedError
from paretoml.families import FAMILIES, BaseFamily, FitData, FittedModel, register_family

_FILE = "model.linear.json"


class LinearModel(FittedModel):
    """Coefficients ``(n_outputs, p)``, intercepts and the column means that replace missing values."""

    family = "linear_test"

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, fill: np.ndarray, task: str) -> None:
        self.coef, self.intercept, self.fill, self.task = coef, intercept, fill, task

    def predict(self, X: np.ndarray) -> np.ndarray:
        z = np.where(np.isnan(X), self.fill, X) @ self.coef.T + self.intercept
        if self.task == "regression":
            return z[:, 0]
        if self.task == "binary":
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack((1.0 - p, p))
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def save(self, directory: Path) -> dict[str, Any]:
        arrays = {"coef": self.coef.tolist(), "intercept": self.intercept.tolist(), "fill": self.fill.tolist()}
        (directory / _FILE).write_text(json.dumps(arrays))
        return {"file": _FILE}

    def set_threads(self, n_threads: int) -> None:
        pass

    def stats(self) -> dict[str, int]:
        return {"n_params": int(self.coef.size + self.intercept.size)}


class LinearFamily(BaseFamily):
    """Ridge regression or logistic regression, strength ``alpha`` searched."""

    name = "linear_test"

    def fit(self, data: FitData, params: dict[str, Any]) -> FittedModel:
        from sklearn.linear_model import LogisticRegression, Ridge

        fill = np.nan_to_num(np.nanmean(data.X_train, axis=0))
        X = np.where(np.isnan(data.X_train), fill, data.X_train)
        alpha = float(params["alpha"])
        if data.task == "regression":
            est: Any = Ridge(alpha=alpha).fit(X, data.y_train)
        else:
            est = LogisticRegression(C=1.0 / alpha, max_iter=500).fit(X, data.y_train)
        coef, intercept = np.atleast_2d(est.coef_), np.atleast_1d(est.intercept_)
        return LinearModel(coef, intercept, fill, data.task)

    def load(self, directory: Path, entry: dict[str, Any], *, task: str, n_classes: int) -> FittedModel:
        arrays = json.loads((directory / entry["file"]).read_text())
        return LinearModel(*(np.asarray(arrays[k], dtype=np.float64) for k in ("coef", "intercept", "fill")), task)


@pytest.fixture
def linear_family() -> Iterator[BaseFamily]:
    family = register_family(LinearFamily())
    yield family
    FAMILIES.pop(family.name, None)


@pytest.fixture
def space_file(tmp_path: Path) -> Path:
    path = tmp_path / "linear_test.yaml"
    path.write_text("family: linear_test\nparams:\n  alpha: {type: float, low: 0.01, high: 10.0, log: true}\n")
    return path


def test_a_family_defined_outside_the_package_runs_a_study(
    linear_family: BaseFamily, space_file: Path, mixed_frame: pd.DataFrame, tmp_path: Path
) -> None:
    result = paretoml.optimize(
        mixed_frame, "3 trials", target="label", families=["linear_test"],
        search_spaces={"linear_test": space_file}, features=False, seed=0,
    )  # fmt: skip
    trials = result.study.trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3, [t.user_attrs.get("fail_reason") for t in trials]
    assert {t.user_attrs["family"] for t in trials} == {"linear_test"}
    assert {t.user_attrs["compression"] for t in trials} == {"none"}  # the family samples no compression space
    best = int(result.front.trial.iloc[0])
    pred = result.predictor(best)
    X = mixed_frame.drop(columns="label").head(20)
    folder = pred.save(tmp_path / "linear")
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", _FILE]  # JSON only, nothing pickled
    again = paretoml.load(folder)
    np.testing.assert_array_equal(again.output(X), pred.output(X))
    assert ((again.predict(X) == mixed_frame.label.head(20)).mean()) > 0.6


class _TreeSpaceLinear(LinearFamily):
    """The linear family set to sample the tree compression space, whose capabilities it lacks."""

    name = "linear_tree_space"
    compression_space = "compression"


def test_a_compression_setting_the_family_lacks_is_a_clear_error() -> None:
    family = register_family(_TreeSpaceLinear())
    try:
        data = FitData(np.zeros((4, 1)), np.array([0, 1, 0, 1]), np.zeros((2, 1)), np.array([0, 1]), [], "binary",
                       2, 1, 0)  # fmt: skip
        ctx = CompressionContext({"tree_fraction": 0.5}, family.name)
        with pytest.raises(UnsupportedError, match=r"truncation \(`tree_fraction=0.5`\) is not supported by family"):
            before_fit(data, {}, ctx)
        ctx = CompressionContext({"runtime": "tl2cgen"}, family.name)
        with pytest.raises(UnsupportedError, match="runtime 'tl2cgen' is not supported by family 'linear_tree_space'"):
            before_fit(data, {}, ctx)
        assert before_fit(data, {"alpha": 1.0}, CompressionContext({"tree_fraction": 1.0}, family.name))[1] == {
            "alpha": 1.0
        }  # settings that ask for nothing pass
    finally:
        FAMILIES.pop(family.name, None)
