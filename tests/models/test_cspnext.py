"""CSPNeXt and its CSP building blocks: shapes, MMPose's state_dict layout, freezing, norm configs, init."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from posekit.models.backbones import CSPNeXt
from posekit.models.utils.csp_layer import (
    ChannelAttention,
    CSPLayer,
    CSPNeXtBlock,
    DarknetBottleneck,
    Focus,
    SPPBottleneck,
)


def _tiny(**kw) -> CSPNeXt:
    return CSPNeXt(deepen_factor=0.167, widen_factor=0.375, **kw)


def test_forward_shapes_default_out_indices():
    model = _tiny().eval()
    with torch.no_grad():
        outs = model(torch.randn(2, 3, 64, 96))
    # stages 2, 3, 4: strides 8, 16, 32; channels 256/512/1024 * 0.375
    assert [tuple(o.shape) for o in outs] == [(2, 96, 8, 12), (2, 192, 4, 6), (2, 384, 2, 3)]


def test_forward_all_indices_and_rtmpose_input():
    model = _tiny(out_indices=(0, 1, 2, 3, 4)).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 256, 192))
    assert [tuple(o.shape[1:]) for o in outs] == [
        (24, 128, 96),
        (48, 64, 48),
        (96, 32, 24),
        (192, 16, 12),
        (384, 8, 6),
    ]


def test_p6_arch_and_depthwise():
    model = CSPNeXt(arch="P6", deepen_factor=0.167, widen_factor=0.25, out_indices=(5,), use_depthwise=True).eval()
    with torch.no_grad():
        (out,) = model(torch.randn(1, 3, 128, 128))
    assert out.shape == (1, 256, 2, 2)
    assert hasattr(model.stage1[0], "depthwise_conv")


def test_block_counts_follow_deepen_factor():
    # P5 blocks (3, 6, 6, 3) * 0.67 rounded -> (2, 4, 4, 2) as MMPose's RTMPose-m
    model = CSPNeXt(deepen_factor=0.67, widen_factor=0.75, out_indices=(4,))
    assert [len(getattr(model, f"stage{i}")[-1].blocks) for i in range(1, 5)] == [2, 4, 4, 2]
    assert isinstance(model.stage4[1], SPPBottleneck)
    # the last stage's blocks have no identity (add_identity False in the arch table)
    assert not model.stage4[2].blocks[0].add_identity and model.stage1[1].blocks[0].add_identity


def test_backbone_keys_match_mmpose_golden(golden_dir):
    golden = json.loads((golden_dir / "model_rtmpose_t_256x192.json").read_text())["state_dict_shapes"]
    expected = {k[len("backbone.") :]: v for k, v in golden.items() if k.startswith("backbone.")}
    model = CSPNeXt(deepen_factor=0.167, widen_factor=0.375, out_indices=(4,), norm_cfg={"type": "SyncBN"})
    assert {k: list(v.shape) for k, v in model.state_dict().items()} == expected


def test_norm_cfgs():
    default = _tiny()
    bn = default.stem[0].bn
    assert isinstance(bn, nn.BatchNorm2d) and bn.momentum == 0.03 and bn.eps == 0.001
    sync = _tiny(norm_cfg={"type": "SyncBN"})
    bn = sync.stem[0].bn
    assert isinstance(bn, nn.SyncBatchNorm) and bn.momentum == 0.1 and bn.eps == 1e-5
    sync.train()
    out = sync(torch.randn(2, 3, 64, 64))  # SyncBN runs as BatchNorm outside distributed training
    assert torch.isfinite(out[-1]).all()


def test_frozen_stages_and_norm_eval():
    model = _tiny(frozen_stages=1, norm_eval=True)
    model.train()
    for name in ("stem", "stage1"):
        mod = getattr(model, name)
        assert not any(p.requires_grad for p in mod.parameters())
        assert not mod.training
    assert all(p.requires_grad for p in model.stage2.parameters())
    assert model.stage2.training
    assert all(not m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    with pytest.raises(ValueError):
        _tiny(frozen_stages=5)
    with pytest.raises(ValueError):
        _tiny(out_indices=(5,))


def test_default_init_is_mmpose_kaiming_with_zero_bias():
    model = _tiny()
    fc = model.stage1[1].attention.fc
    assert torch.count_nonzero(fc.bias) == 0
    # kaiming_uniform(a=sqrt(5), fan_in) bound = 1 / sqrt(fan_in)
    fan_in = fc.weight.shape[1]
    assert fc.weight.abs().max() <= 1 / fan_in**0.5 + 1e-6
    # a Normal init_cfg is honoured instead
    model = _tiny(init_cfg={"type": "Constant", "layer": "Conv2d", "val": 0.5})
    assert torch.all(model.stem[0].conv.weight == 0.5)


def test_blocks_shapes():
    x = torch.randn(2, 16, 8, 8)
    assert CSPLayer(16, 32, num_blocks=2, use_cspnext_block=True, channel_attention=True)(x).shape == (2, 32, 8, 8)
    assert CSPLayer(16, 16, num_blocks=1)(x).shape == (2, 16, 8, 8)
    assert CSPNeXtBlock(16, 16)(x).shape == (2, 16, 8, 8)
    assert DarknetBottleneck(16, 16, use_depthwise=True)(x).shape == (2, 16, 8, 8)
    spp = SPPBottleneck(16, 24)
    assert spp(x).shape == (2, 24, 8, 8) and spp.conv2.conv.in_channels == 8 * 4
    assert Focus(3, 8, kernel_size=3)(torch.randn(1, 3, 16, 16)).shape == (1, 8, 8, 8)
    ca = ChannelAttention(16)
    with torch.no_grad():
        ca.fc.weight.zero_()
        ca.fc.bias.fill_(-10.0)  # hardsigmoid(-10) = 0
    assert torch.all(ca(x) == 0)


def test_backward_runs():
    model = _tiny(out_indices=(4,))
    out = model(torch.randn(2, 3, 64, 64))[0]
    out.mean().backward()
    assert model.stem[0].conv.weight.grad is not None
