"""Real-browser check of optuna-dashboard on a stored study, keeping a screenshot.

Runs a 20-trial study on breast_cancer into a temporary SQLite file, serves it with
``paretoml dashboard`` on 127.0.0.1, loads the study page in headless Chromium, checks that the metric
names and the Pareto front appear, and writes ``results/dashboard.png`` and ``results/dashboard.json``.
Run: ``python benchmarks/dashboard_check.py`` (needs the Debian package ``chromium``).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import optuna
from _common import RESULTS, machine
from sklearn.datasets import load_breast_cancer

import paretoml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_dashboard import chromium, free_port, render, start_dashboard, study_page


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    browser = chromium()
    if browser is None:
        raise SystemExit("Chromium is not installed: apt-get install chromium")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "dashboard.db"
        paretoml.optimize((X, y), "20 trials", storage=db, study_name="breast_cancer_dashboard", seed=0)
        port = free_port()
        proc = start_dashboard(db, port)
        try:
            RESULTS.mkdir(parents=True, exist_ok=True)
            url = study_page(port)
            dom = render(url, browser, screenshot=RESULTS / "dashboard.png")
        finally:
            proc.kill()
            proc.wait()
    checks = {name: name in dom for name in ("roc_auc", "latency_p50_ms", "size_kb", "Pareto")}
    payload = {
        "machine": machine(),
        "url_path": url.split(str(port), 1)[1],
        "checks": checks,
        "passed": all(checks.values()),
    }
    (RESULTS / "dashboard.json").write_text(json.dumps(payload, indent=1))
    print(json.dumps(payload, indent=1))
    if not payload["passed"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
