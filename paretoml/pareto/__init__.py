"""Pareto front maths (pure NumPy)."""

from __future__ import annotations

from paretoml.pareto._front import non_dominated

__all__ = ["non_dominated"]
