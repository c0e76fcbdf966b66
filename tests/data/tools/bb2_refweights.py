"""Deterministic, numpy-only weights for the backbone references of ``gen_backbone_refs_bb2.py``.

MMPose's reference forward and posekit's test fill the same ``(name, shape)`` entries from the same seed, so a
reference file stores only the entry list, the integer buffers, the input and the outputs (a few KB instead of
the weights). Values: ``np.random.RandomState(seed)`` drawn in entry order; tensors with >= 2 dims ~ N(0, 1/fan_in),
``running_var`` / 1-D ``weight`` ~ U(0.5, 1.5) (norm scales), ``running_mean`` / biases ~ N(0, 0.1),
``num_batches_tracked`` = 0. Imported by path (no package), by both interpreters.
"""

from __future__ import annotations

import math

import numpy as np


def det_state_dict(entries: list[tuple[str, tuple[int, ...]]], seed: int) -> dict[str, np.ndarray]:
    """``{name: float32 array}`` for every ``(name, shape)`` entry (``num_batches_tracked``: int64 zeros)."""
    rng = np.random.RandomState(seed)
    out: dict[str, np.ndarray] = {}
    for name, shape in entries:
        shape = tuple(int(s) for s in shape)
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "num_batches_tracked":
            out[name] = np.zeros(shape, np.int64)
            continue
        if leaf == "running_var":
            v = rng.uniform(0.5, 1.5, shape)
        elif leaf == "running_mean":
            v = rng.normal(0.0, 0.1, shape)
        elif len(shape) >= 2:
            v = rng.normal(0.0, 1.0 / math.sqrt(max(1, math.prod(shape[1:]))), shape)
        elif leaf == "weight":
            v = rng.uniform(0.5, 1.5, shape)
        else:
            v = rng.normal(0.0, 0.1, shape)
        out[name] = v.astype(np.float32)
    return out
