from __future__ import annotations

import pytest

from paretoml import Budget, BudgetError
from paretoml._budget import parse_budget


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (60, Budget(seconds=60)),
        (1.5, Budget(seconds=1.5)),
        ("90s", Budget(seconds=90)),
        ("5m", Budget(seconds=300)),
        ("1h", Budget(seconds=3600)),
        ("1h30m", Budget(seconds=5400)),
        ("2.5 min", Budget(seconds=150)),
        ("45", Budget(seconds=45)),
        ("50 trials", Budget(trials=50)),
        ("1 trial", Budget(trials=1)),
    ],
)
def test_parse_budget(text: object, expected: Budget) -> None:
    assert parse_budget(text) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf"), "soon", "5 parsecs", "", "0 trials", True])
def test_bad_budget_is_a_clear_error(bad: object) -> None:
    with pytest.raises(BudgetError, match="budget"):
        parse_budget(bad)  # type: ignore[arg-type]


def test_budget_needs_a_limit() -> None:
    with pytest.raises(BudgetError, match="seconds"):
        Budget()
