"""Reports: compute what to show (``_data``), then draw it (``_render``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from paretoml.report._data import FrontPlotData, LatencyBreakdown, front_plot_data, latency_breakdown, model_card
from paretoml.report._render import draw_front, draw_front_3d, write_html, write_model_card

if TYPE_CHECKING:
    from paretoml._pick import Pick
    from paretoml._result import Result
    from paretoml.serving import Predictor

__all__ = [
    "FrontPlotData",
    "LatencyBreakdown",
    "build_report",
    "front_plot_data",
    "latency_breakdown",
    "model_card",
    "write_model_card",
]


def build_report(result: Result, out: str | Path, *, pick: Pick | None = None, rows: int = 64) -> Path:
    """Write ``index.html`` with its PNG figures into the folder ``out``.

    Args:
        result: The study result.
        out: Output folder (created).
        pick: The pick to mark and explain (default: equal weights).
        rows: One-row inputs for the latency breakdown, rebuilt from the predictor's own columns.

    Returns:
        The HTML file.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    chosen = pick if pick is not None else result.pick(on="valid" if result.front.metric_test.isna().any() else "test")
    data = front_plot_data(result, chosen)
    figures = [draw_front(data, folder / "front.png").name, draw_front_3d(data, folder / "front_3d.png").name]
    predictor = chosen.predictor()
    breakdown = latency_breakdown(predictor, _synthetic_rows(predictor, rows))
    return write_html(result, folder / "index.html", figures=figures, pick=chosen, breakdown=breakdown)


def _synthetic_rows(predictor: Predictor, n: int) -> list[pd.DataFrame]:
    """One-row raw frames built from the predictor's training categories and a numeric spread.

    A stored study keeps no raw data, so the breakdown times rows shaped like the real ones: the
    first categories and values 0..n for numbers (trees route them as they would real values).
    """
    pre = predictor.preprocessor
    rows = []
    for i in range(n):
        values: dict[str, object] = {}
        for spec in pre.features:
            if spec.kind == "cat":
                values[spec.name] = spec.categories[i % len(spec.categories)]
            elif spec.kind == "dt":
                values[spec.name] = pd.Timestamp("2024-01-01") + pd.Timedelta(days=i)
            else:
                values[spec.name] = float(np.float64(i))
        rows.append(pd.DataFrame([values]))
    return rows
