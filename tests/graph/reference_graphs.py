"""Test graphs as a week's ties (src, dst, weight), and the networkx reference value of every
column of the graph contract (jobs/graph/contract.py), for the tests of any graph engine.

The graphs are small real networks that ship with networkx. Nothing here calls an engine: the
expected values come from networkx (and, for the Gould-Fernandez counts, which networkx
lacks, from a brute force over all triples).
"""

from __future__ import annotations

import networkx as nx

Edge = tuple[str, str, float]


def _both_directions(graph: nx.Graph, name=str, weight: str | None = "weight") -> list[Edge]:
    edges = []
    for u, v, data in graph.edges(data=True):
        w = float(data.get(weight, 1.0)) if weight else 1.0
        edges += [(name(u), name(v), w), (name(v), name(u), w)]
    return edges


def _karate_name(node: int) -> str:
    return f"k{node:02d}"


def karate() -> list[Edge]:
    """Zachary's karate club, weighted (networkx's 'weight'), each tie in both directions."""
    return _both_directions(nx.karate_club_graph(), _karate_name)


def karate_asymmetric() -> list[Edge]:
    """Karate club as a directed graph with unequal directions: u -> v with the edge's weight;
    for two edges in three also v -> u with half of it; the third edge is one-way."""
    edges = []
    for i, (u, v, data) in enumerate(nx.karate_club_graph().edges(data=True)):
        w = float(data["weight"])
        edges.append((_karate_name(u), _karate_name(v), w))
        if i % 3:
            edges.append((_karate_name(v), _karate_name(u), w / 2))
    return edges


def karate_clubs() -> dict[str, str]:
    """person -> the club ('Mr. Hi' or 'Officer') each member joined after the split."""
    return {_karate_name(n): club for n, club in nx.karate_club_graph().nodes(data="club")}


def florentine() -> list[Edge]:
    """Padgett's Florentine families (marriages), unweighted, both directions."""
    return _both_directions(nx.florentine_families_graph(), weight=None)


def davis_southern_women() -> list[Edge]:
    """Davis' Southern Women, the bipartite women-events graph as is, both directions."""
    return _both_directions(nx.davis_southern_women_graph(), weight=None)


def les_miserables() -> list[Edge]:
    """Co-appearances in Les Miserables, weighted, both directions."""
    return _both_directions(nx.les_miserables_graph())


REAL_GRAPHS = {
    "karate": karate,
    "karate_asymmetric": karate_asymmetric,
    "florentine": florentine,
    "davis_southern_women": davis_southern_women,
    "les_miserables": les_miserables,
}


def _summed(graph: nx.Graph, edges: list[Edge]) -> nx.Graph:
    """graph with the edges added, the weights of repeated edges summed."""
    for src, dst, weight in edges:
        old = graph[src][dst]["weight"] if graph.has_edge(src, dst) else 0.0
        graph.add_edge(src, dst, weight=old + weight)
    return graph


def directed_view(edges: list[Edge]) -> nx.DiGraph:
    """G: the week's directed ties (repeated pairs summed)."""
    return _summed(nx.DiGraph(), edges)


def undirected_view(edges: list[Edge]) -> nx.Graph:
    """U: one edge per pair of people, weight = sum of both directions."""
    return _summed(nx.Graph(), edges)


def _labelled_by_size(parts) -> list[set[str]]:
    """Parts ordered as the contract labels them: largest first, ties by smallest member."""
    return sorted((set(p) for p in parts), key=lambda p: (-len(p), min(p)))


def reference_metrics(edges: list[Edge]) -> dict[str, dict[str, float]]:
    """column -> person -> networkx's value, for every contract column but community and the
    brokerage counts (see the contract for each definition)."""
    directed = directed_view(edges)
    undirected = undirected_view(edges)
    n = undirected.number_of_nodes()
    components = _labelled_by_size(nx.connected_components(undirected))
    giant = undirected.subgraph(components[0])
    if giant.number_of_nodes() > 2:
        eigenvector = nx.eigenvector_centrality_numpy(giant, weight="weight")
    else:  # scipy's eigs needs 3 nodes; two nodes share the weight: (1, 1) / sqrt(2)
        eigenvector = {person: 2 ** -0.5 for person in giant}
    return {
        "pagerank": nx.pagerank(directed, alpha=0.85, weight="weight", tol=1e-14, max_iter=100_000),
        "eigenvector": {p: eigenvector.get(p, 0.0) for p in undirected},
        "harmonic": {p: h / (n - 1) for p, h in nx.harmonic_centrality(undirected).items()},
        "kcore": nx.core_number(undirected),
        "betweenness": nx.betweenness_centrality(undirected, normalized=True),
        "clustering": nx.clustering(undirected),
        # nodes=... takes networkx's node-by-node definition, not its matrix shortcut
        "constraint": nx.constraint(undirected, nodes=list(undirected), weight="weight"),
        "effective_size": nx.effective_size(undirected, nodes=list(undirected), weight="weight"),
        "component": {p: label for label, c in enumerate(components) for p in c},
        "component_size": {p: len(c) for c in components for p in c},
    }


def brute_force_brokerage(
    edges: list[Edge], groups: dict[str, str], unassigned: str
) -> dict[str, dict[str, int]]:
    """role -> person -> count of open two-paths a -> b -> c (a != c, no tie a -> c) through b,
    by looking at every (a, c) around every b (people missing from groups are `unassigned`)."""
    directed = directed_view(edges)
    group = {p: groups.get(p, unassigned) for p in directed}
    roles = ("coordinator", "gatekeeper", "representative", "liaison", "itinerant")
    counts = {role: dict.fromkeys(directed, 0) for role in roles}
    for b in directed:
        for a in directed.predecessors(b):
            for c in directed.successors(b):
                if a == c or directed.has_edge(a, c):
                    continue
                ga, gb, gc = group[a], group[b], group[c]
                if ga == gb == gc:
                    role = "coordinator"
                elif ga == gc:
                    role = "itinerant"
                elif ga == gb:
                    role = "representative"
                elif gb == gc:
                    role = "gatekeeper"
                else:
                    role = "liaison"
                counts[role][b] += 1
    return counts
