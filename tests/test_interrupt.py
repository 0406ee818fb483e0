"""Ctrl-C during ``paretoml run`` and ``optimize``: one line, status 130, the reason recorded, resume works."""

from __future__ import annotations

import _thread
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState
from sklearn.datasets import load_breast_cancer

import paretoml
from paretoml.study import INTERRUPTED

# Trials of a few seconds (1,500 rounds, no early stop), so that Ctrl-C sent while one runs lands inside it.
SLOW_SPACE = {
    "family": "lightgbm",
    "params": {"num_leaves": {"type": "int", "low": 16, "high": 32}},
    "fixed": {"n_estimators": 1500, "learning_rate": 0.005, "early_stopping_rounds": 1500},
}


def _study_file(folder: Path) -> Path:
    (folder / "slow.yaml").write_text(yaml.safe_dump(SLOW_SPACE))
    path = folder / "k.yaml"
    path.write_text(
        "study_name: k\ndata: sklearn:breast_cancer\ntarget: target\nbudget: 500 trials\n"
        "hardware: {n_threads: 1}\nfamilies: [lightgbm]\nseed: 0\nartifacts: arts\n"
        "search_spaces: {lightgbm: slow.yaml}\nfeatures: off\ncompression: false\n"
    )
    return path


def _default_sigint() -> None:
    """Python's own Ctrl-C handling in the child, even where this process was started with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "paretoml", *args]


def test_ctrl_c_during_run_records_the_reason_says_how_to_resume_and_resume_works(tmp_path: Path) -> None:
    study_file = _study_file(tmp_path)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    proc = subprocess.Popen(
        _cli("run", str(study_file)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_sigint
    )
    try:
        deadline, sent = time.monotonic() + 120, False
        while time.monotonic() < deadline and not sent:
            time.sleep(0.01)
            try:
                trials = optuna.load_study(study_name="k", storage=url).get_trials(deepcopy=False)
            except Exception:  # the run has not created the study yet
                continue
            done = sum(t.state == TrialState.COMPLETE for t in trials)
            if done >= 1 and trials[-1].state == TrialState.RUNNING and "worker" in trials[-1].user_attrs:
                os.kill(proc.pid, signal.SIGINT)
                sent = True
        assert sent, "never saw the run mid-trial"
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        proc.wait()
    text = (out + err).decode()
    assert proc.returncode == 130, text[-3000:]
    assert "Traceback" not in text and "failed with" not in text, text[-3000:]  # no Optuna log of the interrupt
    after = optuna.load_study(study_name="k", storage=url).get_trials()
    done = sum(t.state == TrialState.COMPLETE for t in after)
    lines = [line for line in text.splitlines() if line.startswith("interrupted:")]
    assert lines == [
        f"interrupted: {done} completed trials are kept in {tmp_path / 'k.db'} (study 'k'); "
        f"resume with: paretoml run {study_file}"
    ]
    failed = [t for t in after if t.state == TrialState.FAIL]
    assert len(failed) == 1 and failed[0].user_attrs["fail_reason"] == INTERRUPTED
    assert not [t for t in after if t.state == TrialState.RUNNING]
    again = subprocess.run(_cli("run", str(study_file), "--budget", "2 trials"), capture_output=True, timeout=300)
    assert again.returncode == 0, again.stdout.decode()[-2000:]
    resumed = optuna.load_study(study_name="k", storage=url).get_trials()
    assert sum(t.state == TrialState.COMPLETE for t in resumed) == done + 2


def test_ctrl_c_in_optimize_reraises_with_a_note_and_records_the_reason(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    stop = threading.Event()

    def interrupt_mid_trial() -> None:
        while not stop.is_set():
            time.sleep(0.01)
            try:
                trials = optuna.load_study(study_name="o", storage=url).get_trials(deepcopy=False)
            except Exception:
                continue
            if len(trials) >= 1 and trials[-1].state == TrialState.RUNNING and "worker" in trials[-1].user_attrs:
                _thread.interrupt_main()  # Ctrl-C as the main thread sees it
                return

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if ignored here
    watcher = threading.Thread(target=interrupt_mid_trial, daemon=True)
    watcher.start()
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            paretoml.optimize(
                (X, y), "500 trials", storage=url, study_name="o", families=["lightgbm"], hardware=1,
                progress=False, search_spaces={"lightgbm": SLOW_SPACE}, features=False, compression=False,
            )  # fmt: skip
    finally:
        stop.set()
        watcher.join()
        signal.signal(signal.SIGINT, previous)
    trials = optuna.load_study(study_name="o", storage=url).get_trials()
    done = sum(t.state == TrialState.COMPLETE for t in trials)
    assert info.value.__notes__ == [
        f"paretoml: interrupted; {done} completed trials are kept in the study 'o'. "
        "Call optimize() again with the same storage and study_name to continue it."
    ]
    assert [t.user_attrs.get("fail_reason") for t in trials if t.state == TrialState.FAIL] == [INTERRUPTED]
    assert not [t for t in trials if t.state == TrialState.RUNNING]
