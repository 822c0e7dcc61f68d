#!/usr/bin/env python3
"""assign-scipy.py - the baseline of build/bench/assign-bench --scipy FILE.

    assign-scipy.py FILE

FILE: "nneeds ncands nedges", then one "need cand score" line per edge
(the candidate lists of a batch). Solves the maximum-weight matching with
count 1 per need and capacity 1 per candidate using
scipy.sparse.csgraph.min_weight_full_bipartite_matching, and prints the
time of that call and the total score.

The reduction. min_weight_full_bipartite_matching wants a matching that
covers every row, at least cost; we want any matching, at most score. So
each need also gets a column of its own (a "nobody" candidate), every
real edge costs M - score and every "nobody" edge costs M, with
M = max score + 1 (all costs positive, since a stored 0 would be no
edge). A full matching always exists (each need can take its nobody), and
its cost is nneeds * M - (total score of the real pairs): least cost is
most score. Only count = capacity = 1 compares like with like: expanding
counts and capacities into copies of rows and columns would let two
copies of a need take two copies of one candidate, a pair twice, which a
b-matching forbids (engine/assign.c's instance allows it once).
"""
import sys
import time

try:
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching
except ImportError as exc:
    print(f"assign-scipy: {exc} (install python3-scipy)", file=sys.stderr)
    sys.exit(2)


def main():
    with open(sys.argv[1], encoding="ascii") as f:
        nneeds, ncands, nedges = (int(w) for w in f.readline().split())
        data = np.loadtxt(f, ndmin=2) if nedges else np.zeros((0, 3))
    need = data[:, 0].astype(np.int64)
    cand = data[:, 1].astype(np.int64)
    score = data[:, 2]
    big = (score.max() if nedges else 0.0) + 1.0
    rows = np.concatenate([need, np.arange(nneeds)])
    cols = np.concatenate([cand, ncands + np.arange(nneeds)])
    cost = np.concatenate([big - score, np.full(nneeds, big)])
    graph = csr_matrix((cost, (rows, cols)), shape=(nneeds, ncands + nneeds))
    t0 = time.perf_counter()
    _, col = min_weight_full_bipartite_matching(graph)
    secs = time.perf_counter() - t0
    # The score of each row's real pair (a "nobody" column scores 0).
    best = {}
    for n, c, s in zip(need, cand, score):
        best[(int(n), int(c))] = s
    total = sum(best.get((i, int(c)), 0.0) for i, c in enumerate(col) if c < ncands)
    print(f"    unit instance (count = capacity = 1): scipy {secs:.3f} s, total {total:.6f} "
          f"(min_weight_full_bipartite_matching, {nedges + nneeds} edges with the nobody columns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
