"""Necks: GlobalAveragePooling, FPN (mmdet keys), FeatureMapProcessor (MMPose's own test cases)."""

from __future__ import annotations

import pytest
import torch

from posekit.models.necks import FPN, FeatureMapProcessor, GlobalAveragePooling


def test_global_average_pooling():
    neck = GlobalAveragePooling()
    x = torch.rand(2, 8, 4, 3)
    out = neck(x)
    assert out.shape == (2, 8) and torch.allclose(out, x.mean(dim=(2, 3)))
    assert isinstance(neck((x, x)), tuple) and neck((x,))[0].shape == (2, 8)
    assert isinstance(neck([x]), list)
    with pytest.raises(TypeError):
        neck("x")


def test_fpn_shapes_and_keys():
    in_channels = [2, 3, 5, 7]
    inputs = [torch.rand(1, c, s, s) for c, s in zip(in_channels, [32, 16, 8, 4])]
    fpn = FPN(in_channels, 11, len(in_channels)).eval()
    outs = fpn(inputs)
    assert [tuple(o.shape) for o in outs] == [(1, 11, s, s) for s in (32, 16, 8, 4)]
    keys = set(fpn.state_dict())
    assert {"lateral_convs.0.conv.weight", "lateral_convs.0.conv.bias", "fpn_convs.3.conv.weight"} <= keys
    fpn = FPN(in_channels, 11, 5, add_extra_convs="on_input", norm_cfg={"type": "BN"}).eval()
    outs = fpn(inputs)
    assert len(outs) == 5 and outs[-1].shape == (1, 11, 2, 2)
    assert "fpn_convs.4.bn.weight" in fpn.state_dict() and "fpn_convs.0.conv.bias" not in fpn.state_dict()
    assert len(FPN(in_channels, 11, 5)(inputs)) == 5  # extra level by max-pooling


def test_feature_map_processor():
    assert FeatureMapProcessor(select_index=0).select_index == (0,)
    with pytest.raises(AssertionError):
        FeatureMapProcessor(scale_factor=0.0)
    inputs = [torch.rand(2, c, s, s) for c, s in ((2, 16), (4, 8), (8, 4))]
    out = FeatureMapProcessor(select_index=0)(inputs)
    assert len(out) == 1 and out[0].shape == (2, 2, 16, 16)
    out = FeatureMapProcessor(select_index=(2, 1))(inputs)
    assert out[1].shape == (2, 4, 8, 8) and out[0].shape == (2, 8, 4, 4)
    out = FeatureMapProcessor(select_index=(1, 2), concat=True)(inputs)
    assert len(out) == 1 and out[0].shape == (2, 12, 8, 8)
    out = FeatureMapProcessor(select_index=(2, 1), concat=True, scale_factor=2)(inputs)
    assert out[0].shape == (2, 12, 8, 8)
    out = FeatureMapProcessor(concat=True, apply_relu=True)(inputs)
    assert out[0].shape == (2, 14, 16, 16) and out[0].min() >= 0
    single = FeatureMapProcessor(scale_factor=0.5)(inputs[0])
    assert isinstance(single, torch.Tensor) and single.shape == (2, 2, 8, 8)
