"""Every MMPose 1.3.2 COCO top-down config built on AlexNet, VGG, CPM, HourglassNet, MSPN, RSN, SCNet, ResNeSt,
ResNeXt, SEResNet, ResNet-101/152, ResNetV1d or LiteHRNet-30 has MMPose's exact state_dict layout (names, order,
shapes) and parameter count when built by posekit from the config's ``backbone`` / ``head`` arguments.

The arguments below are those of the configs in MMPose's
``configs/body_2d_keypoint/{topdown_heatmap,topdown_regression}/coco/``; the goldens (``zoo_golden``) are MMPose's
own builds. Built on the meta device: shapes only.
"""

from __future__ import annotations

import functools
import gzip
import json
import math
import re
from pathlib import Path

import pytest
import torch

from posekit.models.backbones import (
    CPM,
    MSPN,
    RSN,
    VGG,
    AlexNet,
    HourglassNet,
    LiteHRNet,
    ResNeSt,
    ResNet,
    ResNetV1d,
    ResNeXt,
    SCNet,
    SEResNet,
)
from posekit.models.heads import CPMHead, HeatmapHead, MSPNHead

BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
DEPTH_FAMILIES = {
    "res": ResNet,
    "resnetv1d": ResNetV1d,
    "resnext": ResNeXt,
    "resnest": ResNeSt,
    "seresnet": SEResNet,
    "scnet": SCNet,
}
LITEHRNET_30 = dict(
    stem=dict(stem_channels=32, out_channels=32, expand_ratio=1),
    num_stages=3,
    stages_spec=dict(
        num_modules=(3, 8, 3),
        num_branches=(2, 3, 4),
        num_blocks=(2, 2, 2),
        module_type=("LITE", "LITE", "LITE"),
        with_fuse=(True, True, True),
        reduce_ratios=(8, 8, 8),
        num_channels=((40, 80), (40, 80, 160), (40, 80, 160, 320)),
    ),
    with_head=True,
)


def _multi_stage(num_stages: int) -> dict:
    """MSPNHead arguments of the MSPN/RSN configs (the loss list is irrelevant to the layout)."""
    return dict(
        out_shape=(64, 48),
        unit_channels=256,
        out_channels=17,
        num_stages=num_stages,
        num_units=4,
        norm_cfg=dict(type="BN"),
        level_indices=[0, 1, 2, 3] * (num_stages - 1) + ([1, 2, 3, 4] if num_stages > 1 else [0, 1, 2, 3]),
    )


def build_backbone_and_head(stem: str):
    """(backbone, head or None) of a config stem; head ``None`` where it is another helper's head class."""
    heatmap_2048 = dict(in_channels=2048, out_channels=17)
    name = stem.split("_")[1]
    if stem.startswith("td-hm_alexnet"):
        return AlexNet(num_classes=-1), HeatmapHead(in_channels=256, out_channels=17)
    if stem.startswith("td-hm_vgg16-bn"):
        return VGG(depth=16, norm_cfg=dict(type="BN")), HeatmapHead(in_channels=512, out_channels=17)
    if stem.startswith("td-hm_cpm"):
        backbone = CPM(in_channels=3, out_channels=17, feat_channels=128, num_stages=6)
        head = CPMHead(in_channels=17, out_channels=17, num_stages=6, deconv_out_channels=None, final_layer=None)
        return backbone, head
    if stem.startswith("td-hm_hourglass52"):
        head = CPMHead(in_channels=256, out_channels=17, num_stages=1, deconv_out_channels=None)
        return HourglassNet(num_stacks=1), head
    if stem.startswith("td-hm_litehrnet-30"):
        head = HeatmapHead(in_channels=40, out_channels=17, deconv_out_channels=None)
        return LiteHRNet(LITEHRNET_30, in_channels=3), head
    m = re.fullmatch(r"(\d)?x?(mspn|rsn)(\d+)", name)
    if m:
        num_stages = int(m.group(1) or 1)
        blocks = [2, 2, 2, 2] if m.group(3) == "18" else [3, 4, 6, 3]
        common = dict(
            unit_channels=256, num_stages=num_stages, num_units=4, num_blocks=blocks, norm_cfg=dict(type="BN")
        )
        backbone = MSPN(**common) if m.group(2) == "mspn" else RSN(num_steps=4, **common)
        return backbone, MSPNHead(**_multi_stage(num_stages))
    m = re.fullmatch(r"([a-z0-9]*?)(\d+)", name)
    if m and m.group(1) in DEPTH_FAMILIES:
        backbone = DEPTH_FAMILIES[m.group(1)](depth=int(m.group(2)))
        return backbone, HeatmapHead(**heatmap_2048) if stem.startswith("td-hm_") else None
    raise KeyError(stem)


