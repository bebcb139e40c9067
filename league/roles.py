"""The league's learning agents and their roles, after AlphaStar (Vinyals et al. 2019, "Grandmaster
level in StarCraft II using multi-agent reinforcement learning", Nature 575): who each agent trains
against, when an exploiter's snapshot joins the pool, and when an exploiter starts afresh.

- main: the agent the run exists for; plays itself `league.self_play` of its games and pool
  members the rest, by PFSP (league/pfsp.py).
- main exploiter (`league.main_exploiters`): a network of its own trained only against main's
  latest snapshot, to find main's weaknesses. While it wins less than FALLBACK_WIN_RATE of those
  games it plays main's pool snapshots instead, weighted by PFSP "var" (the ones at its level), as
  AlphaStar's main exploiters do.
- league exploiter (`league.league_exploiters`): a network of its own trained against the whole
  pool by PFSP "hard", to find strategies no member of the league answers.

An exploiter's snapshot joins the pool (so main meets it through PFSP, and the evaluator rates it)
when its win rate against its opponents, over the games played by its weights since it last joined
(decayed by `league.win_rate_decay` per game, at least MIN_GAMES of them), reaches
`league.exploiter_win_rate`, or after `league.exploiter_steps` learner steps at the latest (checked
at each of its snapshots, every `train.snapshot_every` steps). After joining, a main exploiter
restarts from fresh weights and optimizer; a league exploiter does with probability
`league.exploiter_reset`. A fresh start trains only on the games of its fresh weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.config import LeagueConfig
from engine.rundir import MAIN

MAIN_EXPLOITER = "main_exploiter"
LEAGUE_EXPLOITER = "league_exploiter"
MIN_GAMES = 40  # games an exploiter's win rate needs before it can earn a join (the step limit needs none)
FALLBACK_WIN_RATE = 0.1  # a main exploiter below this against main plays main's past snapshots


@dataclass(frozen=True)
class Agent:
    name: str  # "main", "main-exploiter-0", "league-exploiter-1": its directory and spec name
    role: str  # MAIN, MAIN_EXPLOITER or LEAGUE_EXPLOITER
    index: int  # 0 for main, then 1, 2, ... in the order below: keeps each agent's seeds apart

    @property
    def exploiter(self) -> bool:
        return self.role != MAIN


MAIN_AGENT = Agent(MAIN, MAIN, 0)


def agents(config: LeagueConfig) -> list[Agent]:
    """Main, then the main exploiters, then the league exploiters."""
    found = [MAIN_AGENT]
    for role, count in ((MAIN_EXPLOITER, config.main_exploiters), (LEAGUE_EXPLOITER, config.league_exploiters)):
        found += [Agent(f"{role.replace('_', '-')}-{k}", role, len(found) + k) for k in range(count)]
    return found


def seed_of(seed: int, *keys: int) -> int:
    """A seed for one agent (and one of its fresh starts) of a run, apart from every other's."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


@dataclass(frozen=True)
class Matchup:
    """Whom an agent's games go to: `self_play` of them against itself, the rest to `candidates`
    weighted by PFSP `weighting` over its win rates against each."""
    candidates: list[str]
    weighting: str
    self_play: float


def matchup(agent: Agent, config: LeagueConfig, members: list[str], main_members: list[str],
            main_latest: str | None, vs_main: float) -> Matchup:
    """The opponents of `agent`: `members` is the whole pool, `main_members` main's part of it,
    `main_latest` main's newest snapshot, `vs_main` the agent's recent win rate against main."""
    if agent.role == MAIN_EXPLOITER:
        if vs_main < FALLBACK_WIN_RATE and main_members:
            return Matchup(main_members, "var", 0.0)
        return Matchup([main_latest] if main_latest else [], "even", 0.0 if main_latest else 1.0)
    weighting = "hard" if agent.role == LEAGUE_EXPLOITER else config.pfsp
    self_play = config.self_play if agent.role == MAIN else 0.0
    return Matchup(members, weighting, self_play if members else 1.0)


def ready_to_join(win_rate: float, games: int, steps_since_join: int, config: LeagueConfig) -> bool:
    """Whether an exploiter's current snapshot joins the pool: it beats its opponents often enough
    over enough games, or it has trained `exploiter_steps` steps since it last joined."""
    return (steps_since_join >= config.exploiter_steps
            or (games >= MIN_GAMES and win_rate >= config.exploiter_win_rate))


def resets_after_join(agent: Agent, joins: int, seed: int, config: LeagueConfig) -> bool:
    """Whether the agent restarts fresh after its `joins`-th join; drawn from the run's seed, so a
    resumed or repeated run decides the same."""
    if agent.role == MAIN_EXPLOITER:
        return True
    if agent.role == LEAGUE_EXPLOITER:
        return bool(np.random.default_rng([seed, agent.index, joins]).random() < config.exploiter_reset)
    return False
