"""Deterministic, well-scaled weights for a state_dict layout: the same numbers under any numpy / torch version.

Shared by ``tests/data/tools/gen_backbone_refs_bb1.py`` (run with MMPose's Python, it fills MMPose's module and
records its outputs) and the tests (they fill posekit's module with the same numbers). The weights are generated
instead of stored so that full-width models fit in a few kilobytes of reference data.

Rule, per entry in state_dict order, from one ``numpy.random.RandomState(seed)`` (whose stream numpy guarantees):
conv/linear weights (ndim >= 2) ~ N(0, 1/fan_in); norm weights (1-d ``weight``) ~ U(0.5, 1.5); biases ~ N(0, 0.1);
``running_mean`` ~ N(0, 0.1); ``running_var`` ~ U(0.5, 1.5); ``num_batches_tracked`` = 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np


def seeded_state(layout: Iterable[tuple[str, Sequence[int]]], seed: int) -> dict[str, np.ndarray]:
    """``{key: array}`` for ``(key, shape)`` pairs in state_dict order (float32; int64 ``num_batches_tracked``)."""
    rng = np.random.RandomState(seed)
    out: dict[str, np.ndarray] = {}
    for key, shape in layout:
        shape = tuple(int(s) for s in shape)
        if key.endswith("num_batches_tracked"):
            out[key] = np.zeros(shape, dtype=np.int64)
            continue
        if key.endswith("running_var"):
            value = rng.uniform(0.5, 1.5, shape)
        elif key.endswith("running_mean"):
            value = rng.normal(0.0, 0.1, shape)
        elif len(shape) >= 2:
            value = rng.normal(0.0, 1.0 / math.sqrt(max(1, math.prod(shape[1:]))), shape)
        elif key.endswith("weight"):
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.normal(0.0, 0.1, shape)
        out[key] = np.asarray(value, dtype=np.float32)
    return out


def seeded_input(shape: Sequence[int], seed: int) -> np.ndarray:
    """A float32 image batch ~ U(-1, 1)."""
    return np.random.RandomState(seed).uniform(-1.0, 1.0, tuple(shape)).astype(np.float32)
