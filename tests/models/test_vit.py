"""VisionTransformer (mmpretrain's, as ViTPose uses it) and the layer-wise lr decay parameter groups."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from posekit.models.backbones import VisionTransformer
from posekit.models.param_groups import build_layer_decay_param_groups, get_layer_depth
from posekit.models.utils.transformer import resize_pos_embed

TINY = {"embed_dims": 32, "num_layers": 3, "num_heads": 2, "feedforward_channels": 64}


def _vitpose(**kw) -> VisionTransformer:
    args = dict(
        arch=TINY,
        img_size=(64, 48),
        patch_size=16,
        qkv_bias=True,
        drop_path_rate=0.3,
        with_cls_token=False,
        out_type="featmap",
        patch_cfg={"padding": 2},
    )
    args.update(kw)
    return VisionTransformer(**args)


def test_vitpose_b_params_and_shapes():
    model = VisionTransformer(
        arch="base",
        img_size=(256, 192),
        patch_size=16,
        qkv_bias=True,
        drop_path_rate=0.3,
        with_cls_token=False,
        out_type="featmap",
        patch_cfg={"padding": 2},
    )
    assert sum(p.numel() for p in model.parameters()) == 85_794_048  # ViTPose-B backbone: 85.8M
    assert model.patch_resolution == (16, 12)
    sd = model.state_dict()
    assert tuple(sd["pos_embed"].shape) == (1, 192, 768)
    assert tuple(sd["patch_embed.projection.weight"].shape) == (768, 3, 16, 16)
    assert model.patch_embed.projection.padding == (2, 2)
    layer0 = {k[len("layers.0.") :]: tuple(v.shape) for k, v in sd.items() if k.startswith("layers.0.")}
    assert layer0 == {
        "ln1.weight": (768,),
        "ln1.bias": (768,),
        "attn.qkv.weight": (2304, 768),
        "attn.qkv.bias": (2304,),
        "attn.proj.weight": (768, 768),
        "attn.proj.bias": (768,),
        "ln2.weight": (768,),
        "ln2.bias": (768,),
        "ffn.layers.0.0.weight": (3072, 768),
        "ffn.layers.0.0.bias": (3072,),
        "ffn.layers.1.weight": (768, 3072),
        "ffn.layers.1.bias": (768,),
    }
    assert "ln1.weight" in sd and "cls_token" not in sd and "layers.11.ln1.weight" in sd
    assert model.out_indices == [11]
    assert model.layers[0].ln1.eps == 1e-6
    # stochastic depth grows linearly to drop_path_rate
    assert model.layers[0].attn.out_drop.__class__.__name__ == "Identity"
    assert model.layers[11].ffn.dropout_layer.drop_prob == pytest.approx(0.3)


def test_forward_featmap_and_dynamic_size():
    model = _vitpose().eval()
    with torch.no_grad():
        (out,) = model(torch.randn(2, 3, 64, 48))
        assert out.shape == (2, 32, 4, 3)
        (out,) = model(torch.randn(1, 3, 96, 72))  # other input sizes interpolate pos_embed
        assert out.shape == (1, 32, 6, 4)


def test_out_types_and_indices():
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        cls = VisionTransformer(arch=TINY, img_size=32, out_indices=(-1, 0)).eval()(x)
        assert [tuple(o.shape) for o in cls] == [(2, 32), (2, 32)]
        raw = VisionTransformer(arch=TINY, img_size=32, out_type="raw").eval()(x)[0]
        assert raw.shape == (2, 5, 32)  # 4 patches + cls token
        avg = VisionTransformer(arch=TINY, img_size=32, out_type="avg_featmap").eval()(x)[0]
        assert avg.shape == (2, 32)
    with pytest.raises(ValueError):
        VisionTransformer(arch=TINY, img_size=32, with_cls_token=False, out_type="cls_token")
    with pytest.raises(ValueError):
        VisionTransformer(arch="gigantic")


def test_pos_embed_resized_when_loading_other_grid():
    src = _vitpose(img_size=(96, 72))  # 6x4 grid
    dst = _vitpose()  # 4x3 grid
    state = src.state_dict()
    dst.load_state_dict(state)
    expected = resize_pos_embed(state["pos_embed"], (6, 4), (4, 3), "bicubic", 0)
    torch.testing.assert_close(dst.pos_embed.data, expected)
    torch.testing.assert_close(dst.layers[1].attn.qkv.weight, src.layers[1].attn.qkv.weight)

    # an MAE-style checkpoint: square 4x4 grid + class token, loaded into a cls-token-free model
    mae = VisionTransformer(arch=TINY, img_size=64, patch_size=16)
    state = mae.state_dict()
    assert tuple(state["pos_embed"].shape) == (1, 17, 32)
    result = dst.load_state_dict(state, strict=False)
    assert result.unexpected_keys == ["cls_token"]
    expected = resize_pos_embed(state["pos_embed"][:, 1:], (4, 4), (4, 3), "bicubic", 0)
    torch.testing.assert_close(dst.pos_embed.data, expected)

    # prepare_state_dict is usable directly (for loaders that check shapes first)
    sd = {"backbone.pos_embed": src.state_dict()["pos_embed"]}
    dst.prepare_state_dict(sd, "backbone.")
    assert tuple(sd["backbone.pos_embed"].shape) == (1, 12, 32)


def test_pretrained_init_cfg_resizes_pos_embed(tmp_path):
    mae = VisionTransformer(arch=TINY, img_size=64)  # 4x4 grid + class token, like MMPose's MAE ViT-B
    path = tmp_path / "mae.pth"
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in mae.state_dict().items()}}, path)
    model = _vitpose(init_cfg={"type": "Pretrained", "checkpoint": str(path), "prefix": "backbone."})
    model.init_weights()
    expected = resize_pos_embed(mae.pos_embed.data[:, 1:], (4, 4), (4, 3), "bicubic", 0)
    torch.testing.assert_close(model.pos_embed.data, expected)
    torch.testing.assert_close(model.layers[2].ffn.layers[1].weight, mae.layers[2].ffn.layers[1].weight)


def test_frozen_stages_and_layer_depth():
    model = _vitpose(frozen_stages=2)
    model.train()
    assert not model.pos_embed.requires_grad
    assert not any(p.requires_grad for p in model.patch_embed.parameters())
    assert not any(p.requires_grad for layer in model.layers[:2] for p in layer.parameters())
    assert all(p.requires_grad for p in model.layers[2].parameters()) and not model.layers[0].training
    assert model.get_layer_depth("pos_embed") == (0, 5)
    assert model.get_layer_depth("layers.2.attn.qkv.weight") == (3, 5)
    assert model.get_layer_depth("ln1.weight") == (4, 5)
    assert model.get_layer_depth("head.x", prefix="backbone.") == (4, 5)


def test_default_init():
    model = _vitpose()
    assert model.pos_embed.std().item() == pytest.approx(0.02, rel=0.3)
    fc = model.layers[0].ffn.layers[1]
    bound = (6 / (fc.in_features + fc.out_features)) ** 0.5  # xavier uniform
    assert fc.weight.abs().max() <= bound and fc.bias.abs().max() < 1e-4


class _PoseModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = _vitpose(arch={**TINY, "num_layers": 4})
        self.head = nn.Sequential(nn.ConvTranspose2d(32, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(8), nn.Conv2d(8, 3, 1))


def test_get_layer_depth_function():
    assert get_layer_depth("backbone.pos_embed", 12) == 0
    assert get_layer_depth("backbone.cls_token", 12) == 0
    assert get_layer_depth("backbone.patch_embed.projection.weight", 12) == 0
    assert get_layer_depth("backbone.layers.0.ln1.weight", 12) == 1
    assert get_layer_depth("backbone.layers.11.ffn.layers.1.bias", 12) == 12
    assert get_layer_depth("backbone.ln1.weight", 12) == 13
    assert get_layer_depth("head.final_layer.weight", 12) == 13
    assert get_layer_depth("model.backbone.layers.3.attn.qkv.weight", 12) == 4  # wrapped (Lightning module)


def test_layer_decay_param_groups():
    model = _PoseModel()
    base_lr, wd, rate, n = 5e-4, 0.1, 0.75, 4
    groups = build_layer_decay_param_groups(model, base_lr, wd, layer_decay_rate=rate, num_layers=n)
    names = {name for g in groups for name in g["param_names"]}
    assert names == {name for name, _ in model.named_parameters()}

    lr_by_layer = {}
    for g in groups:
        assert g["lr"] == pytest.approx(base_lr * rate ** (n + 1 - g["layer_id"]))
        lr_by_layer[g["layer_id"]] = g["lr"]
        for name, p in zip(g["param_names"], g["params"]):
            no_decay = p.ndim == 1 or name.endswith(".bias") or "pos_embed" in name
            assert g["weight_decay"] == (0.0 if no_decay else wd), name
    layers = sorted(lr_by_layer)
    assert layers == list(range(n + 2))
    lrs = [lr_by_layer[i] for i in layers]
    assert all(a < b for a, b in zip(lrs, lrs[1:]))  # strictly increasing with depth
    assert lr_by_layer[n + 1] == pytest.approx(base_lr)  # head and final norm at the base lr

    group_of = {name: g for g in groups for name in g["param_names"]}
    assert group_of["backbone.pos_embed"]["weight_decay"] == 0.0
    assert group_of["backbone.layers.0.ln1.weight"]["weight_decay"] == 0.0
    assert group_of["backbone.layers.0.attn.qkv.bias"]["weight_decay"] == 0.0
    assert group_of["head.1.weight"]["weight_decay"] == 0.0  # BatchNorm
    assert group_of["backbone.layers.2.attn.qkv.weight"]["weight_decay"] == wd
    assert group_of["backbone.layers.2.attn.qkv.weight"]["group_name"] == "layer_3_decay"
    assert group_of["head.0.weight"]["layer_id"] == n + 1

    # MMPose's ViTPose custom_keys (including its 'decay_multi' typo) change nothing
    custom = {
        "bias": {"decay_multi": 0.0},
        "pos_embed": {"decay_mult": 0.0},
        "relative_position_bias_table": {"decay_mult": 0.0},
        "norm": {"decay_mult": 0.0},
    }
    again = build_layer_decay_param_groups(model, base_lr, wd, rate, n, custom_keys=custom)
    assert [(g["group_name"], g["lr"], g["weight_decay"], len(g["params"])) for g in again] == [
        (g["group_name"], g["lr"], g["weight_decay"], len(g["params"])) for g in groups
    ]
    # frozen parameters are left out; the groups feed torch optimizers directly
    model.backbone.pos_embed.requires_grad = False
    groups = build_layer_decay_param_groups(model, base_lr, wd, rate, n)
    assert "backbone.pos_embed" not in {name for g in groups for name in g["param_names"]}
    opt = torch.optim.AdamW(groups, lr=base_lr)
    assert len(opt.param_groups) == len(groups)
