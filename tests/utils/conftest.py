"""Fixture ``hostile``: crafted checkpoint files for the security tests: pickles that run code when unpickled
naively, and an MMPose/mmengine-layout checkpoint whose ``meta`` holds objects of a module that no longer exists."""

from __future__ import annotations

import builtins
import os
import sys
import types
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch


class _SystemCall:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _EvalCall:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (builtins.eval, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


class _ExecCall:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (builtins.exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


PAYLOADS = {"os.system": _SystemCall, "eval": _EvalCall, "exec": _ExecCall}


def hostile_object(kind: str, marker: Path):
    """An object whose unpickling runs ``kind`` (``os.system`` / ``eval`` / ``exec``), creating ``marker``."""
    return PAYLOADS[kind](marker)


def save_hostile(path: Path, payload: dict, marker: Path, kind: str = "os.system") -> Path:
    """``torch.save(payload + {'meta': {'hook': <code that creates marker>}})``."""
    obj = dict(payload)
    obj["meta"] = {**dict(obj.get("meta") or {}), "hook": hostile_object(kind, marker)}
    torch.save(obj, path)
    return path


def save_mmengine_like(path: Path, state_dict: dict[str, torch.Tensor], module_name: str = "fake_mmengine_x") -> Path:
    """An MMPose-layout checkpoint: ``state_dict``, ``meta`` with a message hub of objects of a class pickled by
    reference to ``module_name.logging`` (deleted afterwards, so importing it fails), numpy arrays and scalars, an
    ``OrderedDict``-based config, like mmengine writes."""
    mod = types.ModuleType(f"{module_name}.logging")

    class HistoryBuffer:
        def __init__(self, values):
            self._log_history = np.asarray(values, dtype=np.float64)
            self._count_history = np.ones(len(values))
            self.max_length = 1000000

    class ConfigDict(dict):
        pass

    for cls in (HistoryBuffer, ConfigDict):
        cls.__module__ = mod.__name__
        cls.__qualname__ = cls.__name__
        setattr(mod, cls.__name__, cls)
    sys.modules[module_name] = types.ModuleType(module_name)
    sys.modules[mod.__name__] = mod
    try:
        ckpt = {
            "meta": {
                "epoch": 210,
                "iter": 123,
                "mmengine_version": "0.10.3",
                "seed": np.int64(21),
                "message_hub": {
                    "log_scalars": OrderedDict([("train/loss", HistoryBuffer([0.5, 0.25]))]),
                    "runtime_info": OrderedDict([("epoch", 210)]),
                },
                "cfg": ConfigDict(model=ConfigDict(type="TopdownPoseEstimator")),
                "dataset_meta": {"sigmas": np.full(17, 0.05, dtype=np.float32)},
            },
            "state_dict": OrderedDict(state_dict),
            "message_hub": {"resumed_keys": OrderedDict([("iter", True)])},
        }
        torch.save(ckpt, path)
    finally:
        del sys.modules[mod.__name__], sys.modules[module_name]
    return path


@pytest.fixture
def hostile():
    """This module: ``save_hostile``, ``hostile_object``, ``save_mmengine_like``."""
    return sys.modules[__name__]
