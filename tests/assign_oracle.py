#!/usr/bin/env python3
"""assign_oracle.py - the optimum of a b-matching instance by linear programming.

    assign_oracle.py INSTANCE

INSTANCE is a text file written by tests/test_assign.c:

    nneeds ncands nedges
    count_0 ... count_{nneeds-1}
    capacity_0 ... capacity_{ncands-1}
    need cand score          (one line per edge)

The LP: maximise sum score_e x_e subject to, for each need i,
sum_{e at i} x_e <= count_i, for each candidate j, sum_{e at j} x_e <=
capacity_j, and 0 <= x_e <= 1. Its matrix is the incidence matrix of a
bipartite graph, which is totally unimodular, so with integral bounds the
LP optimum is reached at an integral vertex: it equals the optimum of the
integral problem (each pair at most once). HiGHS solves it independently
of koble's solver.

Prints "optimum TOTAL" and "fractional K" (the number of x_e HiGHS left
strictly between 0 and 1, expected 0 at a vertex), exit status 0; on a
missing scipy or a failed solve, a message on stderr and status 2 or 3.
"""
import sys

try:
    import numpy as np
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix
except ImportError as exc:  # a declared dependency (deploy/install-deps.sh)
    print(f"assign_oracle: {exc} (install python3-scipy)", file=sys.stderr)
    sys.exit(2)


def main():
    with open(sys.argv[1], encoding="ascii") as f:
        words = f.read().split()
    nneeds, ncands, nedges = int(words[0]), int(words[1]), int(words[2])
    pos = 3
    count = [int(w) for w in words[pos:pos + nneeds]]
    pos += nneeds
    capacity = [int(w) for w in words[pos:pos + ncands]]
    pos += ncands
    need = np.array([int(w) for w in words[pos:pos + 3 * nedges:3]], dtype=np.int64)
    cand = np.array([int(w) for w in words[pos + 1:pos + 3 * nedges:3]], dtype=np.int64)
    score = np.array([float(w) for w in words[pos + 2:pos + 3 * nedges:3]])
    if nedges == 0:
        print("optimum 0.0\nfractional 0")
        return 0
    cols = np.arange(nedges)
    rows = np.concatenate([need, nneeds + cand])
    a_ub = coo_matrix((np.ones(2 * nedges), (rows, np.concatenate([cols, cols]))),
                      shape=(nneeds + ncands, nedges)).tocsr()
    b_ub = np.array(count + capacity, dtype=float)
    res = linprog(-score, A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
    if res.status != 0:
        print(f"assign_oracle: HiGHS failed: {res.message}", file=sys.stderr)
        return 3
    fractional = int(np.sum((res.x > 1e-7) & (res.x < 1 - 1e-7)))
    print(f"optimum {-res.fun:.12f}\nfractional {fractional}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
