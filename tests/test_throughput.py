"""Throughput and fair sharing: attrs in one transaction, the per-CPU lock, bounded waits, budget accounting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import optuna
import pytest
from sklearn.datasets import load_breast_cancer

import paretoml
from paretoml._budget import BudgetSpent, TrialDeadline
from paretoml.measure import LockWaitExpired, MachineLock
from paretoml.study import open_storage
from paretoml.study._attrs import LOCK_WAIT, trial_attrs, write_attrs

ATTRS = {"family": "lightgbm", "metric_valid": 0.9, "config": {"a": [1, 2]}, "features": ["x", "y"], "n": 3}


def _studies(tmp_path: Path) -> Iterator[tuple[str, optuna.Study]]:
    for kind, location in (("memory", None), ("sqlite", tmp_path / "a.db"), ("journal", tmp_path / "a.log")):
        yield kind, optuna.create_study(storage=open_storage(location), directions=["maximize", "minimize"])


def test_attrs_are_written_whole_on_every_storage(tmp_path: Path) -> None:
    for kind, study in _studies(tmp_path):
        trial = study.ask()
        write_attrs(trial, {**ATTRS, "n": 2})
        write_attrs(trial, {"n": 3})  # a second write replaces a key
        study.tell(trial, [1.0, 2.0])
        assert trial_attrs(study.trials[0]) == ATTRS, kind


def test_sqlite_attrs_take_one_commit(tmp_path: Path) -> None:
    storage = open_storage(tmp_path / "a.db")
    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"])
    trial = study.ask()
    commits: list[int] = []
    import sqlalchemy

    assert isinstance(storage, optuna.storages.RDBStorage)
    sqlalchemy.event.listen(storage.engine, "commit", lambda _conn: commits.append(1))
    write_attrs(trial, ATTRS)
    assert len(commits) == 1  # five attrs, one transaction (a loop of set_user_attr commits five times)
    with storage.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def _sample_three(trial: optuna.Trial) -> None:
    trial.suggest_float("lr", 1e-3, 1.0, log=True)
    trial.suggest_int("leaves", 2, 64)
    trial.suggest_categorical("family", ["a", "b"])


def test_sampled_params_take_one_commit_and_keep_optunas_checks(tmp_path: Path) -> None:
    import sqlalchemy

    from paretoml.study._attrs import params_in_one_write

    storage = open_storage(tmp_path / "p.db")
    assert isinstance(storage, optuna.storages.RDBStorage)
    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"])
    commits: list[int] = []
    sqlalchemy.event.listen(storage.engine, "commit", lambda _conn: commits.append(1))
    plain = study.ask()
    commits.clear()
    _sample_three(plain)
    alone = len(commits)  # Optuna: one transaction per parameter, plus its reads' sessions
    study.tell(plain, [1.0, 2.0])
    trial = study.ask()
    commits.clear()
    with params_in_one_write(trial):
        _sample_three(trial)
    assert len(commits) == alone - 2  # three parameters, one transaction
    study.tell(trial, [1.0, 2.0])
    again = optuna.load_study(study_name=study.study_name, storage=open_storage(tmp_path / "p.db"))
    assert again.trials[1].params == trial.params and set(trial.params) == {"lr", "leaves", "family"}
    second = study.ask()
    with pytest.raises(ValueError, match="dynamic value space"), params_in_one_write(second):
        second.suggest_categorical("family", ["a", "c"])  # Optuna's rule: a categorical keeps its choices
    fresh = optuna.load_study(study_name=study.study_name, storage=open_storage(tmp_path / "p.db"))
    other = fresh.ask()  # a new process's view: the distribution comes from the study's record
    with pytest.raises(ValueError, match="dynamic value space"), params_in_one_write(other):
        other.suggest_categorical("family", ["a", "c"])
    third = study.ask()
    with pytest.raises(RuntimeError, match="failed fit"), params_in_one_write(third):
        third.suggest_float("lr", 1e-3, 1.0, log=True)
        raise RuntimeError("failed fit")
    assert (
        "lr" in optuna.load_study(study_name=study.study_name, storage=open_storage(tmp_path / "p.db")).trials[4].params
    )


def test_sampled_params_on_other_storages_are_written_as_optuna_writes_them(tmp_path: Path) -> None:
    from paretoml.study._attrs import params_in_one_write

    for kind, study in _studies(tmp_path):
        trial = study.ask()
        with params_in_one_write(trial):
            _sample_three(trial)
        study.tell(trial, [1.0, 2.0])
        assert set(study.trials[0].params) == {"lr", "leaves", "family"}, kind


HOLD = (
    "import sys; from paretoml.measure._lock import MachineLock as L\n"
    "lock = L(sys.argv[1], folder=sys.argv[2], cpus=[int(c) for c in sys.argv[3].split(',')])\n"
    "with lock.shared():\n    print('held', flush=True); sys.stdin.readline()"
)


@pytest.fixture
def trainer(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Another process that trains (holds the lock shared) on CPU 0 until the test ends."""
    key = "test-" + uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-c", HOLD, key, str(tmp_path), "0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    try:
        yield key, tmp_path
    finally:
        proc.kill()
        proc.wait()


