"""The settings schema: every bad argument is a typed error before any work, and the lists cannot drift."""

from __future__ import annotations

import inspect
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine

import paretoml
from paretoml import BudgetError, ConfigError
from paretoml._constraints import Number
from paretoml._settings import PYTHON_ONLY, Settings, arguments_table, schema, study_file_example
from paretoml._studyfile import file_keys, read_study_file

README = Path(__file__).resolve().parents[1] / "README.md"
TINY = (pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 7}), np.arange(40) % 2)


# (argument, value, error type, what the message must say: the argument, the rule or value, the fix)
ARGUMENT_CASES = [
    ("metric", 123, ConfigError, r"`metric` must be None or a scikit-learn scorer name \(str\); got 123 \(an int\)\. "
     r"Pass a name such as 'roc_auc'"),
    ("hardware", {"n_threads": "x"}, ConfigError, r"`hardware\.n_threads` must be an int >= 1; got 'x' \(a str\)\. "
     r"Pass a thread count"),
    ("hardware", {"gpus": 2}, ConfigError, r"`hardware` must be .*a dict with keys n_threads, device, "
     r"serving_threads, batch_size; got"),
    ("trial_timeout", "5", ConfigError, r"`trial_timeout` must be None or a float > 0; got '5' \(a str\)\. Pass a "
     r"number of seconds"),
    ("callbacks", [42], ConfigError, r"`callbacks` must be None or a list of callables f\(study, trial\); got \[42\]"
     r".*Pass a list of functions"),
    ("features", {"sizes": 5}, ConfigError, r"`features\.sizes` must be None or a list of positive ints; got 5 "
     r"\(an int\)\. Pass a list such as \[5, 10, 20\]"),
    ("valid_size", "0.2", ConfigError, r"`valid_size` must be a float in \(0, 1\); got '0\.2' \(a str\)\. Pass a "
     r"number such as 0\.2\."),
    ("test_size", 1.0, ConfigError, r"`test_size` must be a float in \(0, 1\); got 1\.0"),
    ("seed", "x", ConfigError, r"`seed` must be an int in \[0, 4294967295\]; got 'x' \(a str\)\. Pass an integer"),
    ("families", "lightgbm", ConfigError, r"`families` must be None or a non-empty list of family names; got "
     r"'lightgbm' \(a str\)\. Pass a list such as \['lightgbm'\]"),
    ("families", [], ConfigError, r"`families` must be .*non-empty list"),
    ("task", "clustering", ConfigError, r"`task` must be None or one of 'binary', 'multiclass', 'regression'"),
    ("workers", 0, ConfigError, r"`workers` must be an int >= 1; got 0.*Pass a process count"),
    ("sampler", 3, ConfigError, r"`sampler` must be .*'tpe'.*Pass 'tpe', 'nsga2' or 'random'"),
    ("study_name", None, ConfigError, r"`study_name` must be a string; got None"),
    ("image_shape", (8, 0), ConfigError, r"`image_shape` must be 2 or 3 positive integers.* or None; got \(8, 0\)"),
    ("search_spaces", ["lightgbm.yaml"], ConfigError, r"`search_spaces` must be None or a dict \{family: YAML"),
    ("compression", 3, ConfigError, r"`compression` must be None or a bool or a YAML path or dict"),
    ("storage", 5, ConfigError, r"`storage` must be None or a SQLite/journal file path.*Pass e\.g\. 'studies/x\.db'"),
    ("budget", [60], BudgetError, r"`budget` must be seconds, a duration string or a paretoml\.Budget"),
    ("storage", "bogus://x", ConfigError, r"`storage` 'bogus://x' has the URL scheme 'bogus', which is not a "
     r"database.*Pass a SQLite path"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "value", "error", "match"), ARGUMENT_CASES, ids=lambda v: str(v)[:20])
