"""engine.players.world_sampler, and the ismcts:N bot it unblocks: worlds drawn on real OpenSpiel games agree
with what the player saw, differ in what it did not, follow the game move by move, and start over
for a new game."""

from __future__ import annotations

import numpy as np
import pyspiel
import pytest

import games
from engine.players import RandomBot, SampledISMCTSBot, load_bot
from engine.players.world_sampler import SamplerConfig, WorldSampler, WorldSamplerError
from league.match import play_game, sample_chance

SMALL = SamplerConfig(particles=64, repairs=32)  # enough for these positions, and quick


def play(game: pyspiel.Game, moves: int, seed: int, state: pyspiel.State | None = None) -> pyspiel.State:
    """`state` (a new game by default) after `moves` more uniformly random moves or chance outcomes."""
    rng = np.random.default_rng(seed)
    state = state or game.new_initial_state()
    for _ in range(moves):
        if state.is_chance_node():
            state.apply_action(sample_chance(state, rng))
        else:
            state.apply_action(int(rng.choice(state.legal_actions())))
        assert not state.is_terminal(), "pick fewer moves: the test wants a game in progress"
    return state


def seen(state: pyspiel.State, player: int) -> tuple:
    """What `player` knows of `state`, as the sampler must keep it."""
    if state.get_game().get_type().provides_information_state_string:
        return state.current_player(), state.information_state_string(player)
    return state.current_player(), state.observation_string(player), state.observation_tensor(player)


def hidden(state: pyspiel.State, player: int) -> str:
    """What `player`'s opponent knows: the part of a world the player cannot see."""
    other = 1 - player
    if state.get_game().get_type().provides_information_state_string:
        return state.information_state_string(other)
    return state.observation_string(other)


# (game, random moves into it): mid-game positions, short of the end
POSITIONS = [("phantom_go5", 30), ("dark_hex", 7), ("liars_dice", 4)]


@pytest.mark.parametrize("name,moves", POSITIONS)
def test_worlds_show_the_player_what_it_saw_and_vary_the_rest(name, moves):
    game = games.load(name).game
    truth = play(game, moves, seed=3)
    player = truth.current_player()
    sampler = WorldSampler(game, SMALL, seed=1)
    worlds = [sampler.sample(truth, player) for _ in range(30)]
    for world in worlds:
        assert seen(world, player) == seen(truth, player)
        assert len(world.history()) == len(truth.history())
    others = {hidden(w, player) for w in worlds}
    assert len(others) > 1, "every world guessed the same hidden state"
    assert others != {hidden(truth, player)}, "the worlds are the true state"


def test_phantom_go_worlds_place_the_unseen_stones_differently():
    game = games.load("phantom_go5").game
    truth = play(game, 30, seed=3)
    player = truth.current_player()
    sampler = WorldSampler(game, SamplerConfig(particles=256, repairs=128), seed=1)  # about 40 layouts fit
    mine = "X" if player == 0 else "O"
    boards = set()
    for _ in range(30):
        world = sampler.sample(truth, player)
        rows = str(world).split("\n\n")[1]  # the full board, both colours
        boards.add("".join(c for c in rows if c in "XO+").replace(mine, "+"))  # the opponent's stones
    assert len(boards) > 5


def test_worlds_follow_the_game_move_by_move_and_restart_for_a_new_one():
    game = games.load("phantom_go5").game
    state = play(game, 20, seed=5)
    player = state.current_player()
    sampler = WorldSampler(game, SMALL, seed=2)
    sampler.sample(state, player)
    for _ in range(3):  # later positions of the same game: the particles move on with it
        state = play(game, 2, seed=len(state.history()), state=state)
        world = sampler.sample(state, player)
        assert seen(world, player) == seen(state, player)
    assert sampler.restarts == 1
    other_game = play(game, 30, seed=3)  # longer than the first: only its moves tell it apart
    world = sampler.sample(other_game, other_game.current_player())
    assert seen(world, other_game.current_player()) == seen(other_game, other_game.current_player())
    assert sampler.restarts == 2
    assert len(world.history()) == len(other_game.history())


def test_the_other_player_starts_the_sampler_over():
    game = games.load("liars_dice").game
    state = play(game, 3, seed=1)  # two dice, one bid
    sampler = WorldSampler(game, SMALL, seed=0)
    for player in (0, 1):
        world = sampler.sample(state, player)
        assert seen(world, player) == seen(state, player)
    assert sampler.restarts == 2


def test_bad_uses_are_one_line_errors():
    with pytest.raises(WorldSamplerError, match="turn-based"):
        WorldSampler(pyspiel.load_game("matrix_rps"))
    with pytest.raises(WorldSamplerError, match="positive"):
        SamplerConfig(particles=0)
    sampler = WorldSampler(games.load("dark_hex").game)
    with pytest.raises(WorldSamplerError, match="one sampler per game"):
        sampler.sample(games.load("liars_dice").game.new_initial_state(), 0)
    with pytest.raises(WorldSamplerError, match="seat"):
        sampler.sample(games.load("dark_hex").game.new_initial_state(), 2)


def test_a_sampler_that_finds_no_world_says_so_and_the_bot_plays_on():
    game = games.load("phantom_go5").game
    truth = play(game, 40, seed=0)
    starved = SamplerConfig(particles=1, repairs=1, attempts=1)  # one guess: soon refuted
    with pytest.raises(WorldSamplerError, match="raise SamplerConfig.attempts"):
        WorldSampler(game, starved, seed=0).sample(truth, truth.current_player())
    bot = load_bot("ismcts:5", "phantom_go5")
    bot.sampler.config = starved
    with pytest.warns(RuntimeWarning, match="at random"):
        action = bot.step(truth)
    assert action in truth.legal_actions() and bot.lost_games == 1
    bot.step(play(game, 2, seed=1, state=truth.clone()))  # the rest of the game: no new search, no new loss
    assert bot.lost_games == 1


def test_ismcts_plays_a_whole_phantom_go_game():
    spec = games.load("phantom_go5")
    bot = load_bot("ismcts:50", spec, seed=1)
    assert isinstance(bot, SampledISMCTSBot)
    for seat in (0, 1):
        bots = [bot, RandomBot(2)] if seat == 0 else [RandomBot(2), bot]
        state = play_game(spec.game.new_initial_state(), bots, np.random.default_rng(seat))
        assert state.is_terminal() and sorted(state.returns()) == [-1.0, 1.0]
    assert bot.lost_games == 0
