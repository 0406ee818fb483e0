"""``paretoml serve`` under load, against the in-process Predictor on the same rows, and cold starts.

For one tree model (LightGBM, 200 rounds, breast cancer) and one CNN (digits, 8×8 images): requests per
second and p50/p95/p99 latency of one-row ``POST /predict`` requests at concurrency 1, 8 and 32, sent by
an async httpx client in a separate process (not the server's code), to a server with one worker;
against ``Predictor.output`` in process on the same rows (the same JSON records or images). Cold start:
process start to first answer for ``paretoml serve`` (first 200 from /predict), for
``paretoml.serving.load`` + one prediction in a fresh interpreter, and the import times of ``paretoml``
and of the search (``paretoml._api``).

Results: ``results/serving_http.{json,md}``.
Run: ``python benchmarks/serving_http.py [SECONDS_PER_LEVEL] [CNN_EPOCHS]`` (defaults 10 and 30;
``0.3 1`` proves it runs). The load generator shares the machine's cores with the server: on a small
machine the numbers are a floor for the server alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import machine, time_calls, write_results
from sklearn.datasets import load_breast_cancer, load_digits

ROOT = Path(__file__).resolve().parents[1]
LEVELS = (1, 8, 32)
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


# ---------------------------------------------------------------------------------------- load generator
async def _load(url: str, bodies: list[bytes], concurrency: int, seconds: float) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[int] = []
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        for body in bodies[:concurrency]:  # warm the connections
            (await client.post(url, content=body, headers=headers)).raise_for_status()
        stop = time.perf_counter() + seconds

        async def worker(offset: int) -> None:
            i = offset
            while time.perf_counter() < stop:
                t0 = time.perf_counter_ns()
                response = await client.post(url, content=bodies[i % len(bodies)], headers=headers)
                latencies.append(time.perf_counter_ns() - t0)
                response.raise_for_status()
                i += concurrency

        start = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        elapsed = time.perf_counter() - start
    ms = np.array(latencies) / 1e6
    return {
        "concurrency": concurrency, "requests": len(ms), "rps": len(ms) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
    }  # fmt: skip


def load_generator(url: str, bodies_file: str, concurrency: int, seconds: float) -> None:
    """The separate load process: prints one JSON line of results."""
    bodies = [b.encode() for b in json.loads(Path(bodies_file).read_text())]
    print(json.dumps(asyncio.run(_load(url, bodies, concurrency, seconds))))


# ---------------------------------------------------------------------------------------- server
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(folder: Path, first_body: bytes) -> tuple[subprocess.Popen[bytes], str, float]:
    """Start ``paretoml serve``; returns the process, the URL and seconds to the first /predict answer."""
    import httpx

    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "paretoml", "serve", str(folder), "--port", str(port), "--no-access-log"],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"paretoml serve exited with {proc.returncode}")
        try:
            r = httpx.post(f"{url}/predict", content=first_body, headers={"content-type": "application/json"})
            if r.status_code == 200:
                return proc, url, time.perf_counter() - t0
        except httpx.TransportError:
            time.sleep(0.005)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def _timed_process(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=ENV, check=True, capture_output=True)
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------------------- models
def _models(cnn_epochs: int, tmp: Path) -> list[dict[str, Any]]:
    """The two served models, saved, with their request rows (JSON) and the same rows in Python."""
    from paretoml.trial import Problem, TrialConfig, run_trial

    cancer = load_breast_cancer(as_frame=True)
    problem = Problem.from_data((cancer.data, cancer.target), seed=0, n_threads=1)
    tree = run_trial(problem, TrialConfig("lightgbm", {"n_estimators": 200})).predictor
    records = json.loads(problem.splits.test.X.to_json(orient="records"))
    digits = load_digits()
    images_problem = Problem.from_data((digits.images, digits.target), seed=0, n_threads=1)
    params = {"n_blocks": 2, "channels": 8, "channel_growth": 2, "learning_rate": 5e-3, "max_epochs": cnn_epochs,
              "patience": 8, "batch_size": 64}  # fmt: skip
    cnn = run_trial(images_problem, TrialConfig("cnn", params)).predictor
    images = images_problem.splits.test.X.to_numpy(dtype=np.float64).reshape(-1, 8, 8)
    out = []
    for name, pred, rows, bodies in (
        ("LightGBM 200 rounds (breast cancer, 30 columns)", tree, records, [json.dumps(r) for r in records]),
        ("CNN 8-16 (digits, one 8×8 image)", cnn, list(images), [json.dumps([im.tolist()]) for im in images]),
    ):
        out.append({"name": name, "folder": pred.save(tmp / name.split()[0]), "pred": pred, "rows": rows,
                    "bodies": bodies})  # fmt: skip
    return out


def bench_model(model: dict[str, Any], seconds: float, tmp: Path) -> dict[str, Any]:
    from paretoml.serving import load

    pred = load(model["folder"]).set_threads(1)  # as the server's worker predicts (`--threads 1`)
    rows = model["rows"][:200]
    in_process = time_calls(pred.output, rows, repeats=max(200, int(2000 * min(seconds, 1.0))))
    bodies_file = tmp / "bodies.json"
    bodies_file.write_text(json.dumps(model["bodies"]))
    proc, url, first_answer_s = _start(model["folder"], model["bodies"][0].encode())
    levels = []
    try:
        for concurrency in LEVELS:
            done = subprocess.run(
                [sys.executable, __file__, "--load", f"{url}/predict", str(bodies_file), str(concurrency), str(seconds)],
                env=ENV, check=True, capture_output=True, text=True,
            )  # fmt: skip
            levels.append(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        _stop(proc)
    return {"model": model["name"], "in_process": in_process, "http": levels, "serve_first_answer_s": first_answer_s}


def cold_starts(folder: Path, repeats: int) -> dict[str, float]:
    """Median seconds, fresh interpreter each time."""
    code_load = (
        "import json, paretoml.serving as s\n"
        f"p = s.load({str(folder)!r})\n"
        "print(p.predict([dict(zip(p.feature_names_in_, [0.0] * p.n_features_in_))]))"
    )
    runs = {
        "python -c pass": "pass",
        "import paretoml": "import paretoml",
        "import paretoml._api (the search)": "import paretoml._api",
        "paretoml.serving.load + predict": code_load,
    }
    return {name: float(np.median([_timed_process(code) for _ in range(repeats)])) for name, code in runs.items()}


def main(seconds: float, cnn_epochs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        models = _models(cnn_epochs, tmp)
        results = [bench_model(m, seconds, tmp) for m in models]
        repeats = 3 if seconds >= 1 else 1
        starts = cold_starts(models[0]["folder"], repeats)
        serve_starts = [_start(models[0]["folder"], models[0]["bodies"][0].encode()) for _ in range(repeats)]
        for proc, _, _ in serve_starts:
            _stop(proc)
        starts["paretoml serve → first /predict answer"] = float(np.median([s for _, _, s in serve_starts]))
    lines = [
        "# paretoml serve under load", "",
        f"Machine: {machine()}; {seconds:g} s per level; one server worker; the async httpx load generator "
        "runs in its own process on the same machine. One row per request.", "",
        "| model | path | concurrency | requests/s | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in results:
        ip = r["in_process"]
        lines.append(f"| {r['model']} | Predictor in process | 1 | {1e6 / ip['p50_us']:,.0f} | "
                     f"{ip['p50_us'] / 1e3:.3f} | {ip['p95_us'] / 1e3:.3f} | - |")  # fmt: skip
        for level in r["http"]:
            lines.append(f"| {r['model']} | HTTP | {level['concurrency']} | {level['rps']:,.0f} | "
                         f"{level['p50_ms']:.3f} | {level['p95_ms']:.3f} | {level['p99_ms']:.3f} |")  # fmt: skip
    lines += ["", "| cold start (tree model) | seconds |", "|---|---|"]
    lines += [f"| {name} | {value:.2f} |" for name, value in starts.items()]
    write_results("serving_http", {"machine": machine(), "seconds_per_level": seconds, "results": results,
                                   "cold_start_s": starts}, "\n".join(lines) + "\n")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--load"]:
        load_generator(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    else:
        main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0, int(sys.argv[2]) if len(sys.argv) > 2 else 30)
