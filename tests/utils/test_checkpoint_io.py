"""posekit.utils.checkpoint_io: checkpoints are read without executing anything they name."""

from __future__ import annotations

import pickle
import sys
import warnings

import numpy as np
import pytest
import torch

from posekit.utils import InertObject, load_checkpoint_file
from posekit.utils.checkpoint_io import CheckpointReadError


@pytest.mark.parametrize("kind", ["os.system", "eval", "exec"])
@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_hostile_pickle_does_not_execute(tmp_path, hostile, kind, legacy):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    obj = {"state_dict": {"w": torch.arange(4.0)}, "meta": {"hook": hostile.hostile_object(kind, marker)}}
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    with pytest.warns(UserWarning, match="inert stand-ins, nothing was executed"):
        ckpt = load_checkpoint_file(path)
    assert not marker.exists()
    torch.testing.assert_close(ckpt["state_dict"]["w"], torch.arange(4.0))
    assert isinstance(ckpt["meta"]["hook"], InertObject)


def test_the_payload_is_real(tmp_path, hostile):
    """The same file does run its payload when unpickled without restrictions (the test above can fail)."""
    marker = tmp_path / "pwned"
    path = hostile.save_hostile(tmp_path / "evil.pth", {"state_dict": {}}, marker, "exec")
    with pytest.warns(UserWarning, match="trust_checkpoint=True"):
        load_checkpoint_file(path, trust_checkpoint=True)
    assert marker.read_text() == "pwned"


def test_mmengine_checkpoint_loads_with_stand_ins(tmp_path, hostile):
    state = {"backbone.conv1.weight": torch.randn(4, 3, 3, 3), "head.final_layer.bias": torch.randn(17)}
    path = hostile.save_mmengine_like(tmp_path / "mm.pth", state, module_name="posekit_test_gone_mmengine")
    with pytest.raises(ModuleNotFoundError):  # an unrestricted load would have to import the module
        torch.load(path, weights_only=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an ordinary MMPose checkpoint gives no warning
        ckpt = load_checkpoint_file(path)
    assert "posekit_test_gone_mmengine" not in sys.modules and "posekit_test_gone_mmengine.logging" not in sys.modules
    for k, v in state.items():
        torch.testing.assert_close(ckpt["state_dict"][k], v)
    meta = ckpt["meta"]
    assert meta["epoch"] == 210 and meta["seed"] == 21 and isinstance(meta["seed"], np.integer)
    np.testing.assert_array_equal(meta["dataset_meta"]["sigmas"], np.full(17, 0.05, dtype=np.float32))
    hub = meta["message_hub"]["log_scalars"]["train/loss"]
    assert isinstance(hub, InertObject) and "posekit_test_gone_mmengine.logging.HistoryBuffer" in repr(hub)
    np.testing.assert_array_equal(hub._state["_log_history"], [0.5, 0.25])  # the arrays inside are read
    assert meta["cfg"]._items["model"]._items == {"type": "TopdownPoseEstimator"}


def test_posekit_checkpoint_loads_weights_only(tmp_path, monkeypatch):
    path = tmp_path / "plain.ckpt"
    torch.save({"state_dict": {"model.w": torch.ones(2)}, "posekit_cfg": {"model": {"_target_": "x"}}}, path)
    calls = []
    real = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    assert load_checkpoint_file(path)["posekit_cfg"] == {"model": {"_target_": "x"}}
    assert calls == [True]


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04truncated"])
def test_unreadable_file_is_one_line_error(tmp_path, content):
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointReadError, match=r"bad\.pth: not a readable PyTorch checkpoint") as info:
        load_checkpoint_file(path)
    assert "\n" not in str(info.value)


def test_truncated_hostile_file_does_not_execute(tmp_path, hostile):
    marker = tmp_path / "pwned"
    path = hostile.save_hostile(tmp_path / "evil.pth", {"state_dict": {"w": torch.ones(3)}}, marker)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises((CheckpointReadError, pickle.UnpicklingError)):
        load_checkpoint_file(path)
    assert not marker.exists()


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_checkpoint_file(tmp_path / "nope.pth")
