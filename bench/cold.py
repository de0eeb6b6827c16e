"""The cold weekly run, executed in a fresh process by bench/run.py:

    python -m bench.cold <lake root holding bronze> <ISO week or range> <output json>

Starts Python (the parent times the whole process), imports the pipeline, starts Spark and runs
jobs.stages.silver.build_silver + jobs.stages.gate.gate_and_publish for the week: ingest from bronze, all metrics,
gates, Delta writes (a range such as `2026-W10..2026-W21` builds those weeks in one run, as a
backfill does). Writes its own phase split as JSON.
"""

from __future__ import annotations

import json
import sys
import time

T_START = time.perf_counter()


def main(lake_root: str, week: str, out: str) -> None:
    from pathlib import Path

    t0 = time.perf_counter()
    from jobs.stages import gate, silver
    from jobs.spark import get_spark
    from jobs.weeks import parse_weeks

    t1 = time.perf_counter()
    spark = get_spark("ona-bench-cold")
    from bench.ours import apply_conf, context, gold_tables_exist

    apply_conf(spark)  # experiment confs from `bench.run --conf`; none by default
    t2 = time.perf_counter()
    ctx = context(spark, Path(lake_root))
    weeks = parse_weeks(week)
    candidate = silver.build_silver(ctx, weeks)
    t3 = time.perf_counter()
    outcome = gate.gate_and_publish(ctx, weeks, candidate.people)
    t4 = time.perf_counter()
    result = {
        "python_start_to_main": t0 - T_START,
        "import_pipeline": t1 - t0,
        "spark_start": t2 - t1,
        "silver": t3 - t2,
        "gate_and_publish": t4 - t3,
        "published": [str(w) for w in outcome.published],
        "failed": sorted({f"{r.table}: {c.check}" for r in outcome.results for c in r.failed_fail}),
        # What was built, so that the parent can tell a real run from an empty one.
        "silver_events": sum(kind["events"] for kind in candidate.counts.values()),
        "published_rows": gold_tables_exist(Path(lake_root)),
    }
    Path(out).write_text(json.dumps(result))
    spark.stop()


if __name__ == "__main__":
    main(*sys.argv[1:4])
