from datetime import date

import numpy as np
import pandas as pd
import pytest

from jobs.config import DPRules
from jobs.privacy.dp import (
    BudgetExceeded,
    BudgetLedger,
    add_noise,
    clip_weights,
    fits_budget,
    laplace_scale,
    noisy_group_metrics,
)
from schemas.gold import GROUP_METRICS

RULES = DPRules(enabled=True, epsilon_per_release=0.5, weekly_budget=1.0, weight_clip=5.0)
WEEK = date(2024, 3, 4)
DRAWS = 4000


def cells(rows: list[dict]) -> pd.DataFrame:
    base = {"week_start": WEEK, "group_kind": "department", "group_a": "a", "group_b": "b",
            "n_people_a": 6, "n_people_b": 7, "suppression": None, "dp_epsilon": None}
    return pd.DataFrame([{**base, **row} for row in rows])


def test_laplace_scale_is_sensitivity_over_epsilon():
    # Half of eps=0.5 for each statistic: weights 5 / 0.25 = 20, counts 1 / 0.25 = 4.
    assert laplace_scale(5.0, 0.25) == 20.0
    assert laplace_scale(1.0, 0.25) == 4.0
    with pytest.raises(ValueError):
        laplace_scale(1.0, 0.0)


def test_noise_has_the_stated_scale():
    # One release of DRAWS identical cells: OpenDP draws every coordinate independently, so this
    # is DRAWS draws of the same cell. The true values are far from 0 so that the clamp at 0
    # never touches a draw (P(Laplace(20) < -1000) is about e^-50).
    true_weight, true_pairs = 1000.0, 500
    noisy = add_noise(cells([{"weight": true_weight, "n_people_pairs": true_pairs,
                              "is_suppressed": False}] * DRAWS), RULES)
    weight_noise = noisy["weight"].to_numpy(dtype=float) - true_weight
    pair_noise = noisy["n_people_pairs"].to_numpy(dtype=float) - true_pairs

    # Weights: continuous Laplace, b = clip / (eps/2) = 5 / 0.25 = 20.
    # E|X| = b = 20, std = sqrt(2) * b = 28.284.
    # |X| is exponential(b): its sample mean has relative standard error 1/sqrt(4000) = 1.6%,
    # so 6% is ~3.8 standard errors. The sample variance has relative standard error
    # sqrt((kurtosis - 1) / n) = sqrt(5 / 4000) = 3.5% (Laplace kurtosis is 6), the std half
    # of that, 1.8%, so 8% is ~4.5 standard errors. Using the full epsilon
    # instead of half (b = 10) or forgetting the clip (b = 4) would be off by 50% or more.
    assert np.mean(np.abs(weight_noise)) == pytest.approx(20.0, rel=0.06)
    assert np.std(weight_noise) == pytest.approx(28.284, rel=0.08)
    # Unbiased: the mean's standard error is 28.284 / sqrt(4000) = 0.447; 2.0 is ~4.5 of them.
    assert abs(np.mean(weight_noise)) < 2.0

    # Pair counts: OpenDP noises integers with the discrete Laplace, P(x) ~ exp(-|x| / b),
    # b = 1 / 0.25 = 4. With q = exp(-1/4) = 0.778801:
    # E|X| = 2q / (1 - q^2) = 3.9586, std = sqrt(2q) / (1 - q) = 5.6421
    # (the continuous Laplace would give 4 and 5.657: within 1% of these).
    assert np.mean(np.abs(pair_noise)) == pytest.approx(3.9586, rel=0.06)
    assert np.std(pair_noise) == pytest.approx(5.6421, rel=0.08)
    assert abs(np.mean(pair_noise)) < 4.5 * 5.6421 / np.sqrt(DRAWS)
    assert (pair_noise == np.round(pair_noise)).all()

    assert (noisy["dp_epsilon"] == 0.5).all()


def test_post_processing_never_publishes_negative_values():
    noisy = add_noise(cells([{"weight": 0.5, "n_people_pairs": 1, "is_suppressed": False}] * 500), RULES)
    assert (noisy["weight"] >= 0.0).all()
    assert (noisy["n_people_pairs"] >= 0).all()
    # With b = 20 about 49% of draws of a 0.5 weight fall below 0 and are clamped to exactly 0.
    assert (noisy["weight"] == 0.0).sum() > 150


