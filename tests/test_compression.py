"""Compression: truncation, the compiled runtime, distillation, the compile cache, recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

import paretoml
from paretoml import Predictor
from paretoml.compression import CompressionContext, Teacher, before_fit
from paretoml.data import Preprocessor, intake, make_splits
from paretoml.families import FitData, get_family
from paretoml.families._lightgbm import LightGBMModel
from paretoml.serving import COMPILE_STATS, CompiledModel, compiled

TASKS = {"binary": 2, "multiclass": 3, "regression": 0}


def _data(task: str) -> FitData:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 5))
    X[:, 4] = rng.integers(0, 4, size=300)  # category codes
    X[rng.random(300) < 0.1, 0] = np.nan
    signal = np.nan_to_num(X[:, 0]) + X[:, 1] + (X[:, 4] == 2)
    y = {"binary": (signal > 0.5).astype(int), "multiclass": np.digitize(signal, [0.0, 1.2]),
         "regression": signal + rng.normal(scale=0.1, size=300)}[task]  # fmt: skip
    return FitData(X[:200], y[:200], X[200:], y[200:], [4], task, TASKS[task], 1, 0)


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
def test_truncation_equals_the_library_iteration_limit(family: str) -> None:
    data = _data("binary")
    model = get_family(family).fit(data, {"n_estimators": 40})
    cut = model.truncated(7)
    assert cut.stats()["n_trees"] == 7
    if isinstance(model, LightGBMModel):
        expected = model.booster.predict(data.X_valid, num_iteration=7)
    else:
        expected = model.booster.inplace_predict(data.X_valid, iteration_range=(0, 7))  # type: ignore[attr-defined]
    np.testing.assert_allclose(cut.predict(data.X_valid)[:, 1], expected, rtol=0, atol=0)


@pytest.mark.parametrize("runtime", ["tl2cgen", "tl2cgen-q"])
@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("task", list(TASKS))
def test_compiled_runtime_matches_the_native_model(family: str, task: str, runtime: str) -> None:
    data = _data(task)
    native = get_family(family).fit(data, {"n_estimators": 30})
    fast = compiled(native, runtime, n_threads=1)
    assert isinstance(fast, CompiledModel) and fast.runtime == runtime
    expected = native.predict(data.X_valid)
    # The compiled code may sum the 30 trees' float32 leaf values in another precision or order than the
    # library: each of the 30 additions can move the margin by one float32 rounding (eps32 relative to a
    # margin of order 1), and the sigmoid/softmax never amplifies an absolute error. Hence 30 * eps32.
    atol = 30 * float(np.finfo(np.float32).eps)
    np.testing.assert_allclose(fast.predict(data.X_valid), expected, rtol=0, atol=atol)
    rows = np.array([fast.predict_one(data.X_valid[[i]]).reshape(-1) for i in range(40)])
    np.testing.assert_allclose(rows, expected[:40].reshape(40, -1), rtol=0, atol=atol)  # ctypes rows, NaN too


def test_compiled_batches_work_after_torch_lowers_the_openmp_limit() -> None:
    torch = pytest.importorskip("torch")
    data = _data("binary")
    native = get_family("lightgbm").fit(data, {"n_estimators": 20})
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # what a CNN predictor's set_threads(1) does to the shared OpenMP runtime
        fast = compiled(native, "tl2cgen", n_threads=2)  # tl2cgen refuses nthread above OpenMP's limit
        np.testing.assert_allclose(fast.predict(data.X_valid), native.predict(data.X_valid), atol=1e-6)
        torch.set_num_threads(2)
        np.testing.assert_allclose(fast.predict(data.X_valid), native.predict(data.X_valid), atol=1e-6)
    finally:
        torch.set_num_threads(before)


def test_compile_cache_is_hit_on_a_repeat() -> None:
    data = _data("binary")
    native = get_family("lightgbm").fit(data, {"n_estimators": 12, "num_leaves": 5})
    before = dict(COMPILE_STATS)
    first = compiled(native, "tl2cgen", n_threads=1)
    same = LightGBMModel(lgb.Booster(model_str=native.booster.model_to_string()), task="binary", n_classes=2)  # type: ignore[attr-defined]
    again = compiled(same, "tl2cgen", n_threads=1)
    assert isinstance(first, CompiledModel) and isinstance(again, CompiledModel)
    assert first.library == again.library
    assert COMPILE_STATS["compiled"] - before["compiled"] == 1
    assert COMPILE_STATS["cache_hits"] - before["cache_hits"] == 1


def test_compiling_past_the_time_limit_fails_the_trial() -> None:
    from paretoml import TrialTimeoutError
    from paretoml.serving import compile_model

    native = get_family("xgboost").fit(_data("regression"), {"n_estimators": 60, "max_depth": 6})
    with pytest.raises(TrialTimeoutError, match="compiling the model ran past its time limit"):
        compile_model(native, quantize=False, timeout=0.001)


def test_unavailable_compiler_serves_native_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", "/nonexistent/cc")
    native = get_family("lightgbm").fit(_data("binary"), {"n_estimators": 5})
    with pytest.warns(UserWarning, match="unavailable .*no C compiler '/nonexistent/cc'"):
        served = compiled(native, "tl2cgen", n_threads=1)
    assert served is native


def test_distilled_student_is_smaller_than_its_teacher() -> None:
    data = _data("binary")
    teacher = Teacher(data)
    settings = {"distill": True, "student_rounds": 15, "student_leaves": 4, "label_weight": 0.2}
    ctx = CompressionContext(settings, "lightgbm", teacher=teacher)
    student_data, params = before_fit(data, {"n_estimators": 300, "num_leaves": 64}, ctx)
    assert params["n_estimators"] == 15 and params["num_leaves"] == 4
    assert student_data.y_train.min() >= 0.0 and student_data.y_train.max() <= 1.0  # soft labels
    assert not np.array_equal(student_data.y_train, data.y_train)
    student = get_family("lightgbm").fit(student_data, params)
    described = ctx.attrs["teacher"]
    assert student.stats()["n_trees"] < described["rounds"]
    assert student.stats()["n_leaves"] < described["rounds"] * described["num_leaves"]
    assert "distilled" in ctx.parts
    proba = student.predict(data.X_valid)[:, 1]
    assert ((proba > 0.5) == data.y_valid).mean() > 0.7


def test_compiled_predictor_saves_no_binary_and_reloads(tmp_path: Path, mixed_frame: pd.DataFrame) -> None:
    ds = intake(mixed_frame, target="label")
    sp = make_splits(ds, seed=0)
    pre = Preprocessor.fit(sp.train.X)
    data = FitData(pre.transform_frame(sp.train.X), sp.train.y, pre.transform_frame(sp.valid.X), sp.valid.y,
                   pre.cat_indices, "binary", 2, 1, 0)  # fmt: skip
    model = compiled(get_family("xgboost").fit(data, {"n_estimators": 20}), "tl2cgen-q", n_threads=1)
    pred = Predictor(pre, model, task="binary", classes=ds.classes)
    folder = pred.save(tmp_path / "m")
    assert not list(folder.glob("*.so"))
    again = paretoml.load(folder)
    assert isinstance(again.model, CompiledModel) and again.model.runtime == "tl2cgen-q"
    np.testing.assert_allclose(again.predict_proba(sp.test.X), pred.predict_proba(sp.test.X), atol=1e-7)
    np.testing.assert_allclose(
        again.predict_proba(sp.test.X.iloc[[0]]), pred.predict_proba(sp.test.X.iloc[[0]]), atol=1e-7
    )


def test_a_study_records_its_compression(mixed_frame: pd.DataFrame) -> None:
    space: dict[str, Any] = {
        "family": "compression",
        "params": {"tree_fraction": {"type": "categorical", "choices": [0.5]},
                   "runtime": {"type": "categorical", "choices": ["tl2cgen-q"]},
                   "distill": {"type": "categorical", "choices": [True]},
                   "student_rounds": {"type": "int", "low": 10, "high": 20},
                   "student_leaves": {"type": "int", "low": 4, "high": 8},
                   "label_weight": {"type": "float", "low": 0.0, "high": 0.5}},
    }  # fmt: skip
    result = paretoml.optimize(mixed_frame, "3 trials", target="label", compression=space, seed=0, features=False)
    for t in result.study.trials:
        assert t.state.name == "COMPLETE", t.user_attrs.get("fail_reason")
        text = t.user_attrs["compression"]
        assert text.startswith("distilled, trees=") and text.endswith("runtime=tl2cgen-q")
        assert t.user_attrs["max_deviation"] <= 1e-5  # probabilities: magnitude at most 1
        assert t.user_attrs["metric_uncompressed"] is not None and t.user_attrs["teacher"]["family"] == "lightgbm"
        assert t.user_attrs["size_bytes"] < t.user_attrs["saved_bytes"] + 10**7
        # served size = manifest + compiled library; saved = manifest + native model (manifest > 0 bytes)
        runtime = t.user_attrs["runtime_bytes"]
        assert 0 < t.user_attrs["size_bytes"] - runtime < t.user_attrs["saved_bytes"]
    assert set(result.front.compression) <= {t.user_attrs["compression"] for t in result.study.trials}
    off = paretoml.optimize(mixed_frame, "2 trials", target="label", compression=False, features=False)
    assert set(off.front.compression) == {"none"}
    with pytest.raises(paretoml.ConfigError, match="compression"):
        paretoml.optimize(mixed_frame, "1 trials", target="label", compression=3)  # type: ignore[arg-type]


def test_a_runtime_that_deviates_is_not_used_and_the_trial_completes(
    mixed_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compiled model whose predictions differ from native (here: the real one, shifted by 0.01) is
    dropped: the trial serves native, completes, and says why."""
    import paretoml.compression._runtime as runtime_module

    real = runtime_module.compiled

    class Shifted(CompiledModel):
        def predict(self, X: np.ndarray) -> np.ndarray:
            return super().predict(X) + 0.01

        def predict_one(self, X: np.ndarray) -> np.ndarray:
            return super().predict_one(X) + 0.01

    def shifted(model: Any, runtime: str, n_threads: int, **kwargs: Any) -> Any:
        served = real(model, runtime, n_threads, **kwargs)
        served.__class__ = Shifted
        return served

    monkeypatch.setattr(runtime_module, "compiled", shifted)
    space: dict[str, Any] = {"family": "compression",
                             "params": {"runtime": {"type": "categorical", "choices": ["tl2cgen"]}}}  # fmt: skip
    result = paretoml.optimize(mixed_frame, "2 trials", target="label", compression=space, seed=0, features=False,
                               families=["lightgbm"])  # fmt: skip
    for t in result.study.trials:
        assert t.state.name == "COMPLETE", t.user_attrs.get("fail_reason")
        assert t.params["compression.runtime"] == "tl2cgen" and t.user_attrs["compression"].endswith("runtime=native")
        assert t.user_attrs["max_deviation"] == pytest.approx(0.01, rel=1e-3)
        assert "deviate from the native model by 0.01" in t.user_attrs["runtime_skipped"]
    assert not isinstance(result.predictor(result.study.trials[0].number).model, CompiledModel)  # refit: native too
