"""ViT as ViTPose builds it (mmpretrain's ``VisionTransformer``: no class token, featmap output, patch padding 2)
and the ViTPose-simple decoder (``FeatureMapProcessor(scale_factor=4, apply_relu=True)`` + a HeatmapHead
without deconvolutions and a 3x3 final conv), against MMPose 1.3.2 / mmpretrain. The four sizes' layouts are
checked in ``test_bb2_zoo_layouts.py``."""

from __future__ import annotations

import torch

from posekit.models.backbones import VisionTransformer
from posekit.models.heads import HeatmapHead
from posekit.models.necks import FeatureMapProcessor


def test_vit_forward_matches_mmpretrain(mmpose_ref, rel_close):
    ref = mmpose_ref("vit")
    model = VisionTransformer(**ref.meta["kwargs"])
    model.load_state_dict(ref.state_dict(), strict=True)
    model.eval()
    with torch.no_grad():
        (out,) = model(ref.input())
    rel_close(out, ref.outputs()[0])


def test_vitpose_simple_decoder_matches_mmpose(mmpose_ref, rel_close):
    ref = mmpose_ref("vitpose_simple")
    backbone = VisionTransformer(**ref.meta["backbone"])
    neck = FeatureMapProcessor(**ref.meta["neck"])
    head = HeatmapHead(**ref.meta["head"])
    backbone.load_state_dict(ref.state_dict("backbone."), strict=True)
    head.load_state_dict(ref.state_dict("head."), strict=True)
    assert ref.state_dict("neck.") == {}
    backbone.eval()
    head.eval()
    x = ref.input()
    with torch.no_grad():
        out = head(neck(backbone(x)))
    assert out.shape[-2:] == (x.shape[-2] // 4, x.shape[-1] // 4)
    rel_close(out, ref.outputs()[0])
