"""MSPN / RSN behaviour beyond the MMPose output references (``test_forward_refs_bb1.py``)."""

from __future__ import annotations

import pytest
import torch

from posekit.models.backbones import MSPN, RSN, ResNet


def test_mspn_pretrained_resnet_initialises_stem_and_every_stage(tmp_path):
    resnet = ResNet(depth=50, num_stages=2, strides=(1, 2), dilations=(1, 1), out_indices=(1,))
    for m in resnet.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_()
    path = tmp_path / "resnet.pth"
    torch.save({"state_dict": resnet.state_dict()}, path)
    init_cfg = dict(type="Pretrained", checkpoint=str(path))
    model = MSPN(unit_channels=16, num_stages=2, num_units=2, num_blocks=[1, 1], init_cfg=init_cfg)
    model.init_weights()
    assert torch.equal(model.top.top[0].conv.weight, resnet.conv1.weight)
    assert torch.equal(model.top.top[0].bn.running_mean, resnet.bn1.running_mean)
    for stage in model.multi_stage_mspn:
        layer2 = stage.downsample.layer2[0]
        assert torch.equal(layer2.conv2.weight, resnet.layer2[0].conv2.weight)
        assert torch.equal(layer2.downsample.conv.weight, resnet.layer2[0].downsample[0].weight)
        assert torch.equal(layer2.downsample.bn.running_mean, resnet.layer2[0].downsample[1].running_mean)


@pytest.mark.parametrize("cls", [MSPN, RSN])
def test_multistage_outputs_coarsest_first(cls):
    model = cls(unit_channels=8, num_stages=2, num_units=3, num_blocks=[1, 1, 1]).eval()
    outs = model(torch.rand(1, 3, 64, 48))
    assert [[tuple(o.shape) for o in stage] for stage in outs] == [[(1, 8, 4, 3), (1, 8, 8, 6), (1, 8, 16, 12)]] * 2


@pytest.mark.parametrize("kwargs", [dict(num_units=1, num_blocks=[1]), dict(num_units=2, num_blocks=[1, 1, 1])])
def test_bad_unit_settings_fail_with_a_message(kwargs):
    with pytest.raises(ValueError, match="num_units"):
        MSPN(**kwargs)
