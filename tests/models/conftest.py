"""Fixtures of the model tests: MMPose reference outputs of ``tests/data/tools/gen_backbone_refs_bb2.py``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

_TOOLS = Path(__file__).resolve().parents[1] / "data" / "tools"
_REFS = Path(__file__).resolve().parents[1] / "data" / "golden" / "backbones"


def _refweights():
    spec = importlib.util.spec_from_file_location("bb2_refweights", _TOOLS / "bb2_refweights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class MMPoseRef:
    """One ``bb2_<name>.npz``: ``meta`` (kwargs, seed, entries), arrays, regenerated weights and input."""

    def __init__(self, name: str) -> None:
        path = _REFS / f"bb2_{name}.npz"
        if not path.exists():
            pytest.fail(
                f"reference {path} missing: run /opt/mmref/bin/python tests/data/tools/gen_backbone_refs_bb2.py"
            )
        with np.load(path) as data:
            self.arrays = {k: data[k] for k in data.files}
        self.meta = json.loads(str(self.arrays.pop("meta")))

    def state_dict(self, prefix: str = "", own: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """MMPose's state dict (entries under ``prefix``, prefix stripped), in MMPose's order. Integer buffers a
        reference does not store (``meta['int_entries']``) are taken from ``own`` (the model's own state dict)."""
        unstored = set(self.meta.get("int_entries", []))
        if unstored and own is None:
            raise ValueError(f"{sorted(unstored)[:2]}...: pass own=model.state_dict() for the unstored int buffers")
        entries = [(k, tuple(s)) for k, s in self.meta["entries"]]
        stored_ints = {e[0] for e in entries if f"int::{e[0]}" in self.arrays}
        floats = _refweights().det_state_dict(
            [e for e in entries if e[0] not in stored_ints and e[0] not in unstored], self.meta["seed"]
        )
        out = {}
        for key, _ in entries:
            if not key.startswith(prefix):
                continue
            if key in unstored:
                value = own[key[len(prefix) :]]
            elif key in stored_ints:
                value = torch.from_numpy(np.array(self.arrays[f"int::{key}"]))
            else:
                value = torch.from_numpy(floats[key])
            out[key[len(prefix) :]] = value
        return out

    def input(self) -> torch.Tensor:
        shape = self.meta["input_shape"]
        return torch.from_numpy(np.random.RandomState(self.meta["seed"] + 1).normal(0, 1, shape).astype(np.float32))

    def outputs(self) -> list[np.ndarray]:
        n = len([k for k in self.arrays if k.startswith("out_")])
        return [self.arrays[f"out_{i}"] for i in range(n)]


def assert_rel_close(actual, expected, rel: float = 1e-4, what: str = "output") -> None:
    """``max |a - e| / max |e| < rel``, with matching shapes."""
    a = actual.detach().cpu().numpy() if isinstance(actual, torch.Tensor) else np.asarray(actual)
    e = np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != MMPose's {e.shape}"
    err = float(np.abs(a.astype(np.float64) - e).max() / max(np.abs(e).max(), 1e-12))
    assert err < rel, f"{what}: relative error {err:.3g} >= {rel}"


@pytest.fixture
def mmpose_ref():
    """``mmpose_ref(name) -> MMPoseRef`` for ``tests/data/golden/backbones/bb2_<name>.npz``."""
    return MMPoseRef


@pytest.fixture
def rel_close():
    return assert_rel_close
