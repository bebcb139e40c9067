"""Pipelined waves: groups of a search's trees take turns, so its Python work hides behind the network.

While the network works on other groups' leaves, on worker threads (`NetworkStreams`; torch
releases the GIL), the search's own thread selects, encodes and backs up one group. It pays with
16 trees or more and a network of 30 MFLOP a position or more (go9 and up): with a lighter
network the search's Python work competes with the network's threads for the cores instead.
The search supplies its waves as three steps (start, network call, end); this module only orders them.
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from typing import Callable, TypeVar

import numpy as np
import torch

from engine.nn import Evaluator, NetworkStreams

PIPELINE_MIN_TREES = 8  # searches of at least twice this many trees overlap Python work and network calls
PIPELINE_MIN_FLOPS = 30e6  # ...when one position's network call costs at least this many operations
PIPELINE_GROUP = 64  # trees per group once there are many (larger groups batch better, fewer overlap less)

Wave = TypeVar("Wave")


def pays(trees: int, flops: Callable[[], float]) -> bool:
    """Whether a search of `trees` trees pipelines its waves; `flops` (one position's network
    call) is asked only when there are trees enough."""
    return trees >= 2 * PIPELINE_MIN_TREES and flops() >= PIPELINE_MIN_FLOPS


def network_flops(evaluator: Evaluator, x: np.ndarray, legal: np.ndarray, player: np.ndarray,
                  tree: int) -> float:
    """Floating-point operations of one network call on one position (x, legal, player: a batch of one)."""
    return evaluator.flops(x, legal, player, np.array([tree]))


def stream_count(evaluator: Evaluator, trees: int) -> int:
    """Network streams for pipelined waves: one per torch thread on a CPU (each group of trees
    keeping PIPELINE_MIN_TREES), one on an accelerator, which queues the calls anyway."""
    if getattr(evaluator, "device", torch.device("cpu")).type != "cpu":
        return 1
    return max(1, min(torch.get_num_threads(), trees // PIPELINE_MIN_TREES))


class WavePipeline:
    """The network streams of a search's pipelined waves, and the order its groups take turns in."""

    def __init__(self, evaluator: Evaluator, trees: int) -> None:
        self.streams = NetworkStreams(stream_count(evaluator, trees))

    def groups(self, trees: int) -> int:
        """How many groups pipelined waves split `trees` trees into: one per PIPELINE_GROUP trees,
        and at least one per network stream (two at least)."""
        return max(2, min(self.streams.count, trees // PIPELINE_MIN_TREES), trees // PIPELINE_GROUP)

    def run(self, trees: np.ndarray, remaining: np.ndarray, leaves_per_tree: int,
            start_wave: Callable[[np.ndarray, np.ndarray], Wave], forward: Callable[[Wave], object],
            end_wave: Callable[[Wave, object], None]) -> None:
        """Waves over groups of `trees` in turn until each has run its `remaining` simulations
        (`leaves_per_tree` a wave): start_wave(trees, remaining) selects and encodes, forward(wave)
        is the network call (on a stream), end_wave(wave, result) expands and backs up."""
        groups = np.array_split(np.arange(len(trees)), self.groups(len(trees)))
        # Every other group's call stays in flight (queued for a free stream), so a stream that
        # finishes starts on the next group at once instead of waiting for this thread.
        k, in_flight = leaves_per_tree, max(self.streams.count, len(groups) - 1)
        pending: deque[tuple[int, Wave, Future]] = deque()  # (group, wave, network call), oldest first

        def end_oldest() -> None:
            _, wave, result = pending.popleft()
            end_wave(wave, result.result())

        g = 0
        while True:
            while any(p[0] == g for p in pending):  # a group's wave ends before it starts another
                end_oldest()
            mine = groups[g][remaining[groups[g]] > 0]
            if len(mine):
                wave = start_wave(trees[mine], remaining[mine])
                remaining[mine] -= np.minimum(remaining[mine], k)
                pending.append((g, wave, self.streams.submit(forward, wave)))
            elif not pending and not (remaining > 0).any():
                return
            # The next group's call is in flight before this thread waits, so its Python work
            # always overlaps a network call.
            while len(pending) > in_flight or (pending and not len(mine)):
                end_oldest()
            g = (g + 1) % len(groups)
