"""Optional differential privacy for the group matrix (gold/group_metrics_weekly), with a
ledger of the privacy budget spent per week (quality/privacy_budget).

Privacy model: edge-level DP. Two datasets are neighbours when they differ by one tie, i.e.
one directed person pair's edge of one week (present or absent, or any change of its weight).
It is not person-level: someone with many ties is protected tie by tie, and the guarantee for
all of a person's ties together degrades with their number (group privacy).

Why the noise scales are what they are:

* Every edge weight is clipped to [0, weight_clip] before the matrix is built
  (`clip_weights`), so one tie moves the weight of the single cell it falls in by at most
  weight_clip, and that cell's n_people_pairs by at most 1. Each edge belongs to exactly one
  cell, so the whole matrix has L1 sensitivity weight_clip (weights) and 1 (counts): the cells
  compose in parallel and one vector mechanism covers them all.
* A release (one week's group table) spends epsilon_per_release: half on the weights, Laplace
  scale weight_clip / (eps / 2), half on the pair counts, scale 1 / (eps / 2). Both describe the
  same tie, so the halves add up (sequential composition).
* Clamping at 0 afterwards is post-processing and costs nothing.

What is NOT covered by the guarantee, and stays as exact as without DP: which cells exist (a
department pair appears only when it has a tie), the k-suppression decision and the
n_people_a / n_people_b sizes (all derived from who has a tie that week). The noise makes the
published weights and pair counts DP given that cell layout; it does not hide the layout.

The noise comes from OpenDP's Laplace measurement (discrete Laplace for the integer counts), which
draws from the operating system's secure generator and cannot be seeded: tests check the
noise statistically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, DoubleType, IntegralType, StructField, StructType

from jobs import lake
from jobs.frames import frame_from_rows
from jobs.config import DPRules
from schemas.quality import PRIVACY_BUDGET_TABLE

MECHANISM = "laplace"
# Float sums of epsilons (0.1 + 0.2 ...) must not refuse a release that exactly fits.
BUDGET_SLACK = 1e-12


class BudgetExceeded(RuntimeError):
    """Recording this release would spend more than the week's budget."""


def fits_budget(spent: float, epsilon: float, budget: float) -> bool:
    return spent + epsilon <= budget + BUDGET_SLACK


def laplace_scale(sensitivity: float, epsilon: float) -> float:
    """The Laplace scale b that makes a query of this L1 sensitivity epsilon-DP: b = Δ / ε."""
    if sensitivity <= 0 or epsilon <= 0:
        raise ValueError("sensitivity and epsilon must be positive")
    return sensitivity / epsilon


def weight_scale(rules: DPRules) -> float:
    return laplace_scale(rules.weight_clip, rules.epsilon_per_release / 2)


def count_scale(rules: DPRules) -> float:
    return laplace_scale(1.0, rules.epsilon_per_release / 2)


def clip_weights(edges_df: DataFrame, rules: DPRules) -> DataFrame:
    """Edges with `weight` clamped to [0, weight_clip]: without this bound one heavy tie could
    move a cell by any amount and no finite noise scale would hide it."""
    clipped = F.least(F.greatest(F.col("weight").cast("double"), F.lit(0.0)), F.lit(float(rules.weight_clip)))
    return edges_df.withColumn("weight", clipped)


@dataclass(frozen=True)
class _Mechanisms:
    weights: object  # opendp Measurement over Vec<f64>
    counts: object  # opendp Measurement over Vec<i64>
    epsilon: float  # what both together spend; OpenDP's own accounting is checked not to exceed it


@lru_cache(maxsize=8)
def _mechanisms(epsilon: float, weight_clip: float) -> _Mechanisms:
    # Imported here so that a pipeline with DP off never loads the native library.
    import opendp.prelude as dp

    dp.enable_features("contrib")
    half = epsilon / 2
    weights = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float),
        scale=laplace_scale(weight_clip, half),
    )
    counts = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T="i64")), dp.l1_distance(T="i64"),
        scale=laplace_scale(1.0, half),
    )
    # Let OpenDP's own accounting confirm the hand-derived scales: if its float-safe rounding
    # ever charged more than the budget we record, we would be under-reporting the loss.
    spent = weights.map(float(weight_clip)) + counts.map(1)
    if spent > epsilon * (1 + 1e-9):
        raise RuntimeError(f"mechanisms spend {spent}, more than epsilon {epsilon}")
    return _Mechanisms(weights, counts, epsilon)


