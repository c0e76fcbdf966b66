"""Backbones of real MMPose 1.3.2 COCO configs (their own kwargs, full width and depth) at the configs' input size
256x192 reproduce MMPose's output (every ``channel_step``-th channel stored), for a deterministic state dict."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from posekit.models import backbones

REFS = sorted(
    p.stem[len("bb2_") :]
    for p in (Path(__file__).resolve().parents[2] / "data" / "golden" / "backbones").glob("bb2_full_*.npz")
)


def _check(name: str, mmpose_ref, rel_close) -> None:
    ref = mmpose_ref(name)
    cls = (
        backbones.VisionTransformer
        if ref.meta["cls"] == "mmpretrain.VisionTransformer"
        else getattr(backbones, ref.meta["cls"])
    )
    model = cls(**ref.meta["kwargs"])
    model.load_state_dict(ref.state_dict(own=model.state_dict()), strict=True)
    model.eval()
    with torch.no_grad():
        out = model(ref.input())[-1]
    assert list(out.shape) == ref.meta["out_shape"]
    rel_close(out[:, :: ref.meta["channel_step"]], ref.outputs()[0], what=ref.meta["stem"])


def test_references_cover_each_family():
    assert len(REFS) == 7  # HRFormer, PVT, PVTv2, Swin, ShuffleNetV1, ShuffleNetV2, ViTPose (ViPNAS: test_vipnas.py)


@pytest.mark.parametrize("name", REFS)
def test_full_size_backbone_matches_mmpose(name, mmpose_ref, rel_close):
    """About 1-2 s each on one core."""
    _check(name, mmpose_ref, rel_close)
