from __future__ import annotations

import copy

import torch

from posekit.models.backbones import LiteHRNet
from posekit.models.backbones.litehrnet import LiteHRModule, channel_shuffle


def _small(extra: dict, module_type: str = "LITE") -> dict:
    extra = copy.deepcopy(extra)
    extra["stages_spec"]["num_modules"] = (1, 1, 1)
    extra["stages_spec"]["num_blocks"] = (1, 1, 1)
    extra["stages_spec"]["module_type"] = (module_type,) * 3
    return extra


def test_forward_litehrnet18_shape(litehrnet18_extra):
    model = LiteHRNet(litehrnet18_extra).eval()
    outs = model(torch.rand(1, 3, 64, 64))
    assert isinstance(outs, tuple) and len(outs) == 1
    assert outs[0].shape == (1, 40, 16, 16)


def test_litehrnet30_is_the_deeper_variant(litehrnet18_extra):
    extra30 = copy.deepcopy(litehrnet18_extra)
    extra30["stages_spec"]["num_modules"] = (3, 8, 3)
    m18, m30 = LiteHRNet(litehrnet18_extra), LiteHRNet(extra30)
    assert len(m30.stage1) == 8 and "stage1.7.layers.1.depthwise_convs.2.conv.weight" in m30.state_dict()
    assert sum(p.numel() for p in m30.parameters()) > sum(p.numel() for p in m18.parameters())


def test_naive_modules_and_no_head(litehrnet18_extra):
    extra = _small(litehrnet18_extra, "NAIVE")
    extra["with_head"] = False
    model = LiteHRNet(extra).eval()
    assert "stage0.0.layers.1.0.branch2.1.conv.weight" in model.state_dict()
    assert not hasattr(model, "head_layer")
    assert model(torch.rand(1, 3, 64, 32))[0].shape == (1, 40, 16, 8)


def test_train_backward_and_norm_eval(litehrnet18_extra):
    model = LiteHRNet(_small(litehrnet18_extra), with_cp=True)
    model.train()
    model(torch.rand(2, 3, 32, 32, requires_grad=True))[0].mean().backward()
    assert model.stem.conv1.conv.weight.grad is not None
    model = LiteHRNet(_small(litehrnet18_extra), norm_eval=True).train()
    assert all(not m.training for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_channel_shuffle():
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]


def test_fusion_reproduces_mmpose_in_place_accumulation():
    """MMPose accumulates the first fused map in place into branch 0; later fusions see the updated branch 0."""
    torch.manual_seed(0)
    module = LiteHRModule(2, 1, [8, 16], reduce_ratio=8, module_type="NAIVE", multiscale_output=True).eval()
    x = [torch.rand(1, 8, 8, 8), torch.rand(1, 16, 4, 4)]
    with torch.no_grad():
        b0, b1 = module.layers[0](x[0]), module.layers[1](x[1])
        pre0 = b0 + b0 + module.fuse_layers[0][1](b1)
        down = module.fuse_layers[1][0](pre0)
        expected = [torch.relu(pre0), torch.relu(down + down + b1)]
        out = module([t.clone() for t in x])
    torch.testing.assert_close(out[0], expected[0])
    torch.testing.assert_close(out[1], expected[1])
