"""Backbones built with the golden configs' settings have MMPose 1.3.2's exact state_dict layout."""

from __future__ import annotations

import json
import math

import pytest
import torch

from posekit.models.backbones import HRNet, LiteHRNet, MobileNetV2, ResNet

BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def _build(name: str, make_hrnet_extra, litehrnet18_extra):
    if name in ("res50", "simcc_res50"):
        return ResNet(depth=50)
    if name == "hrnet_w32":
        return HRNet(make_hrnet_extra(32), in_channels=3)
    if name == "hrnet_w48":
        return HRNet(make_hrnet_extra(48), in_channels=3)
    if name == "litehrnet_18":
        return LiteHRNet(litehrnet18_extra, in_channels=3)
    if name == "mobilenetv2":
        return MobileNetV2(widen_factor=1.0, out_indices=(7,))
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["res50", "simcc_res50", "hrnet_w32", "hrnet_w48", "litehrnet_18", "mobilenetv2"])
def test_backbone_matches_golden_state_dict(name, golden_dir, make_hrnet_extra, litehrnet18_extra):
    golden = json.loads((golden_dir / f"model_{name}_256x192.json").read_text())["state_dict_shapes"]
    expected = {k[len("backbone.") :]: v for k, v in golden.items() if k.startswith("backbone.")}
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = _build(name, make_hrnet_extra, litehrnet18_extra)

    state = model.state_dict()
    assert set(state) - set(expected) == set(), "keys MMPose does not have"
    assert set(expected) - set(state) == set(), "MMPose keys missing"
    assert list(state) == list(expected), "same keys, different order"
    for key, shape in expected.items():
        assert list(state[key].shape) == shape, key

    golden_params = sum(math.prod(s) for k, s in expected.items() if not k.endswith(BUFFERS))
    assert sum(p.numel() for p in model.parameters()) == golden_params
