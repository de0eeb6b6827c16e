"""Node metrics for weeks too large for one executor: GraphFrames and DataFrame iterations.

Every week handed in is computed in ONE pass: the engine builds one GraphFrame whose vertices
are (week, person) pairs, so the weeks are disjoint subgraphs of a single graph and every
algorithm runs once, as one Spark job graph, for all of them. Whatever must be normalised per
week (PageRank's teleport 1/n and its sum, the eigenvector's norm and shift, harmonic's n - 1,
modularity's total weight) is joined in from per-week aggregates.

Vertex ids are longs that combine the week and the person: `unix_date(week_start) << 40 | i`,
i the person's rank (0..n-1, by pseudonym) within the week. GraphFrames' label propagation
needs numeric ids, and longs join faster than strings; `id >> 40` gives the week back.

Column meanings are those of jobs/graph/contract.py (networkx references there); how each one
is computed here:

- pagerank: weighted power iteration on the out-weight normalised edges, teleport
  (1 - d) / n_week, each week's dangling mass spread over that week, until every week's L1
  change is below `pagerank_tol` or `max_iterations` (see `_pagerank_eigenvector`).
- eigenvector: power iteration with (A + c I) on the undirected weighted view U (same leading
  eigenvector as A; the shift stops the oscillation of bipartite graphs) restricted to each
  week's largest component (label 0), L2-normalised per week. It shares the message pass with
  PageRank and stops with it (its per-week L1 change below `pagerank_tol` too).
  Both are aggregateMessages-style message passing written as one DataFrame join and one
  aggregation per iteration, several iterations per Spark job: GraphFrames' aggregateMessages
  also joins the destination's attributes and materialises every call (one job per
  iteration), which made each iteration several times slower here.
- harmonic: GraphFrames `shortestPaths` on U from landmarks; exact when `harmonic_landmarks`
  is None (every vertex is a landmark: memory grows with the sum of n_week^2, so keep it for
  weeks of a few thousand people), sampled otherwise (see `weekly_node_metrics_graphframes`).
- kcore: GraphFrames `k_core` on U, each pair listed once.
- clustering: GraphFrames `triangleCount` on U / (deg (deg - 1) / 2), 0 when deg < 2.
- constraint, effective_size: Burt's measures from DataFrame joins over two-step
  neighbourhoods of U (cost: the sum over people of degree^2 rows).
- component, component_size: GraphFrames `connectedComponents`, relabelled per week by size
  (largest first), ties by the smallest member pseudonym.
- community: GraphFrames `labelPropagation` (GraphX, unweighted, synchronous) on U, relabelled
  like components; week_modularity is the weighted modularity of that partition on U.
  Label propagation has no seed: ties between equally frequent labels go to GraphX's internal
  order, so a rerun on a different cluster layout may return a different partition (stable
  ids across weeks are matched later, jobs/transforms/change.py).
- brokerage roles: motif search `(a)-[]->(b); (b)-[]->(c); !(a)-[]->(c)`, a != c, with the
  groups of a, b and c as vertex attributes; null when the edges carry no group columns.
- betweenness, betweenness_error_bound: null (no distributed betweenness in this engine).

Intermediate results are persisted and released before returning; the result itself is
checkpointed (to the session's checkpoint dir), so the caller gets a DataFrame that does not
recompute the iterations.
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import contextmanager
from datetime import date, timedelta

from graphframes import GraphFrame
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, StructField, StructType

from jobs.graph.contract import BROKERAGE_ROLES, NODE_METRICS_SCHEMA, UNASSIGNED_GROUP
from jobs.frames import empty_frame, frame_from_rows

log = logging.getLogger("ona.graph.graphframes")

DAMPING = 0.85
# Synchronous label propagation supersteps (GraphX runs exactly this many).
LABEL_PROPAGATION_STEPS = 10
# Pregel-based GraphFrames algorithms checkpoint every this many supersteps.
CHECKPOINT_INTERVAL = 2
# The power iterations run this many steps as one Spark job, then checkpoint the state (cutting
# the lineage) and test convergence.
CHECK_EVERY = 10
# Local checkpoints (executor storage) are several times faster than the reliable checkpoint
# dir, but a lost executor fails the job instead of recomputing: fine for a job Airflow retries.
LOCAL_CHECKPOINTS = True
STORAGE = StorageLevel.MEMORY_AND_DISK
ID_WEEK_SHIFT = 40  # vertex id = unix_date(week) << 40 | index of the person in the week

OUTPUT_COLUMNS = [part.split()[0] for part in NODE_METRICS_SCHEMA.split(", ")]


def weekly_node_metrics_graphframes(
    edges_df: DataFrame,
    *,
    harmonic_landmarks: int | None = None,
    pagerank_tol: float = 1e-9,
    max_iterations: int = 100,
    seed: int = 0,
) -> DataFrame:
    """Contract node metrics (jobs/graph/contract.NODE_METRICS_SCHEMA) for every week in
    edges_df (week_start, src, dst, weight, optionally src_group and dst_group), all weeks in
    one distributed pass.

    Edges are summed per (week, src, dst); self-ties and non-positive weights are dropped.
    A person whose group is null counts as contract.UNASSIGNED_GROUP in the brokerage census.

    harmonic_landmarks: None computes harmonic closeness exactly (every vertex a landmark).
    With k, each week draws a uniform sample S of min(k, n) landmarks (seeded by `seed`: the
    first k people by xxhash64(seed, person)) and estimates

        harmonic(u) = mean over l in S, l != u, of 1 / d(u, l)     (1 / inf = 0)

    S minus u is a uniform sample (without replacement) of the other n - 1 people whether or
    not u is in S, so this is an unbiased estimate of sum_{v != u} 1 / d(u, v) / (n - 1). Each
    term lies in [0, 1], so its standard error is at most about 0.5 sqrt((1 - k / n) / k)
    (<= 0.0625 for k = 64), and far less in practice since the terms vary little (most
    distances are 2 or 3 hops). When k >= n the value is exact.

    pagerank_tol: per-week L1 change of both the PageRank and the eigenvector iterates below
    which the iteration stops (when every week is below it), or after max_iterations.
    """
    if harmonic_landmarks is not None and harmonic_landmarks < 2:
        raise ValueError("harmonic_landmarks must be None (exact) or at least 2")
    if max_iterations < 1:
        raise ValueError("max_iterations must be at least 1")
    spark = edges_df.sparkSession
    has_groups = {"src_group", "dst_group"} <= set(edges_df.columns)
    persisted: list[DataFrame] = []

    def keep(df: DataFrame) -> DataFrame:
        persisted.append(df)
        return df

    vertices, directed, pairs = _graph_tables(edges_df, has_groups)
    if not vertices.take(1):
        return empty_frame(spark, NODE_METRICS_SCHEMA)
    # Both directions of every undirected pair: U as GraphFrames sees an undirected graph.
    undirected = _materialise(
        pairs.unionByName(pairs.select(F.col("dst").alias("src"), F.col("src").alias("dst"), "weight")))
    strengths = _materialise(
        undirected.groupBy(F.col("src").alias("id"))
        .agg(F.count("*").alias("degree"), F.sum("weight").alias("strength"), F.max("weight").alias("max_weight")))
    weeks = _materialise(vertices.groupBy("wk").agg(F.count("*").alias("n")))
    plain = vertices.select("id")

    with _timed("components"):
        components = _components(vertices, pairs, keep)
    with _timed("pagerank + eigenvector"):
        walks = _pagerank_eigenvector(vertices, directed, undirected, strengths, components, weeks,
                                      pagerank_tol, max_iterations)
    with _timed("harmonic"):
        harmonic = _materialise(_harmonic(vertices, undirected, harmonic_landmarks, seed, keep))
    with _timed("kcore"):
        kcore = keep(GraphFrame(plain, pairs.select("src", "dst")).k_core(
            CHECKPOINT_INTERVAL, LOCAL_CHECKPOINTS, STORAGE)).select("id", F.col("kcore").cast("long").alias("kcore"))
    with _timed("clustering"):
        triangles = keep(GraphFrame(plain, pairs.select("src", "dst")).triangleCount(storage_level=STORAGE))
        clustering = _materialise(triangles.select("id", "count").join(strengths.select("id", "degree"), "id").select(
            "id",
            F.when(F.col("degree") < 2, F.lit(0.0))
            .otherwise(F.col("count") / (F.col("degree") * (F.col("degree") - 1) / 2.0))
            .alias("clustering"),
        ))
    with _timed("constraint + effective size"):
        burt = _materialise(_burt(undirected, strengths))
    with _timed("communities + modularity"):
        communities, modularity = _communities(vertices, pairs, strengths, keep)
    with _timed("brokerage"):
        brokerage = _materialise(_brokerage(vertices, directed)) if has_groups else None

    result = (
        vertices.select("id", "wk", "week_start", "person")
        .join(walks, "id", "left")
        .join(harmonic, "id", "left")
        .join(kcore, "id", "left")
        .join(clustering, "id", "left")
        .join(burt, "id", "left")
        .join(components.select("id", "component", "component_size"), "id", "left")
        .join(communities, "id", "left")
        .join(F.broadcast(modularity), "wk", "left")
    )
    if brokerage is not None:
        result = result.join(brokerage, "id", "left")
    result = result.select(
        "week_start",
        "person",
        "pagerank",
        "eigenvector",
        F.coalesce("harmonic", F.lit(0.0)).alias("harmonic"),
        "kcore",
        F.lit(None).cast("double").alias("betweenness"),
        F.coalesce("clustering", F.lit(0.0)).alias("clustering"),
        "constraint",
        "effective_size",
        "component",
        "component_size",
        "community",
        *[
            (F.coalesce(F.col(role), F.lit(0)) if brokerage is not None else F.lit(None)).cast("long").alias(role)
            for role in BROKERAGE_ROLES
        ],
        "week_modularity",
        F.lit(None).cast("double").alias("betweenness_error_bound"),
    ).select(*OUTPUT_COLUMNS)
    with _timed("assembly"):
        result = result.checkpoint(eager=True)
    for df in persisted:
        df.unpersist()
    return result


@contextmanager
def _timed(step: str):
    started = time.perf_counter()
    yield
    log.debug("%s: %.1f s", step, time.perf_counter() - started)


# --- graph tables ---------------------------------------------------------------------------


def _graph_tables(edges_df: DataFrame, has_groups: bool) -> tuple[DataFrame, DataFrame, DataFrame]:
    """(vertices, directed edges G, undirected pairs U once with src < dst), ids as longs."""
    group_cols = ["src_group", "dst_group"] if has_groups else []
    raw = edges_df.select("week_start", "src", "dst", F.col("weight").cast("double").alias("weight"), *group_cols)
    raw = raw.where((F.col("src") != F.col("dst")) & (F.col("weight") > 0))
    ends = raw.select("week_start", F.col("src").alias("person"),
                      *([F.col("src_group").alias("grp")] if has_groups else [])).unionByName(
        raw.select("week_start", F.col("dst").alias("person"),
                   *([F.col("dst_group").alias("grp")] if has_groups else [])))
    people = ends.groupBy("week_start", "person").agg(
        *([F.coalesce(F.max("grp"), F.lit(UNASSIGNED_GROUP)).alias("grp")] if has_groups else [F.lit(1).alias("_")]))
    wk = F.unix_date("week_start").cast("long")
    index = F.row_number().over(Window.partitionBy("week_start").orderBy("person")) - 1
    vertices = _materialise(
        people.select(
            (F.shiftleft(wk, ID_WEEK_SHIFT) + index).alias("id"),
            wk.alias("wk"),
            "week_start",
            "person",
            *(["grp"] if has_groups else []),
        )
    )
    ids = vertices.select("week_start", "person", "id")
    directed = _materialise(
        raw.groupBy("week_start", "src", "dst").agg(F.sum("weight").alias("weight"))
        .join(ids.withColumnsRenamed({"person": "src", "id": "src_id"}), ["week_start", "src"])
        .join(ids.withColumnsRenamed({"person": "dst", "id": "dst_id"}), ["week_start", "dst"])
        .select(F.col("src_id").alias("src"), F.col("dst_id").alias("dst"), "weight")
    )
    pairs = _materialise(
        directed.groupBy(F.least("src", "dst").alias("src"), F.greatest("src", "dst").alias("dst"))
        .agg(F.sum("weight").alias("weight"))
    )
    return vertices, directed, pairs


def _relabel(members: DataFrame, label: str) -> DataFrame:
    """members (id, wk, person, <label>) -> id, <label> relabelled 0.. per week by size desc,
    ties by smallest member person, and <label>_size."""
    groups = members.groupBy("wk", label).agg(F.count("*").alias("size"), F.min("person").alias("first"))
    order = Window.partitionBy("wk").orderBy(F.col("size").desc(), F.col("first"))
    groups = groups.select("wk", label, "size", (F.row_number().over(order) - 1).cast("long").alias("new"))
    return members.join(groups, ["wk", label]).select(
        "id", F.col("new").alias(label), F.col("size").cast("long").alias(f"{label}_size"))


def _components(vertices: DataFrame, pairs: DataFrame, keep) -> DataFrame:
    found = keep(
        GraphFrame(vertices.select("id"), pairs.select("src", "dst")).connectedComponents(
            algorithm="graphx", checkpointInterval=CHECKPOINT_INTERVAL, use_local_checkpoints=LOCAL_CHECKPOINTS,
            storage_level=STORAGE)
    )
    members = found.join(vertices.select("id", "wk", "person"), "id")
    return _materialise(_relabel(members, "component"))


# --- PageRank and eigenvector: one message pass per iteration ------------------------------


def _pagerank_eigenvector(vertices, directed, undirected, strengths, components, weeks,
                          tol: float, max_iterations: int) -> DataFrame:
    """id, pagerank, eigenvector, from one message pass per iteration for both vectors.

    PageRank is iterated in its linear form x <- d P' x + (1 - d) / n (P' the out-weight
    normalised adjacency, dangling rows left empty), whose fixed point is PageRank up to a
    per-week factor (the uniform dangling redistribution only adds a multiple of the teleport
    vector); the result is divided by its week sum. So no iteration needs the week's dangling
    mass. The eigenvector is y <- (A + c I) y on U, normalised per week at each check. Any
    c > 0 leaves the leading eigenvector unchanged and keeps bipartite weeks (spectrum
    symmetric about 0) from oscillating; c is a quarter of the mean weighted degree of the
    week's giant component, so the speed does not depend on the unit of the weights (c = 1
    needed 140 iterations on the Davis women-events graph, this c 57; about 90 at most on
    the graphs of the tests).

    Messages go along U in both directions (`pr` = d w(src -> dst) / out_strength(src), 0 when
    only dst -> src exists; `ev` = the undirected weight) plus one self-loop per vertex that
    carries the teleport term, the +c I term and the previous values (for the convergence test).
    So an iteration is one join of the state with the edges and one aggregation by dst. Every
    CHECK_EVERY iterations the state is checkpointed (cutting the lineage) and two small
    aggregations per week give each vector's L1 change between the last two normalised
    iterates; the loop stops once every week is below tol, or at max_iterations.
    """
    out_strength = directed.groupBy("src").agg(F.sum("weight").alias("out_strength"))
    pr_edges = directed.join(out_strength, "src").select(
        "src", "dst", (DAMPING * F.col("weight") / F.col("out_strength")).alias("pr"))
    ties = undirected.join(pr_edges, ["src", "dst"], "left").select(
        "src", "dst", F.coalesce("pr", F.lit(0.0)).alias("pr"), F.col("weight").alias("ev"),
        F.lit(0.0).alias("teleport"), F.lit(False).alias("self"))
    giant = components.where(F.col("component") == 0).select("id")
    shifts = (
        strengths.join(giant, "id").groupBy(F.shiftright("id", ID_WEEK_SHIFT).alias("wk"))
        .agg((F.avg("strength") / 4.0).alias("shift"))
    )
    loops = vertices.select("id", "wk").join(F.broadcast(weeks), "wk").join(F.broadcast(shifts), "wk").select(
        F.col("id").alias("src"), F.col("id").alias("dst"), F.lit(0.0).alias("pr"), F.col("shift").alias("ev"),
        ((1.0 - DAMPING) / F.col("n")).alias("teleport"), F.lit(True).alias("self"))
    edges = _materialise(ties.unionByName(loops).repartition("src"))
    state = _materialise(
        vertices.select("id", "wk")
        .join(components.select("id", "component"), "id")
        .join(F.broadcast(weeks), "wk")
        .select(
            "id",
            (1.0 / F.col("n")).alias("rank"),
            F.when(F.col("component") == 0, F.lit(1.0)).otherwise(F.lit(0.0)).alias("y"),
            F.lit(0.0).alias("rank_prev"),
            F.lit(0.0).alias("y_prev"),
        )
    )
    iteration = 0
    while True:
        for _ in range(min(CHECK_EVERY, max_iterations - iteration)):
            iteration += 1
            state = (
                edges.join(state.select(F.col("id").alias("src"), "rank", "y"), "src")
                .groupBy(F.col("dst").alias("id"))
                .agg(
                    F.sum(F.col("pr") * F.col("rank") + F.col("teleport")).alias("rank"),
                    F.sum(F.col("ev") * F.col("y")).alias("y"),
                    F.sum(F.when(F.col("self"), F.col("rank")).otherwise(0.0)).alias("rank_prev"),
                    F.sum(F.when(F.col("self"), F.col("y")).otherwise(0.0)).alias("y_prev"),
                )
            )
        state = _materialise(state)
        scales, worst, where = _check(state)
        log.debug("iteration %d: largest per-week L1 change %g (%s)", iteration, worst, where)
        # Rescaled to unit norm per week (y only: the rank iteration is affine, rescaling it
        # would move it off its path to the fixed point), lazily: part of the next pass.
        state = state.join(F.broadcast(scales), F.shiftright("id", ID_WEEK_SHIFT) == scales["wk"]).select(
            "id", "rank", (F.col("y") * F.col("y_scale")).alias("y"), "rank_scale")
        if worst < tol:
            break
        if iteration >= max_iterations:
            log.warning("PageRank/eigenvector stopped at max_iterations=%d: L1 change %g > tol %g (%s)",
                        max_iterations, worst, tol, where)
            break
    return state.select("id", (F.col("rank") * F.col("rank_scale")).alias("pagerank"), F.col("y").alias("eigenvector"))


def _check(state: DataFrame) -> tuple[DataFrame, float, str]:
    """Per-week scale factors (wk, rank_scale = 1 / week sum of rank, y_scale = 1 / L2 norm of y)
    and the largest per-week L1 change, over both vectors, between the last two iterates once
    each is normalised so, with the vector and week it belongs to (one Spark job)."""
    week = F.shiftright("id", ID_WEEK_SHIFT)
    sums = state.groupBy(week.alias("wk")).agg(
        F.sum("rank").alias("rank_sum"), F.sum("rank_prev").alias("rank_prev_sum"),
        F.sqrt(F.sum(F.col("y") * F.col("y"))).alias("y_norm"),
        F.sqrt(F.sum(F.col("y_prev") * F.col("y_prev"))).alias("y_prev_norm"),
    )
    rows = (
        state.join(F.broadcast(sums), week == sums["wk"])
        .groupBy("wk", "rank_sum", "y_norm")
        .agg(
            F.sum(F.abs(F.col("rank") / F.col("rank_sum") - F.col("rank_prev") / F.col("rank_prev_sum"))).alias("d_rank"),
            F.sum(F.abs(F.col("y") / F.col("y_norm") - F.col("y_prev") / F.col("y_prev_norm"))).alias("d_y"),
        )
        .collect()
    )
    scales = frame_from_rows(
        state.sparkSession,
        [(r["wk"], 1.0 / r["rank_sum"], 1.0 / r["y_norm"] if r["y_norm"] else 0.0) for r in rows],
        StructType([StructField("wk", LongType()), StructField("rank_scale", DoubleType()),
                    StructField("y_scale", DoubleType())]))
    worst, where = -1.0, ""
    for r in rows:
        for vector in ("rank", "y"):
            change = r[f"d_{vector}"]
            change = math.inf if change is None or math.isnan(change) else change
            if change > worst:
                worst, where = change, f"{'pagerank' if vector == 'rank' else 'eigenvector'} of week " \
                    f"{date(1970, 1, 1) + timedelta(days=r['wk'])}"
    return scales, worst, where


def _materialise(df: DataFrame) -> DataFrame:
    """Computed now, lineage cut (a local checkpoint, or the checkpoint dir when
    LOCAL_CHECKPOINTS is off)."""
    return df.localCheckpoint(eager=True) if LOCAL_CHECKPOINTS else df.checkpoint(eager=True)


# --- harmonic closeness ---------------------------------------------------------------------


def _harmonic(vertices, undirected, landmarks_per_week: int | None, seed: int, keep) -> DataFrame:
    """id, harmonic: mean of 1/d(u, l) over the week's landmarks l other than u."""
    if landmarks_per_week is None:
        chosen = vertices.select("id", "wk")
    else:
        # by a hash of the pseudonym: who else is in the week does not change one's draw
        order = Window.partitionBy("wk").orderBy(F.xxhash64(F.lit(seed), "person"), "person")
        chosen = vertices.select("id", "wk", F.row_number().over(order).alias("rank")).where(
            F.col("rank") <= landmarks_per_week).select("id", "wk")
    chosen = _materialise(chosen)
    landmark_ids = [row["id"] for row in chosen.select("id").collect()]
    per_week = chosen.groupBy("wk").agg(F.count("*").alias("k"))
    paths = keep(
        GraphFrame(vertices.select("id"), undirected.select("src", "dst")).shortestPaths(
            landmarks=landmark_ids, algorithm="graphx", checkpoint_interval=CHECKPOINT_INTERVAL,
            use_local_checkpoints=LOCAL_CHECKPOINTS,
            storage_level=STORAGE)
    )
    sums = paths.select("id", F.explode("distances").alias("landmark", "d")).where(F.col("d") > 0).groupBy(
        "id").agg(F.sum(1.0 / F.col("d")).alias("inverse_sum"))
    is_landmark = chosen.select("id", F.lit(1).alias("is_landmark"))
    return (
        vertices.select("id", "wk")
        .join(F.broadcast(per_week), "wk")
        .join(is_landmark, "id", "left")
        .join(sums, "id", "left")
        .select(
            "id",
            (F.coalesce("inverse_sum", F.lit(0.0))
             / (F.col("k") - F.coalesce("is_landmark", F.lit(0)))).alias("harmonic"),
        )
    )


