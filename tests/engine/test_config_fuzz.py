"""Property tests of run configs: any TOML file, and any table of overrides (`--config F.toml` and
the flags on top), is a RunConfig or one ConfigError line; never another exception."""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from engine import config as cfg
from engine.errors import ArenaError

SECTIONS = {name: [f.name for f in dataclasses.fields(kind)] for name, kind in cfg._SECTIONS.items()}
TOP = [f.name for f in dataclasses.fields(cfg.RunConfig) if f.name not in SECTIONS]
SCALARS = st.one_of(st.integers(-2, 300), st.integers(-2**63, 2**63 - 1), st.floats(), st.booleans(),
                    st.text(max_size=8), st.sampled_from(["resnet", "mlp", "gumbel", "puct", "shared", "hard"]),
                    st.lists(st.one_of(st.text(max_size=6), st.integers()), max_size=3),
                    st.just(dt.date(2026, 1, 1)), st.just(dt.time(1, 2)))
GAMES = st.one_of(st.sampled_from(["tic_tac_toe", "connect_four", "kuhn_poker", "leduc_poker3", "go9", "go9(komi=6.5)",
                                   "go(board_size=25,komi=7.5)", "go(board_size=-2,komi=7.5)", "hex(board_size=0)",
                                   "tic_tac_toe(x=1)", "((", "", "phantom_ttt", "matrix_rps", "go9(komi=nan)"]),
                  st.text(max_size=10))


@st.composite
def overrides(draw) -> dict:
    """A table as TOML gives it: known sections and keys (and some unknown), values of any TOML type."""
    table: dict = {}
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            section = draw(st.sampled_from(list(SECTIONS) + ["nope"]))
            keys = SECTIONS.get(section, ["x"])
            value = draw(st.one_of(st.dictionaries(st.one_of(st.sampled_from(keys), st.text(max_size=5)), SCALARS,
                                                   max_size=4), SCALARS))
            table[section] = value
        else:
            table[draw(st.one_of(st.sampled_from(TOP), st.text(max_size=5)))] = draw(SCALARS)
    if draw(st.booleans()):
        table["game"] = draw(st.one_of(GAMES, SCALARS))
    return table


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float, dt.date, dt.time)):
        return value.isoformat() if isinstance(value, (dt.date, dt.time)) else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in str(value)) + '"'


def toml_text(table: dict) -> str:
    def key(k: str) -> str:
        return toml_value(k)
    lines = [f"{key(k)} = {toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    for k, v in table.items():
        if isinstance(v, dict):
            lines += [f"[{key(k)}]"] + [f"{key(kk)} = {toml_value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


def check(call) -> None:
    try:
        config = call()
    except ArenaError as exc:
        assert str(exc) and "\n" not in str(exc), str(exc)
        return
    assert isinstance(config, cfg.RunConfig)
    for section in SECTIONS:  # what was accepted is what a run can use: finite numbers only
        for name, value in vars(getattr(config, section)).items():
            assert not isinstance(value, float) or math.isfinite(value) or name in cfg._UNBOUNDED, (section, name, value)


@given(table=overrides(), game=GAMES)
@example(table={"train": {"learning_rate": float("nan")}}, game="tic_tac_toe")
@example(table={"train": {"learning_rate": float("inf")}}, game="tic_tac_toe")
@example(table={}, game="go(board_size=-2,komi=7.5)")
@example(table={}, game="go(board_size=25,komi=7.5)")
@example(table={"\n": 1}, game="tic_tac_toe")  # an unknown key quoted into the message: one line still
def test_any_overrides_are_a_config_or_one_config_error(table, game, case_time_limit):
    with case_time_limit():
        check(lambda: cfg.resolve(game, table))
        check(lambda: cfg.from_dict(table))


@given(table=overrides(), data=st.one_of(st.none(), st.binary(max_size=80)), mutation=st.text(max_size=3),
       at=st.integers(0, 200))
@example(table={}, data=b"game = \"tic_tac_toe\"\n\xff\n", mutation="", at=0)
def test_any_toml_file_is_a_config_or_one_config_error(table, data, mutation, at, case_time_limit):
    text = toml_text(table)
    raw = data if data is not None else (text[:at] + mutation + text[at:]).encode("utf-8", "surrogatepass")
    with case_time_limit(), tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.toml"
        path.write_bytes(raw)
        check(lambda: cfg.resolve("tic_tac_toe", cfg.read_toml(path)))
