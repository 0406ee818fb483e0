"""The serving package: what importing and loading pull in, and the task's main output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from paretoml.data import Preprocessor, intake, make_splits
from paretoml.families import FitData, get_family
from paretoml.serving import Predictor

SEARCH_MODULES = ["optuna", "shap", "paretoml.compression", "paretoml.study", "sklearn.model_selection"]


def _loaded_after(code: str) -> list[str]:
    """The modules of SEARCH_MODULES imported by ``code`` in a fresh interpreter."""
    probe = f"import json, sys\n{code}\nprint(json.dumps([m for m in {SEARCH_MODULES!r} if m in sys.modules]))"
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=root)
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def _lightgbm_predictor(frame: pd.DataFrame, task: str = "binary") -> tuple[Predictor, pd.DataFrame]:
    ds = intake(frame, target="label")
    sp = make_splits(ds, seed=0)
    pre = Preprocessor.fit(sp.train.X)
    n_classes = len(ds.classes) if task != "regression" else 0
    data = FitData(pre.transform_frame(sp.train.X), sp.train.y, pre.transform_frame(sp.valid.X), sp.valid.y,
                   pre.cat_indices, task, n_classes, 1, 0)  # fmt: skip
    model = get_family("lightgbm").fit(data, {"n_estimators": 10})
    return Predictor(pre, model, task=task, classes=ds.classes if task != "regression" else np.array([])), sp.test.X


def test_importing_serving_pulls_in_no_search_code() -> None:
    assert _loaded_after("import paretoml.serving") == []


def test_the_http_server_pulls_in_no_search_code(tmp_path: Path, mixed_frame: pd.DataFrame) -> None:
    pytest.importorskip("starlette")
    assert _loaded_after("import paretoml.serving._http\nfrom paretoml.serving import create_app, serve") == []
    folder = _lightgbm_predictor(mixed_frame)[0].save(tmp_path / "p")
    serving = set(_loaded_after(f"from paretoml.serving import create_app\ncreate_app({str(folder)!r})"))
    assert serving <= set(_loaded_after("import lightgbm"))  # only what the model library brings
    assert not {"optuna", "shap", "paretoml.compression", "paretoml.study"} & serving


def test_the_serve_command_pulls_in_no_search_code() -> None:
    """`paretoml serve` builds only its own command: a serving process starts without optuna or the study."""
    code = (
        "sys.argv = ['paretoml', 'serve', '--help']\nfrom paretoml.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(code) == []


def test_loading_and_predicting_pulls_in_no_search_code(tmp_path: Path, mixed_frame: pd.DataFrame) -> None:
    pred, X = _lightgbm_predictor(mixed_frame)
    folder = pred.save(tmp_path / "p")
    X.head(3).to_csv(tmp_path / "rows.csv", index=False)
    loaded = _loaded_after(
        "import pandas as pd\nfrom paretoml.serving import load\n"
        f"p = load({str(folder)!r})\nassert p.output(pd.read_csv({str(tmp_path / 'rows.csv')!r})).shape == (3, 2)"
    )
    # lightgbm itself imports sklearn.model_selection when scikit-learn is installed (lightgbm/compat.py);
    # paretoml's serving code adds nothing beyond what the model library brings.
    from_lightgbm = set(_loaded_after("import lightgbm"))
    assert set(loaded) <= from_lightgbm
    assert not {"optuna", "shap", "paretoml.compression", "paretoml.study"} & set(loaded)


def test_output_is_probabilities_or_values(mixed_frame: pd.DataFrame) -> None:
    pred, X = _lightgbm_predictor(mixed_frame)
    np.testing.assert_array_equal(pred.output(X), pred.predict_proba(X))
    assert pred.output(X).shape == (len(X), 2)
    frame = mixed_frame.assign(label=mixed_frame["x2"] * 2.0 + 1.0)
    reg, Xr = _lightgbm_predictor(frame, task="regression")
    np.testing.assert_array_equal(reg.output(Xr), reg.predict(Xr))
    assert reg.output(Xr).shape == (len(Xr),)
    with pytest.raises(Exception, match="predict_proba is only defined for classification"):
        reg.predict_proba(Xr)
