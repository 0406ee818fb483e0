"""Conformance suite run over every registered family, for every task it supports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paretoml import ConfigError
from paretoml.exceptions import UnsupportedError
from paretoml.families import FAMILIES, Capability, FitData, FittedModel, get_family

TASKS = {"binary": 2, "multiclass": 3, "regression": 0}


def _data(task: str, seed: int = 0) -> FitData:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(240, 4))
    X[:, 3] = rng.integers(0, 4, size=240)  # a categorical code column
    X[rng.random(240) < 0.05, 0] = np.nan
    signal = np.nan_to_num(X[:, 0]) + (X[:, 3] == 2) * 2.0 + X[:, 1]
    if task == "regression":
        y = signal + rng.normal(scale=0.1, size=240)
    elif task == "binary":
        y = (signal > 0.5).astype(int)
    else:
        y = np.digitize(signal, [0.0, 1.5])
    return FitData(X[:160], y[:160], X[160:], y[160:], [3], task, TASKS[task], 1, seed)


TABULAR = sorted(f for f in FAMILIES if not FAMILIES[f].needs_images)  # image families: tests/test_cnn.py
CASES = [(f, t) for f in TABULAR for t in TASKS if FAMILIES[f].supports(t)]


@pytest.mark.parametrize(("family", "task"), CASES)
def test_fit_predict_shapes_and_quality(family: str, task: str) -> None:
    data = _data(task)
    model = get_family(family).fit(data, {"n_estimators": 30})
    out = model.predict(data.X_valid)
    if task == "regression":
        assert out.shape == (80,)
        assert np.corrcoef(out, data.y_valid)[0, 1] > 0.8
    else:
        assert out.shape == (80, TASKS[task])
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
        majority = np.bincount(data.y_valid).max() / len(data.y_valid)
        assert (out.argmax(axis=1) == data.y_valid).mean() > majority + 0.1


@pytest.mark.parametrize(("family", "task"), CASES)
def test_single_row_path_matches_batch(family: str, task: str) -> None:
    data = _data(task)
    model = get_family(family).fit(data, {"n_estimators": 20})
    batch = model.predict(data.X_valid)
    for i in range(10):
        one = model.predict_one(data.X_valid[[i]])
        np.testing.assert_allclose(np.reshape(one, batch[[i]].shape), batch[[i]], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("family", "task"), CASES)
def test_save_load_round_trip(family: str, task: str, tmp_path: Path) -> None:
    data = _data(task)
    fam = get_family(family)
    model = fam.fit(data, {"n_estimators": 20})
    entry = model.save(tmp_path)
    again = fam.load(tmp_path, entry, task=task, n_classes=TASKS[task])
    np.testing.assert_array_equal(again.predict(data.X_valid), model.predict(data.X_valid))
    assert again.stats() == model.stats()
    assert model.stats()["n_trees"] >= 1


@pytest.mark.parametrize("family", TABULAR)
def test_early_stopping_trims_saved_trees(family: str) -> None:
    data = _data("binary")
    model = get_family(family).fit(data, {"n_estimators": 400, "learning_rate": 0.3, "early_stopping_rounds": 5})
    assert model.stats()["n_trees"] < 400


#: The model methods each capability adds (see paretoml.families.Capability).
MODEL_METHODS = {
    Capability.ROUNDS: ("boosting_rounds", "truncated"),
    Capability.NATIVE_BYTES: ("native_bytes",),
    Capability.TREELITE: ("treelite_model",),
    Capability.CHANNEL_PRUNING: ("pruned",),
    Capability.QUANTIZATION: ("quantized",),
}


@pytest.mark.parametrize("family", TABULAR)
def test_declared_capabilities_work_and_the_others_raise(family: str, tmp_path: Path) -> None:
    fam = get_family(family)
    data = _data("binary")
    model = fam.fit(data, {"n_estimators": 12})
    for capability, methods in MODEL_METHODS.items():
        for method in methods:
            overridden = getattr(type(model), method) is not getattr(FittedModel, method)
            assert overridden == (capability in fam.capabilities), (family, capability, method)
    if Capability.ROUNDS in fam.capabilities:
        assert model.boosting_rounds() == 12
        cut = model.truncated(5)
        assert cut.boosting_rounds() == 5 and model.boosting_rounds() == 12
        assert not np.array_equal(cut.predict(data.X_valid), model.predict(data.X_valid))
    else:
        with pytest.raises(UnsupportedError, match=f"truncation is not supported by family '{family}'"):
            model.truncated(1)
    if Capability.NATIVE_BYTES in fam.capabilities:
        entry = model.save(tmp_path)
        assert (tmp_path / entry["file"]).read_bytes() == model.native_bytes()  # what is saved is what is hashed
    if Capability.TREELITE in fam.capabilities:
        pytest.importorskip("treelite")
        assert int(model.treelite_model().num_tree) == model.stats()["n_trees"]
    if Capability.SOFT_LABELS in fam.capabilities:
        student = fam.student_params({"n_estimators": 99}, leaves=8, task="binary")
        assert student["n_estimators"] == 99 and student != {"n_estimators": 99}
    else:
        with pytest.raises(UnsupportedError, match=f"is not supported by family '{family}'"):
            fam.student_params({}, leaves=8, task="binary")


def test_every_family_samples_a_compression_space_its_capabilities_cover() -> None:
    from paretoml.compression import COMPRESSORS

    for name, fam in FAMILIES.items():
        for compressor in COMPRESSORS.values():
            if compressor.space == fam.compression_space:
                assert set(compressor.requires) <= fam.capabilities, (name, compressor.name)


def test_unknown_family_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown family 'lightgbn'.*Did you mean 'lightgbm'"):
        get_family("lightgbn")
