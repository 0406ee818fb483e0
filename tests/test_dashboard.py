"""optuna-dashboard on a stored study, checked in a real headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

import paretoml

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_dashboard(db: Path, port: int) -> subprocess.Popen[bytes]:
    """``paretoml dashboard`` in a subprocess; returns once it answers (or raises)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "paretoml", "dashboard", str(db), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"dashboard exited: {proc.stdout.read().decode() if proc.stdout else ''}") from None
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("dashboard did not answer within 60 s")


def render(url: str, browser: str, screenshot: Path | None = None) -> str:
    """The page's DOM after its scripts ran, from headless Chromium (optionally a screenshot too)."""
    with tempfile.TemporaryDirectory() as profile:
        args = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=20000",
                "--window-size=1400,1000"]  # fmt: skip
        if screenshot is not None:
            subprocess.run([*args, f"--screenshot={screenshot}", url], capture_output=True, timeout=120, check=False)
        out = subprocess.run([*args, "--dump-dom", url], capture_output=True, timeout=120, check=True)
    return out.stdout.decode()


def study_page(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as r:
        studies = json.loads(r.read())["study_summaries"]
    return f"http://127.0.0.1:{port}/dashboard/studies/{studies[0]['study_id']}"


def test_dashboard_shows_the_study_in_a_real_browser(tmp_path: Path) -> None:
    browser = chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI; .ci/run installs the Debian package 'chromium'.")
        pytest.skip("Chromium is not installed (apt-get install chromium); CI runs this test.")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    db = tmp_path / "dash.db"
    paretoml.optimize((X, y), "6 trials", storage=db, study_name="dash", seed=0, hardware=1)
    port = free_port()
    proc = start_dashboard(db, port)
    try:
        dom = render(study_page(port), browser)
    finally:
        proc.kill()
        proc.wait()
    assert "dash" in dom
    assert "roc_auc" in dom and "latency_p50_ms" in dom and "size_kb" in dom  # metric names, not "Objective 0"
    assert "Objective 0" not in dom  # the dashboard's fallback when metric names are not set
    assert "Pareto Front" in dom
