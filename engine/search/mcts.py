"""Batched PUCT Monte Carlo tree search: many game trees searched at once, all leaves in one network call.

The trees live in preallocated numpy arrays indexed [tree, node, action]; selection and backup walk
them in compiled loops (engine/search/kernels.py), so the only per-simulation Python work is
stepping the OpenSpiel state into the new leaf and encoding it (for Go, engine/search/go.py does
even that in compiled code, on arrays of boards; `make_search` picks it). Each wave selects one
leaf per tree (or `leaves_per_tree` leaves, spread apart by virtual loss), evaluates every new
leaf of every tree in one batch, then backs the values up. Many trees with a heavy network take
turns in groups, their network calls on worker threads (engine/search/pipeline.py). The Gumbel
root (search.root = "gumbel") takes its root actions from engine/search/gumbel.py.

Also here: Dirichlet noise at the root (mixed into a per-search copy of the root priors, so a reused
tree gets fresh noise), KataGo's forced playouts in noisy searches (pruned from the policy target
afterwards: engine/search/forced.py), first-play urgency reduction, tree reuse between moves (the
chosen child becomes the root; trees are compacted when their arrays fill, keeping the part of the
subtree nearest the root when all of it does not fit), terminal leaves valued by their returns, and
chance nodes stepped through by sampling their outcomes.

Values are for 2-player zero-sum games: a leaf's value v for its player to move is -v for the other.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyspiel

from engine.config import SearchConfig
from engine.nn import Evaluator
from engine.search import kernels as tree_kernels
from engine.search.forced import pruned_visits
from engine.search.gumbel import GumbelRoot, improved_policy
from engine.search.pipeline import WavePipeline, network_flops, pays
from games.wins import child_wins

VIRTUAL_LOSS = 1.0


@dataclass
class _Wave:
    """One wave's selected paths and the batch of new leaves it sends to the network."""
    passes: list
    virtual: bool
    trees: np.ndarray  # the new leaves to expand: tree and node of each
    nodes: np.ndarray
    batch: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # (positions, legal, players); None: no new leaf


@dataclass
class SearchStats:
    simulations: int = 0
    evaluations: int = 0
    waves: int = 0


def step(state: pyspiel.State, action: int, rng: np.random.Generator) -> tuple[pyspiel.State, bool]:
    """A copy of `state` after `action`, with any chance events that follow sampled; and whether any were."""
    child = state.child(action)
    sampled = False
    while child.is_chance_node():
        outcomes, probs = zip(*child.chance_outcomes())
        child.apply_action(int(rng.choice(outcomes, p=probs)))
        sampled = True
    return child, sampled


