"""The registry of learner kinds: every catalogue learner has an entry, entries name real classes,
and an unknown name is refused in one line."""
from __future__ import annotations

import pytest

import games
from engine import config as cfg
from engine.train import Actor, UnknownLearner
from engine.train.kinds import LEARNERS, learner_kind


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_each_kind_names_its_classes(name):
    kind = learner_kind(name)
    assert kind.name == name
    assert issubclass(kind.actor, Actor)
    for member in ("resume", "publish", "refresh", "ready", "train_step"):
        assert callable(getattr(kind.learner, member)), member
    if kind.exploiters:
        assert callable(kind.learner.reset)
    assert kind.section in cfg._SECTIONS


def test_catalogue_learners_are_registered():
    for p in games.presets():
        learner = games.load(p.name).learner
        assert learner is None or learner in LEARNERS, p.name


def test_unknown_learner_is_one_line():
    with pytest.raises(UnknownLearner) as e:
        learner_kind("ppo")
    assert "ppo" in str(e.value) and "alphazero" in str(e.value) and "\n" not in str(e.value)


def test_another_learners_section_is_refused():
    with pytest.raises(cfg.ConfigError) as e:
        cfg.resolve("kuhn_poker", {"search": {"simulations": 10}})
    assert str(e.value) == ("[search] sets the tree search of perfect-information games; kuhn_poker is learned by mmd "
                            "with no tree search (it would see hidden information): remove [search], tune [mmd]")
    with pytest.raises(cfg.ConfigError) as e:
        cfg.resolve("tic_tac_toe", {"mmd": {"step_size": 1.0}})
    assert str(e.value) == ("[mmd] is for imperfect-information games; tic_tac_toe is learned by alphazero: "
                            "remove [mmd], tune [search] and [train]")
    with pytest.raises(cfg.ConfigError) as e:
        cfg.resolve("kuhn_poker", {"league": {"main_exploiters": 1}})
    assert str(e.value) == ("league.main_exploiters and league.league_exploiters need the alphazero learner; "
                            "kuhn_poker is learned by mmd: set both to 0 (or remove them)")
