"""Pareto front maths (pure NumPy): non-dominated sets, hypervolume, scalarisation."""

from __future__ import annotations

from paretoml.pareto._front import beyond_baseline, front_masks, noise_aware_front, non_dominated
from paretoml.pareto._hypervolume import hypervolume
from paretoml.pareto._scalarise import METHODS, choose, normalised_loss

__all__ = [
    "METHODS",
    "beyond_baseline",
    "choose",
    "front_masks",
    "hypervolume",
    "noise_aware_front",
    "non_dominated",
    "normalised_loss",
]
