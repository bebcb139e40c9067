"""Shared test setup.

Torch's default of one intra-op thread per core makes the tiny network calls of these tests up to
100x slower when another process keeps a core busy (the threads spin waiting for each other), so
the tests run torch single-threaded, as `arena league run` does by default (config `threads = 1`).
"""

import torch

torch.set_num_threads(1)
