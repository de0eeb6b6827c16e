"""Week-over-week change: ties formed and lost, rank moves, tie churn, and community ids that
stay the same across weeks. Pure functions: DataFrames in, DataFrames out.

"Previous week" of a week W is always W - 7 days. Inputs hold the built weeks and, where
known, the week before each of them (history read from the lake, or another built week).
Self-ties are ignored throughout.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import NamedTuple

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, DoubleType, LongType, StructField, StructType

from jobs.frames import frame_from_rows
from jobs.transforms.gold import tie_ends, weeks_frame

WEEK = timedelta(days=7)


def _next_week(df: DataFrame) -> DataFrame:
    """Rows of week W - 7 keyed by W (to be compared with week W)."""
    return df.withColumn("week_start", F.date_add("week_start", 7))


def _ties(edges_df: DataFrame, weeks: list[date]) -> DataFrame:
    return edges_df.where(F.col("week_start").isin(weeks) & (F.col("src") != F.col("dst")))


def _rank(metric: str) -> Column:
    """1 = highest value of the week among people with a value; equal values by person
    (smallest pseudonym first); null without a value (nulls sort last, so they never push
    anyone down)."""
    by_value = Window.partitionBy("week_start").orderBy(F.col(metric).desc_nulls_last(), F.col("person"))
    return F.when(F.col(metric).isNotNull(), F.row_number().over(by_value)).cast("long")


def person_change(person_weeks_df: DataFrame, edges_weeks_df: DataFrame, weeks: list[date]) -> DataFrame:
    """One row per built week W and person with a row in person_weeks_df that week.

    person_weeks_df: week_start, person, pagerank, betweenness (more columns ignored), for the
    built weeks and the weeks before them. edges_weeks_df: week_start, src, dst (directed
    ties; direction is ignored here), same weeks.

    - ties_formed: undirected neighbours in W who were not neighbours in W - 7;
      ties_lost: neighbours in W - 7 who are not in W. Both null when W - 7 has no edge at
      all in edges_weeks_df (no previous week known), else counts (0 for nobody).
    - pagerank_rank, betweenness_rank: 1 = highest that week among people with a value; equal
      values by person. Null for a person without a value.
    - *_rank_change = rank in W - 7 minus rank in W: positive = moved up. Null unless the
      person has a rank in both weeks.
    """
    keys = ["week_start", "person"]
    built = sorted(set(weeks))
    before = [w - WEEK for w in built]
    ranked_df = person_weeks_df.where(F.col("week_start").isin(sorted(set(built) | set(before)))).select(
        *keys, _rank("pagerank").alias("pagerank_rank"), _rank("betweenness").alias("betweenness_rank"))
    ranks_before_df = ranked_df.where(F.col("week_start").isin(before)).transform(_next_week).select(
        *keys, F.col("pagerank_rank").alias("pagerank_before"), F.col("betweenness_rank").alias("betweenness_before"))

    # Every undirected neighbour of W and of W - 7 (moved to W), then one row per week, person
    # and neighbour saying in which of the two weeks it is one: two aggregations, where a
    # neighbour set per week and person compared as arrays took four joins and more jobs
    # (docs/performance.md, "Where a small build's jobs go").
    def ends(week_list: list[date], now: bool) -> DataFrame:
        ties_df = _ties(edges_weeks_df, week_list)
        return tie_ends(ties_df if now else _next_week(ties_df), F.lit(now).alias("now"))

    in_now, in_before = F.col("in_now"), F.col("in_before")
    neighbour_counts_df = (
        ends(built, True).unionByName(ends(before, False))
        .groupBy("week_start", "person", "other")
        .agg(F.max("now").alias("in_now"), F.max(~F.col("now")).alias("in_before"))
        .groupBy(*keys)
        .agg(F.count(F.when(in_now & ~in_before, True)).alias("formed"),
             F.count(F.when(in_before & ~in_now, True)).alias("lost"))
    )

    known_df = _ties(edges_weeks_df, before).select("week_start").distinct().transform(_next_week)
    has_previous = F.col("has_previous").isNotNull()
    counted = lambda name: F.when(has_previous, F.coalesce(name, F.lit(0))).cast("long")  # noqa: E731
    change = lambda m: (F.col(f"{m}_before") - F.col(f"{m}_rank")).alias(f"{m}_rank_change")  # noqa: E731
    return (
        ranked_df.where(F.col("week_start").isin(built))
        .join(neighbour_counts_df, on=keys, how="left")
        .join(ranks_before_df, on=keys, how="left")
        .join(F.broadcast(known_df.withColumn("has_previous", F.lit(True))), on="week_start", how="left")
        .select(
            *keys,
            counted("formed").alias("ties_formed"),
            counted("lost").alias("ties_lost"),
            "pagerank_rank", "betweenness_rank", change("pagerank"), change("betweenness"),
        )
    )


def network_change(edges_weeks_df: DataFrame, weeks: list[date]) -> DataFrame:
    """One row per built week W (also without ties): week_start, ties_formed, ties_lost
    (undirected pairs of W not in W - 7, and of W - 7 not in W), tie_churn = (formed + lost)
    / |pairs(W) union pairs(W - 7)|. All three null when W - 7 has no edge at all."""
    built = sorted(set(weeks))

    def pairs(week_list: list[date], now: bool) -> DataFrame:
        return _ties(edges_weeks_df, week_list).select(
            "week_start", F.least("src", "dst").alias("a"), F.greatest("src", "dst").alias("b"),
            F.lit(now).alias("now"), F.lit(not now).alias("before"),
        )

    per_pair_df = (
        pairs(built, True)
        .unionByName(pairs([w - WEEK for w in built], False).transform(_next_week))
        .groupBy("week_start", "a", "b")
        .agg(F.max("now").alias("now"), F.max("before").alias("before"))
    )
    now, was = F.col("now"), F.col("before")
    per_week_df = per_pair_df.groupBy("week_start").agg(
        F.count(F.when(now & ~was, True)).alias("formed"),
        F.count(F.when(was & ~now, True)).alias("lost"),
        F.count("*").alias("pairs"),
        F.max("before").alias("has_previous"),  # W - 7 has at least one tie
    )
    has_previous = F.coalesce("has_previous", F.lit(False))
    return (
        weeks_frame(edges_weeks_df.sparkSession, built)
        .join(per_week_df, on="week_start", how="left")
        .select(
            "week_start",
            F.when(has_previous, F.col("formed")).cast("long").alias("ties_formed"),
            F.when(has_previous, F.col("lost")).cast("long").alias("ties_lost"),
            F.when(has_previous, (F.col("formed") + F.col("lost")) / F.col("pairs")).cast("double").alias("tie_churn"),
        )
    )


class StableCommunities(NamedTuple):
    membership: DataFrame  # week_start, person, community (stable id)
    stability: DataFrame  # week_start, community_stability


def _match_week(
    rows: list, prior_ids: dict[int, int] | None, min_overlap: float, next_id: int
) -> tuple[dict[int, int], float | None, int]:
    """Raw community -> stable id for one week, from its collected overlap rows.

    rows: community, prior, shared, smallest; community null for previous-week members absent
    now, prior null for members not in the previous week. `prior` is a raw label of the
    previous (built) week translated by prior_ids, or already a stable id (prior_ids None).

    Candidates with Jaccard = shared / (size + prior_size - shared) >= min_overlap are taken
    greedily, highest Jaccard first (equal ones: older stable id, then the raw community's
    smallest member), each raw community and each stable id at most once (exact fractions, no
    float ties). The rest get next_id, next_id + 1, ... by size desc then smallest member.
    Returns the mapping, the week's stability (share of the people in both weeks who keep
    their id; None when nobody is in both) and the next free id."""
    size: dict[int, int] = {}
    smallest: dict[int, str] = {}
    prior_size: dict[int, int] = {}
    shared: dict[tuple[int, int], int] = {}
    for row in rows:
        community, n = row["community"], row["shared"]
        prior = row["prior"] if row["prior"] is None or prior_ids is None else prior_ids[row["prior"]]
        if community is not None:
            size[community] = size.get(community, 0) + n
            smallest[community] = min(smallest.get(community, row["smallest"]), row["smallest"])
        if prior is not None:
            prior_size[prior] = prior_size.get(prior, 0) + n
        if community is not None and prior is not None:
            shared[(community, prior)] = n

    threshold = Fraction(min_overlap).limit_denominator(10**9)
    candidates = []
    for (community, prior), n in shared.items():
        jaccard = Fraction(n, size[community] + prior_size[prior] - n)
        if jaccard >= threshold:
            candidates.append((-jaccard, prior, smallest[community], community))
    mapping: dict[int, int] = {}
    used: set[int] = set()
    for _, prior, _, community in sorted(candidates):
        if community not in mapping and prior not in used:
            mapping[community] = prior
            used.add(prior)
    for community in sorted((c for c in size if c not in mapping), key=lambda c: (-size[c], smallest[c])):
        mapping[community] = next_id
        next_id += 1

    in_both = sum(shared.values())
    kept = sum(n for (community, prior), n in shared.items() if mapping[community] == prior)
    return mapping, (kept / in_both if in_both else None), next_id


def stable_communities(
    membership_df: DataFrame, previous_df: DataFrame, weeks: list[date], min_overlap: float = 0.3
) -> StableCommunities:
    """The built weeks' communities under ids that persist across weeks.

    membership_df: week_start, person, community (raw per-week labels, e.g. the engines'
    0.. labels) for the built weeks. previous_df: week_start, person, community with already
    stable ids of published weeks (may be empty). Weeks are handled in ascending order; the
    previous week of W is W - 7, from the result of the earlier built week when W - 7 is built
    too, else from previous_df (no rows there: no previous week, every community is new).

    A raw community keeps the stable id of a previous community by Jaccard overlap of members,
    greedily by highest Jaccard, each id used once, only when Jaccard >= min_overlap (so the
    bigger part of a split keeps the id, a merge keeps the id of the part it overlaps most).
    Unmatched communities get new ids: the highest id ever seen (anywhere in previous_df, and
    in earlier built weeks) + 1, + 2, ... by size desc then smallest member; ids of published
    history are never reused. With nothing seen, ids start at 0.

    Returns `membership` (week_start, person, community = stable id) and `stability`
    (week_start, community_stability: share of the people present in W and W - 7 whose stable
    id is the same in both; null when nobody is in both, i.e. no previous week).

    Driver work: the overlap of a week with its previous week does not depend on the ids, only
    on the labels (a built previous week's raw labels are translated on the driver once its
    mapping is known). So one Spark query counts, for every built week at once, the members
    per (raw community, previous label) pair, with each raw community's smallest member, and
    collects only those pair counts (a row per overlapping pair), never member lists; plus one
    query for the highest id in previous_df. The week-by-week matching loop then runs on those
    counts, and the raw -> stable mapping goes back as one small literal DataFrame.
    """
    spark = membership_df.sparkSession
    built = sorted(set(weeks))
    before = [w - WEEK for w in built]
    members_df = membership_df.where(F.col("week_start").isin(built) & F.col("community").isNotNull()).select(
        "week_start", "person", F.col("community").cast("long").alias("community")
    )
    published_before = [w for w in before if w not in built]
    prior_df = (
        members_df.where(F.col("week_start").isin(before))
        .unionByName(previous_df.where(F.col("week_start").isin(published_before)).select(
            "week_start", "person", F.col("community").cast("long").alias("community")
        ))
        .where(F.col("community").isNotNull())
        .transform(_next_week)
        .withColumnRenamed("community", "prior")
    )
    overlap_rows = (
        members_df.join(prior_df, on=["week_start", "person"], how="full")
        .groupBy("week_start", "community", "prior")
        .agg(F.count("*").alias("shared"), F.min("person").alias("smallest"))
        .collect()
    )
    by_week: dict[date, list] = {}
    for row in overlap_rows:
        by_week.setdefault(row["week_start"], []).append(row)

    highest = previous_df.agg(F.max("community")).first()[0]
    next_id = 0 if highest is None else int(highest) + 1
    mappings: dict[date, dict[int, int]] = {}
    stability: list[tuple[date, float | None]] = []
    for week in built:
        prior_ids = mappings.get(week - WEEK)  # None: the prior labels are already stable ids
        mappings[week], share, next_id = _match_week(by_week.get(week, []), prior_ids, min_overlap, next_id)
        stability.append((week, share))

    mapping_df = frame_from_rows(
        spark,
        [(week, raw, stable) for week, mapping in mappings.items() for raw, stable in mapping.items()],
        StructType([StructField("week_start", DateType()), StructField("community", LongType()),
                    StructField("stable", LongType())]),
    )
    membership = members_df.join(F.broadcast(mapping_df), on=["week_start", "community"], how="inner").select(
        "week_start", "person", F.col("stable").alias("community")
    )
    return StableCommunities(
        membership, frame_from_rows(spark, stability, StructType([StructField("week_start", DateType()),
                                                                   StructField("community_stability", DoubleType())]))
    )
