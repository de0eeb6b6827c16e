"""Baseline (b): the fastest single-machine answer. DuckDB SQL for events -> edges, degrees, load
metrics and the department matrix; igraph for the graph metrics. Self-contained: reads the
bronze-shaped parquet files of one week and applies the pipeline's rules (see
baseline_pandas_networkx.py for the list; jobs/transforms/silver.py is the reference).

`run(paths)` -> dict of results; bench/run.py times `events_to_edges` and `gold_metrics`.
"""

from __future__ import annotations

import random

import duckdb
import igraph as ig
import numpy as np
import pandas as pd

WEEK_START = "2026-03-02 00:00:00+00"
WEEK_END = "2026-03-09 00:00:00+00"
K = 5
SYSTEM_SUBTYPES = (
    "bot_message", "channel_join", "channel_leave", "channel_topic", "channel_purpose",
    "channel_name", "channel_archive", "channel_unarchive", "group_join", "group_leave",
    "pinned_item", "unpinned_item", "bot_add", "bot_remove", "tombstone",
)
_SYSTEM = ", ".join(f"'{s}'" for s in SYSTEM_SUBTYPES)

EVENTS_SQL = """
CREATE OR REPLACE TEMP VIEW email AS
  SELECT * FROM read_parquet({email}) WHERE sent_at >= TIMESTAMPTZ '{week_start}' AND sent_at < TIMESTAMPTZ '{week_end}';
CREATE OR REPLACE TEMP VIEW calendar AS
  SELECT * FROM read_parquet({calendar}) WHERE starts_at >= TIMESTAMPTZ '{week_start}' AND starts_at < TIMESTAMPTZ '{week_end}';
CREATE OR REPLACE TEMP VIEW chat AS
  SELECT * FROM read_parquet({chat}) WHERE sent_at >= TIMESTAMPTZ '{week_start}' AND sent_at < TIMESTAMPTZ '{week_end}';
CREATE OR REPLACE TEMP VIEW messages AS
  SELECT * FROM chat WHERE sender IS NOT NULL AND (subtype IS NULL OR subtype NOT IN ({system}));
CREATE OR REPLACE TEMP VIEW meetings AS
  SELECT record_id, duration_minutes, coalesce(upper(status) = 'CANCELLED', false) AS is_cancelled, is_all_day,
         list_distinct(list_concat(
           [coalesce(organizer, attendees[1].person)],
           list_transform(list_filter(attendees, lambda a: a.partstat IN ('ACCEPTED', 'TENTATIVE')), lambda a: a.person)
         )) AS present
  FROM calendar WHERE coalesce(organizer, attendees[1].person) IS NOT NULL;
"""

INTERACTIONS_SQL = """
CREATE OR REPLACE TEMP TABLE interactions AS
WITH email_r AS (
  SELECT sender AS src, n_recipients,
         unnest(list_filter(list_distinct(list_concat("to", cc)), lambda x: x <> sender)) AS dst
  FROM email WHERE n_recipients <= 25
),
meeting_p AS (
  SELECT record_id, duration_minutes, len(present) AS n, unnest(present) AS person
  FROM meetings WHERE NOT is_cancelled AND NOT is_all_day AND len(present) BETWEEN 2 AND 25
),
posts AS (
  SELECT sender, list_distinct(list_filter(
           CASE WHEN channel_kind IN ('dm', 'group_dm') THEN members
                WHEN is_thread_reply THEN list_concat(CASE WHEN parent_author IS NULL THEN []::VARCHAR[]
                                                           ELSE [parent_author] END, mentions)
                ELSE mentions END,
           lambda x: x <> sender)) AS targets
  FROM messages
),
all_i AS (
  SELECT 'email' AS source, src, dst, 1.0 / n_recipients AS weight, 0.0 AS meeting_minutes FROM email_r
  UNION ALL
  SELECT 'calendar', a.person, b.person, a.duration_minutes / 60.0 / (a.n - 1), a.duration_minutes
  FROM meeting_p a JOIN meeting_p b ON a.record_id = b.record_id AND a.person <> b.person
  UNION ALL
  SELECT 'chat', sender, unnest(targets), 1.0 / len(targets), 0.0 FROM posts WHERE len(targets) BETWEEN 1 AND 25
  UNION ALL
  SELECT 'chat', reactor, sender, 0.25, 0.0
  FROM (SELECT sender, unnest(reactors) AS reactor FROM messages) WHERE reactor <> sender
)
SELECT * FROM all_i WHERE starts_with(src, 'p_') AND starts_with(dst, 'p_') AND src <> dst;
"""

