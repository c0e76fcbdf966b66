from __future__ import annotations

import torch
from omegaconf import OmegaConf

from posekit.models.backbones import HRNet
from posekit.models.backbones.resnet import BasicBlock


def test_forward_highest_resolution_only(make_tiny_hrnet_extra):
    model = HRNet(make_tiny_hrnet_extra()).eval()
    outs = model(torch.rand(1, 3, 64, 64))
    assert isinstance(outs, tuple) and len(outs) == 1
    assert outs[0].shape == (1, 8, 16, 16)
    # the last module only fuses into the highest resolution
    assert len(model.stage4[-1].fuse_layers) == 1 and len(model.stage4[0].fuse_layers) == 4


def test_forward_multiscale(make_tiny_hrnet_extra):
    model = HRNet(make_tiny_hrnet_extra(multiscale_output=True)).eval()
    outs = model(torch.rand(2, 3, 64, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 8), (2, 16, 8, 4), (2, 32, 4, 2), (2, 64, 2, 1)]


def test_key_layout(make_tiny_hrnet_extra):
    keys = HRNet(make_tiny_hrnet_extra()).state_dict()
    for key in (
        "conv1.weight",
        "bn2.running_var",
        "layer1.0.downsample.0.weight",
        "transition1.0.0.weight",  # 64 -> 8 channels, same resolution
        "transition1.1.0.0.weight",  # new branch: stride-2 conv
        "transition3.3.0.0.weight",
        "stage2.0.branches.0.0.conv1.weight",
        "stage2.0.fuse_layers.0.1.0.weight",  # low -> high: 1x1 conv, BN, upsample
        "stage2.0.fuse_layers.1.0.0.0.weight",  # high -> low: stride-2 3x3 conv
        "stage4.0.fuse_layers.3.0.2.1.running_mean",
    ):
        assert key in keys, key
    assert "transition2.0.0.weight" not in keys  # unchanged branches have no transition


def test_accepts_omegaconf_extra_and_bilinear_upsample(make_tiny_hrnet_extra):
    extra = make_tiny_hrnet_extra()
    extra["upsample"] = dict(mode="bilinear", align_corners=False)
    model = HRNet(OmegaConf.create(extra)).eval()
    assert model.stage2[0].fuse_layers[0][1][2].mode == "bilinear"
    assert model(torch.rand(1, 3, 64, 64))[0].shape == (1, 8, 16, 16)


def test_frozen_stages_and_norm_eval(make_tiny_hrnet_extra):
    model = HRNet(make_tiny_hrnet_extra(), frozen_stages=2, norm_eval=False)
    model.train()
    for module in (model.conv1, model.bn1, model.conv2, model.bn2, model.layer1, model.transition1, model.stage2):
        assert all(not p.requires_grad for p in module.parameters())
    assert not model.stage2[0].branches[0][0].bn1.training
    assert all(p.requires_grad for p in model.stage3.parameters())
    assert model.stage3[0].branches[0][0].bn1.training

    model = HRNet(make_tiny_hrnet_extra(), norm_eval=True).train()
    assert all(not m.training for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_init_and_backward(make_tiny_hrnet_extra):
    model = HRNet(make_tiny_hrnet_extra(), zero_init_residual=True, with_cp=True)
    assert all(float(m.norm2.weight.abs().sum()) == 0 for m in model.modules() if isinstance(m, BasicBlock))
    assert float(model.conv1.weight.std()) < 0.01  # Normal(std=0.001) default init
    x = torch.rand(2, 3, 32, 32, requires_grad=True)
    model(x)[0].mean().backward()
    assert model.stage4[0].fuse_layers[0][3][0].weight.grad is not None
