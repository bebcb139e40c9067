"""The prior both fits share, and the groups of players linked by games.

Every player gets ``prior_games`` (default 1) virtual draws, spread over its real games, so over the
opponents it met in proportion to the games against each (a game's share is the mean of its two
players'); they sit in the same seats as the game beside them. They keep players with all wins or
all losses finite (10 wins out of 10 against one opponent: +529, not +inf) and cost about one
game's worth of shrinkage per player, towards its own opponents: a ladder of 300 snapshots 30 Elo
apart is not squeezed towards a centre, as one virtual opponent for everybody would squeeze it, and
the first-move advantage moves by about players/games of itself. ``prior_games=0`` is the plain
maximum likelihood, which does not exist for such data: ratings then stay finite (a 1e-6 ridge on
the log-strengths) but huge.

Players never linked by games (directly or through others) form separate groups, each centred on
its own mean before anchoring; :attr:`Ratings.note` says so, as such ratings do not compare.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from league.ratings.solver import tally


class Prior(NamedTuple):
    """The prior's virtual draws, and the groups of players linked by games."""

    draws: np.ndarray  # virtual draws beside each (i, j) entry
    group: np.ndarray  # [players] index of each player's group
    groups: int


def virtual_draws(i: np.ndarray, j: np.ndarray, games: np.ndarray, players: int, prior_games: float) -> Prior:
    """Virtual draws beside entries of `games` (i against j), and the groups they link.

    A player's ``prior_games`` virtual draws are spread over its games, so over its opponents in proportion
    to the games against each; an entry gets the mean of its two players' shares.
    """
    seen = np.maximum(tally(i, games, players) + tally(j, games, players), 1e-300)
    draws = prior_games * games * (1.0 / seen[i] + 1.0 / seen[j]) / 2
    linked = games > 0
    group = components(i[linked], j[linked], players)
    return Prior(draws, group, int(group.max(initial=-1)) + 1)


def components(i: np.ndarray, j: np.ndarray, players: int) -> np.ndarray:
    """Connected groups of the graph with edges (i, j): label propagation with pointer jumping."""
    label = np.arange(players)
    while True:
        low = np.minimum(label[i], label[j])
        new = label.copy()
        np.minimum.at(new, i, low)
        np.minimum.at(new, j, low)
        new = new[new]
        if np.array_equal(new, label):
            return np.unique(label, return_inverse=True)[1].ravel()
        label = new


def centre(theta: np.ndarray, group: np.ndarray, groups: int) -> np.ndarray:
    """theta [batch, players] with each group's mean at 0: the games say nothing across groups."""
    batch = len(theta)
    keys = (np.arange(batch)[:, None] * groups + group).ravel()
    sizes = np.tile(np.bincount(group, minlength=groups), batch)
    mean = (tally(keys, theta.ravel(), batch * groups) / sizes).reshape(batch, groups)
    return theta - mean[:, group]

