"""Optimizer overhead, throughput, fair sharing and scale.

Parts (``--part``, each under about 10 minutes at the default settings on 2 CPUs):

- ``overhead``: studies of 100, 500 and 2,000 trials on breast_cancer (one thread) with in-memory,
  SQLite, journal-file and PostgreSQL storage (PostgreSQL when ``.ci/postgres.sh`` gives a URL). For
  each: wall time, setup, fitting, measuring, lock wait, final scoring/refit and the overhead share from
  ``result.spent`` (the rest of the wall time: sampling, recording, artifacts). ``--trials``/``--storages``
  choose a subset.
- ``demo``: the demo study (``studies/breast_cancer.yaml``, its 2-minute budget) run by this checkout
  ("after") and by the commit before the throughput work ("before": ``git archive`` of ``--before``
  into a temporary folder), one after the other in this run; trials per minute of each.
- ``concurrent``: one study alone, then two independent studies at once (different seeds, subprocesses,
  one machine lock), each with the same time budget; each one's wall time against budget + its longest
  trial.
- ``scale``: wall time and peak memory (RSS) of a fixed 5-trial study as the rows of nyc_flights grow.

Results: ``results/overhead.{json,md}`` for the overhead part, ``results/overhead_<part>.{json,md}`` for
the others; the overhead part keeps the stored rows of other sizes and storages, so it can run in
pieces. Run e.g. ``python benchmarks/overhead.py --part overhead --trials 100,500``; ``--tiny`` proves a
part runs in about a minute and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, machine, write_results

REPO = Path(__file__).resolve().parents[1]
HERE = str(Path(__file__).resolve().parent)

STUDY_CHILD = r"""
import json, sys, time, optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
from sklearn.datasets import load_breast_cancer
import paretoml
budget, storage, seed = sys.argv[1], (sys.argv[2] if sys.argv[2] != "memory" else None), int(sys.argv[3])
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
started = time.monotonic()
result = paretoml.optimize((X, y), budget, storage=storage, study_name="o", seed=seed, hardware=1, progress=False,
                           artifacts=sys.argv[4])
wall = time.monotonic() - started
trials = [t for t in result.study.get_trials(deepcopy=False) if t.state.is_finished()]
durations = [t.duration.total_seconds() for t in trials if t.duration is not None]
attrs = [t.user_attrs for t in trials if t.state.name == "COMPLETE"]
out = {"wall_s": wall, "trials": len(trials), "completed": len(attrs), "longest_trial_s": max(durations, default=0.0),
       "fit_s": sum(a.get("fit_seconds", 0.0) for a in attrs),
       "measure_s": sum(a.get("measure_seconds", 0.0) for a in attrs)}
spent = getattr(result, "spent", None)
if spent is not None:
    out.update(setup_s=spent.setup, fit_s=spent.fitting, measure_s=spent.measuring, lock_wait_s=spent.lock_wait,
               final_s=spent.final, overhead_s=spent.overhead, overhead_share=spent.overhead_share)
