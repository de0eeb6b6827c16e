"""Per-week graph algorithms run inside Spark tasks (one task per week): igraph and numpy/scipy
on one machine.

One week of one organisation's graph fits in one executor (a 100k-person week is ~3M weighted
edges), and there native libraries are 20-100x faster than join-based iterations
(docs/engines.md). Spark groups the edges by week and hands each week to one task as an Arrow
table (applyInArrow); nothing is collected to the driver. `node_metrics` is the same
computation on a pandas frame, for tests and benchmarks. The columns and their exact meaning are
the contract in jobs/graph/contract.py (each metric is defined there by its networkx
reference; tests/graph/test_local_engine.py checks every one against networkx).

Which code computes what:
- igraph: PageRank (directed, weighted), weak components, Louvain and its modularity, local
  clustering, core numbers, eigenvector centrality of the giant component, betweenness
  (exact Brandes, or Brandes-Pich source sampling with a Hoeffding bound above
  `exact_betweenness_max_nodes`);
- numpy: harmonic closeness (exact, bit-parallel breadth-first searches);
- scipy sparse: Burt's constraint and effective size, and the Gould-Fernandez brokerage
  counts (masked sparse matrix products, no loop over people or pairs).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

import igraph as ig
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from pyspark.sql import DataFrame

from jobs.config import GraphRules
from jobs.graph import contract
from jobs.graph.contract import BROKERAGE_ROLES, NODE_COLUMNS, UNASSIGNED_GROUP, WeekFacts
from jobs.memory import release_freed_memory


DAMPING = 0.85

# Betweenness: exact (Brandes, igraph) up to EXACT_BETWEENNESS_MAX_NODES people; above, estimated
# from k = ln(2 n / delta) / (2 epsilon^2) sampled sources so that every value is within
# BETWEENNESS_EPSILON of the exact one with probability >= 1 - BETWEENNESS_DELTA (`_betweenness`).
# Measured on the dev machine (2 vCPUs, one core used), graphs with 30 directed ties per person
# (departments of 50, 80% of ties inside; ~42 distinct neighbours each):
#   exact:    1k people 0.25 s, 2k 0.9 s, 5k 4.8 s, 10k 21-35 s (grows as n^2);
#   sampled:  eps 0.1:   10k  611 sources 1.3 s;  50k  691 sources 21 s;
#             eps 0.075: 10k 1086 sources 2.4 s;  50k 1229 sources 36 s;
#             eps 0.05:  10k 2442 sources 6.2 s;  50k 2764 sources 79 s (~29 ms a source).
#   networkit 11.1 for comparison (2 threads): exact 2k 3.3 s, 5k 12.3 s; Riondato-Kornaropoulos
#   ApproxBetweenness as fast for the same epsilon (50k, eps 0.1: 20 s) but ~15x less accurate
#   in fact (10k, eps 0.1: max error 5.4e-3 against 3.3e-4 for the sources; largest exact value
#   5.4e-4), and its Kadabra estimates are off by a factor ~2.
# The bound is loose: at 10k and eps 0.1 the largest actual error was 3.3e-4. A whole 50k-person
# week takes ~51 s with these constants (1.24M ties; 57 s with 1.44M): betweenness ~21 s,
# harmonic ~18 s, the rest ~12 s. A 10k-person week (288k ties): 4.4 s.
# The defaults live in jobs/config.py (GraphRules), the one place a deployment overrides them.
EXACT_BETWEENNESS_MAX_NODES = GraphRules.exact_betweenness_max_nodes
BETWEENNESS_EPSILON = GraphRules.betweenness_epsilon
BETWEENNESS_DELTA = GraphRules.betweenness_delta

# Rows of a masked sparse product computed at once: at most this many two-step paths, which
# bounds the memory of the unmasked block product (~20 bytes an entry when complex). At 50k
# people 2.5M instead of 10M took ~170 MiB off the peak of Burt's measures, in the same time.
_TWO_PATHS_PER_BLOCK = 2_500_000

_COLUMN_NAMES = [name for name, _ in NODE_COLUMNS]
_LONG_COLUMNS = [n for n, kind in NODE_COLUMNS if kind == "long" and n not in BROKERAGE_ROLES]


class GraphTooLargeError(RuntimeError):
    pass


def _stable_labels(membership: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relabel groups 0..k-1 by size (largest first), ties by smallest member, so that labels do
    not depend on the algorithm's internal numbering. Node indexes follow the sorted person
    names, so the smallest index is the smallest pseudonym. Returns (labels, sizes)."""
    membership = np.asarray(membership, dtype=np.int64)
    _, first, inverse, sizes = np.unique(
        membership, return_index=True, return_inverse=True, return_counts=True
    )
    order = np.lexsort((first, -sizes))  # group ids (0..k-1 of np.unique) in label order
    new_label = np.empty_like(order)
    new_label[order] = np.arange(len(order))
    labels = new_label[inverse]
    return labels, sizes[inverse]


