from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from paretoml.cli import app

runner = CliRunner()


def test_run_then_front(tmp_path: Path) -> None:
    study = tmp_path / "bc.yaml"
    study.write_text(
        "data: sklearn:breast_cancer\ntarget: target\nbudget: 3 trials\nfamilies: [lightgbm]\n"
        "hardware: {n_threads: 1}\nseed: 0\n"
    )
    out = runner.invoke(app, ["run", str(study)])
    assert out.exit_code == 0, out.output
    assert "Pareto front of 'bc'" in out.output and "roc_auc" in out.output
    assert (tmp_path / "bc.db").is_file() and (tmp_path / "bc_artifacts").is_dir()
    again = runner.invoke(app, ["front", str(tmp_path / "bc.db")])
    assert again.exit_code == 0, again.output
    assert "Pareto front of 'bc'" in again.output and "lightgbm" in again.output
    assert "features (mean |SHAP|)" in again.output and "worst" in again.output  # the ranking table
    more = runner.invoke(app, ["run", str(study), "--budget", "2 trials"])
    assert more.exit_code == 0 and "of 5 trials" in more.output


def test_errors_are_reported_not_raised(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: sklearn:nope\n")
    out = runner.invoke(app, ["run", str(bad)])
    assert out.exit_code == 2 and "is not bundled" in out.output
    out = runner.invoke(app, ["run", str(tmp_path / "missing.yaml")])
    assert out.exit_code == 2 and "not found" in out.output
    unknown = tmp_path / "u.yaml"
    unknown.write_text("data: sklearn:wine\nbudgett: 5\n")
    out = runner.invoke(app, ["run", str(unknown)])
    assert out.exit_code == 2 and "unknown keys ['budgett']" in out.output
    out = runner.invoke(app, ["front", str(tmp_path / "none.db")])
    assert out.exit_code == 2 and "does not exist" in out.output


def test_help_lists_commands() -> None:
    out = runner.invoke(app, ["--help"])
    assert out.exit_code == 0 and "run" in out.output and "front" in out.output


def test_image_study_file_runs_cnns(tmp_path: Path) -> None:
    import pytest

    pytest.importorskip("torch", reason="the CNN family needs paretoml[cnn]")
    space = tmp_path / "cnn.yaml"
    space.write_text(
        "family: cnn\nparams:\n  n_blocks: {type: fixed, value: 1}\n  channels: {type: int, low: 3, high: 4}\n"
        "  max_epochs: {type: fixed, value: 3}\n"
    )
    study = tmp_path / "digits.yaml"
    study.write_text(
        "data: sklearn:digits\ntarget: target\nbudget: 2 trials\nfamilies: [cnn]\nimage_shape: [8, 8]\n"
        "search_spaces: {cnn: cnn.yaml}\nhardware: {n_threads: 1}\nseed: 0\n"
    )
    out = runner.invoke(app, ["run", str(study)])
    assert out.exit_code == 0, out.output
    assert "Pareto front of 'digits'" in out.output and "params" in out.output and "cnn" in out.output
