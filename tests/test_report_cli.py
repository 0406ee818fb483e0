"""Report data functions, export with a model card, and the decision CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from typer.testing import CliRunner

import paretoml
from paretoml.cli import app
from paretoml.report import build_report, front_plot_data, latency_breakdown, model_card

runner = CliRunner()


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    db = tmp_path_factory.mktemp("study") / "bc.db"
    paretoml.optimize((X, y), "10 trials", storage=db, study_name="bc", seed=0, hardware=1)
    return db


def test_front_plot_data(stored: Path) -> None:
    result = paretoml.load_study(stored)
    chosen = result.pick()
    data = front_plot_data(result, chosen)
    assert len(data.trial) == 10 and data.metric_name == "roc_auc"
    assert set(data.trial[data.on_front]) == set(result.front.trial)
    assert data.picked == chosen.trial
    assert (data.latency_ms > 0).all() and (data.size_kb > 0).all()


def test_latency_breakdown_adds_up(stored: Path) -> None:
    result = paretoml.load_study(stored)
    pred = result.predictor(result.front.sort_values("n_features").trial.iloc[-1])  # most preprocessing
    X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    rows = [X.iloc[[i]] for i in range(20)]
    b = latency_breakdown(pred, rows, repeats=300)
    assert b.preprocess_us > 0 and b.model_us > 0
    assert b.total_us >= 0.5 * (b.preprocess_us + b.model_us)  # stages are parts of the whole call
    names = [name for name, _, _ in b.profile]
    assert any(n.startswith("output (") for n in names) and any("transform_first_row" in n for n in names)


def test_model_card_and_export(stored: Path, tmp_path: Path) -> None:
    result = paretoml.load_study(stored)
    trial = int(result.front.trial.iloc[0])
    card = model_card(result, trial)
    assert card["metric"]["name"] == "roc_auc" and card["metric"]["test"] == result.test_scores[trial]
    assert card["hardware"]["fingerprint"] and card["features"] and card["configuration"]["family"]
    out = runner.invoke(app, ["export", str(stored), str(tmp_path / "model"), "--preset", "edge"])
    assert out.exit_code == 0, out.output
    assert "Picked trial" in out.output
    folder = tmp_path / "model"
    assert (folder / "MODEL_CARD.md").read_text().startswith("# Model card: bc, trial")
    exported = json.loads((folder / "model_card.json").read_text())
    pred = paretoml.load(folder)
    X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    np.testing.assert_array_equal(
        pred.predict_proba(X.head(5)), result.predictor(exported["trial"]).predict_proba(X.head(5))
    )


def test_pick_command(stored: Path) -> None:
    out = runner.invoke(app, ["pick", str(stored), "--weights", "1,0,0"])
    assert out.exit_code == 0 and "most accurate front member" in " ".join(out.output.split())
    out = runner.invoke(app, ["pick", str(stored), "--max-size-kb", "0.001"])
    assert out.exit_code == 2 and "no front member meets the limits" in out.output
    out = runner.invoke(app, ["pick", str(stored), "--weights", "a,b"])
    assert out.exit_code == 2 and "numbers, one per objective" in out.output
    assert runner.invoke(app, ["pick", "--help"]).exit_code == 0


def test_report_writes_html_and_pngs(stored: Path, tmp_path: Path) -> None:
    out = runner.invoke(app, ["report", str(stored), str(tmp_path / "rep"), "--preset", "customer_facing"])
    assert out.exit_code == 0, out.output
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "Pareto front" in page and "The pick" in page and "Feature ranking" in page and "by stage" in page
    for png in ("front.png", "front_3d.png"):
        assert (tmp_path / "rep" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_build_report_default_pick(stored: Path, tmp_path: Path) -> None:
    page = build_report(paretoml.load_study(stored), tmp_path / "r2", rows=8)
    assert page.name == "index.html" and "Picked trial" in page.read_text()


def test_front_plot_axes_follow_the_trustworthy_front(stored: Path) -> None:
    result = paretoml.load_study(stored)
    data = front_plot_data(result)
    front = result.front
    low, high = data.metric_range
    assert low < front.metric_valid.min() and high > front.metric_valid.max()
    assert high - low < 1.5 * max(front.metric_valid.max() - front.metric_valid.min(), 0.01)  # not 0.5..1.0
    assert data.latency_range_ms[0] < front.latency_p50_ms.min() < front.latency_p50_ms.max() < data.latency_range_ms[1]
    assert set(data.trial[data.on_raw_front]) == set(result.front_raw.trial)
    assert not (data.degenerate & data.on_front).any()


def test_pick_options_are_one_block(stored: Path) -> None:
    """pick, export and report take the same pick options, from one declaration."""
    import re

    options = []
    for command in ("pick", "export", "report"):
        text = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
        options.append(
            {
                o
                for o in re.findall(r"--[a-z0-9-]+", text)
                if o not in ("--help", "--trial", "--study", "--artifacts", "--force", "--json", "--onnx")
            }
        )
    assert options[0] == options[1] == options[2] == {
        "--preset", "--weights", "--method", "--max-p95-ms", "--max-size-kb", "--min-metric", "--limit", "--on"
    }  # fmt: skip
    out = runner.invoke(app, ["pick", str(stored), "--preset", "loan_quote"])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "Weights: metric 0.70, latency 0.20, size 0.10" in text and "Runner-up: trial" in text and " µs" in text


def test_export_refuses_a_non_empty_folder_unless_forced(stored: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "model"
    out_dir.mkdir()
    (out_dir / "notes.txt").write_text("mine")
    out = runner.invoke(app, ["export", str(stored), str(out_dir)])
    assert out.exit_code == 2 and "not empty" in out.output and (out_dir / "notes.txt").read_text() == "mine"
    out = runner.invoke(app, ["export", str(stored), str(out_dir), "--force"])
    assert out.exit_code == 2 and "holds no paretoml predictor" in " ".join(out.output.split())
    target = tmp_path / "fresh"
    assert runner.invoke(app, ["export", str(stored), str(target)]).exit_code == 0
    (target / "notes.txt").write_text("mine")
    assert runner.invoke(app, ["export", str(stored), str(target)]).exit_code == 2
    out = runner.invoke(app, ["export", str(stored), str(target), "--force"])
    assert out.exit_code == 0, out.output
    assert (target / "notes.txt").read_text() == "mine" and paretoml.load(target).n_features_in_ > 0


def test_front_command_reports_both_sizes(stored: Path) -> None:
    out = runner.invoke(app, ["front", str(stored)], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    result = paretoml.load_study(stored)
    text = " ".join(out.output.split())
    assert f"{len(result.front)} trustworthy of {len(result.front_raw)} non-dominated trials" in text
    assert "µs" in text and "KB" in text and " ms" not in text


def test_report_highlights_the_pick(stored: Path, tmp_path: Path) -> None:
    result = paretoml.load_study(stored)
    chosen = result.pick(preset="edge")
    page = build_report(result, tmp_path / "r3", pick=chosen, rows=8).read_text()
    row = page.split('<tr class="pick">', 1)[1].split("</tr>", 1)[0]
    assert f"<td>{chosen.trial}</td>" in row and "★" in row
    assert page.count('class="pick"') == 1  # one highlighted row
    assert "trustworthy Pareto front" in page and "non-dominated" in page and "Runner-up" in page
