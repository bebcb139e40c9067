"""Joining a Ray cluster, for whatever runs on one (league actors, ladder games): Ray imported on
demand, its version checked, an address probed in seconds, and the versions every node must share.
Ray is an optional extra: nothing imports it at module level."""
from __future__ import annotations

import socket

from engine import rundir
from engine.config import ConfigError
from engine.data import SCHEMA_VERSION as STORE_SCHEMA
from league.ledger import SCHEMA_VERSION as LEDGER_SCHEMA

RAY_VERSIONS = ((2, 9), (3, 0))  # tested from 2.9; a major release may change the actor API
INSTALL = "pip install -e '.[ray]'"


def import_ray():
    """Ray, or a one-line error naming the install command (or the supported versions)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--ray needs Ray, an optional extra: {INSTALL}") from None
    version = tuple(int(x) for x in ray.__version__.split(".")[:2])
    low, high = RAY_VERSIONS
    if not low <= version < high:
        raise ConfigError(f"Ray {ray.__version__} is out of the supported range (>= {low[0]}.{low[1]}, "
                          f"< {high[0]}): {INSTALL}")
    return ray


def versions() -> dict[str, str]:
    """What must agree between the head and every node: Arena and its file formats."""
    return {"arena": rundir.arena_version(), "trajectory schema": str(STORE_SCHEMA), "ledger schema": str(LEDGER_SCHEMA)}


def check_versions(theirs: dict[str, str], node: str) -> None:
    """Refuse a node whose Arena or file formats differ from this head's, naming both versions."""
    ours = versions()
    for key, value in theirs.items():
        if key in ours and value != ours[key]:
            raise ConfigError(f"node {node} runs {key} {value}, this head {ours[key]}: install the same Arena "
                              "on every node")


def connect(ray, address: str) -> bool:
    """Join (or with `local` start) a Ray cluster; True when this process started it."""
    if ray.is_initialized():
        return False
    if address not in ("auto", "local"):
        check_address(address)
    quiet = {"log_to_driver": False, "include_dashboard": False} if address == "local" else {"log_to_driver": False}
    try:
        ray.init(address=None if address == "local" else address, configure_logging=False, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0].split(". ")[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot reach a Ray cluster at '{address}' ({reason}): start one with "
                          "`ray start --head` and pass its address, or use --ray local") from None
    return address == "local"


def check_address(address: str) -> None:
    """Fail in seconds, not minutes, when nothing listens at a cluster's address (Ray's own
    client retries its GCS for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--ray {address}: give a cluster's host:port (as `ray start --head` prints), auto or local")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach a Ray cluster at '{address}' ({exc.strerror or exc}): start one with "
                          "`ray start --head` and pass its address, or use --ray local") from None


def preflight(address: str) -> None:
    """Before anything is written or played: Ray installed and in range, and a cluster at `address`."""
    import_ray()
    if address not in ("auto", "local"):
        check_address(address)
