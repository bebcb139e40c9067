"""Compiled inner loops of BatchedMCTS: PUCT descent from the root to a leaf, and value backup.

Both walk every tree of a wave over the search's arrays (indexed [tree, node, ...]; `edges` packs
visits N, value sums W, priors P and the legal mask L per node). In numpy they cost a dozen calls per
tree depth, and go9's trees run 20 deep: that Python work, not the network, bounded the search.
numba compiles them to machine code once and caches it beside this file.
"""
from __future__ import annotations

import numba
import numpy as np

N, W, P, L = 0, 1, 2, 3  # rows of edges[tree, node]


@numba.njit(cache=True, fastmath=True)
def select(trees, root, expanded, edges, child, value, root_prior, forced_root, forced_k, c_puct, fpu_reduction,
           virtual, virtual_loss, path_nodes, path_actions, depth, end, new_action):
    """Descend each of `trees` from its root by PUCT until an unexpanded node or a missing child.

    PUCT: Q + c_puct * prior * sqrt(sum N + 1) / (1 + N); an unvisited child's Q is its parent's mean
    value less `fpu_reduction` (first-play urgency). The root uses `root_prior` (noise mixed in),
    or plays `forced_root[i]` when that is not -1 (Gumbel's schedule). Where `forced_k[t]` > 0,
    KataGo's forced playouts: a root child with fewer than sqrt(k * prior * sum N) visits is taken
    first (the best-scored of them). With `virtual`, each edge
    taken gets a visit and loses `virtual_loss` at once, steering later passes of the same wave.
    Writes the edges taken to path_nodes/path_actions[i, :depth[i]]; end[i] is the node reached,
    and new_action[i] the action from it whose child does not exist yet (else -1).
    """
    num_actions = edges.shape[3]
    # Scores go to a row first and the best is found after: the scoring loop then has no
    # dependence between actions and compiles to vector instructions.
    scores = np.empty(num_actions, np.float32)
    for i in range(trees.shape[0]):
        t = trees[i]
        node = root[t]
        d = 0
        new_action[i] = -1
        while expanded[t, node]:
            if d == 0 and forced_root[i] >= 0:
                best_a = forced_root[i]
            else:
                e = edges[t, node]
                nsum = np.float32(0.0)
                wsum = np.float32(0.0)
                for a in range(num_actions):
                    nsum += e[N, a]
                    wsum += e[W, a]
                fpu = np.float32((value[t, node] + wsum) / (1.0 + nsum) - fpu_reduction)
                explore = np.float32(c_puct * np.sqrt(nsum + 1.0))
                prior = root_prior[t] if d == 0 else e[P]
                for a in range(num_actions):
                    n = e[N, a]
                    q = e[W, a] / n if n > 0 else fpu
                    s = q + explore * prior[a] / (np.float32(1.0) + n)
                    scores[a] = s if e[L, a] > 0 else np.float32(-1e30)  # finite: fastmath assumes no infinities
                best_a, best = 0, scores[0]
                for a in range(1, num_actions):
                    if scores[a] > best:
                        best, best_a = scores[a], a
                if d == 0 and forced_k[t] > 0:
                    kn = forced_k[t] * nsum
                    short = -1
                    for a in range(num_actions):
                        if e[L, a] > 0 and e[N, a] * e[N, a] < kn * prior[a] and (short < 0 or scores[a] > best):
                            best, short = scores[a], a
                    if short >= 0:
                        best_a = short
            path_nodes[i, d] = node
            path_actions[i, d] = best_a
            d += 1
            if virtual:
                edges[t, node, N, best_a] += 1.0
                edges[t, node, W, best_a] -= virtual_loss
            nxt = child[t, node, best_a]
            if nxt < 0:
                new_action[i] = best_a
                break
            node = nxt
        depth[i] = d
        end[i] = node


@numba.njit(cache=True)
def backup(trees, path_nodes, path_actions, depth, leaf_value, leaf_player, player, edges,
           virtual, virtual_loss):
    """Add each leaf's value along its path: +v where the node's player is the leaf's, -v elsewhere
    (2-player zero-sum). Under `virtual` the visit was counted at selection; its loss is undone."""
    for i in range(trees.shape[0]):
        t = trees[i]
        for d in range(depth[i]):
            node, a = path_nodes[i, d], path_actions[i, d]
            v = leaf_value[i] if player[t, node] == leaf_player[i] else -leaf_value[i]
            if virtual:
                edges[t, node, W, a] += v + virtual_loss
            else:
                edges[t, node, N, a] += 1.0
                edges[t, node, W, a] += v


@numba.njit(cache=True)
def subtree(child, t, root, keep):
    """Tree t's subtree under `root`, breadth first (root first), into keep[:m]; returns m and
    whether the subtree was cut. A subtree larger than `keep` is cut there: its deepest nodes go,
    and the edges to them lose their children but keep their visits and values."""
    keep[0] = root
    m, head = 1, 0
    num_actions = child.shape[2]
    while head < m:
        node = keep[head]
        head += 1
        for a in range(num_actions):
            c = child[t, node, a]
            if c >= 0:
                if m == keep.shape[0]:
                    return m, True
                keep[m] = c
                m += 1
    return m, False
