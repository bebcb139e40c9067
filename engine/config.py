"""Run configuration: dataclass sections, per-game defaults, TOML reading and writing.

A run's resolved config is written to `checkpoints/<run>/config.toml`; it is the single record of
what the run was started with. Unknown keys and bad values are refused with a one-line message.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ArenaError

if TYPE_CHECKING:
    from engine.train.kinds import LearnerKind
    from games import GameSpec


class ConfigError(ArenaError):
    """A bad config key or value; the message is one line naming the fix."""


@dataclass
class NetworkConfig:
    kind: str = "resnet"  # "resnet" for board tensors, "mlp" for flat ones
    channels: int = 64
    blocks: int = 4
    hidden: int = 256  # mlp width, and the value head's hidden layer
    layers: int = 3  # mlp depth
    # KataGo's global-pooling blocks in the resnet tower (engine/nn/networks.py, GlobalPoolBlock):
    # every third block also pools its board into per-channel biases. Snapshots saved before it: off.
    global_pool: bool = False
    # KataGo's auxiliary ownership and score heads, trained on finished games' owners and margins, on
    # resnets for games that have them (Go); never run in search. False: the ablation without them.
    aux_heads: bool = True
    # KataGo's liberty inputs for Go: three more planes, the stones whose chain has 1, 2 or 3
    # liberties (games.encoders.GoEncoder). Off until a learning ablation shows they pay.
    liberties: bool = False


@dataclass
class SearchConfig:
    simulations: int = 50
    c_puct: float = 1.5
    fpu_reduction: float = 0.25  # unvisited children start at parent value minus this
    dirichlet_alpha: float = 0.3
    dirichlet_fraction: float = 0.25
    leaves_per_tree: int = 1  # >1 gathers several leaves per tree with virtual loss
    reuse_tree: bool = True
    # "gumbel": Gumbel root search with sequential halving (Danihelka et al. 2022) for self-play;
    # policy targets improve even at a handful of simulations. Play-time bots always use PUCT.
    root: str = "puct"
    gumbel_considered: int = 16  # actions sampled at the root for sequential halving
    # One-ply solver: on expansion, try every legal move; a node whose mover can win at once is
    # valued as won and its priors go to the winning moves. A blunder that hands the opponent an
    # immediate win then shows as lost after one visit. Costs a state copy per legal move, so it
    # is on for games where single moves end games (connect four, tic-tac-toe, small hex).
    win_check: bool = False
    # KataGo's forced playouts with policy target pruning (engine/search/forced.py), in self-play's
    # noisy full searches only: k in n_forced = sqrt(k * prior * root visits); KataGo uses 2. 0: off.
    # Refused with root = "gumbel", which schedules its own root visits. At low simulations (go9's
    # 100) they take the whole budget and flatten the root (docs/benchmarks.md): for 400 and up.
    forced_playouts: float = 0.0
    # KataGo's static score utility, for networks with the score head (Go): the value search backs up
    # is (v + λ·E[(2/π)·atan(margin/√points)]) / (1 + λ), so a won game keeps its margin and takes
    # dead stones off rather than passing them away. λ here; KataGo uses 0.1 (plus 0.3 dynamic). 0: off.
    score_utility: float = 0.0


@dataclass
class SelfPlayConfig:
    concurrent_games: int = 128
    temperature_moves: int = 8  # sample moves by visit count for this many plies, then play the best
    full_search_fraction: float = 1.0  # KataGo's playout-cap randomization; 1.0 turns it off
    fast_simulations: int = 10  # simulations of the cheap searches
    flush_games: int = 64
    flush_seconds: float = 20.0
    # Resignation (engine/search/resign.py): a player whose root value stays below the threshold
    # for resign_moves own moves in a row loses there; -1 never resigns (games.GameSpec.resignable only).
    resign_threshold: float = -1.0
    resign_moves: int = 3
    # Games that may not resign (AlphaGo Zero: 10%): they are played out, and tell how often a
    # resignation would have given up a game that was not lost (the false-resign rate).
    no_resign_fraction: float = 0.1
    # The actors' network in int8 (onnxruntime's static quantization, engine/nn/ort.py), recalibrated at
    # each snapshot on the positions just searched and used only where it agrees with float32.
    int8: bool = False


@dataclass
class TrainConfig:
    batch_size: int = 256
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    window: int = 100_000  # replay window, positions
    min_positions: int = 2_000  # learner starts once the store holds this many
    max_reuse: float = 8.0  # cap on samples drawn per stored position: keeps the learner from outrunning actors
    snapshot_every: int = 200  # learner steps between published snapshots
    value_weight: float = 1.0
    q_mix: float = 0.0  # value target = (1-q_mix) * z + q_mix * root search value


@dataclass
class LeagueConfig:
    """The population around the learner (league/): pool, PFSP matchmaking, evaluator."""

    pool_every: int = 500  # learner steps between snapshots joining the pool (with gate = false)
    gate: bool = False  # join the pool by passing an SPRT against its newest member instead
    gate_elo0: float = 0.0  # SPRT H0: the candidate is this many Elo better (or less)
    gate_elo1: float = 30.0  # SPRT H1: at least this many Elo better
    gate_max_games: int = 400  # an undecided SPRT is rejected after this many games
    pool_size: int = 16  # cap; older members are thinned on a log scale, the first is kept
    self_play: float = 0.5  # fraction of the main agent's games against itself; the rest by PFSP
    pfsp: str = "hard"  # opponent weighting: "hard" (1-x)^p, "var" x(1-x), "even"
    pfsp_p: float = 2.0
    win_rate_decay: float = 0.99  # per game: weight of older results in main's win rate per opponent
    opponents_per_actor: int = 4  # distinct opponent networks an actor holds at once (batching)
    evaluator: bool = True  # rate every pool member against the pool and the anchors
    eval_games: int = 20  # games per pairing, half on each seat
    eval_simulations: int = 0  # simulations of snapshots in rating games; 0: search.simulations
    eval_opening_plies: int = 2  # random opening moves per seat pair: deterministic players still differ
    anchors: list[str] = field(default_factory=lambda: ["random", "mcts:200"])
    # AlphaStar's exploiters (league/roles.py; AlphaZero learner only): agents with networks of
    # their own whose snapshots join the pool, so main meets the weaknesses they find. Each adds an
    # actor process and its share of the learner's time.
    main_exploiters: int = 0  # trained against main's latest snapshot only
    league_exploiters: int = 0  # trained against the whole pool by PFSP (hard)
    exploiter_win_rate: float = 0.7  # an exploiter joins the pool on reaching this recent win rate...
    exploiter_steps: int = 2000  # ...or after this many learner steps since it last joined
    exploiter_reset: float = 0.25  # chance a league exploiter restarts fresh on joining (main exploiters always do)


@dataclass
class MMDConfig:
    """Magnetic mirror descent (engine/train/mmd.py), the learner of imperfect-information games.

    Each update is one mirror-descent step on every information state the fresh games reached:
    pi' ∝ (pi * magnet^(alpha*eta) * exp(eta*Q))^(1/(1+alpha*eta)), Q from a critic fitted to the
    returns of the games the current policy played. The magnet trails the current policy (an
    exponential average of its weights), so the iterates head for a Nash equilibrium, not a
    softened one.
    """

    step_size: float = 2.0  # eta, on returns scaled to [-1, 1]
    magnet_weight: float = 0.1  # alpha: pull towards the magnet (regularization)
    magnet_every: int = 30  # time constant, in updates, of the magnet's average of the policy
    positions_per_update: int = 20_000  # fresh positions (played by the current policy) per update
    epochs: float = 2.0  # passes over the fresh positions, for the critic and for the policy
    # The critic also learns from the games of this many earlier updates: the policy moves little
    # per update, and four times the data quarters the variance its noise adds to each step.
    critic_updates: int = 4
    # The actors' behaviour (engine.train.mmd.behaviour): `exploration` of the uniform policy mixed in,
    # then each legal action raised to `exploration_floor` of the uniform policy where below. The
    # floor keeps every action tried, so the critic's value of it stays checked against real
    # returns; the small mix damps the critic's noise. Only the behaviour carries them: the policy
    # that snapshots play and NashConv measures does not.
    exploration: float = 0.01
    exploration_floor: float = 0.03
    # Returns are divided by this before the critic sees them, so step_size means the same across
    # games; 0: the game's largest absolute utility (hold'em's, 240 chips, dwarfs a typical pot).
    return_scale: float = 0.0


@dataclass
class ClusterConfig:
    """Actors on a Ray cluster (`arena league run --ray ADDRESS`): what each asks of a node."""

    actor_cpus: float = 1.0
    actor_gpus: float = 0.0  # a share of a GPU per actor on GPU nodes (0.25: four actors a GPU)
    # An actor hands its finished games to the head this often, one call in flight at a time:
    # that bounds the memory a slow head can fill, and the games a dead actor takes with it.
    play_seconds: float = 2.0


@dataclass
class RunConfig:
    game: str = "connect_four"
    networks: str = "shared"  # "shared": one net for all seats; "per_player": one per seat
    seed: int = 0
    # Actor processes, one per core by default (the learner takes less than a core between them);
    # 0 runs actor and learner in one process, which a seed makes repeatable.
    actors: int = field(default_factory=lambda: os.cpu_count() or 1)
    threads: int = 1  # torch threads per process
    tensorboard: bool = True  # training curves under <run>/tensorboard/ (league/run/curves.py)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    selfplay: SelfPlayConfig = field(default_factory=SelfPlayConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    league: LeagueConfig = field(default_factory=LeagueConfig)
    mmd: MMDConfig = field(default_factory=MMDConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)


# Per-preset defaults, applied after the learner's (engine/train/kinds.py) and before the user's TOML. Sized for a 2-core CPU; a GPU affords more.
GAME_DEFAULTS: dict[str, dict[str, Any]] = {
    "tic_tac_toe": {
        "network": {"kind": "resnet", "channels": 32, "blocks": 2, "hidden": 64},
        "search": {"simulations": 25, "dirichlet_alpha": 1.0, "win_check": True},
        "selfplay": {"temperature_moves": 3, "concurrent_games": 64},
        # The default 100k-position window: a smaller one soon holds only the last seconds of games,
        # and the net forgets the lines after rare openings (docs/benchmarks.md).
        "train": {"min_positions": 500, "snapshot_every": 100, "batch_size": 128},
        "league": {"pool_every": 300, "anchors": ["random", "minimax"]},
    },
    "connect_four": {
        "network": {"kind": "resnet", "channels": 48, "blocks": 4, "hidden": 64},
        "search": {"simulations": 50, "dirichlet_alpha": 1.0, "win_check": True},
        # 64 games a batch keeps the time from a weight update to games that use it short.
        "selfplay": {"temperature_moves": 8, "concurrent_games": 64},
        # q_mix 0.5 and a 50k window learn faster than z-only targets over 100k positions; 4e-3 learns at
        # least as fast as 2e-3 in 30 minutes, 6e-3 no faster within the runs' spread (docs/benchmarks.md).
        "train": {"window": 50_000, "max_reuse": 10.0, "snapshot_every": 50, "q_mix": 0.5, "learning_rate": 4e-3},
        "league": {"pool_every": 500, "self_play": 0.8, "anchors": ["random", "mcts:1000"]},
    },
    "hex5": {
        "network": {"kind": "resnet", "channels": 32, "blocks": 3, "hidden": 64},
        "search": {"simulations": 50, "dirichlet_alpha": 0.5, "win_check": True},
        "selfplay": {"temperature_moves": 4},
    },
    "hex11": {
        "network": {"kind": "resnet", "channels": 64, "blocks": 6, "hidden": 128},
        "search": {"simulations": 100, "dirichlet_alpha": 0.1},
        "selfplay": {"temperature_moves": 16, "concurrent_games": 64},
    },
    # Exact-Q sweeps on the tabular games chose these (docs/benchmarks.md): Kuhn's few states
    # converge fastest with a stronger magnet that moves often; Leduc takes the defaults.
    # Kuhn's twelve states are all visited thousands of times an update: no floor and no older
    # games for the critic needed, and its equilibrium has pure choices a floor would blur.
    "kuhn_poker": {"mmd": {"magnet_every": 10, "magnet_weight": 0.2, "exploration": 0.0, "exploration_floor": 0.0,
                           "critic_updates": 0}},
    # Leduc: twice the positions an update halve the critic's noise, which otherwise sets off
    # spikes in NashConv (docs/benchmarks.md).
    "leduc_poker": {"mmd": {"positions_per_update": 40_000}},
    "holdem_limit": {"mmd": {"return_scale": 40.0}},  # two big bets
    "go9": {
        "network": {"kind": "resnet", "channels": 64, "blocks": 6, "hidden": 128},
        "search": {"simulations": 100, "dirichlet_alpha": 0.2},
        # 128 games: two groups of 64 trees in the pipelined search (engine/search/pipeline.py, PIPELINE_GROUP).
        # More games search faster, but each actor's first games end later (docs/benchmarks.md).
        # Go's lost games drag on for dozens of moves (filling the board, capturing to the end):
        # resigning saves that time. The other presets are short, or end once decided: no resigning.
        "selfplay": {"temperature_moves": 16, "concurrent_games": 128, "resign_threshold": -0.9, "resign_moves": 3},
    },
    "go13": {
        "network": {"kind": "resnet", "channels": 96, "blocks": 8, "hidden": 128},
        "search": {"simulations": 200, "dirichlet_alpha": 0.1},
        # More games would search faster, but an actor's first games would end far later (docs/benchmarks.md).
        "selfplay": {"temperature_moves": 24, "concurrent_games": 32, "resign_threshold": -0.9,
                     "resign_moves": 5},  # a lost game on a larger board has more moves to spare: wait longer
    },
    "go19": {
        "network": {"kind": "resnet", "channels": 128, "blocks": 10, "hidden": 256},
        "search": {"simulations": 400, "dirichlet_alpha": 0.03},
        "selfplay": {"temperature_moves": 30, "concurrent_games": 16, "resign_threshold": -0.9,
                     "resign_moves": 5},  # a lost game on a larger board has more moves to spare: wait longer
    },
}

_SECTIONS = {"network": NetworkConfig, "search": SearchConfig, "selfplay": SelfPlayConfig, "train": TrainConfig,
             "league": LeagueConfig, "mmd": MMDConfig, "cluster": ClusterConfig}
_CHOICES = {("", "networks"): ("shared", "per_player"), ("network", "kind"): ("resnet", "mlp"),
            ("search", "root"): ("puct", "gumbel"), ("league", "pfsp"): ("hard", "var", "even")}
_POSITIVE = {"simulations", "concurrent_games", "batch_size", "window", "channels", "blocks", "hidden", "layers",
             "snapshot_every", "leaves_per_tree", "gumbel_considered", "threads", "learning_rate", "flush_games", "fast_simulations",
             "max_reuse", "pool_size", "opponents_per_actor", "eval_games", "gate_max_games", "step_size",
             "magnet_every", "positions_per_update", "epochs", "exploiter_steps", "actor_cpus", "play_seconds",
             "resign_moves"}
_UNBOUNDED = {"flush_seconds"}  # inf: flush by game count alone
_SIGNED = {"resign_threshold": "-1: never resign"}  # values in [-1, 1], what -1 means
_FRACTIONS = {"dirichlet_fraction", "full_search_fraction", "q_mix", "self_play", "win_rate_decay", "exploration",
              "exploration_floor", "exploiter_win_rate", "exploiter_reset", "no_resign_fraction"}


def _apply(obj: Any, values: dict[str, Any], where: str) -> None:
    """Set dataclass fields from a dict, refusing unknown keys and values of the wrong type."""
    names = {f.name: f for f in fields(obj)}
    for key, value in values.items():
        path = f"{where}.{key}" if where else key
        if key not in names:
            close = difflib.get_close_matches(key, list(names), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(names)}"
            raise ConfigError(f"unknown config key {path!r}: {hint}")  # repr: a TOML key may hold a newline
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"config '{path}' must be a table ([{path}]), not {value!r}")
            _apply(current, value, path)
            continue
        want = type(current)
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not want or (want is list and not all(isinstance(v, str) for v in value)):
            raise ConfigError(f"config '{path}' must be {want.__name__}, got {value!r}")
        # TOML reads nan and inf: nan slips past every range check below; inf means only "never" (_UNBOUNDED)
        if want is float and not (math.isfinite(value) or key in _UNBOUNDED and value == math.inf):
            raise ConfigError(f"config '{path}' must be a finite number, got {value!r}")
        choices = _CHOICES.get((where, key))
        if choices and value not in choices:
            raise ConfigError(f"config '{path}' must be one of {', '.join(choices)}, got {value!r}")
        if key in _POSITIVE and value <= 0:
            raise ConfigError(f"config '{path}' must be positive, got {value!r}")
        if key in _FRACTIONS and not 0.0 <= value <= 1.0:
            raise ConfigError(f"config '{path}' must lie in [0, 1], got {value!r}")
        if key in _SIGNED and not -1.0 <= value <= 1.0:
            raise ConfigError(f"config '{path}' must lie in [-1, 1] ({_SIGNED[key]}), got {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0 and key not in _SIGNED:
            raise ConfigError(f"config '{path}' must not be negative, got {value!r}")
        setattr(obj, key, value)


def default_config(game: str) -> RunConfig:
    """The defaults for a game: its learner's, then the preset's table if it has one (parameters
    stripped: go9(komi=6.5) -> go9)."""
    config = RunConfig(game=game)
    kind = _learner_of(game)
    if kind is not None:
        _apply(config, kind.defaults, "")
    _apply(config, GAME_DEFAULTS.get(game.split("(")[0], {}), "")
    return config


def _learner_of(game: str) -> LearnerKind | None:
    """The game's learner kind, or None (a bad name, or a game no learner serves)."""
    import games  # the catalogue loads OpenSpiel; only needed here
    from engine.train.kinds import learner_kind  # its learners import this module
    try:
        spec = games.load(game)
    except games.GameError:
        return None  # the caller reports the bad name
    return learner_kind(spec.learner) if spec.learner else None


