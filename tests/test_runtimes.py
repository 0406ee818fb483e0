"""The onnxruntime and lleaves runtimes: they serve what the native model serves, save no binary, and
lleaves loads object code only from its verified cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import paretoml
from paretoml.data._preprocess import Preprocessor
from paretoml.exceptions import UnsupportedError
from paretoml.families import FitData, get_family
from paretoml.serving import RUNTIMES, Predictor, cache_dir, compiled
from paretoml.serving._lleaves import compile_lleaves

TOLERANCE = 1e-5  # onnxruntime: float32 sums of 8 trees (about 1e-7 each); lleaves computes in float64


def _model(family: str, task: str) -> tuple[FitData, object]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    X[:, 3] = rng.integers(0, 6, 400)
    X[rng.random(400) < 0.1, 0] = np.nan
    y = {
        "binary": (X[:, 1] + (X[:, 3] == 2) > 0.3).astype(int),
        "multiclass": (X[:, 3] % 3).astype(int),
        "regression": 3 * X[:, 1] + X[:, 3],
    }[task]
    data = FitData(X[:300], y[:300], X[300:], y[300:], [3], task, 3 if task == "multiclass" else 0, 1, 0)
    params = {"n_estimators": 8, **({"num_leaves": 8} if family == "lightgbm" else {"max_depth": 3})}
    return data, get_family(family).fit(data, params)


CASES = [("onnxruntime", f, t) for f in ("lightgbm", "xgboost") for t in ("binary", "multiclass", "regression")]
CASES += [("lleaves", "lightgbm", t) for t in ("binary", "multiclass", "regression")]


@pytest.mark.parametrize(("runtime", "family", "task"), CASES)
def test_runtime_matches_the_native_model(runtime: str, family: str, task: str) -> None:
    if RUNTIMES[runtime].unavailable():
        pytest.skip(str(RUNTIMES[runtime].unavailable()))
    data, native = _model(family, task)
    served = compiled(native, runtime)  # type: ignore[arg-type]
    assert served is not native and served.runtime == runtime  # type: ignore[attr-defined]
    reference = native.predict(data.X_valid)  # type: ignore[attr-defined]
    np.testing.assert_allclose(served.predict(data.X_valid), reference, rtol=0, atol=TOLERANCE)
    for i in range(3):
        np.testing.assert_allclose(served.predict_one(data.X_valid[i : i + 1]), reference[i : i + 1], atol=TOLERANCE)
    assert served.stats()["runtime_bytes"] > 0


def test_lleaves_refuses_xgboost_models() -> None:
    _, native = _model("xgboost", "binary")
    with pytest.raises(UnsupportedError, match="runtime 'lleaves' is not supported by family 'xgboost'"):
        compiled(native, "lleaves")  # type: ignore[arg-type]


@pytest.mark.parametrize("runtime", ["onnxruntime", "lleaves"])
def test_saved_predictor_ships_no_binary_and_reloads_in_its_runtime(runtime: str, tmp_path: Path) -> None:
    if RUNTIMES[runtime].unavailable():
        pytest.skip(str(RUNTIMES[runtime].unavailable()))
    frame = pd.DataFrame({"a": np.arange(200.0) % 17, "b": np.tile(["x", "y", "z", "w"], 50)})
    y = ((frame.a > 8) ^ (frame.b == "y")).astype(int).to_numpy()
    pre = Preprocessor.fit(frame)
    enc = pre.transform_frame(frame)
    data = FitData(enc[:150], y[:150], enc[150:], y[150:], pre.cat_indices, "binary", 2, 1, 0)
    native = get_family("lightgbm").fit(data, {"n_estimators": 5, "num_leaves": 4, "min_data_in_leaf": 5})
    pred = Predictor(pre, compiled(native, runtime), task="binary", classes=np.array([0, 1]))
    folder = pred.save(tmp_path / "p")
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "model.lgb.txt"]
    again = paretoml.load(folder)
    assert again.model.runtime == runtime  # type: ignore[attr-defined]
    np.testing.assert_allclose(again.predict_proba(frame), pred.predict_proba(frame), atol=TOLERANCE)


def test_lleaves_rebuilds_a_tampered_cached_object(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if RUNTIMES["lleaves"].unavailable():
        pytest.skip(str(RUNTIMES["lleaves"].unavailable()))
    monkeypatch.setenv("PARETOML_CACHE", str(tmp_path / "cache"))
    _, native = _model("lightgbm", "regression")
    text = native.native_bytes()  # type: ignore[attr-defined]
    first = compile_lleaves(text)
    assert first.parent == cache_dir("lleaves") and compile_lleaves(text) == first
    stamp = first.stat().st_mtime_ns
    first.write_bytes(b"\x7fELF planted")  # not what paretoml built: its sidecar no longer matches
    again = compile_lleaves(text)
    assert again == first and again.read_bytes() != b"\x7fELF planted" and again.stat().st_mtime_ns != stamp
    served = compiled(native, "lleaves")  # type: ignore[arg-type]
    X = np.zeros((1, 4))
    np.testing.assert_allclose(served.predict_one(X), native.predict_one(X), atol=TOLERANCE)  # type: ignore[attr-defined]


def test_onnxruntime_serves_a_cross_entropy_distillation_student() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    soft = (X[:, 0] > 0) * 0.8 + 0.1
    data = FitData(X[:200], soft[:200], X[200:], soft[200:], [], "binary", 2, 1, 0)
    native = get_family("lightgbm").fit(data, {"n_estimators": 5, "objective": "cross_entropy"})
    np.testing.assert_allclose(compiled(native, "onnxruntime").predict(X), native.predict(X), atol=TOLERANCE)
