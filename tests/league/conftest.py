"""Shared fixtures of the league tests: `cluster`, a real local Ray cluster of a head and one worker
node, one CPU each (ray.cluster_utils.Cluster), this process connected as the head's driver."""
from __future__ import annotations

import pytest


@pytest.fixture
def cluster():
    import ray  # in the test extra: CI runs the cluster tests
    from ray.cluster_utils import Cluster

    # The driver joins the head's node before the worker exists: the run directory's side.
    c = Cluster(initialize_head=True, connect=True, head_node_args={"num_cpus": 1})
    worker = c.add_node(num_cpus=1)
    c.wait_for_nodes()
    yield c, worker
    ray.shutdown()
    c.shutdown()
