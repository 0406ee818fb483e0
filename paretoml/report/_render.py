"""Drawing: PNG figures with matplotlib (offline) and an HTML report that embeds them."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from paretoml._imports import require
from paretoml._pick_text import fmt_kb, fmt_metric, fmt_rate, fmt_us
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


_GREY = "#b0b0b0"


def _marker_area(size_kb: np.ndarray, limits: tuple[float, float]) -> np.ndarray:
    low, high = np.log(limits[0]), np.log(limits[1])
    return 15 + 185 * np.clip((np.log(size_kb) - low) / max(high - low, 1e-9), 0, 1)


def draw_front(data: FrontPlotData, path: Path) -> Path:
    """Metric against p50 latency (µs, log), marker area by size; the axes span the trustworthy front.

    Trials off the front are faint, degenerate ones grey, the raw front's noise-level members hollow,
    and the pick starred; trials outside the front's range are counted in the title, not drawn.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    area = _marker_area(data.size_kb, data.size_range_kb)
    us = data.latency_ms * 1000
    ok = ~data.degenerate
    for family in sorted(set(data.family)):
        fam = np.array([f == family for f in data.family]) & ok
        colour = _COLOURS.get(family, "#6c757d")
        rest = fam & ~data.on_front & ~data.on_raw_front
        ax.scatter(us[rest], data.metric[rest], s=area[rest], c=colour, alpha=0.15, edgecolors="none")
        noisy = fam & data.on_raw_front & ~data.on_front
        label = f"{family}: beaten beyond noise" if noisy.any() else None
        ax.scatter(us[noisy], data.metric[noisy], s=area[noisy], facecolors="none", edgecolors=colour,
                   linewidths=0.8, label=label)  # fmt: skip
        front = fam & data.on_front
        ax.scatter(us[front], data.metric[front], s=area[front], c=colour, alpha=0.9, edgecolors="black",
                   linewidths=0.5, label=f"{family} (front)")  # fmt: skip
    if data.degenerate.any():
        ax.scatter(us[data.degenerate], data.metric[data.degenerate], s=area[data.degenerate], c=_GREY, alpha=0.5,
                   edgecolors="none", label="no better than a constant")  # fmt: skip
    if data.picked is not None and data.picked in set(data.trial.tolist()):
        i = int(np.flatnonzero(data.trial == data.picked)[0])
        ax.scatter([us[i]], [data.metric[i]], marker="*", s=420, c="gold", edgecolors="black",
                   label=f"pick: trial {data.picked}", zorder=5)  # fmt: skip
    ax.set_xscale("log")
    x_low, x_high = data.latency_range_ms[0] * 1000, data.latency_range_ms[1] * 1000
    ax.set_xlim(x_low, x_high)
    ticks = _log_ticks(x_low, x_high)
    ax.set_xticks(ticks, [f"{t:,.3g} µs" for t in ticks])
    ax.xaxis.set_minor_formatter(require("matplotlib.ticker", "paretoml report").NullFormatter())
    ax.set_ylim(*data.metric_range)
    outside = ((us < x_low) | (us > x_high) | (data.metric < data.metric_range[0])
               | (data.metric > data.metric_range[1]))  # fmt: skip
    ax.set_xlabel(f"{data.latency_name} (µs, log scale)")
    ax.set_ylabel(f"{data.metric_name} (validation)")
    sizes = f"marker area: {data.size_name}, {data.size_range_kb[0]:,.1f} to {data.size_range_kb[1]:,.0f} KB"
    ax.set_title(f"Trials and the trustworthy Pareto front ({sizes}); {int(outside.sum())} trials outside the axes",
                 fontsize=9)  # fmt: skip
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def draw_front_3d(data: FrontPlotData, path: Path) -> Path:
    """The trustworthy front in 3-D: p50 (µs) and size (KB) on log axes labelled in real units, the metric."""
    plt = _pyplot()
    fig = plt.figure(figsize=(7.5, 6), dpi=110)
    ax = fig.add_subplot(projection="3d")
    front = data.on_front
    x, y = np.log10(data.latency_ms * 1000), np.log10(data.size_kb)
    for family in sorted({f for f, keep in zip(data.family, front, strict=True) if keep}):
        mask = front & np.array([f == family for f in data.family])
        ax.scatter(x[mask], y[mask], data.metric[mask], c=_COLOURS.get(family, "#6c757d"), s=36, depthshade=False,
                   edgecolors="black", linewidths=0.4, label=family)  # fmt: skip
        for j in np.flatnonzero(mask):  # drop lines to the floor show where each point sits
            ax.plot([x[j], x[j]], [y[j], y[j]], [data.metric_range[0], data.metric[j]], c="#999999", lw=0.6)
    if data.picked is not None and data.picked in set(data.trial[front].tolist()):
        i = int(np.flatnonzero(data.trial == data.picked)[0])
        ax.scatter([x[i]], [y[i]], [data.metric[i]], marker="*", s=320, c="gold", edgecolors="black",
                   depthshade=False, label=f"pick: trial {data.picked}")  # fmt: skip
    for axis, (low, high), unit in ((ax.xaxis, data.latency_range_ms, "µs"), (ax.yaxis, data.size_range_kb, "KB")):
        scale = 1000 if unit == "µs" else 1
        ticks = _log_ticks(low * scale, high * scale)
        axis.set_ticks(np.log10(ticks))
        axis.set_ticklabels([f"{t:,.3g} {unit}" for t in ticks])
    ax.set_xlim(np.log10(data.latency_range_ms[0] * 1000), np.log10(data.latency_range_ms[1] * 1000))
    ax.set_ylim(np.log10(data.size_range_kb[0]), np.log10(data.size_range_kb[1]))
    ax.set_zlim(*data.metric_range)
    ax.set_xlabel(f"{data.latency_name} (log)", labelpad=12)
    ax.set_ylabel(f"{data.size_name} (log)", labelpad=12)
    ax.set_zlabel(f"{data.metric_name} (validation)", labelpad=8)
    ax.set_title("The trustworthy Pareto front in 3-D", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _log_ticks(low: float, high: float) -> np.ndarray:
    """1-2-5 ticks between ``low`` and ``high`` (at most about six)."""
    ticks = np.array([m * 10.0**e for e in range(int(np.floor(np.log10(low))) - 1, int(np.ceil(np.log10(high))) + 1)
                      for m in (1, 2, 5)])  # fmt: skip
    ticks = ticks[(ticks >= low) & (ticks <= high)]
    while len(ticks) > 6:
        ticks = ticks[::2]
    return ticks if len(ticks) else np.array([low, high])


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0, classes="t")