def test_timing_on_other_cpus_does_not_wait(trainer: tuple[str, Path]) -> None:
    key, folder = trainer
    other = MachineLock(key, folder=folder, cpus=[1])
    other.deadline = time.monotonic() + 5
    with other.exclusive():  # CPU 1 is free: no wait for the training on CPU 0
        pass
    same = MachineLock(key, folder=folder, cpus=[0, 1])
    same.deadline = time.monotonic() + 0.3
    with pytest.raises(LockWaitExpired, match="budget"), same.exclusive():
        pass
    assert same.waited >= 0.3 and same.waited_exclusive == same.waited
    with same.shared():  # training beside training never waits, and the gates were released
        pass


def test_budget_spent_adds_up() -> None:
    spent = BudgetSpent(wall=10.0, setup=1.0, fitting=4.0, measuring=2.0, lock_wait=0.5, final=1.0, trials=7)
    assert spent.overhead == pytest.approx(1.5) and spent.overhead_share == pytest.approx(0.15)
    assert "7 trials" in spent.describe() and "lock wait 0.5s" in spent.describe()


def test_trial_deadline_keeps_a_median_trial_for_the_refit() -> None:
    study = optuna.create_study()
    lock = MachineLock("test-" + uuid.uuid4().hex)
    stop = TrialDeadline(time.monotonic() + 0.6, lock)
    assert lock.deadline is None  # the first trial may wait past the budget: a result needs one
    study.optimize(lambda t: time.sleep(0.1) or 0.0, n_trials=50, callbacks=[stop])
    assert lock.deadline == stop.deadline  # after a completed trial, waits end at the deadline
    assert 2 <= len(study.trials) <= 6  # stopped with about one trial's time (0.1 s) left, not at 50
    assert 0.1 <= stop.reserve() < 0.6


def test_result_says_where_the_time_went() -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    args = {"families": ["lightgbm"], "features": False, "compression": False, "hardware": 1, "progress": False,
            "storage": optuna.storages.InMemoryStorage()}  # fmt: skip
    result = paretoml.optimize((X, y), "4 trials", **args)  # warm-start trials are this run's too
    spent = result.spent
    assert spent is not None and spent.trials == 4
    parts = spent.setup + spent.fitting + spent.measuring + spent.lock_wait + spent.final + spent.overhead
    assert parts == pytest.approx(spent.wall)
    assert spent.fitting > 0 and spent.measuring > 0 and spent.setup > 0
    recorded = [trial_attrs(t)[LOCK_WAIT] for t in result.study.trials]
    assert sum(recorded) == pytest.approx(spent.lock_wait) and min(recorded) >= 0
    again = paretoml.optimize((X, y), "2 trials", **args).spent  # resumed: counts only its own trials
    assert again is not None and again.trials == 2


STUDY = r"""
import json, sys, time
from sklearn.datasets import load_breast_cancer
import paretoml
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
optimize = paretoml.optimize  # imported on first use: the import is not part of the call
started = time.monotonic()
result = optimize((X, y), float(sys.argv[1]), seed=int(sys.argv[2]), hardware=1, progress=False,
                           families=["lightgbm"], compression=False, features=False, cv_folds=1)
wall = time.monotonic() - started
durations = [t.duration.total_seconds() for t in result.study.trials if t.duration is not None]
print(json.dumps({"wall": wall, "longest": max(durations), "done": len(durations),
                  "lock_wait": result.spent.lock_wait, "final": result.spent.final}))
"""


