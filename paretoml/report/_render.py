"""Drawing: PNG figures with matplotlib (offline) and an HTML report that embeds them."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from paretoml._imports import require
from paretoml.report._data import FrontPlotData, LatencyBreakdown

if TYPE_CHECKING:
    from paretoml._pick import Pick
    from paretoml._result import Result

__all__ = ["draw_front", "draw_front_3d", "write_html", "write_model_card"]

_COLOURS = {"lightgbm": "#2a9d8f", "xgboost": "#e76f51"}


def _pyplot() -> Any:
    matplotlib = require("matplotlib", "paretoml report")
    matplotlib.use("Agg")
    return require("matplotlib.pyplot", "paretoml report")


def draw_front(data: FrontPlotData, path: Path) -> Path:
    """Metric against p50 latency (log), marker size by model size; front joined, pick starred."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    sizes = 10 + 190 * (np.log(data.size_kb) - np.log(data.size_kb).min()) / max(np.ptp(np.log(data.size_kb)), 1e-9)
    for family in sorted(set(data.family)):
        mask = np.array([f == family for f in data.family])
        colour = _COLOURS.get(family, "#6c757d")
        ax.scatter(data.latency_ms[mask & ~data.on_front] * 1000, data.metric[mask & ~data.on_front],
                   s=sizes[mask & ~data.on_front], c=colour, alpha=0.18, edgecolors="none")  # fmt: skip
        ax.scatter(data.latency_ms[mask & data.on_front] * 1000, data.metric[mask & data.on_front],
                   s=sizes[mask & data.on_front], c=colour, alpha=0.9, edgecolors="black", linewidths=0.5,
                   label=f"{family} (front)")  # fmt: skip
    if data.picked is not None and data.picked in set(data.trial.tolist()):
        i = int(np.flatnonzero(data.trial == data.picked)[0])
        ax.scatter([data.latency_ms[i] * 1000], [data.metric[i]], marker="*", s=400, c="gold", edgecolors="black",
                   label=f"pick: trial {data.picked}", zorder=5)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("single-row latency p50 (µs, log scale)")
    ax.set_ylabel(f"{data.metric_name} (validation)")
    title = "Trials and Pareto front (marker area: model size)"
    front_metric = data.metric[data.on_front]
    if len(front_metric) and np.ptp(data.metric) > 3 * max(np.ptp(front_metric), 1e-9):
        pad = max(np.ptp(front_metric) * 0.25, 1e-3)
        ax.set_ylim(front_metric.min() - pad, front_metric.max() + pad)  # weak trials would squash the front
        title += "; metric axis zoomed on the front"
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def draw_front_3d(data: FrontPlotData, path: Path) -> Path:
    """A 3-D view of the front: metric, log latency, log size."""
    plt = _pyplot()
    fig = plt.figure(figsize=(7, 6), dpi=110)
    ax = fig.add_subplot(projection="3d")
    front = data.on_front
    colours = [_COLOURS.get(f, "#6c757d") for f, keep in zip(data.family, front, strict=True) if keep]
    ax.scatter(
        np.log10(data.latency_ms[front] * 1000), np.log10(data.size_kb[front]), data.metric[front], c=colours, s=30
    )
    ax.set_xlabel("log10 p50 µs")
    ax.set_ylabel("log10 size KB")
    ax.set_zlabel(data.metric_name)
    ax.set_title("Pareto front in 3-D")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0, classes="t")


def write_html(
    result: Result,
    out: Path,
    *,
    figures: list[str],
    pick: Pick | None,
    breakdown: LatencyBreakdown | None,
) -> Path:
    """The report page: figures, the front table, the pick and why, the ranking, the breakdown."""
    study = result.study
    parts = [
        f"<h1>paretoml report: {html.escape(study.study_name)}</h1>",
        f"<p>{len(study.trials)} trials, {len(result.front)} on the Pareto front; metric "
        f"<b>{html.escape(result.metric)}</b>; task {html.escape(result.task)}; hardware "
        f"{html.escape(str((study.user_attrs.get('hardware') or {}).get('facts', {}).get('cpu_model', '?')))}.</p>",
    ]
    parts += [f'<img src="{html.escape(name)}" alt="{html.escape(name)}">' for name in figures]
    if pick is not None:
        parts += ["<h2>The pick</h2>", f"<p>{html.escape(pick.explanation)}</p>"]
    parts += ["<h2>Pareto front</h2>", _table(result.front)]
    ranking = result.feature_ranking
    if not ranking.empty:
        parts += [f"<h2>Feature ranking ({html.escape(ranking.method.iloc[0])})</h2>", _table(ranking.head(20))]
    if breakdown is not None:
        share = 100 * breakdown.preprocess_us / max(breakdown.preprocess_us + breakdown.model_us, 1e-9)
        parts += [
            "<h2>Latency of the picked predictor, by stage</h2>",
            f"<p>Preprocessing {breakdown.preprocess_us:.1f} µs, model {breakdown.model_us:.1f} µs "
            f"({share:.0f}% preprocessing); whole call {breakdown.total_us:.1f} µs (medians, one raw row).</p>",
            "<p>cProfile, cumulative time over the timed calls (includes profiler overhead):</p>",
            _table(pd.DataFrame(breakdown.profile, columns=["function", "calls", "cumulative ms"])),
        ]
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "img{max-width:100%;margin:1em 0}table.t{border-collapse:collapse;font-size:13px}"
        "table.t td,table.t th{padding:3px 8px;border-bottom:1px solid #ddd}"
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>paretoml report</title>"
        f"<style>{style}</style></head><body>"
    )
    out.write_text(page + "\n".join(parts) + "</body></html>")
    return out


def write_model_card(card: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """``model_card.json`` and a readable ``MODEL_CARD.md`` next to an exported predictor."""
    (folder / "model_card.json").write_text(json.dumps(card, indent=1, default=str))
    m, lat, size = card["metric"], card["latency"], card["size"]
    hw = card.get("hardware") or {}
    lines = [
        f"# Model card: {card['study']}, trial {card['trial']}",
        "",
        f"- Task: {card['task']}; classes: {card['classes']}",
        f"- Data: fingerprint {card['data']['fingerprint']}; split {card['data']['split']}",
        f"- Metric {m['name']}: validation {m['valid']}, test {m['test']}",
        f"- Latency: p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms (one raw row); "
        f"batch {lat['batch_rows_per_s']} rows/s",
        f"- Size: {size['kb']} KB; {size['n_trees']} trees, {size['n_leaves']} leaves",
        f"- Hardware: {hw.get('n_threads')} threads on {hw.get('facts', {}).get('cpu_model')} "
        f"(fingerprint {hw.get('fingerprint')})",
        f"- Configuration: {card['configuration']['family']} {card['configuration']['params']}",
        f"- Compression: {card['compression']}",
        f"- Features used ({len(card['features'] or [])}): {', '.join(card['features'] or [])}",
    ]
    if card.get("pick"):
        lines += ["", "## Why this model", "", card["pick"]["explanation"]]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines) + "\n")
    return folder / "model_card.json", folder / "MODEL_CARD.md"