EDGES_SQL = """
CREATE OR REPLACE TEMP TABLE edges0 AS
SELECT src, dst, sum(weight) AS weight,
       sum(weight) FILTER (WHERE source = 'email') AS email_weight,
       sum(weight) FILTER (WHERE source = 'calendar') AS meeting_weight,
       sum(weight) FILTER (WHERE source = 'chat') AS chat_weight,
       count(*) FILTER (WHERE source = 'email') AS n_email,
       count(*) FILTER (WHERE source = 'calendar') AS n_meeting,
       count(*) FILTER (WHERE source = 'chat') AS n_chat,
       sum(meeting_minutes) AS meeting_minutes
FROM interactions GROUP BY src, dst;
CREATE OR REPLACE TEMP TABLE edges AS
SELECT e.*, r.src IS NOT NULL AS is_reciprocal
FROM edges0 e LEFT JOIN edges0 r ON e.src = r.dst AND e.dst = r.src;
"""


def events_to_edges(paths: dict[str, str]) -> dict:
    con = duckdb.connect()
    quoted = {k: "'" + str(paths[k]).replace("'", "''") + "'" for k in ("email", "calendar", "chat")}
    con.execute(EVENTS_SQL.format(**quoted, week_start=WEEK_START, week_end=WEEK_END, system=_SYSTEM))
    con.execute(INTERACTIONS_SQL)
    for statement in EDGES_SQL.strip().split(";\n"):
        if statement.strip():
            con.execute(statement)
    con.execute("DROP TABLE interactions")
    return {"con": con, "paths": paths}


