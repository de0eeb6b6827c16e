"""What every graph engine returns for a week: one row per person with at least one tie.

Both engines (jobs/graph/local_engine.py: igraph/networkit inside one Spark task per week;
jobs/graph/graphframes_engine.py: GraphFrames and DataFrame iterations across the cluster)
produce exactly these columns with these meanings, and tests run both on the same graphs
against networkx. Definitions, with formulas: docs/metrics.md.

On the week's directed weighted graph G (edges src -> dst with weight > 0, no self-ties) and
its undirected view U (one edge per pair, weight = the sum of both directions):

- pagerank: weighted PageRank on G, damping 0.85, dangling mass spread uniformly
  (networkx `pagerank(G, weight="weight")`).
- eigenvector: leading eigenvector of U's weighted adjacency on the largest connected
  component (ties by the smallest member), non-negative, unit Euclidean norm over that
  component (networkx `eigenvector_centrality_numpy` of that subgraph); 0 outside it.
- harmonic: sum over other people v of 1 / d(u, v), hops in U (unweighted), divided by n - 1,
  n the week's people (networkx `harmonic_centrality(U) / (n - 1)`).
- kcore: core number in U (networkx `core_number`).
- betweenness: shortest-path betweenness in U, unweighted, normalised by (n-1)(n-2)/2
  (networkx `betweenness_centrality(U, normalized=True)`); exact up to a size, estimated
  above it within `betweenness_error_bound` (see WeekFacts).
- clustering: local clustering coefficient of U, unweighted (networkx `clustering(U)`).
- constraint, effective_size: Burt's measures on U with weights (networkx `constraint` and
  `effective_size` with weight="weight").
- component, component_size: weakly connected component, labelled 0.. by size (largest first,
  ties by the smallest member pseudonym).
- community: a partition of U (Louvain in the local engine, label propagation in the
  distributed one), labelled like components; stable ids across weeks are assigned later
  (jobs/transforms/change.py).
- coordinator, gatekeeper, representative, liaison, itinerant: Gould-Fernandez brokerage
  roles, counts of open two-paths a -> b -> c in G (a != c, no edge a -> c) where b is the
  person, by the groups g() of a, b, c:
  coordinator g(a)=g(b)=g(c); itinerant g(a)=g(c)!=g(b); representative g(a)=g(b)!=g(c);
  gatekeeper g(a)!=g(b)=g(c); liaison all three different. Null when no groups are given.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

NODE_COLUMNS = (
    ("person", "string"),
    ("pagerank", "double"),
    ("eigenvector", "double"),
    ("harmonic", "double"),
    ("kcore", "long"),
    ("betweenness", "double"),
    ("clustering", "double"),
    ("constraint", "double"),
    ("effective_size", "double"),
    ("component", "long"),
    ("component_size", "long"),
    ("community", "long"),
    ("coordinator", "long"),
    ("gatekeeper", "long"),
    ("representative", "long"),
    ("liaison", "long"),
    ("itinerant", "long"),
)
BROKERAGE_ROLES = ("coordinator", "gatekeeper", "representative", "liaison", "itinerant")

# Week-level facts that come with the node rows (repeated on each row of the week in Spark).
WEEK_COLUMNS = (
    ("week_modularity", "double"),  # weighted modularity of `community` on U
    ("betweenness_error_bound", "double"),  # 0.0 when exact; null when not computed
)

NODE_METRICS_SCHEMA = ", ".join(
    f"{name} {kind}" for name, kind in (("week_start", "date"), *NODE_COLUMNS, *WEEK_COLUMNS)
)
# The same schema as the Arrow table a week's task returns (jobs/graph/local_engine.py).
_ARROW_TYPES = {"string": pa.string(), "double": pa.float64(), "long": pa.int64(), "date": pa.date32()}
NODE_METRICS_ARROW_SCHEMA = pa.schema(
    [(name, _ARROW_TYPES[kind]) for name, kind in (("week_start", "date"), *NODE_COLUMNS, *WEEK_COLUMNS)]
)
UNASSIGNED_GROUP = "(unassigned)"


@dataclass(frozen=True)
class WeekFacts:
    modularity: float | None
    betweenness_error_bound: float | None  # 0.0 exact; the epsilon of the estimate otherwise
