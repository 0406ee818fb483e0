"""The README's "From a CSV to a served model", run as written (with a 3-trial budget).

The shell blocks are read from the README itself, so that the walkthrough cannot drift from what works:
CSV from a bundled set -> study file -> ``paretoml run`` -> ``paretoml export`` -> ``paretoml serve`` ->
``curl`` -> the answer equals ``predict_proba`` in process.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import paretoml

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from _server import ROOT, start_server, stop_server  # noqa: E402  (after the skips: it imports httpx)

SECTION = "## From a CSV to a served model"


def readme_blocks() -> list[str]:
    """The ``bash`` blocks of the walkthrough section, in order."""
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return re.findall(r"```bash\n(.*?)```", text[start:end], flags=re.DOTALL)


def bash(script: str, cwd: Path) -> str:
    """Run ``script`` with ``python`` and ``paretoml`` meaning this interpreter and this checkout."""
    prelude = (
        "set -euo pipefail\n"
        f"export PYTHONPATH={ROOT}\n"
        f'python() {{ "{sys.executable}" "$@"; }}\n'
        f'paretoml() {{ "{sys.executable}" -m paretoml "$@"; }}\n'
    )
    done = subprocess.run(["bash", "-c", prelude + script], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walkthrough's last step uses curl")
def test_the_readme_walkthrough_serves_the_exported_model(tmp_path: Path) -> None:
    prepare, serve, ask, docker = readme_blocks()
    assert "budget: 1m" in prepare and "docker build" in docker
    bash(prepare.replace("budget: 1m", "budget: 3 trials"), tmp_path)
    demo = tmp_path / "demo"
    assert (demo / "iris.db").is_file() and (demo / "iris_artifacts").is_dir()
    assert (demo / "model" / "manifest.json").is_file() and (demo / "model" / "model_card.json").is_file()

    assert serve.strip() == "paretoml serve model/"
    proc, url = start_server([str(demo / "model")])
    try:
        assert "http://127.0.0.1:8000/predict" in ask
        answer = json.loads(bash(ask.replace("http://127.0.0.1:8000", url), demo))
        card = httpx.get(f"{url}/model").json()["model_card"]
    finally:
        stop_server(proc)
    record = json.loads(re.search(r"-d '(.*)'", ask).group(1))  # type: ignore[union-attr]
    model = paretoml.load(demo / "model")
    assert answer["classes"] == ["setosa", "versicolor", "virginica"] == model.classes_.tolist()
    np.testing.assert_array_equal(np.array(answer["probabilities"]), model.predict_proba(record))
    assert answer["predictions"] == model.predict(record).tolist()
    assert card["study"] == "iris" and card["trial"] == model.info.get("trial", card["trial"])
