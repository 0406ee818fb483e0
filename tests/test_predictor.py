from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import paretoml
from paretoml import ColumnMismatchError, ConfigError, DataError, Predictor
from paretoml.data import Preprocessor, intake, make_splits
from paretoml.families import FitData, get_family


def _predictor(
    frame: pd.DataFrame, family: str = "lightgbm", columns: list[str] | None = None
) -> tuple[Predictor, pd.DataFrame]:
    ds = intake(frame, target="label")
    sp = make_splits(ds, seed=0)
    pre = Preprocessor.fit(sp.train.X)
    if columns is not None:
        pre = pre.select(columns)
    data = FitData(
        pre.transform_frame(sp.train.X), sp.train.y, pre.transform_frame(sp.valid.X), sp.valid.y,
        pre.cat_indices, ds.task, len(ds.classes), 1, 0,
    )  # fmt: skip
    model = get_family(family).fit(data, {"n_estimators": 25})
    return Predictor(pre, model, task=ds.task, classes=ds.classes), sp.test.X


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
def test_all_input_forms_agree(mixed_frame: pd.DataFrame, family: str) -> None:
    pred, X = _predictor(mixed_frame, family)
    batch = pred.predict_proba(X)
    assert batch.shape == (len(X), 2)
    assert list(pred.classes_) == ["no", "yes"]
    assert set(pred.predict(X)) <= {"no", "yes"}
    for i in range(8):
        row = X.iloc[[i]]
        np.testing.assert_allclose(pred.predict_proba(row), batch[[i]], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(pred.predict_proba(row.iloc[0].to_dict()), batch[[i]], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(pred.predict_proba(row.iloc[0]), batch[[i]], rtol=1e-6, atol=1e-7)
    arr = X[list(pred.feature_names_in_)].to_numpy(dtype=object)
    np.testing.assert_allclose(pred.predict_proba(arr), batch, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(pred.predict_proba(arr[0]), batch[[0]], rtol=1e-6, atol=1e-7)
    shuffled = X[list(reversed(X.columns))].assign(extra=1)
    np.testing.assert_allclose(pred.predict_proba(shuffled), batch, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(pred.predict_proba(shuffled.iloc[[0]]), batch[[0]], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
def test_save_load_identical_and_json_only(mixed_frame: pd.DataFrame, family: str, tmp_path: Path) -> None:
    pred, X = _predictor(mixed_frame, family)
    folder = pred.save(tmp_path / "model")
    again = paretoml.load(folder)
    np.testing.assert_array_equal(again.predict_proba(X), pred.predict_proba(X))
    np.testing.assert_array_equal(again.predict(X), pred.predict(X))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["family"] == family and manifest["classes"] == ["no", "yes"]
    with pytest.raises(ConfigError, match="not empty"):
        pred.save(folder)  # a non-empty folder is never overwritten unless asked
    pred.save(folder, overwrite=True)  # replacing a previous predictor works when asked
    assert paretoml.load(folder).predict(X.head(3)).tolist() == pred.predict(X.head(3)).tolist()
    archive = tmp_path / "model.zip"
    sizes = pred.save_zip(archive)
    assert sizes == {p.name: p.stat().st_size for p in folder.iterdir()}
    np.testing.assert_array_equal(Predictor.load(archive).predict_proba(X), pred.predict_proba(X))


class _Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(Path("/tmp") / "paretoml-pwned"),))


def test_loading_never_unpickles(mixed_frame: pd.DataFrame, tmp_path: Path) -> None:
    pred, _ = _predictor(mixed_frame)
    folder = pred.save(tmp_path / "model")
    marker = Path("/tmp") / "paretoml-pwned"
    marker.unlink(missing_ok=True)
    (folder / "model.pkl").write_bytes(pickle.dumps(_Boom()))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["model"]["file"] = "../model.pkl"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="plain file name"):
        paretoml.load(folder)
    assert not marker.exists()
    with pytest.raises(DataError, match=r"manifest\.json is missing"):
        paretoml.load(tmp_path)


def test_clear_errors_at_predict_time(mixed_frame: pd.DataFrame) -> None:
    pred, X = _predictor(mixed_frame)
    with pytest.raises(ColumnMismatchError, match=r"missing 1 column\(s\).*'colour'"):
        pred.predict(X.drop(columns=["colour"]))
    with pytest.raises(ColumnMismatchError, match=r"missing 1 column\(s\)"):
        pred.predict(X.drop(columns=["colour"]).iloc[[0]])
    with pytest.raises(ColumnMismatchError, match="missing"):
        pred.predict({"x1": 1.0})
    with pytest.raises(ColumnMismatchError, match="'x2' must hold numbers"):
        pred.predict(X.assign(x2="abc"))
    with pytest.raises(ColumnMismatchError, match="'x2' must hold numbers"):
        pred.predict(X.assign(x2="abc").iloc[[0]])
    with pytest.raises(ColumnMismatchError, match="X has 2 features, but Predictor is expecting 5"):
        pred.predict(np.zeros((3, 2)))
    with pytest.raises(DataError, match="no rows"):
        pred.predict(X.iloc[:0])


def test_unseen_category_and_missing_values_predict(mixed_frame: pd.DataFrame) -> None:
    pred, X = _predictor(mixed_frame)
    odd = X.head(4).assign(colour=["purple", None, np.nan, "red"], x1=[None, np.nan, 1.0, 2.0])
    out = pred.predict_proba(odd)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(pred.predict_proba(odd.iloc[[0]]), out[[0]], rtol=1e-6, atol=1e-7)


def test_subset_predictor_reads_only_its_columns(mixed_frame: pd.DataFrame) -> None:
    pred, X = _predictor(mixed_frame, columns=["x1", "colour"])
    assert list(pred.feature_names_in_) == ["x1", "colour"]
    full = pred.predict_proba(X)
    np.testing.assert_array_equal(pred.predict_proba(X[["colour", "x1"]]), full)
    with pytest.raises(ColumnMismatchError, match="'colour'"):
        pred.predict(X[["x1", "x2"]])


def test_regression_predictor(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    frame["label"] = frame.a * 3.0 + rng.normal(scale=0.1, size=200)
    pred, X = _predictor(frame)
    out = pred.predict(X)
    assert out.shape == (len(X),)
    assert pred.predict(X.iloc[[0]])[0] == pytest.approx(out[0])
    with pytest.raises(ConfigError, match="predict_proba is only defined for classification"):
        pred.predict_proba(X)
    np.testing.assert_array_equal(paretoml.load(pred.save(tmp_path / "m")).predict(X), out)


def test_full_width_array_selects_the_kept_columns(mixed_frame: pd.DataFrame) -> None:
    pred, X = _predictor(mixed_frame.assign(const=1.0))  # the constant column is dropped in training
    assert "const" not in pred.feature_names_in_ and pred.n_features_in_ == 5
    full = X[list(pred.preprocessor.input_columns)].to_numpy(dtype=object)
    assert full.shape[1] == 6
    np.testing.assert_allclose(pred.predict_proba(full), pred.predict_proba(X), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(pred.predict_proba(full[0]), pred.predict_proba(X.iloc[[0]]), rtol=1e-6, atol=1e-7)
