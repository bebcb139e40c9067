"""Players: the player-spec grammar (parsing specs, snapshot specs and their resolution to files) and
`load_bot`, which turns a spec into a `pyspiel.Bot` through a registry of kinds: baselines, neural
bots, ISMCTS, poker rules, external GTP engines; `ownership_of`, a Go position's ownership map from a
bot that offers one (a network's ownership head)."""
from engine.errors import BotError
from engine.players.baselines import MinimaxBot, RandomBot
from engine.players.gtp_client import GTPBot, GTPError, final_score, go_params
from engine.players.ismcts import SampledISMCTSBot
from engine.players.neural import NeuralBot, PolicyBot, load_neural
from engine.players.ownership import ownership_of
from engine.players.policy_ismcts import PolicyISMCTSBot
from engine.players.registry import is_neural, load_bot, snapshot_file
from engine.players.spec import SPEC_HELP, agent_of, parse_spec, resolve_snapshot, snapshot_spec, step_of

__all__ = ["SPEC_HELP", "BotError", "GTPBot", "GTPError", "MinimaxBot", "NeuralBot", "PolicyBot", "PolicyISMCTSBot",
           "RandomBot", "SampledISMCTSBot", "agent_of", "final_score", "go_params", "is_neural", "load_bot",
           "load_neural", "ownership_of", "parse_spec", "resolve_snapshot", "snapshot_file", "snapshot_spec", "step_of"]
