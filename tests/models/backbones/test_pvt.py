"""PyramidVisionTransformer / PyramidVisionTransformerV2 against MMPose 1.3.2 (4 stages, position embedding
resized from the 16x16 pretraining grid to the 16x12 input grid in v1)."""

from __future__ import annotations

import pytest
import torch

from posekit.models.backbones import PyramidVisionTransformer, PyramidVisionTransformerV2
from posekit.models.backbones.pvt import pvt_convert


@pytest.mark.parametrize("name, cls", [("pvt", PyramidVisionTransformer), ("pvtv2", PyramidVisionTransformerV2)])
def test_forward_matches_mmpose(name, cls, mmpose_ref, rel_close):
    ref = mmpose_ref(name)
    assert ref.meta["cls"] == cls.__name__
    model = cls(**ref.meta["kwargs"])
    model.load_state_dict(ref.state_dict(), strict=True)
    model.eval()
    with torch.no_grad():
        outs = model(ref.input())
    expected = ref.outputs()
    assert len(outs) == len(expected) == 4
    for i, (out, exp) in enumerate(zip(outs, expected)):
        rel_close(out, exp, what=f"stage {i}")


def test_original_repository_names_convert_and_load():
    """An original-PVT-style checkpoint (``patch_embed1.proj``, ``block1.0.attn.q`` / ``kv`` ...) loads strictly."""
    model = PyramidVisionTransformer(
        embed_dims=8, num_layers=[1, 1, 1, 1], num_heads=[1, 1, 2, 2], pretrain_img_size=32
    )
    own = model.state_dict()
    original = {}
    for k, v in own.items():
        stage = int(k.split(".")[1]) + 1
        rest = k.split(".", 3)[-1] if k.count(".") >= 3 else ""
        if k.startswith(f"layers.{stage - 1}.0."):
            original[f"patch_embed{stage}." + k.split(".", 3)[3].replace("projection.", "proj.")] = v
        elif k.startswith(f"layers.{stage - 1}.1.0.pos_embed"):
            original[f"pos_embed{stage}"] = v
        elif k.startswith(f"layers.{stage - 1}.1.1."):
            rest = k.split(".", 4)[4]
            if rest == "attn.attn.in_proj_weight" or rest == "attn.attn.in_proj_bias":
                suffix = rest.rsplit("_", 1)[-1]
                half = v.shape[0] // 3
                original[f"block{stage}.0.attn.q.{suffix}"] = v[:half]
                original[f"block{stage}.0.attn.kv.{suffix}"] = v[half:]
            elif rest.startswith("attn.attn.out_proj."):
                original[f"block{stage}.0.attn.proj." + rest.rsplit(".", 1)[-1]] = v
            elif rest.startswith("ffn.layers.0.") or rest.startswith("ffn.layers.3."):
                fc = "fc1" if rest.startswith("ffn.layers.0.") else "fc2"
                leaf = rest.rsplit(".", 1)[-1]
                original[f"block{stage}.0.mlp.{fc}.{leaf}"] = v.flatten(1) if leaf == "weight" else v
            else:
                original[f"block{stage}.0.{rest}"] = v
        else:
            original[k] = v
    original["head.weight"] = torch.zeros(1)
    converted = pvt_convert(original)
    assert set(converted) == set(own)
    fresh = PyramidVisionTransformer(
        embed_dims=8, num_layers=[1, 1, 1, 1], num_heads=[1, 1, 2, 2], pretrain_img_size=32
    )
    fresh.load_state_dict(original, strict=False)  # the load hook converts the original names
    for k, v in own.items():
        assert torch.equal(fresh.state_dict()[k], v), k
