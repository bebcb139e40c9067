"""engine.config: per-preset defaults, TOML round trip, and one-line ConfigErrors for bad input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import games
from engine import config as cfg
from engine.config import ConfigError, RunConfig
from engine.train.kinds import learner_kind


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert msg and "\n" not in msg, f"not a single-line message: {msg!r}"
    return msg


# ---- defaults ------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", sorted(cfg.GAME_DEFAULTS))
def test_defaults_per_preset_apply_the_table(preset):
    config = cfg.default_config(preset)
    assert config.game == preset
    table = cfg.GAME_DEFAULTS[preset]
    for section, values in table.items():
        for key, value in values.items():
            assert getattr(getattr(config, section), key) == value, f"{preset}: {section}.{key}"
    # Keys the table does not set keep the defaults of the game's learner (the dataclasses', for alphazero).
    base = RunConfig()
    cfg._apply(base, learner_kind(games.load(preset).learner).defaults, "")
    for section in ("network", "search", "selfplay", "train", "mmd"):
        for f in dataclasses.fields(getattr(base, section)):
            if f.name not in table.get(section, {}):
                assert getattr(getattr(config, section), f.name) == getattr(getattr(base, section), f.name)


def test_every_catalogue_preset_has_a_defaults_table():
    for p in games.presets():
        assert p.name in cfg.GAME_DEFAULTS or learner_kind(games.load(p.name).learner).defaults, p.name
    poker = cfg.default_config("leduc_poker")
    assert poker.network.kind == "mlp" and poker.train.snapshot_every == 1 and poker.league.anchors == ["random"]


def test_presets_differ_where_their_tables_differ():
    ttt, go19 = cfg.default_config("tic_tac_toe"), cfg.default_config("go19")
    assert ttt.network.channels == 32 and go19.network.channels == 128
    assert ttt.search.simulations < go19.search.simulations
    assert ttt.train.min_positions == 500


def test_preset_with_parameters_gets_the_preset_defaults():
    config = cfg.default_config("go9(komi=6.5)")
    assert config.game == "go9(komi=6.5)"
    assert cfg.to_dict(config) == {**cfg.to_dict(cfg.default_config("go9")), "game": "go9(komi=6.5)"}


def test_raw_game_gets_the_dataclass_defaults():
    config = cfg.default_config("breakthrough")
    assert cfg.to_dict(config) == {**cfg.to_dict(RunConfig()), "game": "breakthrough"}


def test_resolve_layers_user_values_over_the_preset():
    config = cfg.resolve("tic_tac_toe", {"search": {"simulations": 7}, "seed": 3})
    assert config.search.simulations == 7
    assert config.seed == 3
    assert config.search.dirichlet_alpha == 1.0  # preset value untouched
    assert config.network.channels == 32


def test_resolve_takes_the_game_from_the_overrides():
    assert cfg.resolve(None, {"game": "hex5"}).game == "hex5"
    assert cfg.resolve("tic_tac_toe", {"game": "hex5"}).network.blocks == 3
    with pytest.raises(ConfigError) as e:
        cfg.resolve(None, {})
    assert "no game" in _one_line(e)


def test_int_is_accepted_for_a_float_field():
    config = cfg.resolve("tic_tac_toe", {"search": {"c_puct": 2}})
    assert config.search.c_puct == 2.0 and type(config.search.c_puct) is float


# ---- TOML round trip -----------------------------------------------------------------------------

@pytest.mark.parametrize("preset", sorted(cfg.GAME_DEFAULTS))
def test_toml_round_trip_of_preset_defaults(preset, tmp_path):
    config = cfg.default_config(preset)
    path = tmp_path / "config.toml"
    path.write_text(cfg.dumps(config))
    assert cfg.from_dict(cfg.read_toml(path)) == config


def test_toml_round_trip_of_unusual_values(tmp_path):
    config = cfg.resolve("go9(komi=6.5)", {
        "networks": "per_player", "seed": 12345, "actors": 0,
        "network": {"kind": "mlp", "layers": 5},
        "search": {"c_puct": 1.25, "reuse_tree": False, "leaves_per_tree": 8, "dirichlet_fraction": 0.0},
        "selfplay": {"flush_seconds": float("inf"), "full_search_fraction": 0.25},
        "train": {"learning_rate": 1e-5, "weight_decay": 0.0, "q_mix": 0.5, "window": 1_000_000},
    })
    text = cfg.dumps(config)
    path = tmp_path / "c.toml"
    path.write_text(text)
    back = cfg.from_dict(cfg.read_toml(path))
    assert back == config
    assert back.train.learning_rate == 1e-5
    assert back.selfplay.flush_seconds == float("inf")
    assert back.search.reuse_tree is False
    # And dumping again is stable.
    assert cfg.dumps(back) == text


def test_from_dict_does_not_reapply_preset_defaults():
    """A run's config.toml is the record: a value equal to the dataclass default must survive."""
    config = cfg.default_config("tic_tac_toe")
    config.network.channels = 64  # the dataclass default, not tic_tac_toe's 32
    back = cfg.from_dict(cfg.to_dict(config))
    assert back.network.channels == 64