def gold_metrics(state: dict) -> dict:
    con: duckdb.DuckDBPyConnection = state["con"]
    people_path = str(state["paths"]["people"]).replace("'", "''")
    con.execute(f"CREATE OR REPLACE TEMP VIEW people AS SELECT * FROM read_parquet('{people_path}')")
    # Dense integer ids for igraph.
    con.execute("""
      CREATE OR REPLACE TEMP TABLE nodes AS
      SELECT person, (row_number() OVER (ORDER BY person)) - 1 AS id
      FROM (SELECT src AS person FROM edges UNION SELECT dst FROM edges)""")
    names = con.sql("SELECT person FROM nodes ORDER BY id").fetchnumpy()["person"]
    e = con.sql("""
      SELECT s.id AS s, d.id AS d, e.weight FROM edges e
      JOIN nodes s ON e.src = s.person JOIN nodes d ON e.dst = d.person""").fetchnumpy()
    n = len(names)
    g = ig.Graph(n=n, edges=np.column_stack([e["s"], e["d"]]).tolist(), directed=True,
                 edge_attrs={"weight": e["weight"]})
    pagerank = g.pagerank(weights="weight", damping=0.85, directed=True)
    components = g.connected_components(mode="weak")
    u = g.as_undirected(mode="collapse", combine_edges={"weight": "sum"})
    random.seed(0)
    ig.set_random_number_generator(random)
    communities = u.community_multilevel(weights="weight")
    modularity = u.modularity(communities.membership, weights="weight")
    clustering = u.transitivity_local_undirected(mode="zero")
    comp_sizes = np.bincount(components.membership)
    node_df = pd.DataFrame({
        "id": np.arange(n), "pagerank": pagerank, "component": components.membership,
        "component_size": comp_sizes[components.membership], "community": communities.membership,
        "clustering": clustering, "degree": u.degree(),
    })
    con.register("node_metrics", node_df)
    person = con.sql("""
      WITH outd AS (SELECT src AS person, count(*) AS out_degree, sum(weight) AS out_strength FROM edges GROUP BY 1),
           ind AS (SELECT dst AS person, count(*) AS in_degree, sum(weight) AS in_strength FROM edges GROUP BY 1),
           sent AS (SELECT sender AS person, count(*) AS emails_sent, count(*) FILTER (WHERE n_recipients > 25) AS broadcasts_sent
                    FROM email GROUP BY 1),
           chats AS (SELECT sender AS person, count(*) AS chat_messages_sent FROM messages GROUP BY 1),
           attended AS (SELECT person, count(*) AS meetings_attended, sum(duration_minutes) / 60.0 AS meeting_hours
                        FROM (SELECT record_id, duration_minutes, unnest(present) AS person FROM meetings WHERE NOT is_cancelled)
                        GROUP BY 1),
           everyone AS (SELECT person FROM people UNION SELECT person FROM nodes
                        UNION SELECT person FROM sent UNION SELECT person FROM chats UNION SELECT person FROM attended)
      SELECT everyone.person, people.department, people.team,
             coalesce(in_degree, 0) AS in_degree, coalesce(out_degree, 0) AS out_degree, coalesce(m.degree, 0) AS degree,
             coalesce(in_strength, 0) AS in_strength, coalesce(out_strength, 0) AS out_strength,
             coalesce(in_strength, 0) + coalesce(out_strength, 0) AS strength,
             m.pagerank, m.component, m.component_size, m.community, m.clustering,
             coalesce(emails_sent, 0) AS emails_sent, coalesce(broadcasts_sent, 0) AS broadcasts_sent,
             coalesce(chat_messages_sent, 0) AS chat_messages_sent,
             coalesce(meetings_attended, 0) AS meetings_attended, coalesce(meeting_hours, 0) AS meeting_hours
      FROM everyone
      LEFT JOIN people USING (person) LEFT JOIN nodes USING (person) LEFT JOIN node_metrics m ON m.id = nodes.id
      LEFT JOIN outd USING (person) LEFT JOIN ind USING (person) LEFT JOIN sent USING (person)
      LEFT JOIN chats USING (person) LEFT JOIN attended USING (person)
      WHERE starts_with(everyone.person, 'p_')""").df()
    groups = con.sql(f"""
      WITH dept AS (SELECT person, coalesce(department, '(unassigned)') AS grp FROM people),
           g AS (SELECT e.src, e.dst, e.weight, coalesce(a.grp, '(unassigned)') AS group_a,
                        coalesce(b.grp, '(unassigned)') AS group_b
                 FROM edges e LEFT JOIN dept a ON e.src = a.person LEFT JOIN dept b ON e.dst = b.person),
           active AS (SELECT grp, count(*) AS n_active FROM (SELECT src AS person, group_a AS grp FROM g
                                                             UNION SELECT dst, group_b FROM g) GROUP BY grp),
           matrix AS (SELECT group_a, group_b, sum(weight) AS weight, count(*) AS n_people_pairs FROM g GROUP BY 1, 2)
      SELECT group_a, group_b,
             CASE WHEN NOT sup THEN weight END AS weight, CASE WHEN NOT sup THEN n_people_pairs END AS n_people_pairs,
             CASE WHEN NOT sup THEN n_active_a END AS n_active_a, CASE WHEN NOT sup THEN n_active_b END AS n_active_b,
             sup AS is_suppressed
      FROM (SELECT m.*, a.n_active AS n_active_a, b.n_active AS n_active_b,
                   (a.n_active < {K}) OR (b.n_active < {K}) AS sup
            FROM matrix m JOIN active a ON a.grp = m.group_a JOIN active b ON b.grp = m.group_b)""").df()
    n_edges, total_weight, reciprocity = con.sql(
        "SELECT count(*), sum(weight), avg(is_reciprocal::DOUBLE) FROM edges").fetchall()[0]
    summary = {
        "nodes": n,
        "edges": int(n_edges),
        "total_weight": float(total_weight),
        "density": n_edges / (n * (n - 1)) if n > 1 else None,
        "components": len(comp_sizes),
        "giant_component_share": float(comp_sizes.max() / n),
        "reciprocity": float(reciprocity),
        "average_clustering": float(np.mean(clustering)),
        "communities": len(set(communities.membership)),
        "modularity": float(modularity),
        "groups_suppressed": int(groups["is_suppressed"].sum()),
    }
    edges = con.sql("SELECT * FROM edges").df()
    con.close()
    return {"edges": edges, "person": person, "groups": groups, "summary": summary}


def run(paths: dict[str, str]) -> dict:
    return gold_metrics(events_to_edges(paths))


if __name__ == "__main__":
    import json
    import sys

    folder = sys.argv[1]
    out = run({s: f"{folder}/{s}.parquet" for s in ("email", "calendar", "chat", "people")})
    print(json.dumps(out["summary"], indent=2))
