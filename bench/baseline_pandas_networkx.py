"""Baseline (a): what a data scientist writes first. pandas for events -> edges, networkx for the
graph metrics. Self-contained: reads the bronze-shaped parquet files of one week and applies the
pipeline's rules (jobs/transforms/silver.py, gold.py, graph/local_engine.py):

- email: sender -> each distinct To/Cc recipient (sender removed; Bcc forms no ties), weight
  1/n_recipients (the parser's count of distinct To/Cc mailboxes, external too); more than 25
  recipients: broadcast, no ties;
- meeting (not cancelled, not all-day): the organizer and the ACCEPTED/TENTATIVE attendees,
  every ordered pair, weight hours / (n_present - 1); more than 25 present (organizer
  included): no ties;
- chat (no bot/system message): DM -> members, thread reply -> parent author + mentions,
  channel post -> mentions, weight 1/n targets; each reaction: reactor -> author, 0.25;
- interactions with an external (x_) end or a self-tie are dropped; edges sum per (src, dst).

Metrics: in/out/undirected degree and strength, weighted PageRank (0.85), weak components,
Louvain communities + modularity (on the undirected graph, weights summed over both
directions), local clustering (unweighted), load metrics, the department matrix with k = 5
suppression and the network summary.

`run(paths)` -> dict of results; bench/run.py times `events_to_edges` and `gold_metrics`.
"""

from __future__ import annotations

import networkx as nx
import pandas as pd

WEEK_START = pd.Timestamp("2026-03-02", tz="UTC")
WEEK_END = WEEK_START + pd.Timedelta(days=7)
BROADCAST_LIMIT = 25
PRESENT = ("ACCEPTED", "TENTATIVE")
REACTION_WEIGHT = 0.25
K = 5
SYSTEM_SUBTYPES = (
    "bot_message", "channel_join", "channel_leave", "channel_topic", "channel_purpose",
    "channel_name", "channel_archive", "channel_unarchive", "group_join", "group_leave",
    "pinned_item", "unpinned_item", "bot_add", "bot_remove", "tombstone",
)


def _in_week(df: pd.DataFrame, column: str) -> pd.DataFrame:
    return df[(df[column] >= WEEK_START) & (df[column] < WEEK_END)]


