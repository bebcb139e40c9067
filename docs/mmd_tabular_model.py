"""A tabular model of the MMD learner's update (engine/train/mmd.py), for trying its settings in a minute.

The learner's step on a table instead of networks, with the critic replaced by the exact action
values of the behaviour policy (OpenSpiel's TreeWalkCalculator) plus Gaussian noise of the
critic's measured size (0.06 of the scaled return on Leduc): one update takes ~0.1 s where the
league takes ~2.5 s, so the updates of a 30-minute run are tried in a minute or two. With the
session-9 rule (a 3% mix, no floor) it gave NashConv 0.40-0.43 at 350 updates where the deep run
leducY gave 0.41. It misses one thing the deep learner has: a critic wrong, update after update,
on actions it rarely sees (a 0.5% share modelled well and drifted in the league). Figures and the
commands behind them are in docs/benchmarks.md.

    .venv/bin/python docs/mmd_tabular_model.py --mix 0.01 --floor 0.03 --noise 0.06 --updates 400
"""
from __future__ import annotations

import argparse

import numpy as np
import pyspiel
import torch
from open_spiel.python import policy as openspiel_policy
from open_spiel.python.algorithms import action_value, exploitability

from engine.train import mmd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--game", default="leduc_poker")
    ap.add_argument("--updates", type=int, default=400)
    ap.add_argument("--eta", type=float, default=2.0, help="step size, on returns scaled to [-1, 1]")
    ap.add_argument("--alpha", type=float, default=0.1, help="magnet weight")
    ap.add_argument("--magnet-every", type=int, default=30)
    ap.add_argument("--mix", type=float, default=0.01, help="mmd.exploration: uniform share mixed in")
    ap.add_argument("--floor", type=float, default=0.03, help="mmd.exploration_floor")
    ap.add_argument("--noise", type=float, default=0.06, help="std of the noise on every scaled Q")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--every", type=int, default=50, help="print NashConv every this many updates")
    args = ap.parse_args()

    game = pyspiel.load_game(args.game)
    table = openspiel_policy.TabularPolicy(game)
    legal = table.legal_actions_mask.astype(bool)
    uniform = legal / legal.sum(1, keepdims=True)
    calculator = action_value.TreeWalkCalculator(game)
    scale = max(abs(game.min_utility()), abs(game.max_utility()))
    rng = np.random.default_rng(args.seed)

    def behaviour(p: np.ndarray) -> np.ndarray:  # the learner's own rule, on the table
        return mmd.behaviour(torch.from_numpy(p), torch.from_numpy(legal), args.mix, args.floor).numpy()

    def log(p: np.ndarray) -> np.ndarray:
        return np.log(np.where(legal, p, 1.0))

    pi = uniform.copy()
    magnet = pi.copy()
    for t in range(args.updates):
        sigma = behaviour(pi)  # what the actors play
        table.action_probability_array[:] = sigma
        q = np.array(calculator(game.num_players() * [table], table).action_values) / scale
        q += args.noise * rng.standard_normal(q.shape)
        eta, alpha = args.eta, args.alpha
        logits = (log(sigma) + alpha * eta * log(behaviour(magnet)) + eta * q) / (1 + alpha * eta)
        logits = np.where(legal, logits - logits.max(1, keepdims=True), -np.inf)
        pi = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)  # the snapshot
        magnet += (pi - magnet) / args.magnet_every  # the learner averages weights; here, probabilities
        if (t + 1) % args.every == 0:
            table.action_probability_array[:] = pi
            print(f"update {t + 1}: NashConv {exploitability.nash_conv(game, table, use_cpp_br=True):.3f}", flush=True)


if __name__ == "__main__":
    main()
