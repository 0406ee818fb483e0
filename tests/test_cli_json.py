"""The CLI for scripting: --version, shell completion, --json on front/pick/export, units in the model card."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer
from typer.testing import CliRunner

import paretoml
from paretoml._pick_text import fmt_kb, fmt_metric, fmt_rate, fmt_us
from paretoml.cli import app

runner = CliRunner()


def _strict(text: str) -> object:
    """JSON that Python's parser accepts without its NaN/Infinity extensions (what other languages read)."""

    def refuse(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    db = tmp_path_factory.mktemp("study") / "bc.db"
    paretoml.optimize(
        (X, y), "4 trials", storage=db, study_name="bc", seed=0, hardware=1, families=["lightgbm"], features="gain",
        compression=False, cv_folds=1, progress=False,
    )  # fmt: skip
    return db


def test_version() -> None:
    out = runner.invoke(app, ["--version"])
    assert out.exit_code == 0 and out.stdout == f"paretoml {paretoml.__version__}\n"


def test_shell_completion() -> None:
    # --show-completion/--install-completion detect the user's shell from the parent process (shellingham),
    # which differs between machines: check they are offered, then drive completion through its protocol
    helped = runner.invoke(app, ["--help"], prog_name="paretoml", env={"COLUMNS": "200"})
    assert "--show-completion" in helped.stdout and "--install-completion" in helped.stdout
    env = {"_PARETOML_COMPLETE": "complete_bash", "COMP_WORDS": "paretoml fr", "COMP_CWORD": "1"}
    words = runner.invoke(app, [], prog_name="paretoml", env=env)
    assert words.exit_code == 0 and words.stdout.split() == ["front"]


def test_front_json_is_the_front(stored: Path) -> None:
    out = runner.invoke(app, ["front", str(stored), "--json"])
    assert out.exit_code == 0, out.output
    data = _strict(out.stdout)  # stdout holds the one document and nothing else
    result = paretoml.load_study(stored)
    assert isinstance(data, dict) and data["study"] == "bc" and data["metric"] == "roc_auc" and data["maximize"]
    assert [row["trial"] for row in data["front"]] == list(result.front.trial)
    assert data["front"][0]["latency_p50_ms"] == pytest.approx(float(result.front.latency_p50_ms.iloc[0]))
    assert {row["trial"] for row in data["front_raw"]} == set(result.front_raw.trial)
    assert data["completed_trials"] == 4 and len(data["feature_ranking"]) == 30


def test_pick_and_export_json(stored: Path, tmp_path: Path) -> None:
    out = runner.invoke(app, ["pick", str(stored), "--preset", "edge", "--json"])
    assert out.exit_code == 0, out.output
    picked = _strict(out.stdout)
    expected = paretoml.load_study(stored).pick(preset="edge")
    assert isinstance(picked, dict) and picked["trial"] == expected.trial
    assert picked["explanation"] == expected.explanation and picked["details"]["preset"] == "edge"
    assert picked["row"]["size_kb"] == pytest.approx(float(expected.row.size_kb))
    exported = runner.invoke(app, ["export", str(stored), str(tmp_path / "m"), "--preset", "edge", "--json"])
    assert exported.exit_code == 0, exported.output
    data = _strict(exported.stdout)
    assert isinstance(data, dict) and data["trial"] == expected.trial and data["pick"]["trial"] == expected.trial
    assert Path(data["folder"]) == tmp_path / "m" and Path(data["model_card_md"]).is_file()
    assert paretoml.load(data["folder"]).predict(load_breast_cancer(as_frame=True).data.head(2)).shape == (2,)


def test_json_errors_go_to_stderr(tmp_path: Path) -> None:
    out = runner.invoke(app, ["front", str(tmp_path / "none.db"), "--json"])
    assert out.exit_code == 2 and out.stdout == "" and out.stderr.startswith("error: ")


def test_model_card_units_and_rounding(stored: Path, tmp_path: Path) -> None:
    out = runner.invoke(app, ["export", str(stored), str(tmp_path / "m")])
    assert out.exit_code == 0, out.output
    card = (tmp_path / "m" / "MODEL_CARD.md").read_text()
    assert re.search(r"validation \d\.\d{4} ±\d\.\d{4} \(1 standard error\), test \d\.\d{4}", card), card
    assert re.search(r"p50 [\d,.]+ µs, p95 [\d,.]+ µs", card) and re.search(r"batch [\d,]+ rows/s", card), card
    assert re.search(r"Size: [\d,.]+ KB on disk, (?:[\d,.]+ KB|-) in memory when loaded; \d+ trees", card), card


def test_formats() -> None:
    assert (fmt_us(0.0043), fmt_us(0.087), fmt_us(15.8141)) == ("4.3 µs", "87 µs", "15,814 µs")
    assert (fmt_kb(4.44), fmt_kb(1530.2), fmt_metric(0.98765), fmt_rate(12345.6)) == (
        "4.4 KB", "1,530 KB", "0.9877", "12,346 rows/s"
    )  # fmt: skip
    assert {fmt_us(None), fmt_kb(float("nan")), fmt_metric(None), fmt_rate(float("nan"))} == {"-"}
