"""The numbers a session reports: what the live view shows and `status.json` holds."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

# What each actor reports as running totals (league/run/actor_process.py), summed over actors here
# and over a Ray actor's incarnations (league/run/ray_backend.py).
COUNTERS = ("games", "positions", "simulations", "resigned", "would_resign", "false_resigns")


@dataclass
class Progress:
    """What the live view shows; summed over actors."""
    started: float = field(default_factory=time.monotonic)
    games: int = 0
    positions: int = 0
    simulations: int = 0
    per_actor: dict[int, dict] = field(default_factory=dict)
    stored_positions: int = 0
    stored_games: int = 0
    step: int = 0
    losses: dict[str, float] = field(default_factory=dict)
    snapshot: str = "-"
    actors_alive: int = 0
    restarts: int = 0
    pool: list[str] = field(default_factory=list)
    matchmaking: dict = field(default_factory=dict)
    ledger: dict[str, int] = field(default_factory=dict)  # games per kind
    disk_bytes: int = 0
    ladder: list[dict] = field(default_factory=list)
    ladder_note: str = ""
    nash_conv: dict = field(default_factory=dict)  # the latest measurement (mmd, small games)
    agents: list[dict] = field(default_factory=list)  # one row per learning agent (see LeagueRun._agent_rows)
    cluster: dict = field(default_factory=dict)  # with --ray: nodes, actors and games/min per node, restarts
    resigning: bool = False  # the run's games may resign (selfplay.resign_threshold above -1)

    def update_actor(self, index: int, stats: dict) -> None:
        self.per_actor[index] = stats
        self.games = sum(s["games"] for s in self.per_actor.values())
        self.positions = sum(s["positions"] for s in self.per_actor.values())
        self.simulations = sum(s["simulations"] for s in self.per_actor.values())

    def resignation(self) -> dict[str, float | int | None]:
        """Share of this session's games resigned; of the games that could not resign and in which
        a player would have, the share it did not lose (None before the first). Empty when games
        never resign."""
        if not self.resigning:
            return {}

        def total(key: str) -> int:
            return sum(s.get(key, 0) for s in self.per_actor.values())
        would = total("would_resign")
        return {"resigned_share": total("resigned") / self.games if self.games else 0.0,
                "false_resign_rate": total("false_resigns") / would if would else None,
                "would_resign": would}

    def rates(self) -> dict[str, float]:
        def per_second(key: str) -> float:
            return sum(s[key] / max(s["seconds"], 1e-9) for s in self.per_actor.values())
        return {"games_per_minute": 60 * per_second("games"), "positions_per_second": per_second("positions"),
                "simulations_per_second": per_second("simulations")}

    def as_dict(self) -> dict:
        return {"updated": time.time(), "elapsed": time.monotonic() - self.started, "games": self.games, "positions": self.positions,
                "stored_games": self.stored_games, "stored_positions": self.stored_positions, "step": self.step,
                "losses": self.losses, "snapshot": self.snapshot, "actors_alive": self.actors_alive,
                "restarts": self.restarts, "pool": self.pool, "matchmaking": self.matchmaking,
                "ledger": self.ledger, "disk_bytes": self.disk_bytes,
                "ladder": self.ladder, "ladder_note": self.ladder_note, "nash_conv": self.nash_conv,
                "agents": self.agents, "cluster": self.cluster, **self.rates(), **self.resignation()}
