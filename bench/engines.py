"""The two graph engines on the same weekly graphs: where the engine threshold comes from.

    .venv/bin/python -m bench.engines                          # 1k, 10k and 50k people
    .venv/bin/python -m bench.engines --people 1000 --reps 1   # a quick look

For each size, one week's graph with the shape of an organisation (departments of about 40
people, about 15 directed ties per person, four in five inside the department, exponential
weights) is timed on
- the native engine: `jobs.graph.local_engine.node_metrics` in this process, i.e. exactly what
  one Spark task runs for one week (Arrow hand-over excluded), every contract column;
- the GraphFrames engine: `weekly_node_metrics_graphframes` on a local[*] session, forced to
  completion with a write to the noop sink.
Medians of the repetitions, to bench/results/engines-<timestamp>.json and the console
(docs/engines.md quotes them). Nothing here is asserted: benchmarks measure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS_DIR = Path(__file__).resolve().parent / "results"
WEEK = date(2026, 3, 2)
DEPARTMENT_SIZE = 40
TIES_PER_PERSON = 15
INSIDE_SHARE = 0.8


def organisation_week(n_people: int, seed: int = 0) -> tuple[pd.DataFrame, dict[str, str]]:
    """(edges src, dst, weight; person -> department) of one synthetic week."""
    rng = np.random.default_rng(seed)
    department = np.arange(n_people) // DEPARTMENT_SIZE
    src = np.repeat(np.arange(n_people), TIES_PER_PERSON)
    inside = rng.random(src.size) < INSIDE_SHARE
    first = department[src] * DEPARTMENT_SIZE
    size = np.minimum(first + DEPARTMENT_SIZE, n_people) - first
    dst = np.where(inside, first + rng.integers(0, 1 << 30, src.size) % size, rng.integers(0, n_people, src.size))
    edges = pd.DataFrame({"src": src, "dst": dst})
    edges = edges[edges["src"] != edges["dst"]].drop_duplicates()
    edges["weight"] = rng.exponential(1.0, len(edges))
    names = np.array([f"p_{i:016x}" for i in range(n_people)])
    groups = {names[i]: f"dept{department[i]:03d}" for i in range(n_people)}
    return pd.DataFrame({"src": names[edges["src"]], "dst": names[edges["dst"]],
                         "weight": edges["weight"].to_numpy()}), groups


def time_native(edges: pd.DataFrame, groups: dict[str, str], reps: int) -> list[float]:
    from jobs.config import GraphRules
    from jobs.graph.local_engine import node_metrics

    rules = GraphRules()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        node_metrics(edges, groups, exact_betweenness_max_nodes=rules.exact_betweenness_max_nodes,
                     betweenness_epsilon=rules.betweenness_epsilon, betweenness_delta=rules.betweenness_delta)
        times.append(time.perf_counter() - start)
    return times


def time_graphframes(spark, edges: pd.DataFrame, groups: dict[str, str], reps: int) -> list[float]:
    from jobs.config import GraphRules
    from jobs.graph.graphframes_engine import weekly_node_metrics_graphframes

    frame = edges.assign(week_start=WEEK, src_group=edges["src"].map(groups), dst_group=edges["dst"].map(groups))
    edges_df = spark.createDataFrame(frame[["week_start", "src", "dst", "weight", "src_group", "dst_group"]]).persist()
    edges_df.count()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        weekly_node_metrics_graphframes(edges_df, harmonic_landmarks=GraphRules().harmonic_landmarks) \
            .write.format("noop").mode("overwrite").save()
        times.append(time.perf_counter() - start)
    edges_df.unpersist()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", default="1000,10000,50000")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--graphframes-reps", type=int, default=1,
                        help="repetitions of the GraphFrames engine (minutes each at 10k)")
    parser.add_argument("--engines", default="native,graphframes", help="which engines to time")
    args = parser.parse_args(argv)
    from jobs.spark import get_spark

    engines = set(args.engines.split(","))
    spark = get_spark("ona-bench-engines")
    results = []
    for n in (int(x) for x in args.people.split(",")):
        edges, groups = organisation_week(n)
        row = {"people": n, "edges": len(edges)}
        if "native" in engines:
            row["native_s"] = time_native(edges, groups, args.reps)
            row["native_median_s"] = statistics.median(row["native_s"])
        if "graphframes" in engines:
            row["graphframes_s"] = time_graphframes(spark, edges, groups, args.graphframes_reps)
            row["graphframes_median_s"] = statistics.median(row["graphframes_s"])
        if len(engines) == 2:
            row["ratio"] = row["graphframes_median_s"] / row["native_median_s"]
        results.append(row)
        shown = "   ".join(f"{e} {row[e + '_median_s']:8.2f} s" for e in ("native", "graphframes") if e in engines)
        print(f"{n:>7} people {len(edges):>9} edges   {shown}"
              + (f"   ratio {row['ratio']:6.1f}x" if "ratio" in row else ""), flush=True)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / f"engines-{stamp}.json"
    out.write_text(json.dumps({"cores": os.cpu_count(), "results": results}, indent=2))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
