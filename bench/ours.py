"""Our pipeline's stages as the benchmark times them (composed from jobs/, nothing re-implemented).

- `events_to_edges`: bronze Delta -> silver events -> interactions -> gold edges_weekly, forced
  with a noop sink (no write).
- `events_to_gold`: bronze Delta -> silver events -> interactions -> edges -> node metrics
  (igraph per week via applyInPandas) -> person / group / network tables, composed exactly as
  build_silver + gold_frames do (same persists), but from the in-memory silver frames and
  forced with noop sinks: no Delta round trip, no gates, no writes.
- `full_run`: jobs.pipeline.build_silver + gate_and_publish on a lake holding only bronze
  (gates and Delta writes included), optionally instrumented to split the time.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import lake, pipeline
from jobs.graph.local_engine import weekly_node_metrics
from jobs.pipeline import RunContext
from jobs.privacy.pseudonym import Pseudonymiser
from jobs.transforms import gold, silver
from schemas.bronze import BRONZE

KEY = b"bench-key"


def context(spark, lake_root: Path) -> RunContext:
    return RunContext(spark=spark, lake=Path(lake_root), pseudo=Pseudonymiser(key=KEY))


def _noop(df: DataFrame) -> None:
    df.write.format("noop").mode("overwrite").save()


def events_to_edges(ctx: RunContext, weeks: list[date]) -> None:
    events_df = pipeline.silver_events(ctx, weeks)
    edges_df = gold.edges_weekly(silver.interactions(events_df, ctx.settings.ties))
    _noop(edges_df)


def gold_in_memory(ctx: RunContext, weeks: list[date]) -> dict[str, DataFrame]:
    spark, settings = ctx.spark, ctx.settings
    people_df = silver.people(lake.read(spark, ctx.lake, BRONZE["people"])).persist()
    events_df = pipeline.silver_events(ctx, weeks).persist()
    interactions_df = silver.interactions(events_df, settings.ties)
    edges_df = gold.edges_weekly(interactions_df).persist()
    node_df = weekly_node_metrics(edges_df, settings.max_local_edges).persist()
    group_df = gold.group_metrics_weekly(edges_df, people_df, settings.privacy).persist()
    person_df = gold.person_metrics_weekly(
        gold.degrees(edges_df), node_df, gold.load_metrics(events_df), people_df, weeks
    ).persist()
    summary_df = gold.network_summary_weekly(edges_df, node_df, group_df).persist()
    return {"people": people_df, "events": events_df, "edges": edges_df, "nodes": node_df,
            "groups": group_df, "person": person_df, "summary": summary_df}


def force_gold(frames: dict[str, DataFrame]) -> None:
    for name in ("edges", "groups", "person", "summary"):
        _noop(frames[name])


def gold_results(frames: dict[str, DataFrame]) -> dict:
    """Small results for the consistency checks (collected after the timing)."""
    edge_count, total_weight = frames["edges"].agg(F.count("*"), F.sum("weight")).collect()[0]
    nodes = frames["nodes"].select("person", "pagerank", "component", "community", "clustering").toPandas()
    summary = frames["summary"].drop("week_start").toPandas().iloc[0].to_dict()
    groups = frames["groups"].select("group_a", "group_b", "weight", "is_suppressed").toPandas()
    return {"edges_count": int(edge_count), "total_weight": float(total_weight), "nodes": nodes,
            "summary": summary, "groups": groups}


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
    silver (compute fused with the silver Delta writes), gold_compute (the persisted gold frames
    are counted as soon as gold_frames returns, so that gates do not absorb their computation),
    gates (Great Expectations + suite inputs), gold_writes (gold replace_weeks and the
    quality/validation_runs merge) and other (the rest of gate_and_publish)."""
    if not instrument:
        t0 = time.perf_counter()
        silver_counts = pipeline.build_silver(ctx, weeks)
        t1 = time.perf_counter()
        outcome = pipeline.gate_and_publish(ctx, weeks)
        t2 = time.perf_counter()
        return {"silver": t1 - t0, "gate_and_publish": t2 - t1, "outcome": _outcome(outcome),
                "silver_counts": silver_counts}

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
        def inner(*args, **kwargs):
            frames = fn(*args, **kwargs)
            t = time.perf_counter()
            for df in frames.values():
                df.count()
            spent["gold_compute"] += time.perf_counter() - t
            return frames
        return inner

    t0 = time.perf_counter()
    silver_counts = pipeline.build_silver(ctx, weeks)
    t1 = time.perf_counter()
    with _patched(pipeline, "gold_frames", forced_gold_frames), \
         _patched(pipeline, "run_gate", timer("gates")), \
         _patched(pipeline, "_suite_inputs", timer("gates")), \
         _patched(pipeline.lake, "replace_weeks", timer("gold_writes")), \
         _patched(pipeline, "_record_validation_runs", timer("gold_writes")):
        outcome = pipeline.gate_and_publish(ctx, weeks)
    t2 = time.perf_counter()
    gate_and_publish = t2 - t1
    other = gate_and_publish - sum(spent.values())
    return {"silver": t1 - t0, "gate_and_publish": gate_and_publish, **spent, "other": other,
            "outcome": _outcome(outcome), "silver_counts": silver_counts}


def _outcome(outcome) -> dict:
    return {
        "published": [str(w) for w in outcome.published],
        "groups_suppressed": outcome.groups_suppressed,
        "failed": sorted({f"{r.table}: {c.check} ({c.observed})" for r in outcome.results for c in r.failed_fail}),
        "warnings": sorted({f"{r.table}: {c.check} ({c.observed})" for r in outcome.results for c in r.failed_warn}),
        "checks": sum(len(r.checks) for r in outcome.results),
    }


def gold_tables_exist(lake_root: Path) -> dict[str, int]:
    """Row counts of the published gold tables (read back with pandas/pyarrow, not Spark)."""
    import pyarrow.dataset as ds

    out = {}
    for path in ("gold/edges_weekly", "gold/person_metrics_weekly", "gold/group_metrics_weekly",
                 "gold/network_summary_weekly"):
        folder = Path(lake_root) / path
        files = [str(p) for p in folder.rglob("*.parquet")] if folder.exists() else []
        out[path] = ds.dataset(files).count_rows() if files else 0
    return out
