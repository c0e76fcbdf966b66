"""The MMPose 1.3.2 COCO configs that use HRFormer, PVT/PVTv2, Swin, ShuffleNetV1/V2, ViPNAS, ViTPose (S/B/L/H,
plain and simple) and VisPredictHead: posekit's components built from the configs' own kwargs
(``tests/data/golden/backbones/bb2_configs.json``) have MMPose's exact state_dict (names, order, shapes) and
parameter count (``zoo_golden``). Built on the meta device (no memory, no init cost)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from posekit.models.builder import build_object

CONFIGS = json.loads(
    (Path(__file__).resolve().parents[2] / "data" / "golden" / "backbones" / "bb2_configs.json").read_text()
)
BUFFERS = ("running_mean", "running_var", "num_batches_tracked", "relative_position_index")


def build_part(cfg: dict | None):
    if cfg is None:
        return None
    cfg = dict(cfg)
    if cfg["type"] == "mmpretrain.VisionTransformer":  # ViTPose builds mmpretrain's ViT; posekit's has its layout
        cfg["type"] = "VisionTransformer"
    return build_object(cfg, what=cfg["type"])


def test_every_bb2_config_is_covered(zoo_golden):
    kinds = {
        "HRFormer",
        "PyramidVisionTransformer",
        "PyramidVisionTransformerV2",
        "SwinTransformer",
        "ShuffleNetV1",
        "ShuffleNetV2",
        "ViPNAS_MobileNetV3",
        "ViPNAS_ResNet",
        "mmpretrain.VisionTransformer",
    }
    expected = {s for s, e in zoo_golden.items() if e["backbone"] in kinds or e["head"] == "VisPredictHead"}
    assert expected == set(CONFIGS)


@pytest.mark.parametrize("stem", sorted(CONFIGS))
def test_config_state_dict_layout_and_params(stem, zoo_golden):
    golden = zoo_golden[stem]
    cfg = CONFIGS[stem]
    with torch.device("meta"):
        parts = {name: build_part(cfg[name]) for name in ("backbone", "neck", "head")}
    state = {}
    for name, module in parts.items():
        if module is not None:
            state.update({f"{name}.{k}": v for k, v in module.state_dict().items()})
    expected = golden["state_dict_shapes"]
    assert sorted(set(state) - set(expected)) == [], "keys MMPose does not have"
    assert sorted(set(expected) - set(state)) == [], "MMPose keys missing"
    assert list(state) == list(expected), "same keys, different order"
    bad = {k: (list(v.shape), expected[k]) for k, v in state.items() if list(v.shape) != expected[k]}
    assert bad == {}
    params = sum(p.numel() for m in parts.values() if m is not None for p in m.parameters())
    assert params == golden["params"]
    assert params == sum(math.prod(s) for k, s in expected.items() if not k.endswith(BUFFERS))
