from __future__ import annotations

import pytest
import torch
import torchvision
from torch.nn.modules.batchnorm import _BatchNorm

from posekit.models.backbones import ResNet, ResNetV1d
from posekit.models.backbones.resnet import BasicBlock, Bottleneck


def _num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_tiny_resnet18_widths_and_strides():
    model = ResNet(depth=18, stem_channels=16, base_channels=16, out_indices=(0, 1, 2, 3)).eval()
    outs = model(torch.rand(1, 3, 64, 48))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [(1, 16, 16, 12), (1, 32, 8, 6), (1, 64, 4, 3), (1, 128, 2, 2)]
    assert model.feat_dim == 16 * 8 * 1


def test_single_out_index_is_still_a_tuple():
    model = ResNet(depth=50, base_channels=16, stem_channels=16).eval()
    (out,) = model(torch.rand(1, 3, 64, 48))
    assert out.shape == (1, 16 * 8 * 4, 2, 2)


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_param_count_equals_torchvision_without_fc(depth):
    with torch.device("meta"):
        ours = ResNet(depth=depth)
        tv = getattr(torchvision.models, f"resnet{depth}")()
    tv_params = sum(p.numel() for n, p in tv.named_parameters() if not n.startswith("fc."))
    assert _num_params(ours) == tv_params
    assert set(tv.state_dict()) - set(ours.state_dict()) == {"fc.weight", "fc.bias"}


def test_loads_torchvision_weights_and_computes_the_same_features():
    torch.manual_seed(0)
    tv = torchvision.models.resnet18().eval()
    ours = ResNet(depth=18, out_indices=(3,)).eval()
    missing, unexpected = ours.load_state_dict(tv.state_dict(), strict=False)
    assert missing == [] and sorted(unexpected) == ["fc.bias", "fc.weight"]
    x = torch.rand(1, 3, 64, 48)
    ref = tv.layer4(tv.layer3(tv.layer2(tv.layer1(tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))))))
    torch.testing.assert_close(ours(x)[0], ref)


def test_resnetv1d_deep_stem_and_avg_down():
    model = ResNetV1d(depth=50, base_channels=16, stem_channels=32, out_indices=(0, 3)).eval()
    keys = model.state_dict()
    assert "stem.0.conv.weight" in keys and "stem.2.bn.weight" in keys and "conv1.weight" not in keys
    assert isinstance(model.layer2[0].downsample[0], torch.nn.AvgPool2d)
    assert "layer2.0.downsample.1.weight" in keys
    outs = model(torch.rand(1, 3, 64, 48))
    assert [tuple(o.shape) for o in outs] == [(1, 64, 16, 12), (1, 512, 2, 2)]


def test_caffe_style_puts_stride_on_first_conv():
    model = ResNet(depth=50, style="caffe", base_channels=16, stem_channels=16)
    assert model.layer2[0].conv1.stride == (2, 2) and model.layer2[0].conv2.stride == (1, 1)
    model = ResNet(depth=50, base_channels=16, stem_channels=16)
    assert model.layer2[0].conv1.stride == (1, 1) and model.layer2[0].conv2.stride == (2, 2)


def test_zero_init_residual():
    model = ResNet(depth=50, base_channels=16, stem_channels=16)
    assert all(float(m.norm3.weight.abs().sum()) == 0 for m in model.modules() if isinstance(m, Bottleneck))
    model = ResNet(depth=18, base_channels=16, stem_channels=16, zero_init_residual=False)
    assert all(float(m.norm2.weight.abs().sum()) > 0 for m in model.modules() if isinstance(m, BasicBlock))


def test_frozen_stages_freeze_params_and_bn():
    model = ResNet(depth=18, base_channels=16, stem_channels=16, frozen_stages=2)
    model.train()
    for module in (model.conv1, model.bn1, model.layer1, model.layer2):
        assert all(not p.requires_grad for p in module.parameters())
    assert not model.bn1.training and not model.layer2[0].bn1.training
    assert all(p.requires_grad for p in model.layer3.parameters())
    assert model.layer3[0].bn1.training


def test_norm_eval_keeps_bn_stats():
    model = ResNet(depth=18, base_channels=16, stem_channels=16, norm_eval=True)
    model.train()
    assert model.training
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    before = model.layer1[0].bn1.running_mean.clone()
    model(torch.rand(2, 3, 64, 48))
    torch.testing.assert_close(model.layer1[0].bn1.running_mean, before)


def test_with_cp_backward():
    model = ResNet(depth=18, base_channels=8, stem_channels=8, with_cp=True)
    x = torch.rand(2, 3, 64, 48, requires_grad=True)
    model(x)[0].sum().backward()
    assert model.layer1[0].conv1.weight.grad is not None


def test_invalid_arguments():
    with pytest.raises(KeyError, match="invalid depth"):
        ResNet(depth=42)
    with pytest.raises(ValueError, match="out_indices"):
        ResNet(depth=18, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(3,))
