"""A round robin's tables as Ray tasks: `arena ladder --players ... --ray auto|local|ADDRESS`.

The ladder's ledger stays with the driver, which records each table's games as its task returns them
(by value). Nodes need no run directory: each snapshot a player spec names is resolved here, read
once and put in the object store, and a task writes it to its own temporary folder and plays it as
`path.pt` with the spec's options, its games recorded under the spec's own name. A table plays the
same games as it would locally (its seed is its own), and a task Ray retries after its worker died
is recorded once: the driver records a table when its first answer arrives.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import games
from engine.players import is_neural, resolve_snapshot
from league.cluster import check_versions, connect, import_ray, versions
from league.match import Fixture, play_fixture

TASK_RETRIES = 3  # a table whose node died is played again elsewhere


@dataclasses.dataclass(frozen=True)
class ShippedSnapshot:
    """A snapshot spec's file, by value: its bytes and the options after its base."""

    data: bytes
    options: str  # "@sims=50", or ""

    @classmethod
    def of(cls, spec: str) -> ShippedSnapshot:
        base, at, options = spec.partition("@")
        return cls(resolve_snapshot(base).read_bytes(), at + options)

    def local_spec(self, folder: Path) -> str:
        """The same player on this node: the snapshot written under `folder`, with the same options."""
        path = folder / f"{hashlib.sha256(self.data).hexdigest()[:16]}.pt"
        if not path.exists():
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(self.data)
            os.replace(tmp, path)
        return f"{path}{self.options}"


def play_remote(game: str, fixture: Fixture, refs: dict):
    """A Ray task: one fixture's games, with players named as the driver named them. `refs` maps a
    snapshot spec to the ref of its ShippedSnapshot (nested refs: fetched here, once a node)."""
    import ray
    shipped: dict[str, ShippedSnapshot] = {name: ray.get(ref) for name, ref in refs.items()}
    spec = games.load(game)
    with tempfile.TemporaryDirectory(prefix="arena-ladder-") as folder:
        local = {name: snap.local_spec(Path(folder)) for name, snap in shipped.items()}
        result = play_fixture(spec, dataclasses.replace(
            fixture, players=tuple(local.get(p, p) for p in fixture.players)))
    return _renamed(result, {v: k for k, v in local.items()}), (ray.util.get_node_ip_address(), versions())


def _renamed(result, names: dict[str, str]):
    """A match or table result with its players' names mapped back."""
    if hasattr(result, "a"):
        return dataclasses.replace(result, a=names.get(result.a, result.a), b=names.get(result.b, result.b))
    return dataclasses.replace(result, players=tuple(names.get(p, p) for p in result.players),
                               seatings=[tuple(names.get(p, p) for p in s) for s in result.seatings])


def play_on_ray(spec, todo: Sequence[Fixture], address: str) -> Iterator[tuple[Fixture, object]]:
    """Each fixture's result, in the order they finish, played as Ray tasks of one CPU each."""
    ray = import_ray()
    shipped = {p: ShippedSnapshot.of(p) for f in todo for p in f.players if is_neural(p)}  # a bad spec: no cluster
    started = connect(ray, address)
    pending: dict = {}
    try:
        refs = {name: ray.put(snap) for name, snap in shipped.items()}
        task = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(play_remote)
        pending = {task.remote(spec.name, f, {p: refs[p] for p in f.players if p in refs}): f for f in todo}
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            fixture = pending.pop(ref)
            result, (node, theirs) = ray.get(ref)
            check_versions(theirs, node)
            yield fixture, result
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
