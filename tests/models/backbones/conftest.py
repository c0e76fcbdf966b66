"""Backbone settings of the MMPose 1.3.2 configs behind ``tests/data/golden/model_*.json``."""

from __future__ import annotations

import copy

import pytest


def hrnet_extra(w: int) -> dict:
    """``extra`` of configs/body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w{32,48}_*_coco-256x192.py."""
    return dict(
        stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(4,), num_channels=(64,)),
        stage2=dict(num_modules=1, num_branches=2, block="BASIC", num_blocks=(4, 4), num_channels=(w, w * 2)),
        stage3=dict(num_modules=4, num_branches=3, block="BASIC", num_blocks=(4, 4, 4), num_channels=(w, w * 2, w * 4)),
        stage4=dict(
            num_modules=3,
            num_branches=4,
            block="BASIC",
            num_blocks=(4, 4, 4, 4),
            num_channels=(w, w * 2, w * 4, w * 8),
        ),
    )


def tiny_hrnet_extra(multiscale_output: bool = False) -> dict:
    """A small HRNet with every structural feature (Bottleneck stage 1, 4 branches), fast on CPU."""
    return dict(
        stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(1,), num_channels=(32,)),
        stage2=dict(num_modules=1, num_branches=2, block="BASIC", num_blocks=(1, 1), num_channels=(8, 16)),
        stage3=dict(num_modules=2, num_branches=3, block="BASIC", num_blocks=(1, 1, 1), num_channels=(8, 16, 32)),
        stage4=dict(
            num_modules=2,
            num_branches=4,
            block="BASIC",
            num_blocks=(1, 1, 1, 1),
            num_channels=(8, 16, 32, 64),
            multiscale_output=multiscale_output,
        ),
    )


LITEHRNET_18_EXTRA = dict(
    stem=dict(stem_channels=32, out_channels=32, expand_ratio=1),
    num_stages=3,
    stages_spec=dict(
        num_modules=(2, 4, 2),
        num_branches=(2, 3, 4),
        num_blocks=(2, 2, 2),
        module_type=("LITE", "LITE", "LITE"),
        with_fuse=(True, True, True),
        reduce_ratios=(8, 8, 8),
        num_channels=((40, 80), (40, 80, 160), (40, 80, 160, 320)),
    ),
    with_head=True,
)


@pytest.fixture
def litehrnet18_extra() -> dict:
    return copy.deepcopy(LITEHRNET_18_EXTRA)


@pytest.fixture
def make_hrnet_extra():
    return hrnet_extra


@pytest.fixture
def make_tiny_hrnet_extra():
    return tiny_hrnet_extra
