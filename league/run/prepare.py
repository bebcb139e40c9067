"""A run's config and directory: a new run writes its resolved config, a resumed one reads it back."""
from __future__ import annotations

from pathlib import Path

import games
from engine import config as cfg, rundir
from engine.nn import ort
from engine.nn.export import INSTALL


def prepare_run(game: str | None, config_file: str | None, run: str | None,
                flags: dict | None = None) -> tuple[cfg.RunConfig, Path, bool]:
    """Resolve the config and run directory; returns (config, run_dir, resumed).

    A new run writes its resolved config, command-line `flags` (seed, actors) included; an
    existing one resumes with the config it was started with (only `actors` may change per
    session), and refuses a different game or seed.
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    overrides = {**(cfg.read_toml(config_file) if config_file else {}), **flags}
    if not isinstance(overrides.get("game", ""), str):
        raise cfg.ConfigError(f"config 'game' must be str, got {overrides['game']!r}")
    name = run or (overrides.get("game") or game or "").split("(")[0] or None
    if name is None:
        raise cfg.ConfigError("no game given: `arena league run GAME` (see `arena games`)")
    run_dir = rundir.run_path(name)
    if (run_dir / "config.toml").exists():
        config = rundir.load_config(run_dir)
        asked = overrides.get("game") or game
        if asked and asked != config.game:
            raise rundir.RunError(f"run '{name}' plays {config.game}, not {asked}: pick another --run name")
        if "seed" in flags and flags["seed"] != config.seed:
            raise rundir.RunError(f"run '{name}' was started with seed {config.seed}: resume without --seed, "
                                  "or use a new --run name")
        if "actors" in flags:
            config.actors = flags["actors"]
        if config_file:
            fresh = cfg.resolve(config.game, {"seed": config.seed, **overrides, "actors": config.actors})
            if cfg.to_dict(fresh) != cfg.to_dict(config):
                raise rundir.RunError(f"run '{name}' was started with another config ({run_dir / 'config.toml'}): "
                                      "resume without --config, or use a new --run name")
        games.require_learner(games.load(config.game))
        _require_int8(config)
        return config, run_dir, True
    config = cfg.resolve(game, overrides)
    spec = games.load(config.game)
    games.require_learner(spec)
    _require_int8(config)
    rundir.atomic_write_text(run_dir / "config.toml", cfg.dumps(config))
    return config, run_dir, False


def _require_int8(config: cfg.RunConfig) -> None:
    if config.selfplay.int8 and not ort.available():
        raise cfg.ConfigError(f"selfplay.int8 runs the actors' network in onnxruntime, not installed here: {INSTALL}")
