"""SwinTransformer against MMPose 1.3.2 (window 4 on a 18x14 token map: padding, shifted windows, odd-sized
patch merging), and loading a checkpoint made for another window size."""

from __future__ import annotations

import torch

from posekit.models.backbones import SwinTransformer


def test_forward_matches_mmpose(mmpose_ref, rel_close):
    ref = mmpose_ref("swin")
    model = SwinTransformer(**ref.meta["kwargs"])
    model.load_state_dict(ref.state_dict(), strict=True)
    model.eval()
    with torch.no_grad():
        outs = model(ref.input())
    expected = ref.outputs()
    assert len(outs) == len(expected) == 4
    for i, (out, exp) in enumerate(zip(outs, expected)):
        rel_close(out, exp, what=f"stage {i}")


def test_relative_position_bias_tables_resize_on_load():
    kw = dict(embed_dims=8, depths=[2, 2], num_heads=[1, 2], strides=(4, 2), out_indices=(1,))
    src = SwinTransformer(window_size=4, **kw)
    dst = SwinTransformer(window_size=3, **kw)
    state = {k: v for k, v in src.state_dict().items() if not k.endswith("relative_position_index")}
    missing, unexpected = dst.load_state_dict(state, strict=False)
    assert unexpected == [] and all(k.endswith("relative_position_index") for k in missing)
    table = dst.stages[0].blocks[0].attn.w_msa.relative_position_bias_table
    assert table.shape == (25, 1)
    assert torch.isfinite(dst(torch.randn(1, 3, 32, 32))[0]).all()


def test_pretrained_init_cfg_resizes_tables_through_posekits_loader(tmp_path):
    """``init_cfg=Pretrained`` goes through posekit's checkpoint loader, which skips shape mismatches: the
    window-size adaptation must happen before that check."""
    kw = dict(embed_dims=8, depths=[2, 2], num_heads=[1, 2], strides=(4, 2), out_indices=(1,))
    src = SwinTransformer(window_size=4, **kw)
    path = tmp_path / "swin.pth"
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in src.state_dict().items()}}, path)
    dst = SwinTransformer(
        window_size=3, init_cfg=dict(type="Pretrained", checkpoint=str(path), prefix="backbone."), **kw
    )
    dst.init_weights()
    table = dst.stages[1].blocks[1].attn.w_msa.relative_position_bias_table
    src_table = src.stages[1].blocks[1].attn.w_msa.relative_position_bias_table
    grid = src_table.detach().permute(1, 0).reshape(1, 2, 7, 7)
    expected = torch.nn.functional.interpolate(grid, size=(5, 5), mode="bicubic").view(2, 25).permute(1, 0)
    assert torch.equal(table.detach(), expected)
    assert torch.equal(dst.stages[0].blocks[0].ffn.layers[1].weight, src.stages[0].blocks[0].ffn.layers[1].weight)
