"""``paretoml serve``: a real uvicorn server in a subprocess, hit by a real HTTP client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from paretoml import ColumnMismatchError, Predictor
from paretoml.cli import app
from paretoml.data import Preprocessor, intake, make_splits
from paretoml.families import FitData, get_family

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from _server import start_server, stop_server  # noqa: E402  (after the skips: it imports httpx)


def _frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    score = x1 + (colour == "red") * 1.5 + rng.normal(scale=0.3, size=n)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "colour": colour, "label": np.where(score > 0.7, "yes", "no")})
    frame.loc[rng.random(n) < 0.1, "x1"] = np.nan
    return frame


def _fit(frame: pd.DataFrame, task: str) -> tuple[Predictor, pd.DataFrame]:
    ds = intake(frame, target="label")
    sp = make_splits(ds, seed=0)
    pre = Preprocessor.fit(sp.train.X)
    n_classes = 0 if task == "regression" else len(ds.classes)
    data = FitData(pre.transform_frame(sp.train.X), sp.train.y, pre.transform_frame(sp.valid.X), sp.valid.y,
                   pre.cat_indices, task, n_classes, 1, 0)  # fmt: skip
    model = get_family("lightgbm").fit(data, {"n_estimators": 20})
    classes = np.array([]) if task == "regression" else ds.classes
    return Predictor(pre, model, task=task, classes=classes), sp.test.X.reset_index(drop=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Predictor, pd.DataFrame]]:
    pred, X = _fit(_frame(), "binary")
    folder = pred.save(tmp_path_factory.mktemp("served") / "model")
    proc, url = start_server([str(folder), "--workers", "2", "--max-body-mb", "0.05"])
    try:
        yield url, Predictor.load(folder), X
    finally:
        stop_server(proc)


def _records(X: pd.DataFrame) -> list[dict[str, Any]]:
    return list(json.loads(X.to_json(orient="records")))


def test_predict_equals_predict_proba_in_process(server: tuple[str, Predictor, pd.DataFrame]) -> None:
    url, pred, X = server
    records = _records(X)
    assert any(r["x1"] is None for r in records)  # missing values travel as null
    expected = pred.predict_proba(X)
    got = httpx.post(f"{url}/predict", json=records)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["classes"] == ["no", "yes"]
    np.testing.assert_array_equal(np.array(body["probabilities"]), expected)  # JSON floats round-trip exactly
    assert body["predictions"] == pred.predict(X).tolist()
    columns = {c: json.loads(X[c].to_json(orient="values")) for c in X.columns}
    by_columns = httpx.post(f"{url}/predict", json=columns).json()
    np.testing.assert_array_equal(np.array(by_columns["probabilities"]), expected)
    one = httpx.post(f"{url}/predict", json=records[3]).json()
    np.testing.assert_array_equal(np.array(one["probabilities"]), expected[[3]])
    rows = X[list(pred.feature_names_in_)].astype(object).where(X.notna(), None).to_numpy().tolist()
    by_rows = httpx.post(f"{url}/predict", json=rows).json()
    np.testing.assert_array_equal(np.array(by_rows["probabilities"]), expected)


def test_bad_input_gets_4xx_with_the_python_message(server: tuple[str, Predictor, pd.DataFrame]) -> None:
    url, pred, X = server
    records = _records(X.head(2).drop(columns=["colour"]))
    with pytest.raises(ColumnMismatchError) as raised:
        pred.predict(records)
    got = httpx.post(f"{url}/predict", json=records)
    assert got.status_code == 422
    assert got.json() == {"error": "ColumnMismatchError", "detail": str(raised.value)}
    wrong_kind = httpx.post(f"{url}/predict", json=[{**_records(X)[0], "x2": "abc"}])
    assert wrong_kind.status_code == 422 and "'x2' must hold numbers" in wrong_kind.json()["detail"]
    cases: list[tuple[bytes, int, str]] = [
        (b"{not json", 400, "InvalidJSON"),
        (b'"hello"', 422, "DataError"),
        (b"[]", 422, "DataError"),
        (b'[{"x1": 1.0, "x2": 2.0, "colour": "red"}, [1, 2]]', 422, "DataError"),
        (b'{"x1": [1.0, 2.0], "x2": [1.0]}', 422, "DataError"),
        (b'[{"x1": [1, 2], "x2": {"a": 1}, "colour": ["red"]}, {"x1": 1, "x2": 2, "colour": {}}]', 422, ""),
        (b"\xff\xfe", 400, "InvalidJSON"),
    ]
    for body, status, error in cases:
        got = httpx.post(f"{url}/predict", content=body, headers={"content-type": "application/json"})
        assert got.status_code == status, (body, got.text)
        assert got.json()["error"].endswith(error) and got.json()["detail"]
    assert httpx.get(f"{url}/predict").status_code == 405


def test_body_over_the_limit_is_413(server: tuple[str, Predictor, pd.DataFrame]) -> None:
    url, _, X = server
    big = json.dumps(_records(X) * 40).encode()
    assert len(big) > 50_000
    got = httpx.post(f"{url}/predict", content=big)
    assert got.status_code == 413 and got.json()["error"] == "PayloadTooLarge"
    chunked = httpx.post(f"{url}/predict", content=iter([big[i : i + 8192] for i in range(0, len(big), 8192)]))
    assert chunked.status_code == 413  # no Content-Length: the limit holds while reading
    assert httpx.get(f"{url}/health").json() == {"status": "ok"}  # the server lives on


def test_health_model_and_openapi(server: tuple[str, Predictor, pd.DataFrame]) -> None:
    url, pred, _ = server
    assert httpx.get(f"{url}/health").json() == {"status": "ok"}
    model = httpx.get(f"{url}/model").json()
    assert model["format"] == "paretoml-predictor" and model["family"] == "lightgbm" and model["task"] == "binary"
    assert model["classes"] == ["no", "yes"] and model["model_card"] is None and "preprocessing" not in model
    assert [f["name"] for f in model["features"]] == list(pred.feature_names_in_)
    spec = httpx.get(f"{url}/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert set(spec["paths"]) == {"/predict", "/health", "/model", "/openapi.json"}
    record = spec["components"]["schemas"]["Record"]
    assert set(record["required"]) == set(pred.feature_names_in_)
    assert {"200", "400", "413", "422"} <= set(spec["paths"]["/predict"]["post"]["responses"])


def test_regression_answers_values(tmp_path: Path) -> None:
    frame = _frame().assign(label=lambda f: f.x2 * 2.0 + 1.0)
    pred, X = _fit(frame, "regression")
    proc, url = start_server([str(pred.save(tmp_path / "reg"))])  # one worker: the app runs in the CLI process
    try:
        body = httpx.post(f"{url}/predict", json=_records(X)).json()
    finally:
        stop_server(proc)
    assert set(body) == {"predictions"}
    np.testing.assert_array_equal(np.array(body["predictions"]), pred.predict(X))


def test_cli_reports_bad_settings(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["serve", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "not a saved paretoml predictor" in missing.output
    pred, _ = _fit(_frame(), "binary")
    folder = pred.save(tmp_path / "m")
    for args, message in ((["--workers", "0"], "`workers` must be at least 1"),
                          (["--max-body-mb", "0"], "`max_body_mb` must be positive"),
                          (["--threads", "0"], "`threads` must be at least 1"),
                          (["--port", "70000"], "`port` must be in 0..65535")):  # fmt: skip
        out = runner.invoke(app, ["serve", str(folder), *args])
        assert out.exit_code == 2 and message in out.output, out.output


def test_model_description_is_strict_json(tmp_path: Path) -> None:
    from paretoml.serving._http import model_description

    pred, _ = _fit(_frame(), "binary")
    folder = pred.save(tmp_path / "m")
    (folder / "model_card.json").write_text('{"study": "s", "metric": {"valid": 0.9, "test": NaN}}')
    described = model_description(folder, Predictor.load(folder))
    assert described["model_card"] == {"study": "s", "metric": {"valid": 0.9, "test": None}}
    json.dumps(described, allow_nan=False)  # what GET /model sends: no NaN a strict client would refuse
