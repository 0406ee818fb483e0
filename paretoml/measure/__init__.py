"""Measurement of every trial: metric, latency through the Predictor, size, hardware profile."""

from __future__ import annotations

from paretoml.measure._hardware import Hardware, resolve_hardware
from paretoml.measure._latency import Latency, measure_latency, one_row_frames
from paretoml.measure._metrics import DEFAULT_METRIC, Metric, get_metric
from paretoml.measure._noise import (
    analytic_metric_se,
    baseline_score,
    fallback_baseline,
    latency_noise_ms,
    metric_se,
)

__all__ = [
    "DEFAULT_METRIC",
    "Hardware",
    "Latency",
    "Metric",
    "analytic_metric_se",
    "baseline_score",
    "fallback_baseline",
    "get_metric",
    "latency_noise_ms",
    "measure_latency",
    "metric_se",
    "one_row_frames",
    "resolve_hardware",
]
