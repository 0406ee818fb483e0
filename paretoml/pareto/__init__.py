"""Pareto front maths (pure NumPy)."""

from __future__ import annotations

from paretoml.pareto._front import non_dominated
from paretoml.pareto._hypervolume import hypervolume

__all__ = ["hypervolume", "non_dominated"]
