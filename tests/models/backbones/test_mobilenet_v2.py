from __future__ import annotations

import pytest
import torch
import torchvision

from posekit.models.backbones import MobileNetV2


def test_all_out_indices():
    model = MobileNetV2(out_indices=tuple(range(8))).eval()
    outs = model(torch.rand(1, 3, 64, 48))
    assert [o.shape[1] for o in outs] == [16, 24, 32, 64, 96, 160, 320, 1280]
    assert [tuple(o.shape[2:]) for o in outs] == [(32, 24), (16, 12), (8, 6), (4, 3), (4, 3), (2, 2), (2, 2), (2, 2)]


def test_widen_factor():
    model = MobileNetV2(widen_factor=0.5, out_indices=(6, 7)).eval()
    assert [o.shape[1] for o in model(torch.rand(1, 3, 64, 48))] == [160, 1280]
    assert MobileNetV2(widen_factor=1.4).out_channel == int(1280 * 1.4)


def test_param_count_equals_torchvision_features():
    tv = torchvision.models.mobilenet_v2()
    tv_params = sum(p.numel() for n, p in tv.named_parameters() if not n.startswith("classifier"))
    assert sum(p.numel() for p in MobileNetV2().parameters()) == tv_params


def test_frozen_stages():
    model = MobileNetV2(frozen_stages=2).train()
    assert all(not p.requires_grad for m in (model.conv1, model.layer1, model.layer2) for p in m.parameters())
    assert not model.layer2[0].conv[0].bn.training
    assert all(p.requires_grad for p in model.layer3.parameters()) and model.layer3[0].conv[0].bn.training


def test_bad_arguments():
    with pytest.raises(ValueError, match="out_indices"):
        MobileNetV2(out_indices=(8,))
    with pytest.raises(ValueError, match="frozen_stages"):
        MobileNetV2(frozen_stages=8)
