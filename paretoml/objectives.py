"""The three objectives of every study, declared once: what the picker calls them and their study columns."""

from __future__ import annotations

__all__ = ["OBJECTIVES", "OBJECTIVE_KEYS"]

OBJECTIVE_KEYS = ("metric", "latency", "size")
"""Short names (weights, limits, messages), in the order of the study's values."""

OBJECTIVES = ("metric_valid", "latency_p50_ms", "size_kb")
"""The study's objective values, in order: validation metric, single-row p50 latency in ms, size in KB."""
