"""Where the events -> edges seconds go, step by step: the floor below the 1.5M events/s/core target.

    .venv/bin/python -m bench.floors --people 10000

Generates the benchmark's workload (bench/workload.py), writes its bronze Delta tables, then
times each step of `bench.ours.events_to_edges` on its own, each one adding work to the one
before it, forced with a `noop` sink: run once untimed (the session's first execution of a query
shape pays for JIT and code generation), then `--reps` times; the median is printed. The step
that only reads bronze is the floor of the whole chain: no aggregation can be faster than the
scan that feeds it. Figures and what they decide: docs/performance.md, "Floors".
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bench import ours, workload
from bench.measure import timed
from bench.run import bench_spark, log
from jobs.stages import silver as silver_stage
from jobs.transforms import silver


def _noop(frames: list[DataFrame]) -> None:
    for df in frames:
        df.write.format("noop").mode("overwrite").save()


def steps(ctx, weeks) -> dict[str, Callable[[], None]]:
    def bronze():
        return list(silver_stage.bronze_event_rows(ctx, weeks).values())

    def events():
        return silver_stage.silver_events(ctx, weeks)

    def interactions():
        return silver.interactions(events(), ctx.settings.ties)

    return {
        "read the week's bronze rows, every column": lambda: _noop(bronze()),
        "+ tie rules: silver events (only the columns they use are read)": lambda: _noop([events()]),
        "+ one row per recipient / meeting pair: interactions": lambda: _noop([interactions()]),
        "+ one sum per (week, src, dst)": lambda: _noop([
            interactions().groupBy("week_start", "src", "dst").agg(F.sum("weight"))]),
        "= gold.edges_weekly: sums per source, reciprocity (bench's events->edges)":
            lambda: ours.events_to_edges(ctx, weeks),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floors", description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="ona-bench-floors-"))
    try:
        log(f"{args.people:,} people: generating the workload and its bronze tables")
        wl = workload.generate(args.people)
        spark = bench_spark()
        paths = workload.write_parquet(wl, root / "parquet")
        workload.write_bronze(spark, wl, root / "lake", parquet_paths=paths)
        n_events, weeks = wl.n_events, [wl.spec.week_start.date()]
        del wl
        cores = spark.sparkContext.defaultParallelism
        ctx = ours.context(spark, root / "lake")
        print(f"{args.people:,} people, {n_events:,} events, {cores} cores; median of {args.reps} after one untimed run")
        print(f"{'step':78s} {'wall s':>7s} {'events/s/core':>14s} {'other load':>11s}")
        for name, step in steps(ctx, weeks).items():
            log(f"  {name}")
            step()
            runs = [timed(step) for _ in range(args.reps)]
            wall = statistics.median(r[1] for r in runs)
            other_load = max(r[2].other_load for r in runs)  # cores other processes used meanwhile
            print(f"{name:78s} {wall:7.2f} {n_events / wall / cores:14,.0f} {other_load:9.1f} c")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
