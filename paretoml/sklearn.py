"""scikit-learn estimators: ``fit`` runs a paretoml study, picks one trade-off and serves it.

Example:
    >>> from sklearn.model_selection import cross_val_score
    >>> from paretoml.sklearn import ParetoClassifier
    >>> cross_val_score(ParetoClassifier("10 trials", preset="edge"), X, y, cv=3)  # doctest: +SKIP
"""

from __future__ import annotations

from paretoml._sklearn import ParetoClassifier, ParetoRegressor

__all__ = ["ParetoClassifier", "ParetoRegressor"]
