from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from posekit.models.utils import (
    ConvModule,
    DepthwiseSeparableConvModule,
    build_norm_layer,
    init_from_cfg,
    make_divisible,
)


def test_conv_module_names_and_bias():
    m = ConvModule(3, 8, 3, padding=1, norm_cfg=dict(type="BN", momentum=0.03, eps=0.001), act_cfg=dict(type="SiLU"))
    assert list(m.state_dict()) == [
        "conv.weight",
        "bn.weight",
        "bn.bias",
        "bn.running_mean",
        "bn.running_var",
        "bn.num_batches_tracked",
    ]
    assert m.bn.momentum == 0.03 and m.bn.eps == 0.001 and isinstance(m.activate, nn.SiLU)
    assert m(torch.rand(1, 3, 8, 8)).shape == (1, 8, 8, 8)
    plain = ConvModule(3, 8, 1, act_cfg=None)
    assert plain.conv.bias is not None and not hasattr(plain, "activate") and plain.norm is None
    gn = ConvModule(4, 8, 1, norm_cfg=dict(type="GN", num_groups=2), order=("norm", "conv", "act"))
    assert gn.norm_name == "gn" and gn.gn.num_channels == 4


def test_build_norm_layer_and_requires_grad():
    name, layer = build_norm_layer(dict(type="BN", requires_grad=False), 4, postfix=2)
    assert name == "bn2" and not layer.weight.requires_grad
    with pytest.raises(KeyError, match="unknown norm"):
        build_norm_layer(dict(type="XN"), 4)


def test_depthwise_separable_names():
    m = DepthwiseSeparableConvModule(8, 16, 3, padding=1, norm_cfg=dict(type="BN"), dw_act_cfg=None)
    assert m.depthwise_conv.conv.groups == 8 and not hasattr(m.depthwise_conv, "activate")
    assert "pointwise_conv.bn.weight" in m.state_dict()


def test_init_from_cfg_layer_matching_and_override():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Linear(4, 2))
    init_from_cfg(
        model,
        [
            dict(type="Constant", val=3, bias=1, layer="Conv2d"),
            dict(type="Constant", val=2, layer="_BatchNorm"),
            dict(type="Normal", std=0.01, layer="Linear", override=dict(name="2", type="Constant", val=7)),
        ],
    )
    assert torch.all(model[0].weight == 3) and torch.all(model[0].bias == 1)
    assert torch.all(model[1].weight == 2)
    assert torch.all(model[2].weight == 7)


def test_make_divisible():
    assert make_divisible(32 * 0.5, 8) == 16
    assert make_divisible(24 * 0.35, 8) == 8
    assert make_divisible(96 * 1.4, 8) == 136
