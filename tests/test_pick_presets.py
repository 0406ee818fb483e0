"""Each preset against its own description, on random fronts with injected outliers and degenerate members.

Seeded NumPy loops (hypothesis is not a dependency). A random study: trials trading a ROC-AUC-like metric
(with a standard error each) against p50 latency and size, plus constant models (AUC 0.5, the fastest and
smallest of all) and extreme outliers (a barely-useful 0.1 µs model; a slow, huge, most accurate one).
The front and the pick go through the same functions as ``Result.front`` and ``Result.pick``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paretoml import PRESETS, NoFeasibleModelError, pick_front
from paretoml._pick import noise_unit
from paretoml.measure import latency_noise_ms
from paretoml.pareto import beyond_baseline, front_masks

BASELINE = 0.5
ROUNDS = 80


def _trials(rng: np.random.Generator, n: int = 40) -> pd.DataFrame:
    skill = rng.random(n)  # more skill: more accurate, slower, larger (a trade-off, with scatter)
    metric = 0.6 + 0.39 * skill**0.5 + rng.normal(0, 0.01, n)
    latency = 0.005 * np.exp(3.0 * skill + rng.normal(0, 0.7, n))  # 5 µs .. 0.5 ms
    size = 4.0 * np.exp(4.0 * skill + rng.normal(0, 0.7, n))  # 4 KB .. 1 MB
    se = rng.uniform(0.002, 0.02, n)
    frame = pd.DataFrame(
        {"metric_valid": np.minimum(metric, 0.999), "metric_se": se, "latency_p50_ms": latency, "size_kb": size}
    )
    n_constant = int(rng.integers(1, 4))
    constant = pd.DataFrame(  # constant models: the smallest of all, nearly the fastest
        {
            "metric_valid": BASELINE,
            "metric_se": 0.0,
            "latency_p50_ms": 0.001 * rng.uniform(1, 2, n_constant),
            "size_kb": rng.uniform(0.05, 0.1, n_constant),
        }
    )
    median_se = float(np.median(se))
    outliers = pd.DataFrame(
        {
            "metric_valid": [BASELINE + 3 * median_se, min(frame.metric_valid.max() + 0.002, 0.9995)],
            "metric_se": [median_se, median_se],
            "latency_p50_ms": [0.0001, 50.0],  # 0.1 µs; 50 ms
            "size_kb": [0.2, 50_000.0],  # 0.2 KB; 50 MB
        }
    )
    out = pd.concat([frame, constant, outliers], ignore_index=True)
    return out.assign(
        trial=np.arange(len(out)), family="lightgbm", metric_test=out.metric_valid, gap=0.0,
        latency_p95_ms=out.latency_p50_ms * rng.uniform(1.1, 2.5, len(out)), n_features=5, n_trees=10,
        n_params=np.nan, compression="none", batch_rows_per_s=1e5,
    )  # fmt: skip


def _fronts(trials: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    values = trials[["metric_valid", "latency_p50_ms", "size_kb"]].to_numpy()
    useful = beyond_baseline(trials.metric_valid.to_numpy(), trials.metric_se.to_numpy(), BASELINE, True, 2.0)
    tolerance = np.zeros_like(values)
    tolerance[:, 0] = trials.metric_se
    pairs = zip(trials.latency_p50_ms, trials.latency_p95_ms, strict=True)
    tolerance[:, 1] = [latency_noise_ms(p50, p95, 1000) for p50, p95 in pairs]
    trusted, raw = front_masks(values, [True, False, False], tolerance, useful, [False, True, True])
    return trials[trusted].reset_index(drop=True), trials[raw].assign(degenerate=~useful[raw]).reset_index(drop=True)


def _pick_or_none(front: pd.DataFrame, **kwargs: object) -> pd.Series | None:
    try:
        return pick_front(front, maximize=True, metric="roc_auc", **kwargs).row  # type: ignore[arg-type]
    except NoFeasibleModelError:
        return None


def _feasible(front: pd.DataFrame, preset: str) -> pd.DataFrame:
    limits = PRESETS[preset].limits
    keep = np.ones(len(front), dtype=bool)
    if "max_latency_p95_ms" in limits:
        keep &= front.latency_p95_ms <= limits["max_latency_p95_ms"]
    if "max_size_kb" in limits:
        keep &= front.size_kb <= limits["max_size_kb"]
    return front[keep]


def _fronts_to_test() -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    rng = np.random.default_rng(0)
    return [_fronts(_trials(rng, int(rng.integers(5, 60)))) for _ in range(ROUNDS)]


FRONTS = _fronts_to_test()


def test_degenerate_members_are_never_on_the_front_or_picked() -> None:
    for front, raw in FRONTS:
        assert (front.metric_valid > BASELINE + 2 * front.metric_se).all()
        assert raw.degenerate.any()  # the constant models are Pareto-optimal (fastest, smallest) ...
        assert not set(raw.trial[raw.degenerate]) & set(front.trial)  # ... but not on the trustworthy front
        assert len(front) <= len(raw) + 1  # (a member dominated only by a constant model may join)
        for preset in PRESETS:
            row = _pick_or_none(raw, preset=preset)  # even from the raw front, flagged rows are skipped
            assert row is None or not raw.set_index("trial").degenerate[row.trial]


def _beats(rows: pd.DataFrame, over: pd.Series) -> np.ndarray:
    """Which ``rows`` beat ``over`` beyond noise: no worse beyond noise in every objective, better in one.

    Metric within the larger standard error; p50 as a ratio within ln(1 + tolerance / p50); size exact.
    """
    eps = np.maximum(rows.metric_se, over.metric_se).to_numpy()
    ratio = np.log(rows.latency_p50_ms.to_numpy() / over.latency_p50_ms)
    own = np.log1p(latency_noise_ms(over.latency_p50_ms, over.latency_p95_ms, 1000) / over.latency_p50_ms)
    pairs = zip(rows.latency_p50_ms, rows.latency_p95_ms, strict=True)
    tol = np.maximum([np.log1p(latency_noise_ms(p, q, 1000) / p) for p, q in pairs], own)
    gain = (rows.metric_valid - over.metric_valid).to_numpy()
    no_worse = (gain >= -eps) & (ratio <= tol) & (rows.size_kb.to_numpy() <= over.size_kb)
    better = (gain > eps) | (ratio < -tol) | (rows.size_kb.to_numpy() < over.size_kb)
    return np.asarray(no_worse & better)


def test_noise_aware_front_drops_members_within_noise() -> None:
    sizes = np.array([(len(front), len(raw)) for front, raw in FRONTS])
    assert (sizes[:, 0] < sizes[:, 1]).mean() > 0.9  # fronts shrink in nearly every random study
    for front, raw in FRONTS:
        useful = raw[~raw.degenerate]
        anchor = useful.trial[useful.metric_valid.idxmax()]  # the accurate anchor stays, beaten or not
        assert anchor in set(front.trial)
        for _, member in front[front.trial != anchor].iterrows():  # no other member is beaten beyond noise
            assert not _beats(front[front.trial != member.trial], member).any()
        dropped = raw[~raw.degenerate & ~raw.trial.isin(front.trial)]
        for _, member in dropped.iterrows():  # every dropped member is beaten by a kept one
            assert _beats(front, member).any()


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_meet_their_hard_limits(preset: str) -> None:
    limits = PRESETS[preset].limits
    for front, _ in FRONTS:
        row = _pick_or_none(front, preset=preset)
        if row is None:
            assert _feasible(front, preset).empty or "max_metric_drop" in limits or "max_metric_drop_se" in limits
            continue
        assert row.latency_p95_ms <= limits.get("max_latency_p95_ms", np.inf)
        assert row.size_kb <= limits.get("max_size_kb", np.inf)
        assert row.trial in set(front.trial)


def _more_accurate(front: pd.DataFrame, row: pd.Series, units: float) -> pd.DataFrame:
    return front[front.metric_test > row.metric_test + units * noise_unit(front)]


def test_internal_analytics_never_gives_up_more_than_the_noise() -> None:
    """Accuracy first: within one standard error of the most accurate member, whatever the speed-up."""
    for front, _ in FRONTS:
        row = pick_front(front, maximize=True, metric="roc_auc", preset="internal_analytics").row
        assert _more_accurate(front, row, 1.0).empty


def test_customer_facing_never_trades_a_large_metric_loss_for_microseconds() -> None:
    """Latency counts as much as accuracy, against a 10 ms budget: giving up more than two standard errors
    takes a saving of at least 0.5 ms (5% of the budget) or halving the size; p95 stays under 10 ms."""
    for front, _ in FRONTS:
        row = _pick_or_none(front, preset="customer_facing")
        if row is None:
            continue
        assert row.latency_p95_ms <= 10.0
        better = _more_accurate(_feasible(front, "customer_facing"), row, 2.0)
        saved_ms = better.latency_p50_ms - row.latency_p50_ms
        assert ((saved_ms >= 0.5) | (better.size_kb >= 2 * row.size_kb)).all()


def test_edge_fits_and_counts_size_as_much_as_accuracy() -> None:
    """Must fit in 1 MB; more than two standard errors are given up only for 40 KB (4% of the limit) or
    for twice the speed."""
    for front, _ in FRONTS:
        row = _pick_or_none(front, preset="edge")
        if row is None:
            continue
        assert row.size_kb <= 1024
        better = _more_accurate(_feasible(front, "edge"), row, 2.0)
        assert ((better.size_kb - row.size_kb >= 40) | (better.latency_p50_ms >= 2 * row.latency_p50_ms)).all()


def test_loan_quote_keeps_accuracy_unless_a_big_saving() -> None:
    """Accuracy is money, the answer must come within a second: more than one standard error is given up
    only to save 0.2 s or half the size."""
    for front, _ in FRONTS:
        row = _pick_or_none(front, preset="loan_quote")
        if row is None:
            continue
        assert row.latency_p95_ms <= 1000
        better = _more_accurate(_feasible(front, "loan_quote"), row, 1.0)
        assert ((better.latency_p50_ms - row.latency_p50_ms >= 200) | (better.size_kb >= 2 * row.size_kb)).all()


def test_medical_never_trades_accuracy_away() -> None:
    """Only models within 0.002 of the most accurate are considered; accuracy still weighs most among
    them, and a cheaper model wins a near tie: nothing allowed is 2x faster and 2x smaller while within
    0.05 standard errors of the pick."""
    for front, _ in FRONTS:
        chosen = pick_front(front, maximize=True, metric="roc_auc", preset="medical")
        row = chosen.row
        assert front.metric_test.max() - row.metric_test <= 0.002 + 1e-12
        close = front[front.metric_test >= front.metric_test.max() - 0.002]
        near_tie = close.metric_test > row.metric_test - 0.05 * chosen.details["noise_unit"]
        cheaper = (close.latency_p50_ms * 2 <= row.latency_p50_ms) & (close.size_kb * 2 <= row.size_kb)
        assert not (near_tie & cheaper).any()


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_an_outlier_does_not_change_the_pick(preset: str) -> None:
    """A barely-useful member, far faster and smaller than the rest, joins the front but moves no pick."""
    for front, _ in FRONTS[:40]:
        front = front[front.latency_p50_ms > 0.0001].reset_index(drop=True)  # without the injected 0.1 µs one
        before = _pick_or_none(front, preset=preset)
        unit = float(np.median(front.metric_se))
        extra = front.iloc[[int(front.latency_p50_ms.idxmin())]].assign(
            trial=10_000, metric_valid=BASELINE + 3 * unit, metric_test=BASELINE + 3 * unit, metric_se=unit,
            latency_p50_ms=1e-5, latency_p95_ms=2e-5, size_kb=0.05,
        )  # fmt: skip
        after = _pick_or_none(pd.concat([front, extra], ignore_index=True), preset=preset)
        assert (before is None) == (after is None)
        if before is not None and after is not None:
            assert after.trial == before.trial


def test_the_issue_front_every_preset_keeps_the_accurate_model() -> None:
    """Issue 14's demo front: a constant model, and 0.9717 vs 0.9881 test AUC for 7-8 µs."""
    rows = [  # trial, valid, test, se, p50 ms, size KB, n_features
        (0, 0.5000, 0.5000, 0.000, 0.004, 4.4, 1),  # the constant model: one tree
        (1, 0.9725, 0.9717, 0.008, 0.009, 6.0, 2),
        (2, 0.9899, 0.9881, 0.005, 0.016, 7.0, 12),
        (3, 0.9905, 0.9870, 0.005, 0.045, 40.0, 30),
    ]
    front = pd.DataFrame(rows, columns=["trial", "metric_valid", "metric_test", "metric_se", "latency_p50_ms",
                                        "size_kb", "n_features"])  # fmt: skip
    front = front.assign(family="lightgbm", gap=front.metric_valid - front.metric_test,
                         latency_p95_ms=front.latency_p50_ms * 1.5, degenerate=front.metric_valid <= 0.5)  # fmt: skip
    for preset in PRESETS:
        assert pick_front(front, maximize=True, metric="roc_auc", preset=preset).trial == 2, preset
    assert pick_front(front, maximize=True, metric="roc_auc").trial == 2