def test_two_studies_on_one_machine_each_return_within_budget_plus_one_trial_and_scoring(tmp_path: Path) -> None:
    budget = 10.0
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # their own machine lock, shared by the two
    procs = [subprocess.Popen([sys.executable, "-c", STUDY, str(budget), str(seed)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for seed in (1, 2)]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    for out, _ in outs:
        run = json.loads(out.strip().splitlines()[-1])
        assert run["done"] >= 1
        assert run["wall"] <= budget + run["longest"] + run["final"], run  # final: scoring the front on test


def _mixed_objective(trial: optuna.Trial) -> tuple[float, float, float]:
    family = trial.suggest_categorical("family", ["a", "b"])
    xs = [trial.suggest_float(f"{family}{i}", 1e-3, 1.0, log=True) for i in range(4)]
    k = trial.suggest_int("k", 2, 30, log=True)
    c = trial.suggest_categorical("c", [0, 1, 2])
    return float(sum(xs)), float(xs[0] * k), float(c + xs[1])


def test_flat_tpe_suggests_what_optuna_tpe_suggests() -> None:
    from paretoml.study._sampler import FlatTPESampler

    runs = []
    for sampler in (
        optuna.samplers.TPESampler(seed=3, constant_liar=False),
        FlatTPESampler(seed=3, constant_liar=False),
    ):
        study = optuna.create_study(directions=["maximize", "minimize", "minimize"], sampler=sampler)
        study.optimize(_mixed_objective, n_trials=60)
        runs.append([t.params for t in study.trials])
    assert runs[0] == runs[1]  # value for value: only the cost differs


def test_flat_tpe_splits_the_trials_once_per_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    from optuna.samplers._tpe import sampler as tpe

    from paretoml.study._sampler import FlatTPESampler

    calls: list[int] = []
    split = tpe._split_trials
    monkeypatch.setattr(tpe, "_split_trials", lambda *a: calls.append(1) or split(*a))
    study = optuna.create_study(directions=["maximize", "minimize", "minimize"],
                                sampler=FlatTPESampler(seed=0, constant_liar=False))  # fmt: skip
    study.optimize(_mixed_objective, n_trials=30)
    assert len(calls) == 30 - 10  # one per model-guided trial (the first 10 are random), not one per parameter


def test_array_log_ndtr_is_optunas_formula_and_is_swapped_in_only_while_scoring() -> None:
    from optuna.samplers._tpe import _truncnorm

    from paretoml.study._sampler import FlatTPESampler, log_ndtr

    a = np.concatenate([np.linspace(-60, 60, 24001), [-20.0, np.nextafter(-20.0, -50), 6.0, np.nextafter(6.0, 9)]])
    expected = _truncnorm._log_ndtr(a)
    # float64 erf/erfc from two libraries, then a log: agreement to a few 1e-13 of the value or 1e-300 absolute
    np.testing.assert_allclose(log_ndtr(a), expected, rtol=1e-11, atol=1e-300)
    original = _truncnorm._log_ndtr
    study = optuna.create_study(directions=["maximize", "minimize", "minimize"],
                                sampler=FlatTPESampler(seed=0, constant_liar=False))  # fmt: skip
    study.optimize(_mixed_objective, n_trials=12)
    assert _truncnorm._log_ndtr is original  # Optuna's own function again once the sampler is done


def test_flat_tpe_values_of_a_parameter_are_optunas_in_any_order() -> None:
    """The column kept across trials gives Optuna's arrays (values, order, dtype), sorted or not."""
    from paretoml.study._sampler import FlatTPESampler

    study = optuna.create_study(directions=["maximize", "minimize", "minimize"],
                                sampler=optuna.samplers.RandomSampler(seed=1))  # fmt: skip
    study.optimize(_mixed_objective, n_trials=40)
    trials = study.get_trials(deepcopy=False)
    ours, optunas = FlatTPESampler(seed=0, constant_liar=False), optuna.samplers.TPESampler(seed=0)
    rng = np.random.default_rng(0)
    for name, distribution in {"a0": trials[0].distributions.get("a0", optuna.distributions.FloatDistribution(
            1e-3, 1.0, log=True)), "k": optuna.distributions.IntDistribution(2, 30, log=True),
            "c": optuna.distributions.CategoricalDistribution([0, 1, 2]),
            "family": optuna.distributions.CategoricalDistribution(["a", "b"])}.items():  # fmt: skip
        space = {name: distribution}
        for subset in (trials[:10], trials[5:40:3], trials, [trials[i] for i in rng.permutation(40)], []):
            got = ours._get_internal_repr(subset, space, study)[name]
            expected = optunas._get_internal_repr(subset, space, study)[name]
            assert got.dtype == expected.dtype and got.tolist() == expected.tolist()
