"""Measurement of every trial: metric, latency through the Predictor, size, hardware profile."""

from __future__ import annotations

from paretoml.measure._hardware import Hardware, resolve_hardware
from paretoml.measure._latency import Latency, measure_latency, one_row_frames
from paretoml.measure._metrics import DEFAULT_METRIC, Metric, get_metric

__all__ = [
    "DEFAULT_METRIC",
    "Hardware",
    "Latency",
    "Metric",
    "get_metric",
    "measure_latency",
    "one_row_frames",
    "resolve_hardware",
]
