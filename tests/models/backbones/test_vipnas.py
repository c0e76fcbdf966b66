"""ViPNAS_MobileNetV3 / ViPNAS_ResNet (default, full-size searched architectures) against MMPose 1.3.2."""

from __future__ import annotations

import pytest
import torch

from posekit.models.backbones import ViPNAS_MobileNetV3, ViPNAS_ResNet


@pytest.mark.parametrize("name, cls", [("vipnas_mbv3", ViPNAS_MobileNetV3), ("vipnas_res50", ViPNAS_ResNet)])
def test_forward_matches_mmpose(name, cls, mmpose_ref, rel_close):
    ref = mmpose_ref(name)
    assert ref.meta["cls"] == cls.__name__
    model = cls(**ref.meta["kwargs"])
    model.load_state_dict(ref.state_dict(), strict=True)
    model.eval()
    with torch.no_grad():
        (out,) = model(ref.input())
    (expected,) = ref.outputs()
    rel_close(out, expected)


def test_output_channels_and_stride():
    with torch.no_grad():
        (a,) = ViPNAS_MobileNetV3().eval()(torch.zeros(1, 3, 64, 64))
        (b,) = ViPNAS_ResNet(depth=50).eval()(torch.zeros(1, 3, 64, 64))
    assert a.shape == (1, 160, 2, 2)
    assert b.shape == (1, 608, 2, 2)


def test_invalid_depth_is_named():
    with pytest.raises(KeyError, match="depth"):
        ViPNAS_ResNet(depth=18)