def test_bad_argument_is_a_typed_error_before_any_work(
    name: str, value: Any, error: type[Exception], match: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    calls: list[Any] = []
    monkeypatch.setattr("paretoml._prepare.intake", lambda *a, **k: calls.append(a))  # must never be reached
    with pytest.raises(error, match=match):
        paretoml.optimize(TINY, **{"budget": "1 trials", name: value})
    assert calls == [] and list(tmp_path.iterdir()) == []  # no work started, nothing written


def test_storage_that_cannot_work_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("not a database\n")
    with pytest.raises(ConfigError, match=r"`storage` .*notes\.db' exists and is not a SQLite database\. Pass"):
        paretoml.optimize(TINY, "1 trials", storage=text)
    assert text.read_text() == "not a database\n"
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    for storage in (plain / "x.db", plain / "sub" / "x.log"):
        with pytest.raises(ConfigError, match=r"`storage` .* lies under .*plain\.txt', which is a file.*Pass a path"):
            paretoml.optimize(TINY, "1 trials", storage=storage)
    with pytest.raises(ConfigError, match=r"`storage` .* is a folder\. Pass a file path"):
        paretoml.optimize(TINY, "1 trials", storage=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db", "plain.txt"]


def _read_only_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write in, even as root (a read-only pseudo-file system)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    if os.access(folder, os.W_OK):  # root: file modes do not stop it
        if not sys.platform.startswith("linux"):
            pytest.skip("no folder that root cannot write on this platform")
        return Path("/proc")
    return folder


def test_read_only_folders_are_refused(tmp_path: Path) -> None:
    folder = _read_only_folder(tmp_path)
    with pytest.raises(ConfigError, match=r"`storage` .*cannot be written.*Pass a path in a folder you may write"):
        paretoml.optimize(TINY, "1 trials", storage=folder / "x.db")
    db = tmp_path / "s.db"
    with pytest.raises(ConfigError, match=r"`artifacts` .*cannot be written.*Pass a path in a folder you may write"):
        paretoml.optimize(TINY, "1 trials", storage=db, artifacts=folder / "arts")
    assert not db.exists()  # the study (and its attrs) was not written


def test_artifacts_that_cannot_be_written_leave_no_study(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    db = tmp_path / "s.db"
    with pytest.raises(ConfigError, match=r"`artifacts` .*plain\.txt' is a file, not a folder\. Pass a folder"):
        paretoml.optimize(TINY, "1 trials", storage=db, artifacts=plain)
    with pytest.raises(ConfigError, match=r"`artifacts` .* lies under .*plain\.txt', which is a file"):
        paretoml.optimize(TINY, "1 trials", storage=db, artifacts=plain / "arts")
    assert not db.exists()


@pytest.mark.parametrize(
    ("data", "metric", "match"),
    [
        (load_diabetes(return_X_y=True, as_frame=True), "roc_auc", r"`metric` 'roc_auc' cannot score a regression"),
        (load_wine(return_X_y=True, as_frame=True), "f1", r"`metric` 'f1' cannot score a multiclass task"),
        (load_diabetes(return_X_y=True, as_frame=True), "accuracy", r"`metric` 'accuracy' cannot score a regression"),
    ],
)
def test_metric_that_cannot_score_the_task_is_refused_up_front(
    data: Any, metric: str, match: str, tmp_path: Path
) -> None:
    db = tmp_path / "m.db"
    with pytest.raises(ConfigError, match=match + r".*Pass a .* metric such as"):
        paretoml.optimize(data, "1 trials", metric=metric, storage=db)
    assert not db.exists()


def test_metrics_that_fit_the_task_pass_the_check() -> None:
    from paretoml._prepare import check_metric_fits_task
    from paretoml.measure import get_metric

    for task, names in {
        "binary": ["roc_auc", "accuracy", "f1", "log_loss", "average_precision"],
        "multiclass": ["accuracy", "f1_macro", "log_loss", "roc_auc", "balanced_accuracy"],
        "regression": ["r2", "neg_mean_absolute_error", "root_mean_squared_error", "neg_mean_poisson_deviance"],
    }.items():
        for name in names:
            check_metric_fits_task(get_metric(name, task), task)


def test_resumed_study_with_other_families_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    args: dict[str, Any] = {"storage": db, "features": False, "compression": False, "hardware": 1}
    paretoml.optimize(TINY, "1 trials", families=["lightgbm", "xgboost"], **args)
    with pytest.raises(
        ConfigError,
        match=r"`families` \['lightgbm'\] differs from the families study 'paretoml' searches \(\['lightgbm', "
        r"'xgboost'\]\).*Resume it with families=\['lightgbm', 'xgboost'\], or pick another study_name",
    ):
        paretoml.optimize(TINY, "1 trials", families=["lightgbm"], **args)
    study = optuna.load_study(study_name="paretoml", storage=f"sqlite:///{db}")
    assert len(study.trials) == 1  # nothing was added


def test_study_file_values_are_checked_naming_the_file(tmp_path: Path) -> None:
    cases = {
        "hardware: {n_threads: many}": r"`hardware\.n_threads` must be an int >= 1; got 'many' \(a str\)\. Pass a",
        "split: {valid_size: '0.2'}": r"`split\.valid_size` must be a float in \(0, 1\); got '0\.2'",
        "split: [0.2]": r"`split` must be a dict with keys valid_size, test_size",
        "families: lightgbm": r"`families` must be .*got 'lightgbm' \(a str\)",
        "trial_timeout: soon": r"`trial_timeout` must be None or a float > 0; got 'soon'",
        "validation: 3": r"`validation` must be a CSV/Parquet path \(str\); got 3.*Write the path",
        "workers: 0": r"`workers` must be an int >= 1",
        "callbacks: [x]": r"unknown keys \['callbacks'\]",
    }
    for line, match in cases.items():
        path = tmp_path / "s.yaml"
        path.write_text(f"data: sklearn:iris\n{line}\n")
        with pytest.raises(ConfigError, match=re.escape(str(path)) + ": " + match):
            read_study_file(path)


def test_a_study_file_sets_every_file_expressible_argument(tmp_path: Path) -> None:
    frame = pd.concat([TINY[0], pd.Series(TINY[1], name="y")], axis=1)
    frame.iloc[:10].to_csv(tmp_path / "valid.csv", index=False)
    frame.iloc[10:20].to_csv(tmp_path / "test.csv", index=False)
    frame.iloc[20:].to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "squeeze.yaml").write_text(
        "family: compression\nparams: {tree_fraction: {type: categorical, choices: [0.5]}}\n"
    )
    (tmp_path / "s.yaml").write_text(
        "data: train.csv\ntarget: y\nbudget: 1 trials\nworkers: 2\ncompression: [squeeze.yaml]\n"
        "features: {method: gain, sizes: [1, 2]}\ntrial_timeout: 30\nimage_shape: null\n"
        "validation: valid.csv\ntest: test.csv\nhardware: 1\nsampler: random\nfamilies: [lightgbm]\n"
    )
    spec, budget = read_study_file(tmp_path / "s.yaml")
    kwargs = spec.optimize_kwargs()
    assert budget == "1 trials" and kwargs["workers"] == 2
    assert kwargs["storage"] == str(tmp_path / "s.log")  # many workers: a journal file by default
    assert kwargs["compression"] == [str(tmp_path / "squeeze.yaml")]
    assert kwargs["features"] == {"method": "gain", "sizes": [1, 2]} and kwargs["trial_timeout"] == 30
    assert len(kwargs["validation"]) == 10 and len(kwargs["test"]) == 10
    kwargs.update(workers=1, storage=str(tmp_path / "s.db"))
    from paretoml._studyfile import load_data

    result = paretoml.optimize(load_data(spec.data), budget, **kwargs)
    assert result.study.user_attrs["split"]["rows"] == [20, 10, 10]
    assert result.study.trials[0].params["compression.tree_fraction"] == 0.5  # the file's compression space


def test_study_file_keys_and_optimize_arguments_cannot_drift() -> None:
    arguments = list(inspect.signature(paretoml.optimize).parameters)
    assert arguments == [p.name for p in schema()]
    assert set(PYTHON_ONLY) < set(arguments)
    from_file = {p.name for params in file_keys().values() for p in params}
    assert from_file == set(arguments) - set(PYTHON_ONLY)
    defaults = {k: p.default for k, p in inspect.signature(paretoml.optimize).parameters.items() if k != "data"}
    assert defaults == {name: getattr(Settings(), name) for name in defaults}
    args = (paretoml.optimize.__doc__ or "").split("Args:")[1].split("Returns:")[0]
    documented = re.findall(r"^        (\w+):", args, flags=re.MULTILINE)
    assert sorted(documented) == sorted(arguments)


def test_readme_tables_are_generated_from_the_schema() -> None:
    readme = README.read_text()
    assert arguments_table() in readme
    assert "```yaml\n" + study_file_example() + "\n```" in readme
    keys = re.findall(r"^(\w+):", study_file_example(), flags=re.MULTILINE)
    assert keys == list(file_keys())


@pytest.mark.parametrize(
    ("rule", "inside", "outside", "words"),
    [
        (Number(integer=False, low=0, high=1, closed="neither"), [0.5, 1e-9], [0, 1, "0.5", True, float("nan")],
         "a float in (0, 1)"),
        (Number(integer=True, low=1), [1, 10**9], [0, 1.0, True, None], "an int >= 1"),
        (Number(integer=False, low=0, closed="neither"), [0.1, 7], [0, -1, float("inf")], "a float > 0"),
    ],
)  # fmt: skip
def test_number_rules(rule: Number, inside: list[Any], outside: list[Any], words: str) -> None:
    assert all(rule.ok(v) for v in inside) and not any(rule.ok(v) for v in outside)
    assert str(rule) == words