print("RESULT " + json.dumps(out))
"""

SCALE_CHILD = r"""
import json, resource, sys, time, numpy as np, optuna, pandas as pd
sys.path.insert(0, sys.argv[3])
from _common import SHARED
import paretoml
optuna.logging.set_verbosity(optuna.logging.ERROR)
rows = int(sys.argv[1])
frame = pd.read_csv(SHARED / "nyc_flights.csv.gz").dropna(subset=["arr_delay"])
frame["late"] = np.where(frame.pop("arr_delay") > 15, "late", "on_time")
frame = frame.drop(columns=["arr_time", "air_time"]).sample(rows, replace=rows > len(frame), random_state=0)
started = time.monotonic()
result = paretoml.optimize(frame, sys.argv[2], target="late", seed=0, progress=False)
wall = time.monotonic() - started
done = result.trials[result.trials.state == "COMPLETE"]
print(json.dumps({"rows": rows, "wall_s": wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "completed": int(len(done)), "fit_s": float(done.fit_seconds.sum())}))
"""


def _env(code: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(code)}


def start_study(budget: str, storage: str, seed: int, tmp: Path, code: Path = REPO) -> subprocess.Popen[str]:
    """Start one breast_cancer study in a fresh process (its own storage and artifact folder)."""
    tmp.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-c", STUDY_CHILD, budget, storage, str(seed), str(tmp / "arts")]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(code))


def finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=3600)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        return {"error": err[-1500:]}
    return dict(json.loads(lines[-1][len("RESULT ") :]))


def storage_for(kind: str, tmp: Path) -> str | None:
    """A fresh storage of ``kind`` (None when PostgreSQL is not available here)."""
    if kind == "memory":
        return "memory"
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'o.db'}"
    if kind == "journal":
        return str(tmp / "o.log")
    out = subprocess.run(["bash", str(REPO / ".ci" / "postgres.sh")], capture_output=True, text=True, check=False)
    url = out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else ""
    if not url:
        return None
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"overhead_{os.getpid()}_{int(time.time() * 1000)}"
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


def part_overhead(trials: list[int], storages: list[str], keep: bool) -> tuple[dict[str, Any], list[str]]:
    """Run the studies; with ``keep``, rows of ``results/overhead.json`` for other sizes/storages stay."""
    rows = []
    stored = RESULTS / "overhead.json"
    if keep and stored.exists():
        done = {(n, kind) for n in trials for kind in storages}
        earlier = json.loads(stored.read_text()).get("overhead", [])
        rows = [r for r in earlier if "overhead_s" in r and (r["trials"], r["storage"]) not in done]
    for n in trials:
        for kind in storages:
            with tempfile.TemporaryDirectory() as tmp:
                url = storage_for(kind, Path(tmp))
                if url is None:
                    rows.append({"trials": n, "storage": kind, "error": "PostgreSQL not available"})
                    continue
                rows.append({"trials": n, "storage": kind, **finish(start_study(f"{n} trials", url, 0, Path(tmp)))})
    order = ["memory", "sqlite", "journal", "postgresql"]
    rows.sort(key=lambda r: (r["trials"], order.index(r["storage"]) if r["storage"] in order else 9))
    lines = [
        "| trials | storage | wall s | setup s | fitting s | measuring s | lock wait s | final s | overhead s | "
        "overhead share |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['trials']} | {r['storage']} | error: {r['error'][-80:]!r} |||||||||")
            continue
        lines.append(
            f"| {r['trials']} | {r['storage']} | {r['wall_s']:.1f} | {r['setup_s']:.1f} | {r['fit_s']:.1f} | "
            f"{r['measure_s']:.1f} | {r['lock_wait_s']:.1f} | {r['final_s']:.1f} | {r['overhead_s']:.1f} | "
            f"{r['overhead_share']:.1%} |"
        )
    return {"overhead": rows}, [
        "Overhead on breast_cancer (default search: features and compression, 4-fold CV), one thread. "
        "Overhead = wall - setup - fitting - measuring - lock wait - final (the front's test scoring and refit):",
        "",
        *lines,
    ]


def _demo_run(code: Path, tmp: Path, budget: str | None) -> dict[str, Any]:
    """``paretoml run studies/breast_cancer.yaml`` from ``code``, storage in ``tmp``; trials per minute."""
    study = tmp / "breast_cancer.yaml"
    text = (REPO / "studies" / "breast_cancer.yaml").read_text()
    if budget is not None:
        text = text.replace("budget: 2m", f"budget: {budget}")
    study.write_text(text)
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "paretoml", "run", str(study)], capture_output=True, text=True,
                         env=_env(code), cwd=tmp, timeout=3600, check=False)  # fmt: skip
    wall = time.monotonic() - started
    if out.returncode != 0:
        return {"error": out.stderr[-1500:]}
    import optuna

    db = next(tmp.rglob("breast_cancer.db"))
    trials = optuna.load_study(study_name="breast_cancer", storage=f"sqlite:///{db}").get_trials(deepcopy=False)
    done = sum(t.state.name == "COMPLETE" for t in trials)
    return {"wall_s": wall, "completed": done, "trials_per_min": 60 * done / wall}


def part_demo(before: str, budget: str | None) -> tuple[dict[str, Any], list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "before"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", before], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        (Path(tmp) / "b").mkdir()
        (Path(tmp) / "a").mkdir()
        runs = {"before": _demo_run(old, Path(tmp) / "b", budget), "after": _demo_run(REPO, Path(tmp) / "a", budget)}
    ratio = runs["after"].get("completed", 0) / max(runs["before"].get("completed", 0), 1)
    lines = ["| code | wall s | completed trials | trials per minute |", "|---|---|---|---|"]
    for name, r in runs.items():
        label = f"{name} ({before})" if name == "before" else "after (this checkout)"
        if "error" in r:
            lines.append(f"| {label} | error: {r['error'][-80:]!r} |||")
        else:
            lines.append(f"| {label} | {r['wall_s']:.1f} | {r['completed']} | {r['trials_per_min']:.0f} |")
    return {"demo": runs, "before": before, "ratio": ratio}, [
        f"Demo study (`paretoml run studies/breast_cancer.yaml`, SQLite, budget {budget or '2m'}), before and "
        f"after in one run of the script; after/before completed trials: {ratio:.1f}x",
        "",
        *lines,
    ]


def part_concurrent(seconds: float) -> tuple[dict[str, Any], list[str]]:
    budget = f"{seconds:g}s"
    with tempfile.TemporaryDirectory() as tmp:
        alone = finish(start_study(budget, "memory", 0, Path(tmp) / "alone"))
        procs = [start_study(budget, "memory", seed, Path(tmp) / f"s{seed}") for seed in (1, 2)]
        pair = [finish(p) for p in procs]
    lines = ["| run | wall s | setup s | trials | longest trial s | within budget + longest trial | lock wait s |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, r in [("alone", alone), ("together: study 1", pair[0]), ("together: study 2", pair[1])]:
        if "error" in r:
            lines.append(f"| {name} | error: {r['error'][-80:]!r} ||||||")
            continue
        r["within"] = r["wall_s"] <= seconds + r["longest_trial_s"]
        lines.append(f"| {name} | {r['wall_s']:.1f} | {r.get('setup_s', float('nan')):.1f} | {r['trials']} | "
                     f"{r['longest_trial_s']:.2f} | "
                     f"{'yes' if r['within'] else 'NO'} | {r.get('lock_wait_s', float('nan')):.1f} |")  # fmt: skip
    return {"budget_s": seconds, "alone": alone, "together": pair}, [
        f"Two independent studies (breast_cancer, in memory, one thread, budget {budget}) at once on one "
        "machine, against one alone:",
        "",
        *lines,
    ]


def part_scale(rows: list[int]) -> tuple[dict[str, Any], list[str]]:
    growth = []
    for n in rows:
        out = subprocess.run([sys.executable, "-c", SCALE_CHILD, str(n), "5 trials", HERE], capture_output=True,
                             text=True, timeout=3600, env=_env(REPO), check=False)  # fmt: skip
        growth.append(
            {"rows": n, "error": out.stderr[-1500:]} if out.returncode else json.loads(out.stdout.splitlines()[-1])
        )
    lines = ["| rows | wall s | fitting s | peak RSS MB | completed |", "|---|---|---|---|---|"]
    lines += [
        f"| {g['rows']:,} | {g.get('wall_s', float('nan')):.1f} | {g.get('fit_s', float('nan')):.1f} | "
        f"{g.get('peak_rss_mb', float('nan')):.0f} | {g.get('completed', g.get('error', ''))} |"
        for g in growth
    ]
    return {"scale": growth}, ["Scale on nyc_flights (5 trials, default search, fresh process each):", "", *lines]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["overhead", "demo", "concurrent", "scale"], required=True)
    ap.add_argument("--trials", default="100,500,2000", help="overhead: study sizes")
    ap.add_argument("--storages", default="memory,sqlite,journal,postgresql", help="overhead: storages")
    ap.add_argument("--before", default="3ddf02a", help="demo: the commit to compare with")
    ap.add_argument("--demo-budget", default=None, help="demo: replace the study file's 2m budget")
    ap.add_argument("--seconds", type=float, default=60.0, help="concurrent: each study's budget")
    ap.add_argument("--rows", default="10000,100000,327346,1000000", help="scale: row counts")
    ap.add_argument("--tiny", action="store_true", help="smallest settings, to prove the part runs")
    args = ap.parse_args()
    if args.part == "overhead":
        trials = [5] if args.tiny else [int(n) for n in args.trials.split(",")]
        data, lines = part_overhead(trials, args.storages.split(","), keep=not args.tiny)
    elif args.part == "demo":
        data, lines = part_demo(args.before, "10s" if args.tiny else args.demo_budget)
    elif args.part == "concurrent":
        data, lines = part_concurrent(8.0 if args.tiny else args.seconds)
    else:
        data, lines = part_scale([2000] if args.tiny else [int(n) for n in args.rows.split(",")])
    info = machine()
    title = f"# Optimizer {args.part} ({info['date']}, {info['cpu']}, {info['cpus']} CPUs)"
    markdown = "\n".join([title, "", *lines]) + "\n"
    if args.tiny:  # proves the part runs; its numbers mean nothing and are not written
        print(markdown)
        return
    write_results(
        "overhead" if args.part == "overhead" else f"overhead_{args.part}",
        {"machine": info, "args": vars(args), **data},
        markdown,
    )


if __name__ == "__main__":
    main()