def _ours(stem: str, zoo_golden) -> bool:
    entry = zoo_golden[stem]
    if entry["backbone"] in {
        "AlexNet",
        "VGG",
        "CPM",
        "HourglassNet",
        "MSPN",
        "RSN",
        "SCNet",
        "ResNeSt",
        "ResNeXt",
        "SEResNet",
        "ResNetV1d",
    }:
        return True
    if entry["backbone"] == "ResNet":
        return re.search(r"_res(101|152)_", stem) is not None
    return entry["backbone"] == "LiteHRNet" and "litehrnet-30" in stem


def _stems() -> list[str]:
    """The stems to check, read at collection time (the ``zoo_golden`` fixture serves the same file)."""
    path = Path(__file__).resolve().parents[2] / "data" / "golden" / "zoo.json.gz"
    with gzip.open(path, "rt") as f:
        zoo = json.load(f)
    return sorted(s for s in zoo if _ours(s, zoo))


STEMS = _stems()


def test_every_family_is_covered():
    families = {s.split("_")[1].split("-")[0].rstrip("0123456789").lstrip("234x") for s in STEMS}
    assert {
        "alexnet",
        "vgg",
        "cpm",
        "hourglass",
        "mspn",
        "rsn",
        "scnet",
        "resnest",
        "resnext",
        "seresnet",
        "res",
        "resnetv1d",
        "litehrnet",
    } <= families
    assert len(STEMS) == 59


@functools.lru_cache(maxsize=8)
def _layout(arch: str) -> tuple[list[tuple[str, dict[str, list[int]]]], int]:
    """``([(prefix, {key: shape})...], parameter count)`` of one architecture (the 256x192 / 384x288 configs of a
    model share it), built once on the meta device."""
    with torch.device("meta"):
        backbone, head = build_backbone_and_head(arch)
    parts = [("backbone.", backbone)] + ([("head.", head)] if head is not None else [])
    layouts = [(prefix, {k: list(v.shape) for k, v in m.state_dict().items()}) for prefix, m in parts]
    return layouts, sum(p.numel() for _, m in parts for p in m.parameters())


@pytest.mark.parametrize("stem", STEMS)
def test_state_dict_layout_and_params_match_mmpose(stem, zoo_golden):
    golden = zoo_golden[stem]
    shapes = golden["state_dict_shapes"]
    arch = "_".join(stem.split("_")[:2])  # e.g. td-hm_res101: the settings below do not depend on the rest
    layouts, params = _layout(arch)
    for prefix, state in layouts:
        expected = {k[len(prefix) :]: v for k, v in shapes.items() if k.startswith(prefix)}
        assert sorted(set(state) - set(expected)) == [], f"{prefix}: keys MMPose does not have"
        assert sorted(set(expected) - set(state)) == [], f"{prefix}: MMPose keys missing"
        assert list(state) == list(expected), f"{prefix}: same keys, different order"
        assert state == expected
    if len(layouts) == 2:  # the whole model: backbone and head
        assert params == golden["params"]
        golden_params = sum(math.prod(s) for k, s in shapes.items() if not k.endswith(BUFFERS))
        assert params == golden_params