def _masked_product(left: sp.csr_matrix, right: sp.csr_matrix, mask: sp.csr_matrix) -> sp.csr_matrix:
    """(left @ right) keeping only the entries where mask is non-zero (mask's values multiply
    them; pass a 0/1 mask). Computed by blocks of rows so the full product (two-step paths,
    ~ sum of squared degrees) never sits in memory at once."""
    n = left.shape[0]
    # Upper bound of each row's product entries: sum of the degrees of its row's columns.
    cost = left.astype(bool).astype(np.float64) @ np.diff(right.indptr).astype(np.float64)
    cumulative = np.cumsum(cost)
    blocks = []
    start = 0
    while start < n:
        base = cumulative[start - 1] if start else 0.0
        stop = int(np.searchsorted(cumulative, base + _TWO_PATHS_PER_BLOCK, side="right"))
        stop = min(max(stop, start + 1), n)
        product = left[start:stop] @ right
        blocks.append(sp.csr_matrix(product.multiply(mask[start:stop])))
        start = stop
    return sp.vstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]


def _row_sums(matrix: sp.spmatrix) -> np.ndarray:
    return np.asarray(matrix.sum(axis=1)).ravel()


def _burt(weights: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Burt's constraint and effective size on the undirected weighted graph (symmetric W).

    With p_uv = w_uv / sum_k w_uk and m_uv = w_uv / max_k w_uk (networkx's normalised mutual
    weights; on an undirected graph the mutual weight 2 w_uv cancels):
      constraint(u)     = sum over neighbours v of (p_uv + sum_w p_uw p_wv)^2
      effective_size(u) = sum over neighbours v of (1 - sum_w p_uw m_vw)
    The inner sums are (P P)_uv and (P M^T)_uv, needed only on the edges (a masked product);
    both come from one product P (P + i M^T), real and imaginary parts (exact: the zero
    imaginary parts of P add nothing to either sum).
    """
    pattern = weights.copy()
    pattern.data = np.ones_like(pattern.data)
    strength = _row_sums(weights)
    largest = weights.max(axis=1).toarray().ravel()
    share = sp.csr_matrix(sp.diags(1.0 / strength) @ weights)  # P, rows sum to 1
    relative = sp.csr_matrix(weights @ sp.diags(1.0 / largest))  # M^T (W symmetric)
    both = _masked_product(share, sp.csr_matrix(share + 1j * relative), pattern)
    indirect, redundancy = both.real, both.imag  # same pattern as P
    constraint = _row_sums((share + indirect).power(2))
    effective_size = np.diff(weights.indptr) - _row_sums(redundancy)
    return constraint, effective_size


def _brokerage(n: int, src: np.ndarray, dst: np.ndarray, group: np.ndarray) -> dict[str, np.ndarray]:
    """Gould-Fernandez counts for every broker b: open two-paths a -> b -> c (a != c, no a -> c)
    by the groups of a, b, c. Counted, not enumerated: all pairs (in-neighbour a,
    out-neighbour c) of b by group, minus a == c (b's reciprocated ties) and minus the closed
    ones (a -> c exists), which are counted per tie a -> b with masked products:
      K[a, b] = #{c: a -> c, b -> c},  X[a, b] = same with g(c) = g(b),  Y[a, b] = with g(c) = g(a).
    """
    codes, uniques = pd.factorize(group)
    ones = np.ones(len(src), dtype=np.int64)
    adjacency = sp.csr_matrix((ones, (src, dst)), shape=(n, n))
    same = codes[src] == codes[dst]
    adjacency_same = sp.csr_matrix((ones[same], (src[same], dst[same])), shape=(n, n))
    membership = sp.csr_matrix(
        (np.ones(n, dtype=np.int64), (np.arange(n), codes)), shape=(n, len(uniques))
    )

    # All (a, c) pairs around each b, by whether g(a), g(c) equal g(b) (and each other).
    in_by_group = sp.csr_matrix(adjacency.T @ membership)
    out_by_group = sp.csr_matrix(adjacency @ membership)
    in_total = np.diff(adjacency.tocsc().indptr)
    out_total = np.diff(adjacency.indptr)
    in_same = np.asarray(in_by_group[np.arange(n), codes]).ravel()
    out_same = np.asarray(out_by_group[np.arange(n), codes]).ravel()
    in_other, out_other = in_total - in_same, out_total - out_same
    # sum over groups g != g(b) of (in-neighbours in g) x (out-neighbours in g)
    same_outside_pairs = (
        _row_sums(in_by_group.multiply(out_by_group)).astype(np.int64) - in_same * out_same
    )

    # a == c: b's reciprocated ties.
    mutual = adjacency.multiply(adjacency.T)
    mutual_same = _row_sums(mutual.multiply(adjacency_same)).astype(np.int64)
    mutual_other = _row_sums(mutual).astype(np.int64) - mutual_same

    # Closed two-paths through b: per tie a -> b, the c with a -> c and b -> c. K and X come
    # from one integer product, K + 2^32 X (both below 2^31 as long as n is).
    shift = np.int64(1) << np.int64(32)
    packed = _masked_product(
        adjacency, sp.csr_matrix(adjacency.T + shift * adjacency_same.T), adjacency
    ).tocoo()
    closing = sp.coo_matrix((packed.data % shift, (packed.row, packed.col)), shape=(n, n))
    to_same = sp.coo_matrix((packed.data // shift, (packed.row, packed.col)), shape=(n, n))
    from_same = _masked_product(adjacency_same, adjacency.T.tocsr(), adjacency).tocoo()

    def per_broker(matrix: sp.coo_matrix, tie_same: bool) -> np.ndarray:
        keep = (codes[matrix.row] == codes[matrix.col]) == tie_same
        return np.bincount(matrix.col[keep], weights=matrix.data[keep], minlength=n).astype(np.int64)

    closed_all_same = per_broker(closing, True)
    closed_all_other = per_broker(closing, False)
    closed_coordinator = per_broker(to_same, True)  # g(a) = g(b) = g(c)
    closed_gatekeeper = per_broker(to_same, False)  # g(a) != g(b) = g(c)
    closed_itinerant = per_broker(from_same, False)  # g(a) = g(c) != g(b)

    return {
        "coordinator": in_same * out_same - mutual_same - closed_coordinator,
        "gatekeeper": in_other * out_same - closed_gatekeeper,
        "representative": in_same * out_other - (closed_all_same - closed_coordinator),
        "liaison": in_other * out_other - same_outside_pairs
        - (closed_all_other - closed_gatekeeper - closed_itinerant),
        "itinerant": same_outside_pairs - mutual_other - closed_itinerant,
    }


def _eigenvector(undirected: ig.Graph, members: np.ndarray) -> np.ndarray:
    """Unit-norm, non-negative leading eigenvector of the weighted adjacency of the component
    made of `members` (networkx eigenvector_centrality_numpy on that subgraph)."""
    component = undirected.induced_subgraph(members.tolist(), implementation="create_from_scratch")
    if component.vcount() <= 64:
        dense = np.zeros((component.vcount(), component.vcount()))
        pairs = np.asarray(component.get_edgelist(), dtype=np.int64).reshape(-1, 2)
        dense[pairs[:, 0], pairs[:, 1]] = component.es["weight"]
        dense[pairs[:, 1], pairs[:, 0]] = component.es["weight"]
        _, vectors = np.linalg.eigh(dense)
        vector = vectors[:, -1]
    else:
        vector = np.asarray(component.eigenvector_centrality(weights="weight"))
    vector = np.abs(vector)  # Perron vector: one sign; abs also clears -0.0 and round-off
    return vector / np.linalg.norm(vector)


_EDGE_SCHEMA = pa.schema([("src", pa.string()), ("dst", pa.string()), ("weight", pa.float64()),
                          ("src_group", pa.string()), ("dst_group", pa.string())])


@dataclass(frozen=True)
class _Ties:
    """One week's directed graph as node indexes: node i is names[i] (names sorted, so index
    order is name order), one tie per ordered pair with its weights summed, no self-tie."""

    names: np.ndarray  # the n people with a tie, sorted
    src: np.ndarray  # int64 node indexes
    dst: np.ndarray
    weight: np.ndarray  # float64
    group: np.ndarray | None  # each node's group label (brokerage); None: no groups given


def _one_tie_per_pair(names: np.ndarray, src: np.ndarray, dst: np.ndarray, weight: np.ndarray,
                      group: np.ndarray | None) -> _Ties:
    n = len(names)
    pair, at = np.unique(src * n + dst, return_inverse=True)
    return _Ties(names, pair // n, pair % n, np.bincount(at, weights=weight), group)


def _sorted_unique(values: pa.ChunkedArray) -> pa.Array:
    unique = pc.unique(values)
    return unique.take(pc.sort_indices(unique))


def _ties_of_table(table: pa.Table, with_groups: bool) -> _Ties | None:
    """The ties of one week's Arrow table (what Spark hands a task; `node_metrics` makes one
    from its frame), None when no row has two different ends. The names stay
    in Arrow buffers and are coded there, so the week never becomes millions of Python strings
    (a 50k-person week's edges took ~400 MiB as a pandas frame). With `with_groups`, each
    person's group is the smallest non-null label of src_group / dst_group on their rows, and
    UNASSIGNED_GROUP without one."""
    src, dst = table["src"], table["dst"]
    ties = table.select(["src", "dst", "weight"]).filter(
        pc.and_(pc.and_(pc.is_valid(src), pc.is_valid(dst)), pc.not_equal(src, dst)))
    if ties.num_rows == 0:
        return None
    names = _sorted_unique(pa.chunked_array(ties["src"].chunks + ties["dst"].chunks, type=src.type))

    def codes(values: pa.ChunkedArray, value_set: pa.Array) -> np.ndarray:
        """Index of each value in value_set, -1 for a null or a value not in it."""
        return pc.fill_null(pc.index_in(values, value_set=value_set), -1).to_numpy().astype(np.int64)

    group = None
    if with_groups:
        labels = pa.chunked_array(table["src_group"].chunks + table["dst_group"].chunks,
                                  type=table.schema.field("src_group").type)
        group_names = pc.drop_null(_sorted_unique(labels))
        person_at = codes(pa.chunked_array(src.chunks + dst.chunks, type=src.type), names)
        label_at = codes(labels, group_names)
        labelled = (person_at >= 0) & (label_at >= 0)
        smallest = np.full(len(names), len(group_names), dtype=np.int64)  # len: no label seen
        np.minimum.at(smallest, person_at[labelled], label_at[labelled])
        group = np.append(group_names.to_numpy(zero_copy_only=False), UNASSIGNED_GROUP).astype(object)[smallest]
    return _one_tie_per_pair(names.to_numpy(zero_copy_only=False).astype(object), codes(ties["src"], names),
                             codes(ties["dst"], names), ties["weight"].to_numpy().astype(np.float64), group)


def node_metrics(
    edges: pd.DataFrame,
    groups: Mapping[str, str] | None = None,
    seed: int = 0,
    exact_betweenness_max_nodes: int = EXACT_BETWEENNESS_MAX_NODES,
    betweenness_epsilon: float = BETWEENNESS_EPSILON,
    betweenness_delta: float = BETWEENNESS_DELTA,
) -> tuple[pd.DataFrame, WeekFacts]:
    """Every contract column (jobs/graph/contract.py) for one week's directed weighted graph
    given as src, dst, weight rows, one row per person with a tie, sorted by person; and the
    week's facts (modularity of the communities, betweenness error bound).

    Rows repeating a (src, dst) pair are summed; self-ties and rows without both ends are
    ignored. `groups` maps person -> group (department) for the brokerage counts; people
    missing from it are UNASSIGNED_GROUP; without it the five brokerage columns are null.
    `seed` (>= 0) fixes Louvain's and the betweenness sampling's randomness: reruns give the
    same result.
    """
    columns = {"src": edges["src"], "dst": edges["dst"], "weight": edges["weight"]}
    if groups is not None:  # as the Spark task gets them: each end's label, null when unknown
        label = dict(groups)
        columns |= {"src_group": edges["src"].map(label), "dst_group": edges["dst"].map(label)}
    table = pa.Table.from_pandas(pd.DataFrame(columns), schema=pa.schema([_EDGE_SCHEMA.field(c) for c in columns]),
                                 preserve_index=False)
    ties = _ties_of_table(table, with_groups=groups is not None)
    if ties is None:
        return _empty_frame(), WeekFacts(modularity=None, betweenness_error_bound=None)
    return _week_metrics(ties, seed, exact_betweenness_max_nodes, betweenness_epsilon, betweenness_delta)


def _pagerank(n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """On the directed graph, which nothing else needs: it is freed on return."""
    directed = ig.Graph(n=n, edges=np.column_stack([src, dst]).tolist(), directed=True)
    directed.es["weight"] = weight.tolist()
    return np.asarray(directed.pagerank(weights="weight", damping=DAMPING, directed=True))


def _undirected_pairs(n: int, src: np.ndarray, dst: np.ndarray,
                      weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """low, high, weight: one edge per unordered pair, the weights of both directions summed."""
    pair, at = np.unique(np.minimum(src, dst) * n + np.maximum(src, dst), return_inverse=True)
    return pair // n, pair % n, np.bincount(at, weights=weight)


def _symmetric(n: int, low: np.ndarray, high: np.ndarray, weight: np.ndarray) -> sp.csr_matrix:
    return sp.csr_matrix((np.concatenate([weight, weight]),
                          (np.concatenate([low, high]), np.concatenate([high, low]))), shape=(n, n))


def _week_metrics(ties: _Ties, seed: int, exact_betweenness_max_nodes: int, betweenness_epsilon: float,
                  betweenness_delta: float) -> tuple[pd.DataFrame, WeekFacts]:
    """The contract's columns for one week's ties. The intermediate arrays live in helpers so
    that each is freed once used: at 50k people the graph's arrays are ~12 MiB each, and the
    metrics' peak is what bounds a task's memory (docs/performance.md)."""
    names, src, dst = ties.names, ties.src, ties.dst
    n = len(names)
    pagerank = _pagerank(n, src, dst, ties.weight)
    u_low, u_high, u_weight = _undirected_pairs(n, src, dst, ties.weight)
    undirected = ig.Graph(n=n, edges=np.column_stack([u_low, u_high]).tolist(), directed=False)
    undirected.es["weight"] = u_weight.tolist()

    component, component_size = _stable_labels(undirected.connected_components().membership)
    # Louvain breaks ties at random: a private generator with a fixed seed makes reruns give the
    # same communities (and leaves Python's global generator alone).
    ig.set_random_number_generator(random.Random(seed))
    membership = undirected.community_multilevel(weights="weight").membership
    modularity = undirected.modularity(membership, weights="weight")
    community, _ = _stable_labels(membership)
    clustering = np.asarray(undirected.transitivity_local_undirected(mode="zero"))
    kcore = np.asarray(undirected.coreness(), dtype=np.int64)

    eigenvector = np.zeros(n)
    giant = np.flatnonzero(component == 0)
    eigenvector[giant] = _eigenvector(undirected, giant)

    weights = _symmetric(n, u_low, u_high, u_weight)
    del u_low, u_high, u_weight
    harmonic = _harmonic(weights.indptr, weights.indices)
    betweenness, error_bound = _betweenness(
        undirected, seed, exact_betweenness_max_nodes, betweenness_epsilon, betweenness_delta
    )
    del undirected
    constraint, effective_size = _burt(weights)
    del weights

    frame = pd.DataFrame(
        {
            "person": names,
            "pagerank": pagerank,
            "eigenvector": eigenvector,
            "harmonic": harmonic,
            "kcore": kcore,
            "betweenness": betweenness,
            "clustering": clustering,
            "constraint": constraint,
            "effective_size": effective_size,
            "component": component,
            "component_size": component_size,
            "community": community,
        }
    )
    if ties.group is None:
        for role in BROKERAGE_ROLES:
            frame[role] = pd.array([pd.NA] * n, dtype="Int64")
    else:
        for role, counts in _brokerage(n, src, dst, ties.group).items():
            frame[role] = pd.array(counts, dtype="Int64")
    frame[_LONG_COLUMNS] = frame[_LONG_COLUMNS].astype(np.int64)
    return frame[_COLUMN_NAMES], WeekFacts(modularity=modularity, betweenness_error_bound=error_bound)


def _harmonic(indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Harmonic closeness (sum of 1 / hops to every other person, over n - 1) of the undirected
    unweighted graph given as symmetric CSR arrays in which every node has a neighbour.

    Exact, by a breadth-first search from every node, 64 at once: bit i of a node's word says
    whether search i has reached it, so one level of the 64 searches is a gather and an OR over
    the adjacency: from the frontier's ties while the frontier is small (top-down), over every
    tie otherwise (bottom-up). Distances are symmetric, so search s adds 1/d(s, v) to v's sum.
    ~20x faster than one igraph search per node (50k people, 1.06M ties: 18 s instead of ~440).
    """
    n = len(indptr) - 1
    m = len(indices)
    total = np.zeros(n)
    starts = indptr[:-1]
    degree = np.diff(indptr)
    for first in range(0, n, 64):
        sources = np.arange(first, min(first + 64, n))
        seen = np.zeros(n, dtype=np.uint64)
        seen[sources] = np.left_shift(np.uint64(1), (sources - first).astype(np.uint64))
        frontier, active = seen, sources  # active: nodes with a bit in the frontier
        hops = 0
        while len(active):
            hops += 1
            lengths = degree[active]
            work = int(lengths.sum())
            if work * 8 < m:  # top-down: OR each frontier word into its neighbours
                offsets = np.repeat(starts[active] - (np.cumsum(lengths) - lengths), lengths)
                reached = np.zeros(n, dtype=np.uint64)
                np.bitwise_or.at(
                    reached, indices[offsets + np.arange(work)], np.repeat(frontier[active], lengths)
                )
            else:  # bottom-up: every node ORs its neighbours' words
                reached = np.bitwise_or.reduceat(frontier[indices], starts)
            new = reached & ~seen
            active = np.flatnonzero(new)
            total[active] += np.bitwise_count(new[active]) / hops
            seen |= new
            frontier = new
    return total / max(n - 1, 1)


def _betweenness(
    undirected: ig.Graph, seed: int, exact_max_nodes: int, epsilon: float, delta: float
) -> tuple[np.ndarray, float]:
    """Normalised betweenness of the undirected unweighted graph and its error bound.

    Exact (Brandes, igraph) up to `exact_max_nodes` people. Above, estimated from the shortest
    paths of k sources drawn without replacement (Brandes & Pich 2007): with x_s(v) =
    dep_s(v) / (n - 2) in [0, 1] (dep_s(v): Brandes' dependency of source s on v), the exact
    value is n / (n - 1) times the mean of x_s(v) over all n sources, and the estimate is the
    same over the k sources. Hoeffding's bound (which holds without replacement) and a union
    bound over the n people give P(some |estimate - exact| > epsilon) <= 2 n exp(-2 k t^2),
    t = epsilon (n - 1) / n, so k = ln(2 n / delta) / (2 t^2) sources make every value within
    epsilon of the exact one with probability >= 1 - delta. When k >= n, the exact value.
    """
    n = undirected.vcount()
    if n <= 2:
        return np.zeros(n), 0.0
    pairs = (n - 1) * (n - 2) / 2
    t = epsilon * (n - 1) / n
    sources = int(np.ceil(np.log(2 * n / delta) / (2 * t * t)))
    if n <= exact_max_nodes or sources >= n:
        return np.asarray(undirected.betweenness(directed=False)) / pairs, 0.0
    chosen = np.sort(np.random.default_rng(seed).choice(n, size=sources, replace=False))
    # igraph halves the subset sum on undirected graphs: it returns sum over s of delta_s / 2.
    partial = np.asarray(undirected.betweenness(directed=False, sources=chosen.tolist()))
    return (n / sources) * partial / pairs, float(epsilon)


def _empty_frame() -> pd.DataFrame:
    kinds = {"string": object, "double": np.float64, "long": np.int64}
    frame = pd.DataFrame({name: pd.Series(dtype=kinds[kind]) for name, kind in NODE_COLUMNS})
    for role in BROKERAGE_ROLES:
        frame[role] = frame[role].astype("Int64")
    return frame


def weekly_node_metrics(
    edges_df: DataFrame,
    max_edges: int,
    exact_betweenness_max_nodes: int = EXACT_BETWEENNESS_MAX_NODES,
    betweenness_epsilon: float = BETWEENNESS_EPSILON,
    betweenness_delta: float = BETWEENNESS_DELTA,
) -> DataFrame:
    """contract.NODE_METRICS_SCHEMA for every week in edges_df (week_start, src, dst, weight,
    and optionally src_group, dst_group: the department of each end, for the brokerage counts,
    which are null without them). One task per week, handed the week as an Arrow table
    (applyInArrow: `_ties_of_table` says why not pandas); weeks with more than max_edges ties
    fail with GraphTooLargeError (they belong to the distributed engine)."""
    with_groups = {"src_group", "dst_group"} <= set(edges_df.columns)
    columns = ["week_start", "src", "dst", "weight"]
    if with_groups:
        columns += ["src_group", "dst_group"]

    def one_week(key: tuple[pa.Scalar, ...], week_edges: pa.Table) -> pa.Table:
        if week_edges.num_rows > max_edges:
            raise GraphTooLargeError(
                f"{week_edges.num_rows} edges in one week exceed max_local_edges={max_edges}"
            )
        week = key[0].as_py()
        ties = _ties_of_table(week_edges, with_groups)
        release_freed_memory()  # the coding's Arrow temporaries, before the metrics' peak
        if ties is None:
            frame, facts = _empty_frame(), WeekFacts(modularity=None, betweenness_error_bound=None)
        else:
            frame, facts = _week_metrics(ties, week.toordinal(), exact_betweenness_max_nodes,
                                         betweenness_epsilon, betweenness_delta)
        frame.insert(0, "week_start", week)
        for column, value in (
            ("week_modularity", facts.modularity),
            ("betweenness_error_bound", facts.betweenness_error_bound),
        ):
            frame[column] = np.nan if value is None else np.float64(value)  # NaN -> null
        result = pa.Table.from_pandas(frame, schema=contract.NODE_METRICS_ARROW_SCHEMA,
                                         preserve_index=False)
        del ties, frame
        release_freed_memory()  # the worker outlives the task (jobs/memory.py)
        return result

    return (
        edges_df.select(*columns)
        .groupBy("week_start")
        .applyInArrow(one_week, schema=contract.NODE_METRICS_SCHEMA)
    )