def test_suppressed_cells_stay_null_and_unnoised():
    frame = cells([
        {"group_b": "b", "weight": 40.0, "n_people_pairs": 12, "is_suppressed": False},
        {"group_b": "c", "weight": None, "n_people_pairs": None, "n_people_a": None,
         "n_people_b": None, "is_suppressed": True, "suppression": "fewer than k people"},
    ])
    noisy = add_noise(frame, RULES)
    suppressed = noisy.iloc[1]
    assert pd.isna(suppressed["weight"]) and pd.isna(suppressed["n_people_pairs"])
    assert pd.isna(suppressed["dp_epsilon"])
    assert suppressed["suppression"] == "fewer than k people"
    assert noisy.iloc[0]["dp_epsilon"] == 0.5
    # Group sizes are not noised (the input is returned as it came).
    assert noisy.iloc[0]["n_people_a"] == 6 and noisy.iloc[0]["n_people_b"] == 7
    assert frame.iloc[0]["weight"] == 40.0  # the caller's frame is not modified


def test_unclipped_weights_are_refused():
    # 12 pairs can carry at most 12 * 5 = 60 after clipping.
    with pytest.raises(ValueError, match="clip"):
        add_noise(cells([{"weight": 61.0, "n_people_pairs": 12, "is_suppressed": False}]), RULES)


def test_noisy_group_metrics_keeps_the_gold_schema(spark):
    rows = [
        (WEEK, "department", "a", "b", 40.0, 12, 6, 7, False, None, None),
        (WEEK, "department", "a", "c", None, None, None, None, True, "fewer than k people", None),
    ]
    group_df = spark.createDataFrame(rows, GROUP_METRICS)
    out = noisy_group_metrics(group_df, RULES)
    assert out.schema == GROUP_METRICS
    got = {r["group_b"]: r for r in out.collect()}
    assert got["c"]["weight"] is None and got["c"]["n_people_pairs"] is None
    assert got["c"]["dp_epsilon"] is None and got["c"]["is_suppressed"] is True
    assert got["b"]["dp_epsilon"] == 0.5 and got["b"]["weight"] >= 0.0
    assert isinstance(got["b"]["n_people_pairs"], int)
    assert (got["b"]["n_people_a"], got["b"]["n_people_b"]) == (6, 7)
    assert got["b"]["week_start"] == WEEK


def test_ledger_refuses_past_the_weekly_budget_and_counts_weeks_apart(spark, tmp_path):
    ledger = BudgetLedger(spark, tmp_path, RULES)
    other_week = date(2024, 3, 11)
    release = "gold/group_metrics_weekly"

    assert ledger.can_release(WEEK, 0.5)
    ledger.record(WEEK, "run-1", release, 0.5)
    ledger.record(WEEK, "run-2", release, 0.5)  # a rebuild spends again
    assert ledger.spent(WEEK) == 1.0

    assert not ledger.can_release(WEEK, 0.5)
    with pytest.raises(BudgetExceeded):
        ledger.record(WEEK, "run-3", release, 0.5)
    assert ledger.spent(WEEK) == 1.0

    # Another week has its own budget.
    assert ledger.can_release(other_week, 0.5)
    ledger.record(other_week, "run-3", release, 0.5)
    assert ledger.spent(other_week) == 0.5

    # Recording the same run and release again replaces its row instead of charging twice.
    ledger.record(other_week, "run-3", release, 0.5)
    assert ledger.spent(other_week) == 0.5


def test_budget_edge_fits_despite_float_sums():
    # 0.1 + 0.1 is 0.2 but 0.2 + 0.1 is 0.30000000000000004: a third 0.1 still fits in 0.3.
    assert fits_budget(0.1 + 0.1, 0.1, 0.3)
    assert not fits_budget(0.3, 0.1, 0.3)
    assert not fits_budget(0.2, 0.1 + 1e-6, 0.3)


def test_clip_weights_clips_to_the_bound(spark):
    edges_df = spark.createDataFrame(
        [(WEEK, "p1", "p2", 12.0), (WEEK, "p2", "p1", 2.0), (WEEK, "p3", "p1", 5.0)],
        "week_start date, src string, dst string, weight double",
    )
    out = clip_weights(edges_df, RULES)
    assert out.columns == edges_df.columns
    got = {(r["src"], r["dst"]): r["weight"] for r in out.collect()}
    assert got == {("p1", "p2"): 5.0, ("p2", "p1"): 2.0, ("p3", "p1"): 5.0}
