"""`make bench`: the performance targets of bench/README.md, measured.

    .venv/bin/python -m bench.run                      # 1k and 10k people, one week
    .venv/bin/python -m bench.run --people 1000,10000 --reps 3
    .venv/bin/python -m bench.run --quick              # 300 people, 1 repetition (smoke test)

For each size: generate the workload (bench/workload.py), dump it as parquet, run the two
baselines on it, write it to bronze Delta with Spark, then time our pipeline's stages
(bench/ours.py) and a cold weekly run in a fresh process (bench/cold.py). Prints a table per
size, the product targets, and a consistency check against the baselines; writes the same as
JSON to bench/results/<timestamp>.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psutil

from bench import baseline_duckdb_igraph, baseline_pandas_networkx, workload
from bench.measure import Measurement, PeakRSS, _busy_seconds, timed, wait_idle
from jobs.weeks import label as week_label
from schemas.gold import EDGES_WEEKLY

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
WEEKS = [date(2026, 3, 2)]
OURS = "ours (Spark)"
BASELINES = {
    "pandas+networkx (a)": baseline_pandas_networkx,
    "duckdb+igraph (b)": baseline_duckdb_igraph,
}
BASELINE_NAMES = {"pandas": "pandas+networkx (a)", "duckdb": "duckdb+igraph (b)"}  # for --baselines
TARGETS = {
    "events_to_gold_vs_a": 1 / 3,
    "events_to_gold_vs_b": 2.0,
    "cold_full_run_s": 60.0,
    "gates_writes_share": 0.30,
    "event_to_edge_per_core": 1.5e6,
    "scaling_exponent": 1.15,  # time ~ people^k from 10k to 50k
    "backfill_in_single_weeks": 6.0,  # a 12-week backfill at 10k
    "peak_mib_at_50k": 6 * 1024,
}


def log(msg: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


IDLE = {"timeout_s": 600.0, "waited_s": 0.0, "retries": 2}
DISTURBED = 0.5  # cores used by other processes during a measurement that make it disturbed


def idle() -> None:
    """Before each measurement: wait (bounded) until other processes leave the CPUs alone."""
    if IDLE["timeout_s"] > 0:
        IDLE["waited_s"] += wait_idle(timeout_s=IDLE["timeout_s"], log=log)


def stable(label: str, attempt):
    """Run attempt() -> (other_load_cores, payload) after waiting for an idle machine; retry a
    disturbed attempt (up to --retries times) and keep the least disturbed one."""
    best = None
    for i in range(1 + IDLE["retries"]):
        idle()
        load, payload = attempt()
        if best is None or load < best[0]:
            best = (load, payload)
        if load < DISTURBED:
            break
        if i < IDLE["retries"]:
            log(f"  {label}: disturbed ({load:.1f} cores used by other processes), measuring again")
    return best[1]


# ------------------------------------------------------------------ baselines

def run_baselines(paths: dict[str, str], reps: int, engines: tuple[str, ...]) -> tuple[dict, dict]:
    measurements: dict[tuple[str, str], Measurement] = {}
    results: dict[str, dict] = {}
    for engine, module in BASELINES.items():
        if engine not in engines:
            continue
        for rep in range(reps):
            log(f"  {engine} rep {rep + 1}/{reps}")

            def attempt():
                state, t_edges, m_edges = timed(lambda: module.events_to_edges(paths))
                out, t_metrics, m_metrics = timed(lambda: module.gold_metrics(state))
                checks = _baseline_checks(out)
                del state, out
                gc.collect()
                return max(m_edges.other_load, m_metrics.other_load), (t_edges, m_edges, t_metrics, m_metrics, checks)

            t_edges, m_edges, t_metrics, m_metrics, checks = stable(f"{engine} rep {rep + 1}", attempt)
            measurements.setdefault(("events->edges", engine), Measurement()).add(
                t_edges, m_edges, other_load=m_edges.other_load)
            measurements.setdefault(("edges->gold metrics", engine), Measurement()).add(
                t_metrics, m_metrics, other_load=m_metrics.other_load)
            total = measurements.setdefault(("events->gold", engine), Measurement())
            total.walls.append(t_edges + t_metrics)
            total.other_load_cores.append(max(m_edges.other_load, m_metrics.other_load))
            # Peak over the two stages, relative to the start of the first one.
            total.peak_delta_mib.append(max(m_edges.delta_mib, (m_metrics.peak_rss - m_edges.start_rss) / 2**20))
            total.peak_abs_mib.append(max(m_edges.peak_mib, m_metrics.peak_mib))
            total.peak_parts_mib.append(max(m_edges, m_metrics, key=lambda m: m.peak_rss).peak_parts)
            total.extra.append({"edges": t_edges, "metrics": t_metrics})
            results[engine] = checks
    return measurements, results


def _baseline_checks(out: dict) -> dict:
    person = out["person"]
    ranked = person.dropna(subset=["pagerank"]).sort_values("pagerank", ascending=False)
    return {
        "edges_count": int(len(out["edges"])),
        "total_weight": float(out["edges"]["weight"].sum()),
        "pagerank": dict(zip(ranked["person"], ranked["pagerank"].astype(float))),
        "summary": out["summary"],
    }


# ------------------------------------------------------------------ ours

def copy_bronze(bronze_lake: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(bronze_lake / "bronze", target / "bronze")
    return target


def run_ours(spark, bronze_lake: Path, work: Path, reps: int, cold_reps: int, warm: bool = True) -> tuple[dict, dict]:
    from bench import ours

    measurements: dict[tuple[str, str], Measurement] = {}
    checks: dict = {}
    ctx = ours.context(spark, bronze_lake)

    for rep in range(reps):
        log(f"  ours events->edges rep {rep + 1}/{reps}")

        def attempt():
            _, wall, mem = timed(lambda: ours.events_to_edges(ctx, WEEKS), tree=True)
            return mem.other_load, (wall, mem)

        wall, mem = stable(f"ours events->edges rep {rep + 1}", attempt)
        measurements.setdefault(("events->edges", OURS), Measurement()).add(wall, mem, other_load=mem.other_load)

    for rep in range(reps):
        log(f"  ours events->gold rep {rep + 1}/{reps}")

        def attempt():
            holder: dict = {}

            def events_to_gold():
                holder["frames"] = ours.gold_in_memory(ctx, WEEKS)
                ours.force_gold(holder["frames"])

            _, wall, mem = timed(events_to_gold, tree=True)
            results = ours.gold_results(holder["frames"])
            ours.unpersist(holder["frames"])
            return mem.other_load, (wall, mem, results)

        wall, mem, results = stable(f"ours events->gold rep {rep + 1}", attempt)
        measurements.setdefault(("events->gold", OURS), Measurement()).add(wall, mem, other_load=mem.other_load)
        checks.update(results)

    for rep in range(reps if warm else 0):
        log(f"  ours full weekly run (in-process, instrumented) rep {rep + 1}/{reps}")

        def attempt():
            lake_root = copy_bronze(bronze_lake, work / "run")
            run_ctx = ours.context(spark, lake_root)
            out, wall, mem = timed(lambda: ours.full_run(run_ctx, WEEKS, instrument=True), tree=True)
            published_rows = ours.gold_tables_exist(lake_root)
            shutil.rmtree(lake_root, ignore_errors=True)
            return mem.other_load, (out, wall, mem, published_rows)

        out, wall, mem, published_rows = stable(f"ours full weekly run rep {rep + 1}", attempt)
        split = {k: v for k, v in out.items() if isinstance(v, float)}
        measurements.setdefault(("full weekly run, warm", OURS), Measurement()).add(
            wall, mem, split, other_load=mem.other_load)
        checks["full_run_outcome"] = out["outcome"]
        checks["silver_counts"] = out["silver_counts"]
        checks["published_rows"] = published_rows

    for rep in range(cold_reps):
        log(f"  ours full weekly run (cold process) rep {rep + 1}/{cold_reps}")
        result = stable(f"ours cold run rep {rep + 1}", lambda: cold_run(bronze_lake, work, "2026-W10"))
        if result.error:
            log(f"  cold run FAILED ({result.error})")
            checks["cold_error"] = result.error
            continue
        checks["cold_outcome"] = {k: result.split[k] for k in ("published", "failed", "silver_events", "published_rows")}
        # The same week as the in-process stages built: the warm run's gold rows, else (--no-warm)
        # the edge count of events->gold.
        built, expected = ((result.split["published_rows"], checks["published_rows"]) if "published_rows" in checks
                           else (result.split["published_rows"][EDGES_WEEKLY.path], checks.get("edges_count")))
        if built != expected:
            checks["cold_error"] = f"the cold run published {built}, the in-process run {expected}: not the same week"
            log(f"  cold run MISMATCH ({checks['cold_error']})")
            continue
        measurements.setdefault(("full weekly run, cold process", OURS), Measurement()).add(
            result.wall, result.mem, {k: v for k, v in result.split.items() if isinstance(v, float)},
            other_load=result.other_load)
    return measurements, checks


@dataclass
class ColdRun:
    wall: float | None = None
    mem: PeakRSS | None = None
    split: dict = field(default_factory=dict)
    error: str | None = None
    other_load: float = 0.0


def cold_run(bronze_lake: Path, work: Path, weeks: str) -> tuple[float, ColdRun]:
    """`python -m bench.cold` on a copy of the bronze lake: a new process builds `weeks`
    (`2026-W10` or a range) and exits; the wall time and peak RSS of its whole process tree."""
    lake_root = copy_bronze(bronze_lake, work / "cold")
    out_json = work / "cold.json"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    busy0 = _busy_seconds()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.cold", str(lake_root), weeks, str(out_json)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    with PeakRSS(pid=proc.pid, tree=True, track_cpu=True) as mem:
        _, err = proc.communicate()
    wall = time.perf_counter() - t0
    other_load = max(0.0, _busy_seconds() - busy0 - sum(mem.cpu_by_pid.values())) / wall
    mem.start_rss = 0  # a fresh process: the peak is the whole footprint
    shutil.rmtree(lake_root, ignore_errors=True)
    if proc.returncode != 0:
        return 0.0, ColdRun(error=f"exit {proc.returncode}: {err[-3000:]}")
    split = json.loads(out_json.read_text())
    if not split["silver_events"]:
        # Timing an empty build is timing nothing (bronze rows under another key, say).
        return 0.0, ColdRun(error="the cold run built no event: not measured")
    return other_load, ColdRun(wall, mem, split, None, other_load)


# ------------------------------------------------------------------ report

STAGE_ORDER = ["events->edges", "edges->gold metrics", "events->gold",
               "full weekly run, warm", "full weekly run, cold process"]
ENGINE_ORDER = [OURS, *BASELINES]


def rows_for(size: dict) -> list[dict]:
    measurements = size["measurements"]
    n_events = size["events"]
    out = []
    for stage in STAGE_ORDER:
        ours_wall = measurements.get(f"{stage}|{OURS}", {}).get("wall_s")
        for engine in ENGINE_ORDER:
            m = measurements.get(f"{stage}|{engine}")
            if not m:
                continue
            out.append({
                "stage": stage, "engine": engine, "wall_s": m["wall_s"], "reps": m["reps"],
                "events_per_s": n_events / m["wall_s"],
                "peak_delta_mib": m["peak_delta_mib"], "peak_abs_mib": m["peak_abs_mib"],
                "peak_parts_mib": m.get("peak_parts_mib", {}),
                "ratio_vs_ours": (m["wall_s"] / ours_wall) if ours_wall else None,
                "breakdown_s": m["breakdown_s"],
                "other_load_cores_max": m.get("other_load_cores_max"),
            })
    return out


def format_size(size: dict, cores: int) -> str:
    c = size["counts"]
    lines = [
        "",
        f"=== {size['people']:,} people, {size['profile']} profile, one week (2026-W10): {size['events']:,} events "
        f"(email {c['email']:,}, meetings {c['calendar']:,}, chat {c['chat']:,}); "
        f"{size['edges']:,} weighted edges; median of {size['reps']} rep(s), cold run x{size['cold_reps']} ===",
        f"{'stage':<31}{'engine':<21}{'wall s':>9}{'events/s':>12}{'peak Δ MiB':>12}{'peak MiB':>10}{'engine/ours':>13}{'other load':>12}",
    ]
    last_stage = None
    for r in size["rows"]:
        stage = r["stage"] if r["stage"] != last_stage else ""
        last_stage = r["stage"]
        ratio = f"{r['ratio_vs_ours']:.2f}x" if r["ratio_vs_ours"] else "-"
        lines.append(
            f"{stage:<31}{r['engine']:<21}{r['wall_s']:>9.2f}{r['events_per_s']:>12,.0f}"
            f"{r['peak_delta_mib']:>12,.0f}{r['peak_abs_mib']:>10,.0f}{ratio:>13}{_load(r['other_load_cores_max']):>12}"
        )
        b = r["breakdown_s"]
        if r["stage"] == "full weekly run, warm" and b:
            lines.append(
                f"{'':<31}  split: silver (compute+writes) {b.get('silver', 0):.2f}, gold compute {b.get('gold_compute', 0):.2f}, "
                f"gates {b.get('gates', 0):.2f}, gold writes+validation log {b.get('gold_writes', 0):.2f}, other {b.get('other', 0):.2f}"
            )
        if r["stage"] == "full weekly run, cold process" and b:
            lines.append(
                f"{'':<31}  split: python start {b.get('python_start_to_main', 0):.2f}, import pipeline {b.get('import_pipeline', 0):.2f}, "
                f"spark start {b.get('spark_start', 0):.2f}, build_silver {b.get('silver', 0):.2f}, gate_and_publish {b.get('gate_and_publish', 0):.2f} "
                f"(rest: spark stop, process exit)"
            )
        if r["stage"] == "full weekly run, cold process" and r["peak_parts_mib"]:
            parts = ", ".join(f"{role} {mib:,.0f}" for role, mib in
                              sorted(r["peak_parts_mib"].items(), key=lambda kv: -kv[1]))
            lines.append(f"{'':<31}  memory at the peak (MiB): {parts}")
    e2e = next((r for r in size["rows"] if r["stage"] == "events->edges" and r["engine"] == OURS), None)
    if e2e:
        lines.append(f"ours event->edge aggregation: {e2e['events_per_s'] / cores:,.0f} events/s/core ({cores} cores)")
    lines.append("peak Δ = peak RSS during the stage minus RSS at its start; ours = process tree (Python driver + JVM + "
                 "Python workers), baselines = this process; cold = whole child process tree.")
    lines.append("other load = CPU used by other processes on the machine during the stage (max over reps; "
                 "'!' = 0.5 core or more: that figure is disturbed).")
    lines.extend(format_targets(size))
    lines.extend(format_consistency(size))
    return "\n".join(lines)


def _load(cores: float | None) -> str:
    if cores is None:
        return "-"
    return f"{cores:.1f} cores" + ("!" if cores >= 0.5 else "")


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def targets(size: dict, cores: int) -> dict:
    m = size["measurements"]
    get = lambda stage, engine: m.get(f"{stage}|{engine}", {}).get("wall_s")  # noqa: E731
    ours_gold = get("events->gold", OURS)
    a = get("events->gold", "pandas+networkx (a)")
    b = get("events->gold", "duckdb+igraph (b)")
    cold = get("full weekly run, cold process", OURS)
    warm = m.get(f"full weekly run, warm|{OURS}", {})
    split = warm.get("breakdown_s", {})
    total_warm = warm.get("wall_s")
    gates_writes = (split.get("gates", 0) + split.get("gold_writes", 0)) if split else None
    e2e = get("events->edges", OURS)
    out = {
        "events_to_gold_ours_over_a": ours_gold / a if ours_gold and a else None,
        "events_to_gold_ours_over_b": ours_gold / b if ours_gold and b else None,
        "cold_full_run_s": cold,
        "gates_writes_share_warm": gates_writes / total_warm if gates_writes is not None and total_warm else None,
        "beyond_in_memory_compute_share_warm": (1 - ours_gold / total_warm) if ours_gold and total_warm else None,
        "event_to_edge_events_per_s_per_core": size["events"] / e2e / cores if e2e else None,
        # The memory target is judged on the cold run: the pipeline alone in its own process tree.
        # The in-process stages also count the benchmark's driver (generator, baselines' leftovers).
        "peak_mib_ours": m.get(f"full weekly run, cold process|{OURS}", {}).get("peak_abs_mib"),
        "peak_mib_in_process": max((m[key]["peak_abs_mib"] for key in m
                                    if key.endswith(f"|{OURS}") and "cold" not in key), default=None),
    }
    out["pass"] = {
        "events_to_gold_vs_a": None if out["events_to_gold_ours_over_a"] is None else out["events_to_gold_ours_over_a"] <= TARGETS["events_to_gold_vs_a"],
        "events_to_gold_vs_b": None if out["events_to_gold_ours_over_b"] is None else out["events_to_gold_ours_over_b"] <= TARGETS["events_to_gold_vs_b"],
        "cold_full_run": None if cold is None else cold < TARGETS["cold_full_run_s"],
        "gates_writes_share": None if out["gates_writes_share_warm"] is None else out["gates_writes_share_warm"] < TARGETS["gates_writes_share"],
        "event_to_edge": None if e2e is None else out["event_to_edge_events_per_s_per_core"] >= TARGETS["event_to_edge_per_core"],
        "peak_memory": None if out["peak_mib_ours"] is None else out["peak_mib_ours"] <= TARGETS["peak_mib_at_50k"],
    }
    return out


def format_targets(size: dict) -> list[str]:
    t, p = size["targets"], size["targets"]["pass"]
    note = "" if size["people"] == 10_000 and size["profile"] == "standard" else \
        "  (the targets are stated for 10k people, standard profile; shown for reference)"
    fmt = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
    return [
        f"Performance targets (bench/README.md){note}:",
        f"  events->gold, Spark up: ours/(a) = {fmt(t['events_to_gold_ours_over_a'], '.2f')}   target <= 0.33   {_verdict(p['events_to_gold_vs_a'])}",
        f"  events->gold, Spark up: ours/(b) = {fmt(t['events_to_gold_ours_over_b'], '.2f')}   target <= 2.00   {_verdict(p['events_to_gold_vs_b'])}",
        f"  full weekly run, cold: {fmt(t['cold_full_run_s'], '.1f')} s   target < 60 s   {_verdict(p['cold_full_run'])}",
        f"  gates + gold writes share of the weekly run (warm, instrumented): {fmt(t['gates_writes_share_warm'] and 100 * t['gates_writes_share_warm'], '.0f')}%"
        f"   target < 30%   {_verdict(p['gates_writes_share'])}"
        f"   [everything beyond in-memory events->gold: {fmt(t['beyond_in_memory_compute_share_warm'] and 100 * t['beyond_in_memory_compute_share_warm'], '.0f')}%]",
        f"  event->edge aggregation: {fmt(t['event_to_edge_events_per_s_per_core'], ',.0f')} events/s/core   target >= 1,500,000   {_verdict(p['event_to_edge'])}",
        f"  peak memory, cold weekly run's process tree: {fmt(t['peak_mib_ours'], ',.0f')} MiB   target <= 6,144 MiB at 50k   "
        f"{_verdict(p['peak_memory']) if size['people'] == 50_000 else '(reference)'}"
        f"   [in-process stages with the benchmark's driver: {fmt(t['peak_mib_in_process'], ',.0f')} MiB]",
    ]


def consistency(ours_checks: dict, baseline_checks: dict) -> dict:
    out = {}
    nodes = ours_checks.get("nodes")
    ours_pr = dict(zip(nodes["person"], nodes["pagerank"].astype(float))) if nodes is not None else {}
    ours_top = sorted(ours_pr, key=ours_pr.get, reverse=True)[:10]
    s = ours_checks.get("summary", {})
    for engine, b in baseline_checks.items():
        top = list(b["pagerank"])[:10]
        common = set(ours_pr) & set(b["pagerank"])
        out[engine] = {
            "edges_ours": ours_checks.get("edges_count"), "edges_baseline": b["edges_count"],
            "edges_abs_diff": abs((ours_checks.get("edges_count") or 0) - b["edges_count"]),
            "total_weight_ours": ours_checks.get("total_weight"), "total_weight_baseline": b["total_weight"],
            "total_weight_abs_diff": abs((ours_checks.get("total_weight") or 0.0) - b["total_weight"]),
            "pagerank_top10_overlap": len(set(ours_top) & set(top)),
            "pagerank_max_abs_diff": max((abs(ours_pr[p] - b["pagerank"][p]) for p in common), default=None),
            "nodes": (int(s.get("nodes", -1)), b["summary"]["nodes"]),
            "components": (int(s.get("components", -1)), b["summary"]["components"]),
            "communities": (int(s.get("communities", -1)), b["summary"]["communities"]),
            "modularity": (float(s.get("modularity", float("nan"))), b["summary"]["modularity"]),
            "average_clustering": (float(s.get("average_clustering", float("nan"))), b["summary"]["average_clustering"]),
            "reciprocity": (float(s.get("reciprocity", float("nan"))), b["summary"]["reciprocity"]),
            # Suppressed group cells are not compared: the baselines hide a department cell when
            # either department has fewer than k active people; the pipeline counts k distinct
            # people behind each side of each cell, adds complementary suppression and a team
            # matrix (jobs/transforms/gold.py, group_metrics_weekly). The counts never agree.
        }
    return out


def format_consistency(size: dict) -> list[str]:
    lines = ["Consistency, ours vs each baseline (same events, same week):"]
    for engine, c in size["consistency"].items():
        lines.append(
            f"  {engine}: edges {c['edges_ours']:,} vs {c['edges_baseline']:,} (abs diff {c['edges_abs_diff']}); "
            f"total weight {c['total_weight_ours']:,.4f} vs {c['total_weight_baseline']:,.4f} (abs diff {c['total_weight_abs_diff']:.2e}); "
            f"PageRank top-10 overlap {c['pagerank_top10_overlap']}/10 (max abs diff {c['pagerank_max_abs_diff']:.2e})"
        )
        lines.append(
            "    " + "; ".join(
                f"{k} {_fmt_pair(c[k])}" for k in ("nodes", "components", "communities", "modularity",
                                                  "average_clustering", "reciprocity")
            )
        )
    o = size.get("pipeline_outcome", {})
    if o.get("full_run_outcome"):  # none with --no-warm
        run = o["full_run_outcome"]
        lines.append(
            f"Pipeline weekly run: published {run.get('published')}, {run.get('checks')} checks, "
            f"failed (fail-level) {run.get('failed') or 'none'}; warnings {len(run.get('warnings') or [])}"
            + (f": {run.get('warnings')}" if run.get("warnings") else "")
        )
        if o.get("published_rows"):
            lines.append(f"  published gold rows: {o['published_rows']}")
    if o.get("cold_outcome"):
        c = o["cold_outcome"]
        lines.append(f"Cold weekly run: published {c['published']}, failed {c['failed'] or 'none'}, "
                     f"silver events {c.get('silver_events', 0):,}, gold rows {c.get('published_rows')}")
    if o.get("cold_error"):
        lines.append(f"Cold weekly run ERROR: {o['cold_error'][-500:]}")
    return lines


def _fmt_pair(pair) -> str:
    a, b = pair
    if isinstance(a, float):
        return f"{a:.4f}/{b:.4f}"
    return f"{a}/{b}"


# ------------------------------------------------------------------ main

def bench_size(n: int, reps: int, cold_reps: int, root: Path, cores: int, seed: int,
               profile: str = "standard", engines: tuple[str, ...] = tuple(BASELINES), warm: bool = True) -> dict:
    log(f"size {n:,} people ({profile} profile): generating the workload")
    t0 = time.perf_counter()
    wl = workload.generate(n, seed=seed, profile=profile)
    t_gen = time.perf_counter() - t0
    work = root / f"people-{n}"
    t0 = time.perf_counter()
    paths = workload.write_parquet(wl, work / "parquet")
    t_parquet = time.perf_counter() - t0
    counts = wl.counts()
    log(f"  {counts['events']:,} events generated in {t_gen:.1f} s; parquet in {t_parquet:.1f} s")

    measurements, baseline_checks = run_baselines(paths, reps, engines)

    spark = bench_spark()
    bronze_lake = work / "lake"
    t0 = time.perf_counter()
    workload.write_bronze(spark, wl, bronze_lake, parquet_paths=paths)
    t_bronze = time.perf_counter() - t0
    log(f"  bronze Delta written in {t_bronze:.1f} s")
    del wl
    gc.collect()

    ours_measurements, ours_checks = run_ours(spark, bronze_lake, work, reps, cold_reps, warm)
    measurements.update(ours_measurements)

    size = {
        "people": n,
        "profile": profile,
        "events": counts["events"],
        "counts": counts,
        "edges": ours_checks.get("edges_count") or next(iter(baseline_checks.values()), {}).get("edges_count"),
        "reps": reps,
        "cold_reps": cold_reps,
        "setup_s": {"generate": round(t_gen, 2), "parquet": round(t_parquet, 2), "bronze_delta": round(t_bronze, 2)},
        "measurements": {f"{stage}|{engine}": m.to_json() for (stage, engine), m in measurements.items()},
    }
    size["rows"] = rows_for(size)
    size["targets"] = targets(size, cores)
    size["consistency"] = consistency(ours_checks, baseline_checks)
    size["pipeline_outcome"] = {k: ours_checks[k] for k in ("full_run_outcome", "silver_counts", "published_rows",
                                                             "cold_outcome", "cold_error") if k in ours_checks}
    shutil.rmtree(work, ignore_errors=True)
    return size


def bench_spark():
    from jobs.spark import get_spark

    from bench.ours import apply_conf

    spark = get_spark("ona-bench")
    apply_conf(spark)
    return spark


def bench_backfill(n: int, n_weeks: int, cold_reps: int, root: Path, seed: int, profile: str) -> dict:
    """A backfill: `n_weeks` weeks of one organisation in bronze, built by one cold run, against
    a cold run of its first week alone on the same lake (docs/performance.md, "The targets": a 12-week backfill
    costs at most 6 single weeks)."""
    work = root / f"backfill-{n}"
    bronze_lake = work / "lake"
    spark = bench_spark()
    counts: dict[str, int] = {}
    t0 = time.perf_counter()
    for week in range(n_weeks):
        log(f"backfill {n:,} people: generating and writing week {week + 1}/{n_weeks}")
        wl = workload.generate(n, seed=seed, profile=profile, week=week)
        paths = workload.write_parquet(wl, work / "parquet")
        workload.write_bronze(spark, wl, bronze_lake, parquet_paths=paths, append=week > 0)
        for name, value in wl.counts().items():
            if name != "people" or week == 0:
                counts[name] = counts.get(name, 0) + value
        del wl
        gc.collect()
    setup_s = time.perf_counter() - t0
    first = WEEKS[0]
    last = first + timedelta(weeks=n_weeks - 1)
    runs = {}
    for name, weeks in (("single week", week_label(first)), (f"{n_weeks}-week backfill", f"{week_label(first)}..{week_label(last)}")):
        walls, peaks, loads, outcome = [], [], [], None
        for rep in range(cold_reps):
            log(f"  backfill {n:,} people: {name} ({weeks}), cold process, rep {rep + 1}/{cold_reps}")
            result = stable(f"{name} rep {rep + 1}", lambda weeks=weeks: cold_run(bronze_lake, work, weeks))
            if result.error:
                log(f"  {name} FAILED ({result.error})")
                outcome = {"error": result.error}
                break
            walls.append(result.wall)
            peaks.append(result.mem.peak_mib)
            loads.append(result.other_load)
            outcome = {k: result.split[k] for k in ("published", "failed", "silver_events", "published_rows")} | {
                "split": {k: v for k, v in result.split.items() if isinstance(v, float)}}
        runs[name] = {"weeks": weeks, "wall_s": statistics.median(walls) if walls else None,
                      "walls_s": walls, "peak_mib": max(peaks, default=None),
                      "other_load_cores_max": max(loads, default=None), "outcome": outcome}
    single, backfill = runs["single week"], runs[f"{n_weeks}-week backfill"]
    ratio = backfill["wall_s"] / single["wall_s"] if backfill["wall_s"] and single["wall_s"] else None
    shutil.rmtree(work, ignore_errors=True)
    return {"people": n, "profile": profile, "weeks": n_weeks, "reps": cold_reps, "counts": counts, "setup_s": round(setup_s, 1),
            "runs": runs, "backfill_in_single_weeks": ratio,
            "pass": None if ratio is None else ratio <= TARGETS["backfill_in_single_weeks"] * n_weeks / 12}


def format_backfill(b: dict) -> str:
    c = b["counts"]
    lines = [
        "",
        f"=== backfill: {b['people']:,} people, {b['profile']} profile, {b['weeks']} weeks in bronze: "
        f"{c['events']:,} events (email {c['email']:,}, meetings {c['calendar']:,}, chat {c['chat']:,}); "
        f"cold processes, median of {b['reps']} ===",
        f"{'run':<24}{'weeks':<24}{'wall s':>9}{'peak MiB':>10}{'other load':>12}  outcome",
    ]
    for name, r in b["runs"].items():
        o = r["outcome"] or {}
        outcome = o.get("error", "")[-200:] or (
            f"published {len(o.get('published', []))} weeks, failed {o.get('failed') or 'none'}; "
            f"silver events {o.get('silver_events', 0):,}, edges {o.get('published_rows', {}).get(EDGES_WEEKLY.path, 0):,}")
        wall = "-" if r["wall_s"] is None else f"{r['wall_s']:.1f}"
        peak = "-" if r["peak_mib"] is None else f"{r['peak_mib']:,.0f}"
        lines.append(f"{name:<24}{r['weeks']:<24}{wall:>9}{peak:>10}{_load(r['other_load_cores_max']):>12}  {outcome}")
    ratio = b["backfill_in_single_weeks"]
    allowed = TARGETS["backfill_in_single_weeks"] * b["weeks"] / 12
    lines.append(f"Target: the backfill costs {'-' if ratio is None else format(ratio, '.2f')} single weeks   "
                 f"target <= {allowed:g} (6 per 12 weeks)   {_verdict(b['pass'])}")
    return "\n".join(lines)


def scaling(sizes: list[dict]) -> list[dict]:
    """Time ~ people^k between consecutive sizes (one run, one profile): k = ln(t2/t1) / ln(n2/n1)."""
    out = []
    by_people = sorted(sizes, key=lambda s: s["people"])
    for small, big in zip(by_people, by_people[1:]):
        for stage in STAGE_ORDER:
            t1 = small["measurements"].get(f"{stage}|{OURS}", {}).get("wall_s")
            t2 = big["measurements"].get(f"{stage}|{OURS}", {}).get("wall_s")
            if t1 and t2:
                k = math.log(t2 / t1) / math.log(big["people"] / small["people"])
                out.append({"profile": big["profile"], "from": small["people"], "to": big["people"], "stage": stage,
                            "wall_s": (t1, t2), "exponent": k,
                            "pass": k <= TARGETS["scaling_exponent"] if (small["people"], big["people"]) == (10_000, 50_000) else None})
    return out


def format_scaling(rows: list[dict]) -> str:
    lines = ["", "=== scaling: time ~ people^k (target k <= 1.15 from 10k to 50k) ==="]
    for r in rows:
        verdict = _verdict(r["pass"]) if r["pass"] is not None else "(reference)"
        lines.append(f"{r['profile']:<9}{r['from']:>7,} -> {r['to']:<7,} {r['stage']:<31} "
                     f"{r['wall_s'][0]:>8.1f} s -> {r['wall_s'][1]:>8.1f} s   k = {r['exponent']:.2f}   {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", default="1000,10000", help="comma-separated sizes (default 1000,10000)")
    parser.add_argument("--quick", action="store_true", help="300 people, one repetition: a smoke test")
    parser.add_argument("--reps", type=int, default=None,
                        help="repetitions per measurement (default: 3 up to 2,000 people, else 1)")
    parser.add_argument("--cold-reps", type=int, default=None, help="cold-process runs per size (default: as --reps)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-process weekly run")
    parser.add_argument("--no-warm", action="store_true",
                        help="skip the in-process (instrumented) weekly run: no gates/writes split, a shorter run at 50k")
    parser.add_argument("--seed", type=int, default=workload.Spec.seed)
    parser.add_argument("--profile", choices=sorted(workload.PROFILES), default="standard",
                        help="standard: the workload of docs/performance.md, \"The targets\"; heavy: ~120 emails and 150 chat messages "
                             "a day per person, more external and bulk mail")
    parser.add_argument("--baselines", default="pandas,duckdb",
                        help="baselines to run beside ours: pandas, duckdb, both (default) or none")
    parser.add_argument("--backfill", type=int, default=0, metavar="WEEKS",
                        help="also time a backfill of this many weeks (12 in docs/performance.md's targets) at each size against "
                             "one week, both as cold processes on the same bronze")
    parser.add_argument("--no-sizes", action="store_true", help="only the backfill (with --backfill)")
    parser.add_argument("--wait-idle", type=float, default=600.0, metavar="SECONDS",
                        help="before each measurement wait up to this long for other processes to leave the "
                             "CPUs idle (the machine may be shared); 0 disables (default 600)")
    parser.add_argument("--retries", type=int, default=2,
                        help="re-measure a disturbed measurement (other processes used >= 0.5 core) up to this "
                             "many times, keeping the least disturbed (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary lake and parquet files")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="experiment: set a Spark SQL conf on our sessions (warm and cold), e.g. "
                             "spark.databricks.delta.snapshotPartitions=2; default: the pipeline as is")
    args = parser.parse_args(argv)

    engines = () if args.baselines == "none" else tuple(BASELINE_NAMES[name] for name in args.baselines.split(",") if name)
    IDLE["timeout_s"] = args.wait_idle
    IDLE["retries"] = args.retries
    if args.conf:
        os.environ["ONA_BENCH_SPARK_CONF"] = "\n".join(args.conf)  # read by bench.ours.apply_conf
    sizes = [300] if args.quick else [int(s.replace("_", "").replace("k", "000")) for s in args.people.split(",") if s]
    cores = psutil.cpu_count(logical=True) or 2
    root = Path(tempfile.mkdtemp(prefix="ona-bench-"))
    log(f"work folder {root}; sizes {sizes}; {cores} cores; {psutil.virtual_memory().total / 2**30:.0f} GiB")
    started = datetime.now(timezone.utc)
    report = {
        "started_at": started.isoformat(),
        "argv": sys.argv[1:] if argv is None else argv,
        "machine": {"cores": cores, "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
                    "python": platform.python_version(), "platform": platform.platform()},
        "targets": TARGETS,
        "spark_conf_overrides": args.conf,
        "profile": args.profile,
        "sizes": [],
        "backfills": [],
    }
    try:
        for n in sizes:
            reps = args.reps or (1 if args.quick else (3 if n <= 2000 else 1))
            cold_reps = 0 if args.no_cold else (args.cold_reps if args.cold_reps is not None else reps)
            if not args.no_sizes:
                size = bench_size(n, reps, cold_reps, root, cores, args.seed, args.profile, engines, not args.no_warm)
                report["sizes"].append(size)
                print(format_size(size, cores), flush=True)
            if args.backfill:
                backfill = bench_backfill(n, args.backfill, max(cold_reps, 1), root, args.seed, args.profile)
                report["backfills"].append(backfill)
                print(format_backfill(backfill), flush=True)
        report["scaling"] = scaling(report["sizes"])
        if report["scaling"]:
            print(format_scaling(report["scaling"]), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    report["finished_at"] = datetime.now(timezone.utc).isoformat()
    report["waited_for_idle_s"] = round(IDLE["waited_s"], 1)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(report, indent=2, default=_json_default))
    print(f"\nresults: {out.relative_to(PROJECT_ROOT)}")
    return 0


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