def add_noise(cells: pd.DataFrame, rules: DPRules) -> pd.DataFrame:
    """A copy of the cells with Laplace noise on `weight` and `n_people_pairs` of every published
    row (is_suppressed False), dp_epsilon = epsilon_per_release there and null elsewhere.

    Suppressed rows are left exactly as they came (null), since suppression already hid them
    and noising a null would publish something. No seed: OpenDP cannot be seeded.
    """
    out = cells.copy()
    published = ~out["is_suppressed"].astype(bool).to_numpy()
    out["n_people_pairs"] = out["n_people_pairs"].astype("Int64")
    out["weight"] = out["weight"].astype("float64")
    out["dp_epsilon"] = np.where(published, float(rules.epsilon_per_release), np.nan)
    if not published.any():
        return out
    weights = out.loc[published, "weight"]
    counts = out.loc[published, "n_people_pairs"]
    if weights.isna().any() or counts.isna().any():
        raise ValueError("a published cell has no weight or pair count")
    if (weights > rules.weight_clip * counts.astype("float64") * (1 + 1e-9) + 1e-9).any():
        # A cell heavier than clip x pairs was built from unclipped edges: the scales would lie.
        raise ValueError("group weights exceed weight_clip per pair: clip edges before grouping")

    mechanisms = _mechanisms(float(rules.epsilon_per_release), float(rules.weight_clip))
    noisy_weights = np.asarray(mechanisms.weights([float(w) for w in weights]), dtype="float64")
    noisy_counts = np.asarray(mechanisms.counts([int(c) for c in counts]), dtype="int64")
    out.loc[published, "weight"] = np.maximum(noisy_weights, 0.0)
    out.loc[published, "n_people_pairs"] = np.maximum(noisy_counts, 0)
    return out


def _python_value(value, data_type):
    """A pandas cell as the Python value Spark accepts for the field: toPandas turns a nullable
    long column into floats with NaN, and numpy scalars are not Python ones."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(data_type, IntegralType):
        return int(value)
    if isinstance(data_type, DoubleType):
        return float(value)
    if isinstance(data_type, DateType) and isinstance(value, datetime):
        return value.date()
    return value


def noisy_group_metrics(group_df: DataFrame, rules: DPRules) -> DataFrame:
    """The group matrix with its published cells noised, same schema and column order (with
    dp_epsilon appended when the input lacks it). The matrix is departments squared per week,
    small enough to collect; rows go back through Python values so that nullable longs and
    dates keep their Spark types."""
    schema = group_df.schema
    if "dp_epsilon" not in schema.fieldNames():
        schema = StructType([*schema.fields, StructField("dp_epsilon", DoubleType(), True)])
    cells = group_df.toPandas()
    noisy = add_noise(cells, rules) if len(cells) else cells.assign(dp_epsilon=pd.Series(dtype="float64"))
    types = [f.dataType for f in schema.fields]
    rows = [
        tuple(_python_value(v, t) for v, t in zip(row, types))
        for row in noisy[schema.fieldNames()].itertuples(index=False, name=None)
    ]
    return frame_from_rows(group_df.sparkSession, rows, schema)


class BudgetLedger:
    """Epsilon spent per week, kept in quality/privacy_budget.

    Boolean API plus a guard: `can_release` answers whether a release fits; `record` raises
    `BudgetExceeded` rather than write a row past the budget, so a caller that forgot to ask
    still cannot overspend. Every rebuild of a week is a new release and spends again (the old
    noisy table was seen; a fresh draw is new information). A row is keyed by (week, run_id,
    release): recording the same key again replaces it instead of charging twice.

    The check and the write are two steps: two builds of the same week running at once could
    both pass the check. The pipeline builds a week in one run at a time.
    """

    def __init__(self, spark: SparkSession, lake_root: Path | str, rules: DPRules):
        self.spark = spark
        self.lake_root = lake_root
        self.rules = rules

    def _rows(self, week: date) -> DataFrame:
        return lake.read(self.spark, self.lake_root, PRIVACY_BUDGET_TABLE).where(
            F.col("week_start") == F.lit(week)
        )

    def spent(self, week: date) -> float:
        total = self._rows(week).agg(F.sum("epsilon").alias("spent")).first()["spent"]
        return float(total or 0.0)

    def can_release(self, week: date, epsilon: float) -> bool:
        return fits_budget(self.spent(week), epsilon, self.rules.weekly_budget)

    def record(self, week: date, run_id: str, release: str, epsilon: float,
               mechanism: str = MECHANISM) -> None:
        if epsilon <= 0:
            raise ValueError("epsilon must be positive")
        others = self._rows(week).where(
            (F.col("run_id") != run_id) | (F.col("release") != release)
        ).agg(F.sum("epsilon").alias("e")).first()["e"] or 0.0
        if not fits_budget(others, epsilon, self.rules.weekly_budget):
            raise BudgetExceeded(
                f"week {week}: {others:g} of {self.rules.weekly_budget:g} already spent, "
                f"{release} needs {epsilon:g}"
            )
        row = [(week, run_id, release, mechanism, float(epsilon), datetime.now(timezone.utc))]
        df = frame_from_rows(self.spark, row, PRIVACY_BUDGET_TABLE.schema)
        lake.merge_rows(self.spark, self.lake_root, PRIVACY_BUDGET_TABLE, df)
