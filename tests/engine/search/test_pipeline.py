"""engine/search/pipeline.py: when waves pipeline, and how many streams and groups they get (the
search through pipelined waves is checked against plain waves in test_mcts.py)."""
from __future__ import annotations

import torch

from engine.search import pipeline
from engine.search.pipeline import PIPELINE_MIN_FLOPS, PIPELINE_MIN_TREES, pays, stream_count


class _Device:
    def __init__(self, kind: str) -> None:
        self.device = torch.device(kind)


def test_few_trees_never_count_the_network():
    def flops() -> float:
        raise AssertionError("counted for too few trees")

    assert not pays(2 * PIPELINE_MIN_TREES - 1, flops)
    assert pays(2 * PIPELINE_MIN_TREES, lambda: PIPELINE_MIN_FLOPS)
    assert not pays(2 * PIPELINE_MIN_TREES, lambda: PIPELINE_MIN_FLOPS / 2)


def test_streams_follow_the_cpu_threads_and_an_accelerator_gets_one():
    threads = torch.get_num_threads()
    assert stream_count(_Device("cpu"), 1000) == threads
    assert stream_count(_Device("cpu"), PIPELINE_MIN_TREES) == 1  # each stream's group keeps its trees
    assert stream_count(_Device("meta"), 1000) == 1


def test_groups_are_at_least_two_and_one_per_stream(monkeypatch):
    monkeypatch.setattr(pipeline, "stream_count", lambda evaluator, trees: 3)
    p = pipeline.WavePipeline(_Device("cpu"), 40)
    assert p.streams.count == 3
    assert p.groups(40) == 3 and p.groups(16) == 2
    assert p.groups(64 * 5) == 5  # one per PIPELINE_GROUP trees once there are many
