"""The player-spec grammar: how a spec string is written, split and resolved to a snapshot file.

A spec is a base and options after `@` (`base@k=v@k=v`, also `base@k=v,k=v`). Bases: a built-in
kind, alone or with a count (`random`, `mcts:N`; engine/players/registry.py lists the kinds) · a
snapshot: `path/to/snapshot.pt`, `<run>` = `<run>:latest`, `<run>:step-K`, and `<run>/<agent>`
in place of `<run>` for another learning agent of the run (an exploiter: `r/main-exploiter-0:step-300`;
an agent is whatever has a directory under the run's `agents/`) · `gtp:<command line>`: an external
GTP engine, everything after `gtp:` its command line, so it takes no `@` options. `seed` is an
option of every spec; the rest belong to the kind (neural bots take any search setting).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine import rundir
from engine.errors import BotError
from engine.nn import list_snapshots
from engine.rundir import MAIN

SPEC_HELP = ("specs: random, mcts:N, ismcts:N, minimax, call, raise (poker), gnugo:LEVEL (Go), <run>, <run>:step-K, "
             "path.pt, with options like @sims=N, gtp:<command line>")
GTP = "gtp:"
MAX_OPTION = 2**31 - 1  # OpenSpiel's C++ bots take seeds and counts as C ints (numpy's RandomState: 32 bits)


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split `base@k=v@k=v` (also `base@k=v,k=v`) into the base and its options."""
    base, *rest = spec.strip().split("@")
    options: dict[str, str] = {}
    for part in ",".join(rest).split(","):
        if not part:
            continue
        if "=" not in part:
            raise BotError(f"bad option {part!r} in player spec {spec!r}: write options as @key=value")
        k, v = part.split("=", 1)
        options[k.strip()] = v.strip()
    if not base:
        raise BotError(f"empty player spec {spec!r}: {SPEC_HELP}")
    return base, options


def gtp_command(spec: str) -> str | None:
    """The command line of a `gtp:<command line>` spec ('@' and ',' belong to it); None for other specs."""
    spec = spec.strip()
    return spec[len(GTP):] if spec.startswith(GTP) else None


@dataclass
class PlayerSpec:
    """A parsed spec as a bot factory sees it: `kind` and `count` split from `base` at the first ':'
    (`count` is None without one), the options not yet taken (factories pop theirs), the seed."""

    text: str
    base: str
    options: dict[str, str]
    seed: int = 0

    @classmethod
    def parse(cls, spec: str, seed: int = 0) -> PlayerSpec:
        base, options = parse_spec(spec)
        parsed = cls(spec, base, options)
        # A caller's seed (`--seed`) folds into what C++ bots take; a spec's @seed is checked below.
        parsed.seed = parsed.int_option("seed", seed % (MAX_OPTION + 1))
        return parsed

    @property
    def kind(self) -> str:
        return self.base.partition(":")[0]

    @property
    def count(self) -> str | None:
        _, sep, count = self.base.partition(":")
        return count if sep else None

    def int_option(self, key: str, default: int) -> int:
        """Take option @key, a non-negative integer."""
        try:
            value = int(self.options.pop(key, default))
        except ValueError:
            raise BotError(f"option @{key} of {self.text!r} must be an integer") from None
        if value < 0:
            raise BotError(f"option @{key} of {self.text!r} must not be negative")
        if value > MAX_OPTION:
            raise BotError(f"option @{key} of {self.text!r} must be at most {MAX_OPTION}")
        return value

    def rollout_counts(self) -> tuple[int, int]:
        """Simulations and random rollouts per leaf of an `mcts:N` or `ismcts:N` spec (N defaults to 1000)."""
        sims = self.count or "1000"
        if not (sims.isascii() and sims.isdigit()) or int(sims) < 1:  # '²'.isdigit() holds, int('²') fails
            raise BotError(f"bad simulation count in {self.text!r}: write {self.kind}:N with N a positive integer")
        sims_n = self.int_option("sims", int(sims))
        rollouts = self.int_option("rollouts", 1)
        if sims_n < 1 or rollouts < 1:  # OpenSpiel's C++ bots crash the process on 0 rollouts
            raise BotError(f"options @sims and @rollouts of {self.text!r} must be positive integers")
        return sims_n, rollouts

    def check_used(self) -> None:
        """Refuse options no factory took."""
        if self.options:
            raise BotError(f"unknown option(s) {', '.join('@' + k for k in self.options)} for {self.text!r}: "
                           "neural bots take search settings (sims, c_puct, leaves_per_tree) and int8, all bots take seed")


def snapshot_spec(run: str, step: int, agent: str = MAIN) -> str:
    """The spec of a run's snapshot, as the ledger and ladders name it: `<run>:step-K`, `<run>/<agent>:step-K`."""
    return f"{run}:step-{step}" if agent == MAIN else f"{run}/{agent}:step-{step}"


def _snapshot_parts(base: str) -> tuple[str, str, str]:
    """(run, agent or '', selector or '') of `<run>[/<agent>][:<selector>]`."""
    run, _, which = base.partition(":")
    head, _, agent = run.partition("/")
    return head, agent, which


def step_of(player: str) -> int | None:
    """The learner step in a `<run>:step-K` spec (options after @ ignored), or None for other players."""
    which = _snapshot_parts(player.split("@", 1)[0])[2]
    return int(which[5:]) if which.startswith("step-") and which[5:].isdigit() else None


def agent_of(player: str) -> str:
    """The agent of a `<run>:step-K` (main) or `<run>/<agent>:step-K` spec."""
    return _snapshot_parts(player.split("@", 1)[0])[1] or MAIN


def resolve_snapshot(base: str) -> Path:
    """`path.pt`, `<run>`, `<run>:latest` or `<run>:step-K` to a snapshot file; `<run>/<agent>` in
    place of `<run>` names another learning agent of the run."""
    if base.endswith(".pt"):
        path = Path(base)
        if not path.is_file():
            raise BotError(f"snapshot file {base!r} not found: check the path")
        return path
    head, agent, which = _snapshot_parts(base)
    run = base.partition(":")[0]
    run_dir = rundir.existing_run(head)
    if agent:
        known = rundir.agent_names(run_dir)
        if agent not in known:
            hint = f"its agents are {', '.join(known)}" if known else "it has no exploiters (league.main_exploiters)"
            raise BotError(f"run '{head}' has no agent '{agent}': {hint}; or use {head} for the main agent")
        run_dir = rundir.agent_dir(run_dir, agent)
    snaps = list_snapshots(run_dir)
    if not snaps:
        raise BotError(f"run '{run}' has no snapshots yet: let `arena league run` train it first")
    if which in ("", "latest"):
        return snaps[-1][1]
    step = step_of(base)
    if step is not None:
        for s, path in snaps:
            if s == step:
                return path
        steps = ", ".join(str(s) for s, _ in snaps[-5:])
        raise BotError(f"run '{run}' has no snapshot at step {step}: recent steps are {steps} (or use {run}:latest)")
    raise BotError(f"bad snapshot selector ':{which}' in {base!r}: use {run}, {run}:latest or {run}:step-K")
