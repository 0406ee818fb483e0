"""Reliability: failing trials, kill -9 and resume, many workers (journal file and PostgreSQL)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

import paretoml
from paretoml import ConfigError, DataError
from paretoml._studyfile import load_data
from paretoml.families import FAMILIES, BaseFamily, FitData, FittedModel
from paretoml.measure._lock import MachineLock
from paretoml.study._recovery import WORKER_ATTR, AtomicFileSystemArtifactStore

SLOW_SPACE = {
    "family": "lightgbm",
    "params": {"n_estimators": {"type": "int", "low": 20000, "high": 20001}},
    "fixed": {"learning_rate": {"type": "fixed", "value": 0.001}},
}


def test_more_bad_input_is_a_clear_error() -> None:
    dupes = pd.DataFrame(np.zeros((4, 2)), columns=["a", "a"])
    with pytest.raises(DataError, match=r"duplicate column names \['a'\]"):
        paretoml.optimize((dupes, [0, 1, 0, 1]), "1 trials")
    with pytest.raises(DataError, match=r"2-D .* shape \(5, 1, 1, 8, 8\).*images as \(N, H, W\)"):
        paretoml.optimize((np.zeros((5, 1, 1, 8, 8)), np.arange(5) % 2), "1 trials")
    with pytest.raises(ConfigError, match="trial_timeout"):
        paretoml.optimize((np.zeros((4, 2)), [0, 1, 0, 1]), "1 trials", trial_timeout=0)
    with pytest.raises(ConfigError, match="workers"):
        paretoml.optimize((np.zeros((4, 2)), [0, 1, 0, 1]), "1 trials", workers=2, storage="x.db")


def test_time_limit_fails_the_trial_and_the_study_goes_on(mixed_frame: pd.DataFrame) -> None:
    with pytest.warns(UserWarning, match="family 'lightgbm' failed in all 2 of its trials"):
        result = paretoml.optimize(
            mixed_frame, "2 trials", target="label", families=["lightgbm"], search_spaces={"lightgbm": SLOW_SPACE},
            trial_timeout=0.3, features=False, compression=False,
        )  # fmt: skip
    trials = result.trials
    assert (trials.state == "FAIL").all() and len(trials) == 2
    assert trials.fail_reason.str.contains("TrialTimeoutError: the trial ran past its time limit").all()
    assert result.failed_families() == {"lightgbm": (2, trials.fail_reason.iloc[-1])}


class _Greedy(BaseFamily):
    """Asks for far more memory than any machine has: a real allocation failure."""

    name = "greedy"

    def fit(self, data: FitData, params: dict[str, Any]) -> FittedModel:
        np.ones((1 << 24, 1 << 24), dtype=np.float64)  # 2 PiB
        raise AssertionError("unreachable")

    def load(self, directory: Path, entry: dict[str, Any], *, task: str, n_classes: int) -> FittedModel:
        raise NotImplementedError


def test_memory_exhaustion_fails_the_trial(mixed_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(FAMILIES, "greedy", _Greedy())
    space = {"family": "greedy", "params": {"x": {"type": "int", "low": 1, "high": 2}}}
    with pytest.warns(UserWarning, match="family 'greedy' failed"):
        result = paretoml.optimize(
            mixed_frame, "6 trials", target="label", families=["greedy", "lightgbm"], search_spaces={"greedy": space},
            features=False, compression=False, seed=0,
        )  # fmt: skip
    trials = result.trials
    greedy = trials[trials.family == "greedy"]
    assert len(greedy) >= 1 and (greedy.state == "FAIL").all()
    assert greedy.fail_reason.str.contains("Unable to allocate").all()
    assert (trials.state == "COMPLETE").sum() >= 1  # the study went on with the other family


def _study_file(folder: Path, budget: str, storage: str | None = None, name: str = "k") -> Path:
    lines = [f"study_name: {name}", "data: sklearn:breast_cancer", "target: target", f"budget: {budget}",
             "hardware: {n_threads: 1}", "families: [lightgbm]", "seed: 0", "artifacts: arts"]  # fmt: skip
    if storage:
        lines.append(f'storage: "{storage}"')
    path = folder / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "paretoml", *args]


def test_kill_minus_nine_mid_trial_then_resume(tmp_path: Path) -> None:
    study_file = _study_file(tmp_path, "500 trials")
    url = f"sqlite:///{tmp_path / 'k.db'}"
    proc = subprocess.Popen(_cli("run", str(study_file)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        killed = False
        while time.monotonic() < deadline and not killed:
            time.sleep(0.01)
            try:
                trials = optuna.load_study(study_name="k", storage=url).get_trials(deepcopy=False)
            except Exception:  # the run has not created the study yet
                continue
            complete = [t for t in trials if t.state == TrialState.COMPLETE]
            # mid-trial with its worker recorded (a trial killed in the milliseconds before, while the sampler
            # still works in study.ask, has no owner to check and is failed after the 20 s heartbeat grace)
            if len(complete) >= 3 and trials[-1].state == TrialState.RUNNING and WORKER_ATTR in trials[-1].user_attrs:
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
        assert killed, "never saw the run mid-trial"
    finally:
        proc.kill()
        proc.wait()
    before = optuna.load_study(study_name="k", storage=url).get_trials()
    done_before = {t.number: t.values for t in before if t.state == TrialState.COMPLETE}
    left_running = [t.number for t in before if t.state == TrialState.RUNNING]
    assert left_running
    again = subprocess.run(_cli("run", str(study_file), "--budget", "3 trials"), capture_output=True, timeout=300)
    assert again.returncode == 0, again.stdout.decode()[-2000:]
    result = paretoml.load_study(tmp_path / "k.db")
    after = result.study.get_trials()
    assert {t.number: t.values for t in after if t.number in done_before} == done_before  # intact
    for number in left_running:
        assert after[number].state == TrialState.FAIL
        assert "died" in after[number].user_attrs["fail_reason"]
    complete = [t for t in after if t.state == TrialState.COMPLETE]
    assert len(complete) == len(done_before) + 3
    assert not [t for t in after if t.state == TrialState.RUNNING]
    X = load_data("sklearn:breast_cancer").drop(columns="target").head(3)
    for t in complete:  # every completed trial's artifact is whole and loads
        assert result.predictor(t.number, refit=False).predict(X).shape == (3,)


def _assert_intact(study: optuna.Study, expected: int, workers: int) -> None:
    trials = study.get_trials()
    assert len(trials) == expected
    assert all(t.state == TrialState.COMPLETE for t in trials)
    for t in trials:
        assert t.values == [t.user_attrs["metric_valid"], t.user_attrs["latency_p50_ms"], t.user_attrs["size_kb"]]
    assert len({t.user_attrs["worker"] for t in trials}) == workers
    assert sorted(t.number for t in trials) == list(range(expected))


def test_workers_share_a_journal_study(mixed_frame: pd.DataFrame, tmp_path: Path) -> None:
    result = paretoml.optimize(
        mixed_frame, "6 trials", target="label", storage=tmp_path / "w.log", study_name="w", workers=2,
        families=["lightgbm"], hardware=1,
    )  # fmt: skip
    _assert_intact(result.study, 6, 2)
    assert result.front.metric_test.notna().all()


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards): the state a cluster job starts from."""
    url = os.environ.get("PARETOML_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("PARETOML_TEST_POSTGRES_URL must be set on CI; .ci/run starts PostgreSQL and sets it.")
        pytest.skip("no PostgreSQL: run .ci/postgres.sh and set PARETOML_TEST_POSTGRES_URL to its output")
    psycopg = pytest.importorskip("psycopg")
    from sqlalchemy.engine import make_url

    server = make_url(url)
    name = f"paretoml_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(server.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


def _start_together(study_file: Path, n: int) -> list[tuple[int, str]]:
    """Start ``n`` ``paretoml worker`` processes at once; their exit codes and outputs."""
    procs = [subprocess.Popen(_cli("worker", str(study_file)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for _ in range(n)]  # fmt: skip
    return [(p.wait(timeout=300), p.communicate()[0].decode()) for p in procs]


def test_workers_started_together_on_an_empty_postgresql_database(empty_postgres: str, tmp_path: Path) -> None:
    study_file = _study_file(tmp_path, "2 trials", storage=empty_postgres, name="pg")
    runs = _start_together(study_file, 3)  # they race to create Optuna's schema and the study
    assert [code for code, _ in runs] == [0, 0, 0], [out[-3000:] for _, out in runs]
    assert not any("Traceback" in out for _, out in runs)
    _assert_intact(optuna.load_study(study_name="pg", storage=empty_postgres), 3 * 2, 3)


def test_workers_started_together_on_a_new_journal_file(tmp_path: Path) -> None:
    study_file = _study_file(tmp_path, "2 trials", storage=str(tmp_path / "j.log"), name="j")
    runs = _start_together(study_file, 3)
    assert [code for code, _ in runs] == [0, 0, 0], [out[-3000:] for _, out in runs]
    _assert_intact(paretoml.load_study(tmp_path / "j.log", artifacts=tmp_path / "arts").study, 3 * 2, 3)


def test_optimize_workers_on_an_empty_postgresql_database(
    empty_postgres: str, mixed_frame: pd.DataFrame, tmp_path: Path
) -> None:
    result = paretoml.optimize(
        mixed_frame, "6 trials", target="label", storage=empty_postgres, study_name="w", workers=3,
        artifacts=tmp_path / "arts", families=["lightgbm"], hardware=1,
    )  # fmt: skip
    _assert_intact(result.study, 6, 3)


def test_timing_waits_for_training_elsewhere(tmp_path: Path) -> None:
    key = "test-" + uuid.uuid4().hex
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from paretoml.measure._lock import MachineLock as L; l = L(sys.argv[1], folder=sys.argv[2])\n"
         "with l.shared():\n    print('held', flush=True); sys.stdin.readline()",
         key, str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    lock = MachineLock(key, folder=tmp_path)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        timed = threading.Event()

        def time_it() -> None:
            with lock.exclusive():
                timed.set()

        thread = threading.Thread(target=time_it)
        thread.start()
        assert not timed.wait(0.5)  # another process trains: no timing
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert timed.wait(30)  # training done: timing proceeds
        thread.join()
    finally:
        holder.kill()
        holder.wait()


def test_artifacts_are_written_atomically(tmp_path: Path) -> None:
    store = AtomicFileSystemArtifactStore(str(tmp_path))

    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() > 0:
                raise OSError("disk vanished")
            return super().read(4)

    with pytest.raises(OSError, match="disk vanished"):
        store.write("half", Broken(b"0123456789"))
    assert not (tmp_path / "half").exists() and not list(tmp_path.iterdir())
    store.write("whole", io.BytesIO(b"payload"))
    assert (tmp_path / "whole").read_bytes() == b"payload"


def test_dead_and_orphaned_running_trials_are_failed() -> None:
    import socket

    from paretoml.study._recovery import WORKER_ATTR, fail_dead_trials

    study = optuna.create_study()
    orphan = study.ask()  # created, then its process "died" before recording itself
    dead = study.ask()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{int(gone.stdout)}")
    alive = study.ask()
    alive.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{os.getpid()}")
    assert fail_dead_trials(study, grace_seconds=20) == [dead.number]  # the orphan is still within its grace
    assert fail_dead_trials(study, grace_seconds=0) == [orphan.number]
    states = [t.state for t in study.get_trials()]
    assert states == [TrialState.FAIL, TrialState.FAIL, TrialState.RUNNING]
    assert "before the trial began" in study.trials[orphan.number].user_attrs["fail_reason"]
    assert "died" in study.trials[dead.number].user_attrs["fail_reason"]