# --- Burt's constraint and effective size ---------------------------------------------------


def _burt(undirected: DataFrame, strengths: DataFrame) -> DataFrame:
    """id, constraint, effective_size on U with weights, as networkx defines them node by node
    (its all-nodes matrix shortcut for effective_size normalises by the wrong axis on weighted
    graphs: networkx PR #8906).

    p(i, j) = w(i, j) / strength(i); m(q, j) = w(q, j) / max weight of j.
    constraint(i) = sum_{j in N(i)} (p(i, j) + sum_{q in N(i) & N(j)} p(i, q) p(q, j))^2
    effective_size(i) = deg(i) - sum_{j in N(i)} sum_{q in N(i) & N(j)} p(i, q) m(q, j)
    """
    by_src = strengths.select(F.col("id").alias("src"), "strength")
    by_dst = strengths.select(F.col("id").alias("dst"), "max_weight")
    p = _materialise(
        undirected.join(by_src, "src").join(by_dst, "dst")
        .select("src", "dst", (F.col("weight") / F.col("strength")).alias("p"),
                (F.col("weight") / F.col("max_weight")).alias("m"))
    )
    first = p.select(F.col("src").alias("i"), F.col("dst").alias("q"), F.col("p").alias("p_iq"))
    second = p.select(F.col("src").alias("q"), F.col("dst").alias("j"), F.col("p").alias("p_qj"),
                      F.col("m").alias("m_qj"))
    direct = p.select(F.col("src").alias("i"), F.col("dst").alias("j"), F.col("p").alias("p_ij"))
    two_step = (
        first.join(second, "q")
        .where(F.col("i") != F.col("j"))
        .join(direct.select("i", "j"), ["i", "j"])  # only j adjacent to i matters
        .groupBy("i", "j")
        .agg(F.sum(F.col("p_iq") * F.col("p_qj")).alias("indirect"),
             F.sum(F.col("p_iq") * F.col("m_qj")).alias("redundancy"))
    )
    per_tie = direct.join(two_step, ["i", "j"], "left").select(
        "i",
        F.pow(F.col("p_ij") + F.coalesce("indirect", F.lit(0.0)), 2).alias("c"),
        F.coalesce("redundancy", F.lit(0.0)).alias("r"),
    )
    return per_tie.groupBy(F.col("i").alias("id")).agg(
        F.sum("c").alias("constraint"),
        (F.count("*") - F.sum("r")).alias("effective_size"),
    )


