"""ShuffleNetV1 / ShuffleNetV2 against MMPose 1.3.2 (``bb2_shufflenetv{1,2}.npz``: MMPose's outputs for a
deterministic state dict, loaded strictly here)."""

from __future__ import annotations

import pytest
import torch

from posekit.models.backbones import ShuffleNetV1, ShuffleNetV2


def _check(ref, model, rel_close):
    model.load_state_dict(ref.state_dict(), strict=True)
    model.eval()
    with torch.no_grad():
        outs = model(ref.input())
    expected = ref.outputs()
    assert len(outs) == len(expected)
    for i, (out, exp) in enumerate(zip(outs, expected)):
        rel_close(out, exp, what=f"output {i}")


@pytest.mark.parametrize("name, cls", [("shufflenetv1", ShuffleNetV1), ("shufflenetv2", ShuffleNetV2)])
def test_forward_matches_mmpose(name, cls, mmpose_ref, rel_close):
    ref = mmpose_ref(name)
    assert ref.meta["cls"] == cls.__name__
    _check(ref, cls(**ref.meta["kwargs"]), rel_close)


def test_invalid_arguments_are_named():
    with pytest.raises(ValueError, match="groups"):
        ShuffleNetV1(groups=5)
    with pytest.raises(ValueError, match="widen_factor"):
        ShuffleNetV2(widen_factor=0.75)
    with pytest.raises(ValueError, match="out_indices"):
        ShuffleNetV2(out_indices=(4,))


def test_frozen_stages_and_norm_eval():
    model = ShuffleNetV2(widen_factor=0.5, frozen_stages=1, norm_eval=True).train()
    assert not any(p.requires_grad for p in model.conv1.parameters())
    assert not any(p.requires_grad for p in model.layers[0].parameters())
    assert all(p.requires_grad for p in model.layers[1].parameters())
    assert not any(m.training for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
