"""Feature subsets as a searched dimension: a ranking computed once per study, top-k per trial."""

from __future__ import annotations

from paretoml.features._ranking import (
    RANKING_METHODS,
    FeatureRanking,
    FeatureSelection,
    rank_features,
    resolve_selection,
)

__all__ = ["RANKING_METHODS", "FeatureRanking", "FeatureSelection", "rank_features", "resolve_selection"]