def test_game_string_with_quotes_survives_toml(tmp_path):
    config = RunConfig(game='weird"name\\x')
    path = tmp_path / "c.toml"
    path.write_text(cfg.dumps(config))
    assert cfg.from_dict(cfg.read_toml(path)).game == 'weird"name\\x'


# ---- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("values, expect", [
    ({"serch": {"simulations": 5}}, "did you mean 'search'"),
    ({"search": {"simulatons": 5}}, "did you mean 'simulations'"),
    ({"train": {"batchsize": 5}}, "did you mean 'batch_size'"),
    ({"network": {"chanels": 8}}, "did you mean 'channels'"),
    ({"sead": 1}, "did you mean 'seed'"),
])
def test_unknown_key_suggests_the_close_one(values, expect):
    with pytest.raises(ConfigError) as e:
        cfg.resolve("tic_tac_toe", values)
    msg = _one_line(e)
    assert "unknown config key" in msg and expect in msg


def test_unknown_key_with_no_close_match_lists_the_known_keys():
    with pytest.raises(ConfigError) as e:
        cfg.resolve("tic_tac_toe", {"search": {"zzzzzz": 1}})
    msg = _one_line(e)
    assert "search.zzzzzz" in msg and "simulations" in msg


@pytest.mark.parametrize("values, where", [
    ({"search": {"simulations": "many"}}, "search.simulations"),
    ({"search": {"simulations": 2.5}}, "search.simulations"),
    ({"search": {"reuse_tree": 1}}, "search.reuse_tree"),
    ({"seed": True}, "seed"),
    ({"train": {"learning_rate": "fast"}}, "train.learning_rate"),
    ({"networks": 2}, "networks"),
    ({"search": 5}, "search"),
    ({"game": 7}, "game"),
])
def test_wrong_type_is_refused(values, where):
    with pytest.raises(ConfigError) as e:
        cfg.resolve("tic_tac_toe", values)
    msg = _one_line(e)
    assert f"'{where}'" in msg


@pytest.mark.parametrize("values, where", [
    ({"networks": "both"}, "networks"),
    ({"network": {"kind": "transformer"}}, "network.kind"),
])
def test_bad_choice_names_the_choices(values, where):
    with pytest.raises(ConfigError) as e:
        cfg.resolve("tic_tac_toe", values)
    msg = _one_line(e)
    assert f"'{where}'" in msg and "must be one of" in msg


def test_networks_choice_lists_both_options():
    with pytest.raises(ConfigError) as e:
        cfg.resolve("tic_tac_toe", {"networks": "both"})
    msg = _one_line(e)
    assert "shared" in msg and "per_player" in msg and "'both'" in msg


@pytest.mark.parametrize("values, where", [
    ({"search": {"simulations": 0}}, "search.simulations"),
    ({"search": {"simulations": -5}}, "search.simulations"),
    ({"train": {"batch_size": 0}}, "train.batch_size"),
    ({"train": {"learning_rate": 0.0}}, "train.learning_rate"),
    ({"network": {"channels": -1}}, "network.channels"),
    ({"search": {"leaves_per_tree": 0}}, "search.leaves_per_tree"),
    ({"threads": 0}, "threads"),
    ({"search": {"c_puct": -1.0}}, "search.c_puct"),
    ({"train": {"min_positions": -1}}, "train.min_positions"),
    ({"actors": -2}, "actors"),
    ({"search": {"dirichlet_fraction": 1.5}}, "search.dirichlet_fraction"),
    ({"train": {"q_mix": -0.1}}, "train.q_mix"),
])
def test_zero_or_negative_values_are_refused(values, where):
    with pytest.raises(ConfigError) as e:
        cfg.resolve("tic_tac_toe", values)
    msg = _one_line(e)
    assert f"'{where}'" in msg


def test_zero_is_fine_where_zero_means_off():
    config = cfg.resolve("tic_tac_toe", {"actors": 0, "seed": 0, "train": {"q_mix": 0.0, "weight_decay": 0.0}})
    assert config.actors == 0 and config.train.weight_decay == 0.0


def test_from_dict_refuses_bad_values_too():
    values = cfg.to_dict(cfg.default_config("tic_tac_toe"))
    values["search"]["simulations"] = 0
    with pytest.raises(ConfigError) as e:
        cfg.from_dict(values)
    _one_line(e)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError) as e:
        cfg.read_toml(tmp_path / "nope.toml")
    assert "not found" in _one_line(e)


def test_invalid_toml_is_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[search\nsimulations = = 3\n")
    with pytest.raises(ConfigError) as e:
        cfg.read_toml(path)
    assert "not valid TOML" in _one_line(e)


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[2] / "scripts" / "go9").glob("*.toml")),
                         ids=lambda p: p.name)
def test_go9_measurement_configs_resolve(path):
    """The configs scripts/go9_strength.sh and go9_ablation.sh run must stay valid as the keys change."""
    values = cfg.read_toml(path)
    config = cfg.resolve("go9", values)
    assert values, f"{path.name} overrides nothing"
    for section, keys in values.items():
        for key, value in keys.items():
            assert getattr(getattr(config, section), key) == value
