"""Measurement of every trial: metric, latency through the Predictor, size, memory, hardware profile."""

from __future__ import annotations

from paretoml.measure._hardware import Hardware, resolve_hardware
from paretoml.measure._latency import Latency, measure_latency, one_row_frames, time_calls
from paretoml.measure._lock import NO_LOCK, LockWaitExpired, MachineLock, NoLock, TimingLock, affinity
from paretoml.measure._memory import measure_memory, memory_supported, resident_bytes, trim_heap
from paretoml.measure._metrics import DEFAULT_METRIC, Metric, get_metric
from paretoml.measure._noise import (
    analytic_metric_se,
    baseline_score,
    fallback_baseline,
    latency_noise_ms,
    metric_se,
)
from paretoml.measure._size import Size, measure_size

__all__ = [
    "DEFAULT_METRIC",
    "NO_LOCK",
    "Hardware",
    "Latency",
    "LockWaitExpired",
    "MachineLock",
    "Metric",
    "NoLock",
    "Size",
    "TimingLock",
    "affinity",
    "analytic_metric_se",
    "baseline_score",
    "fallback_baseline",
    "get_metric",
    "latency_noise_ms",
    "measure_latency",
    "measure_memory",
    "measure_size",
    "memory_supported",
    "metric_se",
    "one_row_frames",
    "resident_bytes",
    "resolve_hardware",
    "time_calls",
    "trim_heap",
]
