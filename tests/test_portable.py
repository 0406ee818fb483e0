"""Portable studies: a study's database and artifacts folder move together; gone artifacts give one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer
from typer.testing import CliRunner

from paretoml import ConfigError, load, load_study
from paretoml.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-trial study made in its own folder: ``bc.db`` and ``bc_artifacts``."""
    folder = tmp_path_factory.mktemp("made")
    study = folder / "bc.yaml"
    study.write_text(
        "data: sklearn:breast_cancer\ntarget: target\nbudget: 3 trials\nfamilies: [lightgbm]\n"
        "hardware: {n_threads: 1}\nseed: 0\n"
    )
    out = runner.invoke(app, ["run", str(study)])
    assert out.exit_code == 0, out.output
    return folder


def _copy(made: Path, to: Path, artifacts: str | None = "bc_artifacts") -> Path:
    """Copy the study's database (and its artifacts folder, renamed to ``artifacts``) into ``to``."""
    to.mkdir()
    shutil.copy(made / "bc.db", to / "bc.db")
    if artifacts is not None:
        shutil.copytree(made / "bc_artifacts", to / artifacts)
    return to / "bc.db"


def test_a_moved_study_exports(made: Path, tmp_path: Path) -> None:
    db = _copy(made, tmp_path / "moved")
    hidden = made.with_name(made.name + "_away")
    made.rename(hidden)  # the recorded absolute artifact folder no longer exists
    try:
        result = load_study(db)
        assert result.artifact_dir == (tmp_path / "moved" / "bc_artifacts").resolve()
        out = runner.invoke(app, ["export", str(db), str(tmp_path / "model")])
        assert out.exit_code == 0, out.output
        rows = load_breast_cancer(as_frame=True).data.head(3)
        assert load(tmp_path / "model").predict_proba(rows).shape == (3, 2)
    finally:
        hidden.rename(made)


def test_artifacts_option_points_at_a_renamed_folder(made: Path, tmp_path: Path) -> None:
    db = _copy(made, tmp_path / "s", artifacts="kept_elsewhere")
    hidden = made.with_name(made.name + "_away")
    made.rename(hidden)
    try:
        gone = runner.invoke(app, ["export", str(db), str(tmp_path / "m1")])
        assert gone.exit_code == 2
        folder = tmp_path / "s" / "kept_elsewhere"
        for command in (["front", str(db)], ["pick", str(db)], ["export", str(db), str(tmp_path / "m2")]):
            out = runner.invoke(app, [*command, "--artifacts", str(folder)])
            assert out.exit_code == 0, (command, out.output)
        assert (tmp_path / "m2" / "manifest.json").is_file()
    finally:
        hidden.rename(made)


def test_gone_artifacts_give_one_line(made: Path, tmp_path: Path) -> None:
    db = _copy(made, tmp_path / "lonely", artifacts=None)
    hidden = made.with_name(made.name + "_away")
    made.rename(hidden)
    try:
        result = load_study(db)  # the front needs no artifacts: it still loads and shows
        assert len(result.front) >= 1
        assert not (tmp_path / "lonely" / "bc_artifacts").exists()  # nothing was made in passing
        with pytest.raises(ConfigError) as raised:
            result.predictor(int(result.front.trial.iloc[0]))
        message = str(raised.value)
        assert "\n" not in message and str(tmp_path / "lonely" / "bc_artifacts") in message
        assert str(made / "bc_artifacts") in message and "--artifacts" in message
        out = runner.invoke(app, ["export", str(db), str(tmp_path / "m")])
        assert out.exit_code == 2 and "Traceback" not in out.output
        assert out.output.startswith("error: the trial predictors of study 'bc' are not in")
        assert runner.invoke(app, ["front", str(db)]).exit_code == 0
    finally:
        hidden.rename(made)
