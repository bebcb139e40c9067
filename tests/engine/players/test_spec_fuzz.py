"""Property tests of player specs: any string a user may type where a player is named (`--vs`,
`--players`, `arena gtp SPEC`) is a bot or one ArenaError line, never another exception.

`gtp:` specs are left out: their text is a command line that would be run."""
from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from engine.errors import ArenaError
from engine.players import load_bot, parse_spec
from engine.players.spec import PlayerSpec

KINDS = ["random", "mcts", "ismcts", "minimax", "call", "raise", "human", "run", "x.pt", "", " "]
COUNTS = st.one_of(st.integers(-5, 10**30).map(str), st.sampled_from(["²", "٣", "1e3", "0x10", "", " 3", "inf"]),
                   st.text(max_size=4))
KEYS = st.one_of(st.sampled_from(["seed", "sims", "rollouts", "c_puct", "leaves_per_tree", "", "seed "]),
                 st.text(max_size=5))
VALUES = st.one_of(st.integers(-10**30, 10**30).map(str), st.sampled_from(["²", "nan", "-1", "", "1.5", "０"]),
                   st.text(max_size=5))


@st.composite
def specs(draw) -> str:
    """Specs built by the grammar (kind[:count][@k=v...]) and then bent, or any text at all."""
    if draw(st.integers(0, 4)) == 0:
        text = draw(st.text(max_size=30))
    else:
        text = draw(st.sampled_from(KINDS))
        if draw(st.booleans()):
            text += ":" + draw(COUNTS)
        for _ in range(draw(st.integers(0, 3))):
            text += draw(st.sampled_from(["@", ",", "@@"])) + draw(KEYS) + draw(st.sampled_from(["=", "", "=="])) + draw(VALUES)
    return text


GAMES = ["tic_tac_toe", "kuhn_poker", "leduc_poker3", "phantom_ttt", "go(board_size=5,komi=7.5)"]


@pytest.fixture(scope="module", autouse=True)
def no_runs(tmp_path_factory):
    """Specs that name runs look in an empty ARENA_HOME (module-scoped: @given tests may not take
    function-scoped fixtures)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ARENA_HOME", str(tmp_path_factory.mktemp("home")))
    yield
    mp.undo()


@given(spec=specs(), game=st.sampled_from(GAMES), seed=st.integers(0, 2**40))
@example(spec="mcts:²", game="tic_tac_toe", seed=0)  # str.isdigit() holds for '²'; int('²') raises ValueError
@example(spec="mcts:3@sims=99999999999999999999", game="tic_tac_toe", seed=0)  # past C++'s int
@example(spec="random@seed=99999999999999999999", game="tic_tac_toe", seed=0)  # past numpy's seed
@example(spec="x\x00.pt", game="tic_tac_toe", seed=0)  # a NUL in a path
@example(spec="mcts:5", game="tic_tac_toe", seed=2**40)  # a caller's seed past C++'s int
@example(spec="x\n.pt", game="tic_tac_toe", seed=0)  # a path quoted into the message: one line still
@example(spec="r\n:step-3", game="tic_tac_toe", seed=0)  # a run name's regex $ matched before the newline
def test_any_spec_is_a_bot_or_one_arena_error(spec, game, seed, case_time_limit):
    if spec.strip().startswith("gtp:"):
        return
    with case_time_limit():
        try:
            parsed = PlayerSpec.parse(spec)
            assert parse_spec(spec)[0] == parsed.base
            bot = load_bot(spec, game, seed)
        except ArenaError as exc:
            assert str(exc) and "\n" not in str(exc)
            return
    assert hasattr(bot, "step")