def resolve(game: str | None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Defaults for `game` (or overrides['game']) with the user's values applied on top."""
    overrides = dict(overrides or {})
    game = overrides.pop("game", None) or game
    if game and not isinstance(game, str):
        raise ConfigError(f"config 'game' must be str, got {game!r}")
    if not game:
        raise ConfigError("no game given: pass GAME on the command line or set game = \"...\" in the config")
    config = default_config(game)
    kind = _learner_of(game)
    if kind is not None:
        _check_learner(kind, overrides, game)
    _apply(config, overrides, "")
    if kind is not None:
        _check_league(kind, config.league, game)
        _check_combinations(config, game)
    return config


def _check_learner(kind: LearnerKind, overrides: dict[str, Any], game: str) -> None:
    """Refuse the sections only another learner reads."""
    from engine.train.kinds import LEARNERS
    for other in LEARNERS.values():
        if other.section != kind.section and other.section in overrides:
            raise ConfigError(f"[{other.section}] {other.section_use}; {game} is learned by {kind.name}{kind.about}: "
                              f"remove [{other.section}], tune {kind.tune}")


def _check_league(kind: LearnerKind, league: LeagueConfig, game: str) -> None:
    """Exploiters need a learner that allows them (see engine.train.kinds.LearnerKind.exploiters)."""
    from engine.train.kinds import LEARNERS
    if not kind.exploiters and (league.main_exploiters or league.league_exploiters):
        able = " or ".join(k.name for k in LEARNERS.values() if k.exploiters)
        raise ConfigError(f"league.main_exploiters and league.league_exploiters need the {able} learner; {game} "
                          f"is learned by {kind.name}: set both to 0 (or remove them)")


def _check_combinations(config: RunConfig, game: str) -> None:
    """Settings that need another: resignation a game won or lost and a search value to judge by
    (perfect information); the score utility a score head; forced playouts a PUCT root."""
    if config.search.forced_playouts > 0 and config.search.root == "gumbel":
        raise ConfigError("search.forced_playouts needs search.root = \"puct\": the Gumbel root schedules its own "
                          "root visits; set search.forced_playouts = 0 or search.root = \"puct\"")
    import games
    spec = games.load(game)
    if config.selfplay.resign_threshold > -1.0 and not (spec.resignable and spec.perfect_information):
        raise ConfigError(f"selfplay.resign_threshold: {game} has no resignation (only two-player games won or "
                          "lost, searched by self-play): set it to -1 (never resign) or remove it")
    from games.encoders import GoEncoder
    if config.network.liberties and not isinstance(spec.encoder, GoEncoder):
        raise ConfigError(f"network.liberties adds Go's liberty planes, and {game} is not Go: set it to false "
                          "or remove it")
    if config.search.score_utility > 0 and not (spec.has_ownership and config.network.aux_heads
                                                 and config.network.kind == "resnet"):
        raise ConfigError(f"search.score_utility reads the score head, which only Go resnets with network.aux_heads "
                          f"= true have ({game} here): set search.score_utility = 0 or remove it")


def game_spec(config: RunConfig) -> GameSpec:
    """The run's game (games.GameSpec) with the encoder its networks read (network.liberties)."""
    import games
    return games.load(config.game).with_liberties(config.network.liberties)


def read_toml(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found: give the path of an existing .toml file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML ({exc}): fix the syntax") from None
    except UnicodeDecodeError as exc:  # TOML is UTF-8
        raise ConfigError(f"config file {path} is not UTF-8 text ({exc.reason} at byte {exc.start}): "
                          "save it as UTF-8") from None


def to_dict(config: RunConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


# Keys added since configs were first written, with the value a config written before them meant.
WRITTEN_BEFORE = {("network", "aux_heads"): False}  # networks had no auxiliary heads


def from_dict(values: dict[str, Any]) -> RunConfig:
    """Rebuild a resolved config (as written to a run directory) exactly, without re-applying defaults;
    a section lacking a key added since takes that key's former meaning (WRITTEN_BEFORE)."""
    values = {k: dict(v) if isinstance(v, dict) else v for k, v in values.items()}
    for (section, key), old in WRITTEN_BEFORE.items():
        if isinstance(values.get(section), dict):
            values[section].setdefault(key, old)
    config = RunConfig()
    _apply(config, values, "")
    return config


def network_from_dict(values: dict[str, Any]) -> NetworkConfig:
    """A NetworkConfig as saved in a snapshot, keys added since taking their former meaning."""
    return from_dict({"network": values}).network


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def dumps(config: RunConfig) -> str:
    """TOML text of a config: scalars first, then one table per section."""
    values = to_dict(config)
    lines = [f"{k} = {_toml_value(v)}" for k, v in values.items() if not isinstance(v, dict)]
    for section, table in values.items():
        if isinstance(table, dict):
            lines += ["", f"[{section}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"
