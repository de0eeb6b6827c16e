"""Our pipeline's stages as the benchmark times them (composed from jobs/, nothing re-implemented).

- `events_to_edges`: bronze Delta -> silver events -> interactions -> gold edges_weekly, forced
  with a noop sink (no write).
- `events_to_gold`: bronze Delta -> silver events -> interactions, then
  jobs.transforms.build.build_gold itself (edges, node metrics per week on the chosen engine,
  person / group / cohesion / cohort / network tables, each computed as it is built) on those in-memory
  silver frames; forced with noop sinks: no Delta round trip, no gates, no writes.
- `full_run`: jobs.stages.silver.build_silver + jobs.stages.gate.gate_and_publish on a lake holding only bronze
  (gates and Delta writes included), optionally instrumented to split the time.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import lake, publish
from jobs.lake_location import location
from jobs.stages import gate, gold as gold_stage, silver as silver_stage
from jobs.stages.context import RunContext
from jobs.privacy.pseudonym import Pseudonymiser
from jobs.transforms import gold, silver
from schemas.bronze import BRONZE
from schemas.gold import EDGES_WEEKLY, GOLD_TABLES, NETWORK_SUMMARY_WEEKLY, PERSON_METRICS_WEEKLY
from jobs.transforms.build import HISTORY_COLUMNS, GoldInputs, build_gold

from bench.workload import KEY  # the key the workload's pseudonyms were made with

SPARK_CONF_ENV = "ONA_BENCH_SPARK_CONF"


def apply_conf(spark) -> dict[str, str]:
    """Experiment confs from `bench.run --conf KEY=VALUE` (also passed to the cold process
    through the environment). None by default: the pipeline is measured as it is."""
    confs = dict(kv.split("=", 1) for kv in os.environ.get(SPARK_CONF_ENV, "").splitlines() if "=" in kv)
    for key, value in confs.items():
        spark.conf.set(key, value)
    return confs


def context(spark, lake_root: Path) -> RunContext:
    """The run context of the workload's lake. Its key must be the workload's: the pipeline
    reads only the bronze rows of the current key version, and under another key every row is
    left out and the run builds empty weeks."""
    return RunContext(spark=spark, lake=location(lake_root), pseudo=Pseudonymiser(key=KEY))


def _noop(df: DataFrame) -> None:
    df.write.format("noop").mode("overwrite").save()


def events_to_edges(ctx: RunContext, weeks: list[date]) -> None:
    events_df = silver_stage.silver_events(ctx, weeks)
    edges_df = gold.edges_weekly(silver.interactions(events_df, ctx.settings.ties))
    _noop(edges_df)


def gold_in_memory(ctx: RunContext, weeks: list[date]) -> dict[str, DataFrame]:
    """The gold frames of jobs.transforms.build.build_gold (what the pipeline calls), fed with
    in-memory silver frames instead of the silver Delta tables, and no published history."""
    spark, settings = ctx.spark, ctx.settings
    events_df = silver_stage.silver_events(ctx, weeks).persist()
    history = spark.createDataFrame([], PERSON_METRICS_WEEKLY.schema).select(*HISTORY_COLUMNS).withColumn(
        "cross_group_ties", F.lit(None).cast("long"))
    inputs = GoldInputs(
        interactions=silver.interactions(events_df, settings.ties),
        events=events_df,
        people=silver.people(lake.read(spark, ctx.lake, BRONZE["people"])),
        weeks=weeks,
        person_history=history,
        edge_history=spark.createDataFrame([], EDGES_WEEKLY.schema).select("week_start", "src", "dst"),
    )
    return {**build_gold(inputs, settings), "silver/events": events_df}


def force_gold(frames: dict[str, DataFrame]) -> None:
    for table in GOLD_TABLES:
        _noop(frames[table.path])


def gold_results(frames: dict[str, DataFrame]) -> dict:
    """Small results for the consistency checks (collected after the timing)."""
    edges_df = frames[EDGES_WEEKLY.path]
    edge_count, total_weight = edges_df.agg(F.count("*"), F.sum("weight")).collect()[0]
    nodes = (frames[PERSON_METRICS_WEEKLY.path].where(F.col("pagerank").isNotNull())
             .select("person", "pagerank", "component", "community", "clustering").toPandas())
    summary = frames[NETWORK_SUMMARY_WEEKLY.path].drop("week_start").toPandas().iloc[0].to_dict()
    return {"edges_count": int(edge_count), "total_weight": float(total_weight), "nodes": nodes,
            "summary": summary}


def unpersist(frames: dict[str, DataFrame]) -> None:
    for df in frames.values():
        df.unpersist()


# ------------------------------------------------------------------ the full weekly run

@contextmanager
def _patched(owner, name: str, wrapper):
    original = getattr(owner, name)
    setattr(owner, name, wrapper(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


def full_run(ctx: RunContext, weeks: list[date], instrument: bool = True) -> dict:
    """build_silver + gate_and_publish. Instrumented, the time splits into:
    silver (compute fused with the silver Delta writes), gold_compute (gold_frames, which reads
    silver and computes every gold frame, so that gates do not absorb their computation),
    gates (Great Expectations + suite inputs), gold_writes (the publish: candidate writes, the
    switch and tidy-up of jobs/publish.py, and the
    quality/validation_runs merge) and other (the rest of gate_and_publish)."""
    if not instrument:
        t0 = time.perf_counter()
        candidate = silver_stage.build_silver(ctx, weeks)
        t1 = time.perf_counter()
        outcome = gate.gate_and_publish(ctx, weeks, candidate.people)
        t2 = time.perf_counter()
        return {"silver": t1 - t0, "gate_and_publish": t2 - t1, "outcome": _outcome(outcome),
                "silver_counts": candidate.counts}

    spent = {"gold_compute": 0.0, "gates": 0.0, "gold_writes": 0.0}

    def timer(bucket):
        def wrap(fn):
            def inner(*args, **kwargs):
                t = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    spent[bucket] += time.perf_counter() - t
            return inner
        return wrap

    def forced_gold_frames(fn):
        # build_gold computes each frame as it builds it; the counts force anything left lazy.
        def inner(*args, **kwargs):
            t = time.perf_counter()
            frames = fn(*args, **kwargs)
            for df in frames.values():
                df.count()
            spent["gold_compute"] += time.perf_counter() - t
            return frames
        return inner

    t0 = time.perf_counter()
    candidate = silver_stage.build_silver(ctx, weeks)
    t1 = time.perf_counter()
    patches = [(gold_stage, "gold_frames", forced_gold_frames)]
    for name in ("run_gates", "_published_row_counts"):
        patches.append((gate, name, timer("gates")))
    # The publish: candidate writes, the switch of quality/published_weeks and the tidy-up.
    patches.append((publish, "write_candidates", timer("gold_writes")))
    patches.append((publish, "make_current", timer("gold_writes")))
    patches.append((gate, "_record_validation_runs", timer("gold_writes")))
    with ExitStack() as stack:
        for owner, name, wrapper in patches:
            stack.enter_context(_patched(owner, name, wrapper))
        outcome = gate.gate_and_publish(ctx, weeks, candidate.people)
    t2 = time.perf_counter()
    gate_and_publish = t2 - t1
    other = gate_and_publish - sum(spent.values())
    return {"silver": t1 - t0, "gate_and_publish": gate_and_publish, **spent, "other": other,
            "outcome": _outcome(outcome), "silver_counts": candidate.counts}


def _outcome(outcome) -> dict:
    return {
        "published": [str(w) for w in outcome.published],
        "groups_suppressed": outcome.groups_suppressed,
        "failed": sorted({f"{r.table}: {c.check} ({c.observed})" for r in outcome.results for c in r.failed_fail}),
        "warnings": sorted({f"{r.table}: {c.check} ({c.observed})" for r in outcome.results for c in r.failed_warn}),
        "checks": sum(len(r.checks) for r in outcome.results),
    }


def gold_tables_exist(lake_root: Path) -> dict[str, int]:
    """Row counts of the published gold tables, read with delta-rs (not Spark): the current
    version of each table, not every parquet file left in its folder."""
    from deltalake import DeltaTable

    out = {}
    for path in (t.path for t in GOLD_TABLES):
        folder = Path(lake_root) / path
        out[path] = DeltaTable(str(folder)).to_pyarrow_dataset().count_rows() if (folder / "_delta_log").is_dir() else 0
    return out
