"""MLflow: a study's trials as runs with the three objectives; a Predictor as a pyfunc model, loaded and
served in a fresh process from a local tracking store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _predictors import fitted_predictor

import paretoml
from paretoml import ConfigError, Predictor

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("optuna_integration")

import paretoml.mlflow as pml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _predictor(frame: pd.DataFrame) -> tuple[Predictor, pd.DataFrame]:
    return fitted_predictor(frame, "lightgbm", {"n_estimators": 20})


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root is ./mlruns: keep it out of the checkout
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(None)


def test_pyfunc_round_trip_in_a_fresh_process(mixed_frame: pd.DataFrame, tracking: str, tmp_path: Path) -> None:
    pred, X = _predictor(mixed_frame)
    mlflow.set_experiment("round-trip")
    with mlflow.start_run():
        info = pml.log_model(pred, input_example=X.head(3))
        proba_info = pml.log_model(pred, name="proba", input_example=X.tail(2), output="predict_proba")
    assert info.signature is not None
    assert [c.name for c in info.signature.inputs.inputs] == list(pred.feature_names_in_)
    local = Path(mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path / "dl")))
    assert (local / "serving_input_example.json").exists() or (local / "input_example.json").exists()
    assert not list(local.rglob("*.pkl")) and not list(local.rglob("*.pickle"))  # nothing pickled
    X.to_csv(tmp_path / "X.csv", index=False)
    script = (
        "import json, sys, mlflow, pandas as pd, numpy as np\n"
        f"mlflow.set_tracking_uri({tracking!r})\n"
        f"X = pd.read_csv({str(tmp_path / 'X.csv')!r})\n"
        f"labels = mlflow.pyfunc.load_model({info.model_uri!r}).predict(X)\n"
        f"proba = mlflow.pyfunc.load_model({proba_info.model_uri!r}).predict(X)\n"
        "print(json.dumps({'labels': np.asarray(labels).tolist(), 'proba': proba.to_numpy().tolist(),"
        " 'columns': list(proba.columns), 'modules': sorted(m for m in sys.modules if m.startswith('paretoml'))}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    fresh = pd.read_csv(tmp_path / "X.csv")
    assert out["labels"] == pred.predict(fresh).tolist()
    assert out["columns"] == [str(c) for c in pred.classes_]
    assert "paretoml.serving._predictor" in out["modules"]  # served by paretoml's own loader
    np.testing.assert_array_equal(np.asarray(out["proba"]), pred.predict_proba(fresh))


def test_save_model_checks_its_arguments(mixed_frame: pd.DataFrame, tmp_path: Path) -> None:
    pred, X = _predictor(mixed_frame)
    with pytest.raises(ConfigError, match="`output` must be one of"):
        pml.save_model(pred, tmp_path / "m", input_example=X, output="proba")
    with pytest.raises(ConfigError, match="`input_example` must be a non-empty pandas DataFrame"):
        pml.save_model(pred, tmp_path / "m", input_example=X.to_numpy())
    with pytest.raises(ConfigError, match="got an empty DataFrame"):
        pml.save_model(pred, tmp_path / "m", input_example=X.head(0))
    folder = pml.save_model(pred, tmp_path / "m", input_example=X.head(2))
    model = mlflow.pyfunc.load_model(str(folder))
    as_strings = X.astype({"size": object})  # MLflow's schema has strings, not pandas categories
    np.testing.assert_array_equal(model.predict(as_strings), pred.predict(X))


def test_study_trials_become_runs_with_the_three_objectives(mixed_frame: pd.DataFrame, tracking: str) -> None:
    result = paretoml.optimize(
        mixed_frame, "4 trials", target="label", seed=0, hardware={"n_threads": 1}, progress=False,
        families=["lightgbm"], callbacks=[pml.MLflowLogger(experiment="live")],
    )  # fmt: skip
    runs = pml.log_study(result, experiment="after")
    assert sorted(runs) == [t.number for t in result.study.trials]
    names = ["roc_auc", "latency_p50_ms", "size_kb"]
    for experiment in ("after", "live"):
        table = mlflow.search_runs(experiment_names=[experiment])
        assert len(table) == 4
        for _, run in table.iterrows():
            trial = result.study.trials[int(run["tags.mlflow.runName"])]
            assert [run[f"metrics.{n}"] for n in names] == pytest.approx(trial.values, rel=1e-12)
            assert run["tags.state"] == "COMPLETE"
            for key, value in trial.params.items():
                assert run[f"params.{key}"] == str(value)
    after = mlflow.search_runs(experiment_names=["after"]).set_index("tags.mlflow.runName")
    on_front = {str(n) for n in result.front.trial}
    assert on_front and set(after.index[after[f"tags.{pml.FRONT_TAG}"] == "true"]) == on_front
    assert (after[f"tags.{pml.FRONT_RAW_TAG}"] == "true").sum() == len(result.front_raw)
