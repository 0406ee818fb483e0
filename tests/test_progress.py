"""What a running study tells its user: setup stages, the live line, quiet Optuna logs, thin studies."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import optuna
import pandas as pd
import pytest

import paretoml
from paretoml._budget import Budget
from paretoml._progress import FEW_TRIALS, StudyProgress, warn_if_thin
from paretoml.pareto import non_dominated


def test_progress_keeps_its_own_counts_and_front_without_reading_the_study() -> None:
    study = optuna.create_study(directions=["maximize", "minimize", "minimize"])
    rng = np.random.default_rng(0)
    values = rng.random((40, 3)) + 0.01
    progress = StudyProgress(Budget(trials=45), enabled=False)
    # a study stand-in that has no trials to read: the callback must work from the trial it is handed
    bare = SimpleNamespace(directions=study.directions, metric_names=["roc_auc", "latency_p50_ms", "size_kb"])
    for i, v in enumerate(values):
        trial = study.ask()
        if i % 10 == 9:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, list(v))
        progress(bare, study.trials[trial.number])  # type: ignore[arg-type]
    complete = values[[i for i in range(40) if i % 10 != 9]]
    assert progress.done == 36 and progress.failed == 4
    expected = complete[non_dominated(complete, [True, False, False])]
    assert sorted(map(tuple, progress.front)) == sorted(map(tuple, expected))
    text = progress.describe()
    assert text.startswith("5 trials left | 36 done, 4 failed") and f"best roc_auc {complete[:, 0].max():.4f}" in text


def test_a_thin_time_budget_warns_with_where_the_time_went() -> None:
    with pytest.warns(UserWarning, match=r"only 3 trials completed in a budget of 20s: setup .* took 14\.0s"):
        text = warn_if_thin(3, Budget(seconds=20), 14.0, [2.0, 2.0, 2.0])
    assert text is not None and f"about {14 + 2 * FEW_TRIALS * 2}s" in text
    assert warn_if_thin(FEW_TRIALS, Budget(seconds=20), 14.0, [0.1]) is None  # enough trials
    assert warn_if_thin(3, Budget(trials=3), 14.0, [2.0]) is None  # the user asked for three


def test_optimize_is_quiet_by_default_and_shows_progress_on_stderr(
    mixed_frame: pd.DataFrame, capfd: pytest.CaptureFixture[str]
) -> None:
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        paretoml.optimize(mixed_frame, "2 trials", target="label", families=["lightgbm"], features=False,
                          compression=False, progress=True)  # fmt: skip
        err = capfd.readouterr().err
        assert "Trial 0 finished" not in err and "A new study created" not in err  # Optuna's INFO lines quieted
        assert "0 trials left | 2 done, 0 failed" in err
        assert optuna.logging.get_verbosity() == optuna.logging.INFO  # restored afterwards
        paretoml.optimize(mixed_frame, "1 trials", target="label", families=["lightgbm"], features=False,
                          compression=False, progress=False)  # fmt: skip
        assert "done" not in capfd.readouterr().err
    finally:
        optuna.logging.set_verbosity(before)