class BatchedMCTS:
    """PUCT search over `num_trees` independent trees, one per concurrent game.

    `encoder` has `encode(state)` and `step(parent_x, state)`; `evaluator` maps encoded positions
    and legal masks to priors and values.
    """

    def __init__(self, encoder, num_actions: int, evaluator: Evaluator, config: SearchConfig,
                 num_trees: int, rng: np.random.Generator, capacity: int | None = None) -> None:
        self.encoder = encoder
        self.evaluator = evaluator
        evaluator.score_utility = config.score_utility  # read in the network call (engine.nn.inference)
        self.config = config
        self.rng = rng
        self.num_trees = num_trees
        self.num_actions = num_actions
        # A search adds at most one node per simulation; room for that twice keeps reused subtrees.
        cap = capacity or 2 * config.simulations + 2
        self.capacity = cap
        shape = (num_trees, cap)
        self.child = np.full(shape + (num_actions,), -1, np.int32)
        # Edge statistics packed per node, so selection gathers a node's row in one indexing op:
        # visits N, value sums W (node player's view), priors P, and the legal mask L as 0/1.
        self.edges = np.zeros(shape + (4, num_actions), np.float32)
        self.N, self.W, self.P, self.L = (self.edges[:, :, i] for i in range(4))
        self.legal = np.zeros(shape + (num_actions,), bool)
        self.expanded = np.zeros(shape, bool)
        self.terminal = np.zeros(shape, bool)
        self.player = np.zeros(shape, np.int8)
        self.value = np.zeros(shape, np.float32)  # network value (node player's view); terminal: return
        self.parent = np.full(shape, -1, np.int32)
        self.sampled = np.zeros(shape, bool)  # reached through a sampled chance outcome
        self.count = np.zeros(num_trees, np.int64)
        # Set when compaction cut a tree's subtree short: its edges then hold visits of nodes it no longer has.
        self.cut = np.zeros(num_trees, bool)
        self.root = np.zeros(num_trees, np.int64)
        self.root_prior = np.zeros((num_trees, num_actions), np.float32)
        # Per tree, k of KataGo's forced playouts in its current search: search.forced_playouts in
        # noisy PUCT searches (self-play's full ones), 0 elsewhere (engine/search/forced.py).
        self.forced_k = np.zeros(num_trees, np.float32)
        self.gumbel = config.root == "gumbel"
        if self.gumbel and config.leaves_per_tree > 1:
            raise ValueError("search.root = \"gumbel\" schedules root visits one simulation at a time: "
                             "set search.leaves_per_tree = 1")
        self.gumbel_root = GumbelRoot(num_trees, num_actions)
        self.states: list[list[pyspiel.State | None]] = [[None] * cap for _ in range(num_trees)]
        self.xs: list[list[np.ndarray | None]] = [[None] * cap for _ in range(num_trees)]
        self.stats = SearchStats()
        self.pipeline: WavePipeline | None = None  # made by the first pipelined search
        self._flops: float | None = None  # one position's network call, counted once

    # ---- tree bookkeeping -------------------------------------------------------------------

    def _clear_rows(self, t: int, start: int) -> None:
        """Clean tree t's rows from `start` up to its count. Rows at and above count are always clean,
        so creating a node writes only what it sets, and a reset costs the tree it drops, not the
        capacity (an analysis tree's capacity runs to hundreds of megabytes)."""
        stop = self.count[t]
        self.child[t, start:stop] = -1
        self.edges[t, start:stop, :2] = 0  # N and W; P and L are written whole at expansion
        self.expanded[t, start:stop] = False
        self.terminal[t, start:stop] = False
        self._clear_positions(t, start)

    def _clear_positions(self, t: int, start: int) -> None:
        """Drop the positions (OpenSpiel states and encodings) of tree t's nodes from `start` on."""
        for i in range(start, self.capacity):
            if self.states[t][i] is None:
                break
            self.states[t][i] = None
            self.xs[t][i] = None

    def reset(self, t: int, state: pyspiel.State, x: np.ndarray | None = None) -> None:
        """Start tree `t` afresh at `state` (which the tree then owns), encoded as `x` if given."""
        self._clear_rows(t, 0)
        self.count[t], self.root[t], self.cut[t] = 1, 0, False
        self.states[t][0] = state
        self.parent[t, 0] = -1
        if state.is_terminal():
            self.terminal[t, 0], self.player[t, 0], self.value[t, 0] = True, 0, state.returns()[0]
        else:
            self.player[t, 0] = state.current_player()
            self.xs[t][0] = self.encoder.encode(state) if x is None else x

    def root_state(self, t: int) -> pyspiel.State:
        return self.states[t][self.root[t]]

    def root_x(self, t: int) -> np.ndarray:
        return self.xs[t][self.root[t]]

    def advance(self, t: int, action: int) -> None:
        """Play `action` at tree t's root; the child's subtree becomes the new tree when reuse is on."""
        r = self.root[t]
        c = self.child[t, r, action]
        # A child behind a chance event holds the outcome the search sampled; the game must draw its own.
        # Gumbel's visit schedule assumes a fresh root, so it does not reuse trees.
        if self.config.reuse_tree and not self.gumbel and c >= 0 and not self.sampled[t, c]:
            self.root[t] = c
            self.parent[t, c] = -1
            return
        state, _ = step(self.states[t][r], action, self.rng)
        parent_x = self.xs[t][r]
        # Stepping the root's encoding keeps history planes that a fresh encode() of a
        # sampled-through state could not know, and costs no replay of the game.
        self.reset(t, state, None if state.is_terminal() or parent_x is None else self.encoder.step(parent_x, state))

    def _compact(self, t: int, room: int) -> None:
        """Make room for `room` new nodes: keep only the root's subtree (its top, if all of it does
        not fit), renumbered from 0."""
        if self.count[t] + room <= self.capacity:
            return
        if room >= self.capacity:  # not even the root fits beside them: start over at the root
            self.reset(t, self.root_state(t), self.root_x(t))
            return
        # The subtree's nodes nearest the root, as many as leave `room`: cutting a subtree too big
        # keeps its top instead of throwing the whole tree away (which costs an encoding of the
        # game's whole history and a root evaluation on its own).
        keep = np.empty(self.capacity - room, np.int64)
        m, cut = tree_kernels.subtree(self.child, t, self.root[t], keep)
        self.cut[t] |= cut
        keep = keep[:m]
        remap = np.full(self.capacity, -1, np.int32)
        remap[keep] = np.arange(m, dtype=np.int32)
        for arr in (self.edges, self.legal, self.expanded, self.terminal, self.player, self.value, self.sampled):
            arr[t, :m] = arr[t, keep]
        kids = self.child[t, keep]
        self.child[t, :m] = np.where(kids >= 0, remap[np.maximum(kids, 0)], -1)
        par = self.parent[t, keep]
        self.parent[t, :m] = np.where(par >= 0, remap[np.maximum(par, 0)], -1)
        self._keep_positions(t, keep)
        self._clear_rows(t, m)  # up to the old count
        self.count[t] = m
        self.root[t] = 0

    def _keep_positions(self, t: int, keep: np.ndarray) -> None:
        """Compaction: tree t's node i gets the position of its node keep[i]."""
        states, xs, m = self.states[t], self.xs[t], len(keep)
        self.states[t] = [states[i] for i in keep] + [None] * (self.capacity - m)
        self.xs[t] = [xs[i] for i in keep] + [None] * (self.capacity - m)

    # ---- search -----------------------------------------------------------------------------

    def search(self, trees: np.ndarray, simulations: np.ndarray | int, noise: bool = False) -> None:
        """Run `simulations` new simulations (per tree, or one count for all) on each of `trees`."""
        trees = np.asarray(trees, np.int64)
        remaining = np.broadcast_to(np.asarray(simulations, np.int64), trees.shape).copy()
        roots = self.root[trees]
        live = ~self.terminal[trees, roots]
        trees, remaining = trees[live], remaining[live]
        if len(remaining) and remaining.max() >= self.capacity:
            raise ValueError(f"{remaining.max()} simulations do not fit a tree of {self.capacity} nodes: "
                             "build the search with a larger capacity")
        for t, sims in zip(trees.tolist(), remaining.tolist()):
            if self.gumbel and self.N[t, self.root[t]].any():  # searched before: start afresh
                self.reset(t, self.root_state(t), self.root_x(t))
            self._compact(t, sims + 1)
        roots = self.root[trees]
        fresh = ~self.expanded[trees, roots]
        if fresh.any():  # expanding a root counts as its first simulation
            self._evaluate(trees[fresh], roots[fresh])
            remaining[fresh] -= 1
            self.stats.simulations += int(fresh.sum())
        self._set_root_priors(trees, noise)
        self.forced_k[trees] = self.config.forced_playouts if noise and not self.gumbel else 0.0
        if self.gumbel:
            self.gumbel_root.start(trees, self.legal[trees, self.root[trees]], remaining,
                                   self.config.gumbel_considered, self.rng if noise else None)
        if pays(len(trees), lambda: self._network_flops(trees[0])):
            if self.pipeline is None:
                self.pipeline = WavePipeline(self.evaluator, len(trees))
            self.pipeline.run(trees, remaining, self.config.leaves_per_tree, self._start_wave, self._forward,
                              self._end_wave)
            return
        while True:
            active = remaining > 0
            if not active.any():
                break
            self._wave(trees[active], remaining[active])
            remaining[active] -= np.minimum(remaining[active], self.config.leaves_per_tree)

    def _set_root_priors(self, trees: np.ndarray, noise: bool) -> None:
        priors = self.P[trees, self.root[trees]]
        if noise and self.config.dirichlet_fraction > 0:
            eps = self.config.dirichlet_fraction
            legal = self.legal[trees, self.root[trees]]
            for i in range(len(trees)):
                idx = np.flatnonzero(legal[i])
                if len(idx) > 1:
                    d = self.rng.dirichlet(np.full(len(idx), self.config.dirichlet_alpha))
                    priors[i, idx] = (1 - eps) * priors[i, idx] + eps * d
        self.root_prior[trees] = priors

    def _expand_edges(self, trees: np.ndarray, parents: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Create the child of each (tree, parent, action) edge, at most one per tree; returns their
        nodes. The per-edge Python is only OpenSpiel's step and its two questions about the result;
        the arrays are written once for the whole batch."""
        states, rng = self.states, self.rng
        nodes = self.count[trees]
        self.count[trees] = nodes + 1
        children, sampled = [], np.zeros(len(trees), bool)
        for i, (t, p, a, c) in enumerate(zip(trees.tolist(), parents.tolist(), actions.tolist(), nodes.tolist())):
            states[t][c], sampled[i] = step(states[t][p], a, rng)
            children.append(states[t][c])
        terminal = np.array([s.is_terminal() for s in children], bool)
        # A terminal node stores its return for the player to move at its parent, the only view backup needs.
        player = np.array([s.current_player() for s in children], np.int8)
        player[terminal] = self.player[trees[terminal], parents[terminal]]
        self.parent[trees, nodes] = parents
        self.child[trees, parents, actions] = nodes
        self.sampled[trees, nodes] = sampled
        self.terminal[trees, nodes] = terminal
        self.player[trees, nodes] = player
        for i in np.flatnonzero(terminal).tolist():
            self.value[trees[i], nodes[i]] = children[i].returns()[player[i]]
        return nodes

    def _select(self, trees: np.ndarray, virtual: bool) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """Descend each tree from its root by PUCT to a leaf (compiled: tree_kernels.select); a path
        that ends on an edge with no child yet gets the child here. Returns the leaves and the paths
        (nodes [k, depth], actions [k, depth], depths [k])."""
        k, cfg = len(trees), self.config
        if self.gumbel:
            r = self.root[trees]
            forced = self.gumbel_root.next_actions(trees, self.edges[trees, r], self.value[trees, r])
        else:
            forced = np.full(k, -1, np.int64)
        nodes = np.empty((k, self.capacity), np.int64)
        actions = np.empty((k, self.capacity), np.int64)
        depth, end, new = np.empty(k, np.int64), np.empty(k, np.int64), np.empty(k, np.int64)
        tree_kernels.select(trees, self.root, self.expanded, self.edges, self.child, self.value, self.root_prior,
                            forced, self.forced_k, cfg.c_puct, cfg.fpu_reduction, virtual, VIRTUAL_LOSS,
                            nodes, actions, depth, end, new)
        grow = np.flatnonzero(new >= 0)
        if len(grow):
            end[grow] = self._expand_edges(trees[grow], end[grow], new[grow])
        return end, (nodes, actions, depth)

    def _evaluate(self, trees: np.ndarray, nodes: np.ndarray) -> None:
        """Encode and evaluate unexpanded non-terminal nodes in one batch, then expand them."""
        batch = self._encode(trees, nodes)
        self._expand(trees, nodes, batch, *self.evaluator.evaluate(*batch, trees))

    def _encode(self, trees: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The network's input for unexpanded nodes: (positions, legal masks, players to move).
        New leaves are encoded in one batch from their parents' encodings; each keeps its row."""
        pairs = list(zip(trees.tolist(), nodes.tolist()))
        states = [self.states[t][n] for t, n in pairs]
        legal = np.array([s.legal_actions_mask() for s in states], bool).reshape(len(pairs), self.num_actions)
        new = [i for i, (t, n) in enumerate(pairs) if self.xs[t][n] is None]
        if new:
            parents = self.parent[trees[new], nodes[new]].tolist()
            x = self.encoder.step_batch([self.xs[pairs[i][0]][p] for i, p in zip(new, parents)],
                                        [states[i] for i in new])
            for row, i in enumerate(new):
                t, n = pairs[i]
                self.xs[t][n] = x[row]
            if len(new) == len(pairs):
                return x, legal, self.player[trees, nodes]
        return np.stack([self.xs[t][n] for t, n in pairs]), legal, self.player[trees, nodes]

    def _expand(self, trees: np.ndarray, nodes: np.ndarray, batch: tuple[np.ndarray, np.ndarray, np.ndarray],
                priors: np.ndarray, values: np.ndarray) -> None:
        """Store the network's answer (batch: the positions, legal masks and players it was given)."""
        legal = batch[1]
        if self.config.win_check:
            self._check_wins(trees, nodes, batch[0], priors, values)
        self.P[trees, nodes] = priors
        self.L[trees, nodes] = legal
        self.legal[trees, nodes] = legal
        self.value[trees, nodes] = values
        self.expanded[trees, nodes] = True
        self.stats.evaluations += len(trees)

    def _check_wins(self, trees: np.ndarray, nodes: np.ndarray, x: np.ndarray, priors: np.ndarray,
                    values: np.ndarray) -> None:
        """One-ply solver (search.win_check): a node whose mover has a winning move is worth +1, and
        its priors go to its winning moves (in place). The encoder answers for the whole batch when
        it can (k-in-a-row games); otherwise each legal move's child state is asked."""
        wins = self.encoder.winning_moves(x)
        if wins is None:
            wins = np.stack([child_wins(self.states[t][n], self.num_actions)
                             for t, n in zip(trees.tolist(), nodes.tolist())])
        won = np.flatnonzero(wins.any(1))
        if len(won):
            w = wins[won]
            priors[won] = w / w.sum(1, keepdims=True)
            values[won] = 1.0

    def _wave(self, trees: np.ndarray, remaining: np.ndarray) -> None:
        wave = self._start_wave(trees, remaining)
        self._end_wave(wave, self._forward(wave))

    def _start_wave(self, trees: np.ndarray, remaining: np.ndarray) -> _Wave:
        """Select this wave's leaves (all Python work before the network call) and encode them."""
        k = self.config.leaves_per_tree
        virtual = k > 1
        passes = []
        for r in range(k):
            ts = trees[remaining > r]
            if not len(ts):
                break
            passes.append((ts, *self._select(ts, virtual)))
        # One network call for every new leaf of every pass; a leaf reached twice is evaluated once.
        all_t = np.concatenate([p[0] for p in passes])
        all_n = np.concatenate([p[1] for p in passes])
        todo = ~self.expanded[all_t, all_n] & ~self.terminal[all_t, all_n]
        key = np.unique(all_t[todo] * self.capacity + all_n[todo])
        eval_t, eval_n = key // self.capacity, key % self.capacity
        return _Wave(passes, virtual, eval_t, eval_n, self._encode(eval_t, eval_n) if len(key) else None)

    def _forward(self, wave: _Wave) -> tuple[np.ndarray, np.ndarray] | None:
        """The network call of a wave; the only part that may run on the search's worker thread."""
        if wave.batch is None:
            return None
        return self.evaluator.evaluate(*wave.batch, wave.trees)

    def _end_wave(self, wave: _Wave, result: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Expand the wave's new leaves with the network's answer, then back the values up."""
        if result is not None:
            self._expand(wave.trees, wave.nodes, wave.batch, *result)
        for ts, leaf, (nodes, actions, depth) in wave.passes:
            tree_kernels.backup(ts, nodes, actions, depth, self.value[ts, leaf], self.player[ts, leaf], self.player,
                                self.edges, wave.virtual, VIRTUAL_LOSS)
        self.stats.simulations += int(sum(len(p[0]) for p in wave.passes))
        self.stats.waves += 1

    def _network_flops(self, t: int) -> float:
        if self._flops is None:
            r = self.root[t]
            self._flops = network_flops(self.evaluator, self.root_x(t)[None], self.legal[t, r][None],
                                        self.player[t, r][None], t)
        return self._flops

    # ---- Gumbel root search (engine/search/gumbel.py) ---------------------------------------

    def gumbel_action(self, t: int) -> int:
        """The action Gumbel search plays: the best-scored among the most visited."""
        r = self.root[t]
        return self.gumbel_root.action(t, self.edges[t, r], self.value[t, r])

    def improved_policy(self, t: int) -> np.ndarray:
        """Gumbel's policy target: softmax(logits + sigma(completed Q)) over legal actions."""
        r = self.root[t]
        return improved_policy(self.edges[t, r], self.value[t, r])

    # ---- results ----------------------------------------------------------------------------

    def visit_counts(self, t: int) -> np.ndarray:
        return self.N[t, self.root[t]].copy()

    def target_visits(self, trees: np.ndarray) -> np.ndarray:
        """Root visit counts of `trees` as policy targets [k, actions]: with forced playouts in their
        last search, the forced excess pruned (engine/search/forced.py); the plain counts otherwise."""
        r = self.root[trees]
        return pruned_visits(self.edges[trees, r], self.root_prior[trees], self.forced_k[trees], self.config.c_puct)

    def root_value(self, t: int) -> float:
        """Mean value at the root for its player to move."""
        r = self.root[t]
        n = self.N[t, r]
        return float((self.value[t, r] + self.W[t, r].sum()) / (1.0 + n.sum()))

    def q_values(self, t: int) -> np.ndarray:
        r = self.root[t]
        n = self.N[t, r]
        return np.where(n > 0, self.W[t, r] / np.maximum(n, 1.0), np.nan)