def _front_table(result: Result, picked: int | None) -> str:
    """The trustworthy front in µs and KB, the pick's row highlighted and starred."""
    head = ["", "trial", "family", f"{result.metric} valid ± se", "test", "gap", "p50", "p95", "size", "features",
            "trees / params", "compression"]  # fmt: skip
    rows = []
    for r in result.front.to_dict("records"):
        params = r["n_params"]
        count = f"{int(params):,} params" if params is not None and params == params else r["n_trees"]
        test, gap = r["metric_test"], r["gap"]
        cells = [
            "★" if r["trial"] == picked else "", r["trial"], r["family"],
            f"{fmt_metric(r['metric_valid'])} ±{fmt_metric(r['metric_se'])}", fmt_metric(test),
            "-" if pd.isna(gap) else f"{gap:+.4f}", fmt_us(r["latency_p50_ms"]), fmt_us(r["latency_p95_ms"]),
            fmt_kb(r["size_kb"]), r["n_features"], count, r["compression"],
        ]  # fmt: skip
        style = ' class="pick"' if r["trial"] == picked else ""
        rows.append(f"<tr{style}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
    return f'<table class="t"><thead>{header}</thead><tbody>{"".join(rows)}</tbody></table>'


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
        f"<p>{len(study.trials)} trials; {len(result.front)} on the trustworthy Pareto front, of "
        f"{len(result.front_raw)} non-dominated ({int(result.front_raw.degenerate.sum())} no better than a "
        f"constant prediction, the rest beaten beyond noise); metric "
        f"<b>{html.escape(result.metric)}</b>; task {html.escape(result.task)}; hardware "
        f"{html.escape(str((study.user_attrs.get('hardware') or {}).get('facts', {}).get('cpu_model', '?')))}.</p>",
    ]
    parts += [f'<img src="{html.escape(name)}" alt="{html.escape(name)}">' for name in figures]
    if pick is not None:
        parts += [
            "<h2>The pick</h2>",
            "<p>" + "<br>".join(html.escape(line) for line in str(pick).splitlines()) + "</p>",
        ]
    parts += ["<h2>Pareto front</h2>", _front_table(result, pick.trial if pick is not None else None)]
    ranking = result.feature_ranking
    if not ranking.empty:
        parts += [f"<h2>Feature ranking ({html.escape(ranking.method.iloc[0])})</h2>", _table(ranking.head(20))]
    if breakdown is not None:
        share = 100 * breakdown.preprocess_us / max(breakdown.preprocess_us + breakdown.model_us, 1e-9)
        parts += [
            "<h2>Latency of the picked predictor, by stage</h2>",
            f"<p>Preprocessing {fmt_us(breakdown.preprocess_us / 1e3)}, model {fmt_us(breakdown.model_us / 1e3)} "
            f"({share:.0f}% preprocessing); whole call {fmt_us(breakdown.total_us / 1e3)} (medians, one raw row).</p>",
            "<p>cProfile, cumulative time per row over the timed calls (includes profiler overhead):</p>",
            _table(
                pd.DataFrame(
                    [(name, f"{calls:.3g}", fmt_us(us / 1e3)) for name, calls, us in breakdown.profile],
                    columns=["function", "calls per row", "cumulative per row"],
                )
            ),
        ]
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "img{max-width:100%;margin:1em 0}table.t{border-collapse:collapse;font-size:13px}"
        "table.t td,table.t th{padding:3px 8px;border-bottom:1px solid #ddd}"
        "tr.pick{background:#fff3bf;font-weight:bold}"
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
    serving = card.get("serving") or {}
    lines = [
        f"# Model card: {card['study']}, trial {card['trial']}",
        "",
        f"- Task: {card['task']}; classes: {card['classes']}",
        f"- Data: fingerprint {card['data']['fingerprint']}; split {card['data']['split']}",
        f"- Metric {m['name']}: validation {fmt_metric(m['valid'])} ±{fmt_metric(m['se'])} (1 standard error), "
        f"test {fmt_metric(m['test'])}; constant-prediction baseline {fmt_metric(m['baseline'])}",
        f"- Latency: p50 {fmt_us(lat['p50_ms'])}, p95 {fmt_us(lat['p95_ms'])} (one raw row); "
        f"{fmt_us(lat.get('batch_latency_ms'))} per request of {lat.get('batch_size')} rows; "
        f"batch {fmt_rate(lat['batch_rows_per_s'])}",
        f"- Serving profile (latency timed under it): {serving.get('serving_threads')} thread(s), "
        f"{serving.get('batch_size')} row(s) per request",
        f"- Size: {fmt_kb(size['kb'])} on disk, {fmt_kb(size.get('memory_kb'))} in memory when loaded; "
        + (
            f"{int(size['n_params']):,} parameters"
            if size.get("n_params") is not None
            else f"{size['n_trees']} trees, {size['n_leaves']} leaves"
        ),
        f"- Objectives: {', '.join(card.get('objectives') or [])}; constraints: {card.get('constraints') or 'none'}",
        f"- Hardware: {hw.get('n_threads')} training threads on {hw.get('facts', {}).get('cpu_model')} "
        f"(fingerprint {hw.get('fingerprint')})",
        f"- Configuration: {card['configuration']['family']} {card['configuration']['params']}",
        f"- Compression: {card['compression']}",
        f"- Features used ({len(card['features'] or [])}): {', '.join(card['features'] or [])}",
    ]
    if card.get("pick"):
        lines += ["", "## Why this model", "", card["pick"]["explanation"]]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines) + "\n")
    return folder / "model_card.json", folder / "MODEL_CARD.md"