def email_interactions(email: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for col in ("to", "cc"):
        part = email[["record_id", "sender", "n_recipients", col]].explode(col)
        parts.append(part.rename(columns={col: "dst"}))
    rec = pd.concat(parts, ignore_index=True).dropna(subset=["dst"])
    rec = rec.drop_duplicates(["record_id", "dst"])
    rec = rec[(rec["dst"] != rec["sender"]) & (rec["n_recipients"] <= BROADCAST_LIMIT)]
    return pd.DataFrame({
        "source": "email", "src": rec["sender"].values, "dst": rec["dst"].values,
        "weight": 1.0 / rec["n_recipients"].values, "meeting_minutes": 0.0,
    })


def meeting_interactions(cal: pd.DataFrame) -> pd.DataFrame:
    cal = cal[(cal["status"].fillna("").str.upper() != "CANCELLED") & ~cal["is_all_day"]]
    att = cal[["record_id", "attendees"]].explode("attendees").dropna(subset=["attendees"])
    att["person"] = att["attendees"].str.get("person")
    att["partstat"] = att["attendees"].str.get("partstat")
    first = att.groupby("record_id")["person"].first()
    actor = cal["organizer"].fillna(cal["record_id"].map(first))
    present = pd.concat([
        pd.DataFrame({"record_id": cal["record_id"].values, "person": actor.values}),
        att.loc[att["partstat"].isin(PRESENT), ["record_id", "person"]],
    ]).dropna().drop_duplicates().reset_index(drop=True)
    present["n"] = present.groupby("record_id")["person"].transform("size")
    present = present[(present["n"] >= 2) & (present["n"] <= BROADCAST_LIMIT)]
    present = present.merge(cal[["record_id", "duration_minutes"]], on="record_id")
    pairs = present.merge(present[["record_id", "person"]], on="record_id", suffixes=("_src", "_dst"))
    pairs = pairs[pairs["person_src"] != pairs["person_dst"]]
    return pd.DataFrame({
        "source": "calendar", "src": pairs["person_src"].values, "dst": pairs["person_dst"].values,
        "weight": (pairs["duration_minutes"] / 60.0 / (pairs["n"] - 1)).values,
        "meeting_minutes": pairs["duration_minutes"].values,
    })


def chat_interactions(chat: pd.DataFrame) -> pd.DataFrame:
    msgs = chat[chat["sender"].notna() & (chat["subtype"].isna() | ~chat["subtype"].isin(SYSTEM_SUBTYPES))]
    is_dm = msgs["channel_kind"].isin(["dm", "group_dm"])
    dm = msgs.loc[is_dm, ["record_id", "sender", "members"]].explode("members").rename(columns={"members": "dst"})
    posts = msgs[~is_dm]
    mentions = posts[["record_id", "sender", "mentions"]].explode("mentions").rename(columns={"mentions": "dst"})
    replies = posts.loc[posts["is_thread_reply"] & posts["parent_author"].notna(), ["record_id", "sender", "parent_author"]]
    replies = replies.rename(columns={"parent_author": "dst"})
    targets = pd.concat([dm, mentions, replies], ignore_index=True).dropna(subset=["dst"])
    targets = targets[targets["dst"] != targets["sender"]].drop_duplicates(["record_id", "dst"])
    targets = targets.assign(n=targets.groupby("record_id")["dst"].transform("size"))
    targets = targets[targets["n"] <= BROADCAST_LIMIT]
    n = targets["n"]
    reactions = msgs[["sender", "reactors"]].explode("reactors").dropna(subset=["reactors"])
    reactions = reactions[reactions["reactors"] != reactions["sender"]]
    return pd.concat([
        pd.DataFrame({"source": "chat", "src": targets["sender"].values, "dst": targets["dst"].values,
                      "weight": 1.0 / n.values, "meeting_minutes": 0.0}),
        pd.DataFrame({"source": "chat", "src": reactions["reactors"].values, "dst": reactions["sender"].values,
                      "weight": REACTION_WEIGHT, "meeting_minutes": 0.0}),
    ], ignore_index=True)


def events_to_edges(paths: dict[str, str]) -> dict:
    """Read the events, build the weighted directed edges (and keep what load metrics need)."""
    email = _in_week(pd.read_parquet(paths["email"], columns=[
        "record_id", "sent_at", "sender", "to", "cc", "n_recipients"]), "sent_at")
    cal = _in_week(pd.read_parquet(paths["calendar"], columns=[
        "record_id", "starts_at", "duration_minutes", "organizer", "attendees", "status", "is_all_day"]), "starts_at")
    chat = _in_week(pd.read_parquet(paths["chat"], columns=[
        "record_id", "sent_at", "sender", "subtype", "channel_kind", "members", "mentions",
        "is_thread_reply", "parent_author", "reactors"]), "sent_at")
    inter = pd.concat([email_interactions(email), meeting_interactions(cal), chat_interactions(chat)],
                      ignore_index=True)
    inter = inter[inter["src"].str.startswith("p_") & inter["dst"].str.startswith("p_") & (inter["src"] != inter["dst"])]
    by_source = inter.pivot_table(index=["src", "dst"], columns="source", values="weight",
                                  aggfunc=["sum", "count"], fill_value=0)
    by_source.columns = [f"{a}_{b}" for a, b in by_source.columns]
    edges = inter.groupby(["src", "dst"]).agg(weight=("weight", "sum"), meeting_minutes=("meeting_minutes", "sum"))
    edges = edges.join(by_source).reset_index()
    reverse = set(zip(edges["dst"], edges["src"]))
    edges["is_reciprocal"] = [(s, d) in reverse for s, d in zip(edges["src"], edges["dst"])]
    return {"edges": edges, "email": email, "calendar": cal, "chat": chat, "paths": paths}


def load_metrics(state: dict) -> pd.DataFrame:
    email, cal, chat = state["email"], state["calendar"], state["chat"]
    sent = email.groupby("sender").agg(emails_sent=("record_id", "size"),
                                       broadcasts_sent=("n_recipients", lambda n: int((n > BROADCAST_LIMIT).sum())))
    msgs = chat[chat["sender"].notna() & (chat["subtype"].isna() | ~chat["subtype"].isin(SYSTEM_SUBTYPES))]
    chats = msgs.groupby("sender").size().rename("chat_messages_sent")
    live = cal[cal["status"].fillna("").str.upper() != "CANCELLED"]
    att = live[["record_id", "duration_minutes", "attendees"]].explode("attendees").dropna(subset=["attendees"])
    att = att[att["attendees"].str.get("partstat").isin(PRESENT)]
    att["person"] = att["attendees"].str.get("person")
    present = pd.concat([live[["record_id", "duration_minutes"]].assign(person=live["organizer"]),
                         att[["record_id", "duration_minutes", "person"]]]).dropna().drop_duplicates(["record_id", "person"])
    meet = present.groupby("person").agg(meetings_attended=("record_id", "size"), meeting_hours=("duration_minutes", "sum"))
    meet["meeting_hours"] /= 60.0
    load = sent.join(chats, how="outer").join(meet, how="outer").fillna(0)
    return load[load.index.str.startswith("p_")]


def gold_metrics(state: dict) -> dict:
    edges = state["edges"]
    people = pd.read_parquet(state["paths"]["people"], columns=["person", "department", "team"])
    G = nx.from_pandas_edgelist(edges, "src", "dst", edge_attr="weight", create_using=nx.DiGraph)
    # Undirected view: weight summed over both directions.
    und = edges.assign(a=edges[["src", "dst"]].min(axis=1), b=edges[["src", "dst"]].max(axis=1))
    und = und.groupby(["a", "b"], as_index=False)["weight"].sum()
    U = nx.from_pandas_edgelist(und, "a", "b", edge_attr="weight")

    pagerank = nx.pagerank(G, alpha=0.85, weight="weight")
    components = list(nx.weakly_connected_components(G))
    communities = nx.community.louvain_communities(U, weight="weight", seed=0)
    modularity = nx.community.modularity(U, communities, weight="weight")
    clustering = nx.clustering(U)

    component_of = {n: i for i, c in enumerate(sorted(components, key=len, reverse=True)) for n in c}
    component_size = {n: len(c) for c in components for n in c}
    community_of = {n: i for i, c in enumerate(sorted(communities, key=len, reverse=True)) for n in c}
    nodes = pd.DataFrame({"person": list(G.nodes)})
    nodes["in_degree"] = nodes["person"].map(dict(G.in_degree()))
    nodes["out_degree"] = nodes["person"].map(dict(G.out_degree()))
    nodes["degree"] = nodes["person"].map(dict(U.degree()))
    nodes["in_strength"] = nodes["person"].map(dict(G.in_degree(weight="weight")))
    nodes["out_strength"] = nodes["person"].map(dict(G.out_degree(weight="weight")))
    nodes["strength"] = nodes["in_strength"] + nodes["out_strength"]
    nodes["pagerank"] = nodes["person"].map(pagerank)
    nodes["component"] = nodes["person"].map(component_of)
    nodes["component_size"] = nodes["person"].map(component_size)
    nodes["community"] = nodes["person"].map(community_of)
    nodes["clustering"] = nodes["person"].map(clustering)

    load = load_metrics(state)
    person = (people[["person", "department", "team"]]
              .merge(nodes, on="person", how="outer")
              .merge(load, left_on="person", right_index=True, how="outer"))

    groups = group_matrix(edges, people)
    n = G.number_of_nodes()
    summary = {
        "nodes": n,
        "edges": G.number_of_edges(),
        "total_weight": float(edges["weight"].sum()),
        "density": G.number_of_edges() / (n * (n - 1)) if n > 1 else None,
        "components": len(components),
        "giant_component_share": max(len(c) for c in components) / n,
        "reciprocity": float(edges["is_reciprocal"].mean()),
        "average_clustering": float(sum(clustering.values()) / n),
        "communities": len(communities),
        "modularity": float(modularity),
        "groups_suppressed": int(groups["is_suppressed"].sum()),
    }
    return {"edges": edges, "person": person, "groups": groups, "summary": summary}


def group_matrix(edges: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    dept = people.set_index("person")["department"].fillna("(unassigned)")
    e = edges[["src", "dst", "weight"]].assign(
        group_a=edges["src"].map(dept).fillna("(unassigned)"),
        group_b=edges["dst"].map(dept).fillna("(unassigned)"),
    )
    active = pd.concat([e[["src", "group_a"]].set_axis(["person", "group"], axis=1),
                        e[["dst", "group_b"]].set_axis(["person", "group"], axis=1)]).drop_duplicates()
    n_active = active.groupby("group").size()
    matrix = e.groupby(["group_a", "group_b"]).agg(weight=("weight", "sum"), n_people_pairs=("weight", "size")).reset_index()
    matrix["n_active_a"] = matrix["group_a"].map(n_active)
    matrix["n_active_b"] = matrix["group_b"].map(n_active)
    matrix["is_suppressed"] = (matrix["n_active_a"] < K) | (matrix["n_active_b"] < K)
    cols = ["weight", "n_people_pairs", "n_active_a", "n_active_b"]
    matrix[cols] = matrix[cols].astype(float).where(~matrix["is_suppressed"])
    return matrix


def run(paths: dict[str, str]) -> dict:
    return gold_metrics(events_to_edges(paths))


if __name__ == "__main__":
    import json
    import sys

    folder = sys.argv[1]
    out = run({s: f"{folder}/{s}.parquet" for s in ("email", "calendar", "chat", "people")})
    print(json.dumps(out["summary"], indent=2))
