"""Kill a running study 20 times at random moments (SIGKILL) and resume it each time.

Each round starts ``paretoml run`` on a SQLite study, waits a random 0.5-6 s (start-up, ranking,
trials, artifact writes: any moment), and kills it with SIGKILL. The completed trials are counted just
before and just after each kill and compared with the previous round (they must never decrease, and
their values must never change). A final short run resumes the study; then the trials still RUNNING
and the completed trials whose artifact is missing or does not load are counted (both must be 0).
The final run starts after the 20 s grace period, so a trial killed before its worker recorded itself
counts as dead (a live worker records itself within milliseconds).
Results: ``results/kill_resume.{json,md}``. Run: ``python benchmarks/kill_resume.py [kills]``.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
from _common import machine, write_results
from optuna.trial import TrialState

import paretoml
from paretoml.study._storage import GRACE_SECONDS


def _complete(url: str) -> dict[int, list[float]]:
    try:
        study = optuna.load_study(study_name="kill", storage=url)
    except KeyError:
        return {}
    return {t.number: list(t.values) for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE}


def main(kills: int = 20) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    rng = random.Random(0)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        study_file = folder / "kill.yaml"
        study_file.write_text(
            "study_name: kill\ndata: sklearn:breast_cancer\ntarget: target\nbudget: 10000 trials\n"
            "hardware: {n_threads: 1}\nseed: 0\n"
        )
        url = f"sqlite:///{folder / 'kill.db'}"
        run = [sys.executable, "-m", "paretoml", "run", str(study_file)]
        seen: dict[int, list[float]] = {}
        for i in range(kills):
            proc = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            delay = rng.uniform(0.5, 6.0)
            time.sleep(delay)
            before = _complete(url)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            after = _complete(url)
            study = optuna.load_study(study_name="kill", storage=url) if after else None
            running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))) if study else 0
            lost = [n for n, v in seen.items() if after.get(n) != v]
            rows.append(
                {"kill": i + 1, "after_s": round(delay, 2), "completed_before": len(before),
                 "completed_after": len(after), "running_at_kill": running, "changed_or_lost": len(lost)}
            )  # fmt: skip
            seen = after
        # A trial killed in the milliseconds before its worker recorded itself is failed once it is older
        # than the grace period (as Optuna's heartbeat does); resume after it, like a restart would.
        time.sleep(GRACE_SECONDS)
        final = subprocess.run([*run, "--budget", "3 trials"], capture_output=True, timeout=600)
        result = paretoml.load_study(folder / "kill.db")
        trials = result.study.get_trials()
        running_end = sum(t.state == TrialState.RUNNING for t in trials)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        missing = 0
        for t in complete:
            try:
                result.predictor(t.number)
            except Exception:
                missing += 1
        partial = len(list(result.artifact_dir.glob(".partial-*")))
    counts = [r["completed_after"] for r in rows]
    payload = {
        "machine": machine(),
        "kills": rows,
        "final_run_exit_code": final.returncode,
        "completed_never_decreased": all(b >= a for a, b in itertools.pairwise(counts))
        and all(r["completed_after"] >= r["completed_before"] for r in rows),
        "completed_changed_or_lost": sum(r["changed_or_lost"] for r in rows),
        "trials_total": len(trials),
        "completed_total": len(complete),
        "failed_total": sum(t.state == TrialState.FAIL for t in trials),
        "running_at_end": running_end,
        "artifacts_missing": missing,
        "partial_files_left": partial,
    }
    lines = [
        f"# Kill -9 and resume, {kills} times ({payload['machine']['date']}, {payload['machine']['cpu']})",
        "",
        f"Completed trials never decreased: {payload['completed_never_decreased']}; completed trials changed or "
        f"lost: {payload['completed_changed_or_lost']}. At the end: {payload['trials_total']} trials, "
        f"{payload['completed_total']} COMPLETE, {payload['failed_total']} FAIL (killed mid-trial), "
        f"**{running_end} left RUNNING**, **{missing} COMPLETE trials with a missing or unloadable artifact**, "
        f"{partial} partial temporary files left by kills mid-write (never read).",
        "",
        "| kill | after s | completed just before | completed just after | RUNNING at kill | changed or lost |",
        "|---|---|---|---|---|---|",
        *[
            f"| {r['kill']} | {r['after_s']} | {r['completed_before']} | {r['completed_after']} | "
            f"{r['running_at_kill']} | {r['changed_or_lost']} |"
            for r in rows
        ],
    ]
    write_results("kill_resume", payload, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