# --- communities and modularity -------------------------------------------------------------


def _communities(vertices, pairs, strengths, keep) -> tuple[DataFrame, DataFrame]:
    """(id, community) and (wk, week_modularity)."""
    labels = keep(
        GraphFrame(vertices.select("id"), pairs.select("src", "dst")).labelPropagation(
            maxIter=LABEL_PROPAGATION_STEPS, algorithm="graphx", checkpoint_interval=CHECKPOINT_INTERVAL,
            use_local_checkpoints=LOCAL_CHECKPOINTS,
            storage_level=STORAGE)
    )
    members = labels.select("id", F.col("label").alias("community")).join(vertices.select("id", "wk", "person"), "id")
    communities = _materialise(_relabel(members, "community").select("id", "community"))
    # Modularity on U: sum over communities c of L_c / m - (D_c / 2m)^2 (L_c the weight inside
    # c, D_c the summed strengths of c's members, m the week's total weight).
    total = pairs.groupBy(F.shiftright("src", ID_WEEK_SHIFT).alias("wk")).agg(F.sum("weight").alias("m"))
    inside = (
        pairs.join(communities.withColumnsRenamed({"id": "src", "community": "c_src"}), "src")
        .join(communities.withColumnsRenamed({"id": "dst", "community": "c_dst"}), "dst")
        .where(F.col("c_src") == F.col("c_dst"))
        .groupBy(F.shiftright("src", ID_WEEK_SHIFT).alias("wk"), F.col("c_src").alias("community"))
        .agg(F.sum("weight").alias("inside"))
    )
    degree = communities.join(strengths.select("id", "strength"), "id").groupBy(
        F.shiftright("id", ID_WEEK_SHIFT).alias("wk"), "community").agg(F.sum("strength").alias("degree"))
    modularity = (
        degree.join(inside, ["wk", "community"], "left")
        .join(total, "wk")
        .groupBy("wk")
        .agg(F.sum(F.coalesce("inside", F.lit(0.0)) / F.col("m")
                   - F.pow(F.col("degree") / (2.0 * F.col("m")), 2)).alias("week_modularity"))
    )
    return communities, _materialise(modularity)


# --- brokerage ------------------------------------------------------------------------------


def _brokerage(vertices: DataFrame, directed: DataFrame) -> DataFrame:
    """id, coordinator, gatekeeper, representative, liaison, itinerant: open two-paths
    a -> b -> c (a != c, no a -> c) counted at b by the groups of a, b, c."""
    graph = GraphFrame(vertices.select("id", "grp"), directed.select("src", "dst"))
    paths = graph.find("(a)-[]->(b); (b)-[]->(c); !(a)-[]->(c)").where(F.col("a.id") != F.col("c.id"))
    ga, gb, gc = F.col("a.grp"), F.col("b.grp"), F.col("c.grp")

    def count(condition: Column) -> Column:
        return F.sum(F.when(condition, 1).otherwise(0)).cast("long")

    return paths.groupBy(F.col("b.id").alias("id")).agg(
        count((ga == gb) & (gb == gc)).alias("coordinator"),
        count((ga != gb) & (gb == gc)).alias("gatekeeper"),
        count((ga == gb) & (gb != gc)).alias("representative"),
        count((ga != gb) & (gb != gc) & (ga != gc)).alias("liaison"),
        count((ga == gc) & (ga != gb)).alias("itinerant"),
    )
