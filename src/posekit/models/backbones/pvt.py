"""Pyramid Vision Transformer v1 / v2 (MMPose 1.x ``PyramidVisionTransformer`` / ``PyramidVisionTransformerV2``:
same arguments and state_dict keys).

`PVT <https://arxiv.org/abs/2102.12122>`__ and `PVTv2 <https://arxiv.org/abs/2106.13797>`__: four stages, each
``layers.i = [patch_embed (strided conv + LN), blocks, norm]``; ``blocks`` starts with an
:class:`AbsolutePositionEmbedding` in v1 and holds :class:`PVTEncoderLayer` s whose attention sees keys / values
downsampled by ``sr_ratio`` (:class:`SpatialReductionAttention`). v2 uses overlapping 7x7/3x3 patch embeddings,
a depthwise conv in the FFN (:class:`MixFFN`) and a LayerNorm after each stage, no position embedding.

``forward(x (B, 3, H, W)) -> tuple`` of ``(B, embed_dims * num_heads[i], H / 4 / 2**i, W / 4 / 2**i)`` per
``out_indices`` entry. The COCO configs use ``FeatureMapProcessor(select_index=3)`` on the stride-32 map.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..utils.layers import build_activation_layer, build_norm_layer, to_builtin
from ..utils.transformer import DropPath, PatchEmbed, nchw_to_nlc, nlc_to_nchw, to_2tuple
from .base import BaseBackbone

__all__ = [
    "AbsolutePositionEmbedding",
    "MixFFN",
    "PVTEncoderLayer",
    "PyramidVisionTransformer",
    "PyramidVisionTransformerV2",
    "SpatialReductionAttention",
    "pvt_convert",
]


def _drop_path(rate: float) -> nn.Module:
    return DropPath(rate) if rate > 0 else nn.Identity()


class MixFFN(nn.Module):
    """FFN of 1x1 convs on the token map: ``layers = [fc1, (3x3 depthwise conv,) act, drop, fc2, drop]``.

    Args:
        embed_dims: token width. feedforward_channels: hidden width. act_cfg: activation (GELU).
        ffn_drop: dropout. drop_path_rate: stochastic depth of the branch. use_conv: add the depthwise conv (v2).

    ``forward(x (B, L, C), hw_shape, identity=None) = identity + drop_path(layers(x as map))``.
    """

    def __init__(
        self,
        embed_dims: int,
        feedforward_channels: int,
        act_cfg: dict | None = None,
        ffn_drop: float = 0.0,
        drop_path_rate: float = 0.0,
        use_conv: bool = False,
    ) -> None:
        super().__init__()
        self.embed_dims = embed_dims
        self.feedforward_channels = feedforward_channels
        act_cfg = dict(type="GELU") if act_cfg is None else to_builtin(act_cfg)
        layers: list[nn.Module] = [nn.Conv2d(embed_dims, feedforward_channels, 1, bias=True)]
        if use_conv:
            layers.append(
                nn.Conv2d(feedforward_channels, feedforward_channels, 3, padding=1, groups=feedforward_channels)
            )
        layers += [
            build_activation_layer(act_cfg),
            nn.Dropout(ffn_drop),
            nn.Conv2d(feedforward_channels, embed_dims, 1, bias=True),
            nn.Dropout(ffn_drop),
        ]
        self.layers = nn.Sequential(*layers)
        self.dropout_layer = _drop_path(drop_path_rate)

    def forward(self, x: torch.Tensor, hw_shape: Sequence[int], identity: torch.Tensor | None = None) -> torch.Tensor:
        out = nchw_to_nlc(self.layers(nlc_to_nchw(x, hw_shape)))
        return (x if identity is None else identity) + self.dropout_layer(out)


class SpatialReductionAttention(nn.Module):
    """Multi-head attention whose keys / values come from the token map reduced by a ``sr_ratio`` strided conv
    (``sr``) + norm (``norm``). ``attn`` is a ``torch.nn.MultiheadAttention`` (mmcv's layout:
    ``attn.in_proj_weight``, ``attn.out_proj.*``).

    Args:
        embed_dims / num_heads: attention size. attn_drop: attention dropout. proj_drop: output dropout.
        drop_path_rate: stochastic depth. batch_first: inputs are ``(B, L, C)``. qkv_bias: in-projection bias.
        norm_cfg: norm after ``sr``. sr_ratio: key/value reduction (1: none).

    ``forward(x (B, L, C), hw_shape, identity=None) = identity + drop_path(proj_drop(attn(x, kv, kv)))``.
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        drop_path_rate: float = 0.0,
        batch_first: bool = True,
        qkv_bias: bool = True,
        norm_cfg: dict | None = None,
        sr_ratio: int = 1,
    ) -> None:
        super().__init__()
        norm_cfg = dict(type="LN") if norm_cfg is None else to_builtin(norm_cfg)
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.batch_first = batch_first
        self.attn = nn.MultiheadAttention(embed_dims, num_heads, dropout=attn_drop, bias=qkv_bias)
        self.proj_drop = nn.Dropout(proj_drop)
        self.dropout_layer = _drop_path(drop_path_rate)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(embed_dims, embed_dims, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = build_norm_layer(norm_cfg, embed_dims)[1]

    def forward(self, x: torch.Tensor, hw_shape: Sequence[int], identity: torch.Tensor | None = None) -> torch.Tensor:
        x_q = x
        x_kv = self.norm(nchw_to_nlc(self.sr(nlc_to_nchw(x, hw_shape)))) if self.sr_ratio > 1 else x
        identity = x_q if identity is None else identity
        if self.batch_first:  # torch's attention runs sequence-first here, as in mmcv
            x_q, x_kv = x_q.transpose(0, 1), x_kv.transpose(0, 1)
        out = self.attn(query=x_q, key=x_kv, value=x_kv, need_weights=False)[0]
        if self.batch_first:
            out = out.transpose(0, 1)
        return identity + self.dropout_layer(self.proj_drop(out))


class PVTEncoderLayer(nn.Module):
    """``x + attn(norm1(x))`` then ``x + ffn(norm2(x))`` (keys ``norm1``, ``attn``, ``norm2``, ``ffn``)."""

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        feedforward_channels: int,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        qkv_bias: bool = True,
        act_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        sr_ratio: int = 1,
        use_conv_ffn: bool = False,
    ) -> None:
        super().__init__()
        norm_cfg = dict(type="LN") if norm_cfg is None else to_builtin(norm_cfg)
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = SpatialReductionAttention(
            embed_dims,
            num_heads,
            attn_drop=attn_drop_rate,
            proj_drop=drop_rate,
            drop_path_rate=drop_path_rate,
            qkv_bias=qkv_bias,
            norm_cfg=norm_cfg,
            sr_ratio=sr_ratio,
        )
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = MixFFN(
            embed_dims,
            feedforward_channels,
            act_cfg=act_cfg,
            ffn_drop=drop_rate,
            drop_path_rate=drop_path_rate,
            use_conv=use_conv_ffn,
        )

    def forward(self, x: torch.Tensor, hw_shape: Sequence[int]) -> torch.Tensor:
        x = self.attn(self.norm1(x), hw_shape, identity=x)
        return self.ffn(self.norm2(x), hw_shape, identity=x)


class AbsolutePositionEmbedding(nn.Module):
    """Learned ``pos_embed (1, h*w, C)`` for a ``pos_shape`` grid, resized (bilinear) to the input's grid.

    ``forward(x (B, L, C), hw_shape) = dropout(x + resized pos_embed)``.
    """

    def __init__(self, pos_shape: int | Sequence[int], pos_dim: int, drop_rate: float = 0.0) -> None:
        super().__init__()
        self.pos_shape = to_2tuple(pos_shape)
        self.pos_dim = pos_dim
        self.pos_embed = nn.Parameter(torch.zeros(1, self.pos_shape[0] * self.pos_shape[1], pos_dim))
        self.drop = nn.Dropout(p=drop_rate)

    def init_weights(self) -> None:
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def resize_pos_embed(self, pos_embed: torch.Tensor, input_shape: Sequence[int], mode: str = "bilinear"):
        """``(1, L, C)`` -> ``(1, h*w, C)`` for ``input_shape = (h, w)`` (always interpolated, as MMPose)."""
        pos_h, pos_w = self.pos_shape
        grid = pos_embed[:, -pos_h * pos_w :].reshape(1, pos_h, pos_w, self.pos_dim).permute(0, 3, 1, 2)
        grid = F.interpolate(grid.contiguous(), size=tuple(input_shape), mode=mode)
        return torch.flatten(grid, 2).transpose(1, 2).contiguous()

    def forward(self, x: torch.Tensor, hw_shape: Sequence[int], mode: str = "bilinear") -> torch.Tensor:
        return self.drop(x + self.resize_pos_embed(self.pos_embed, hw_shape, mode))


class PyramidVisionTransformer(BaseBackbone):
    """PVT, as MMPose's ``PyramidVisionTransformer``.

    Args:
        pretrain_img_size: image size the position embeddings are made for. Defaults to 224.
        in_channels: input channels. embed_dims: base width; stage ``i`` has ``embed_dims * num_heads[i]``.
        num_stages / num_layers / num_heads / patch_sizes / strides / paddings / sr_ratios / mlp_ratios: per stage.
        out_indices: stages to return. qkv_bias: attention in-projection bias.
        drop_rate / attn_drop_rate / drop_path_rate: dropouts (stochastic depth grows linearly to the last layer).
        use_abs_pos_embed: v1's position embeddings. norm_after_stage: LayerNorm after each stage (v2).
        use_conv_ffn: depthwise conv in the FFN (v2). act_cfg / norm_cfg: GELU / ``LN(eps=1e-6)``.
        convert_weights: a ``Pretrained`` checkpoint from the original PVT repository is renamed with
            :func:`pvt_convert` before loading.
        init_cfg: see :class:`BaseBackbone`; MMPose's default: Linear TruncNormal(0.02), LayerNorm 1, Conv Kaiming.
    """

    default_init_cfg = (
        dict(type="TruncNormal", std=0.02, layer=["Linear"]),
        dict(type="Constant", val=1, layer=["LayerNorm"]),
        dict(type="Kaiming", layer=["Conv2d"]),
    )

    def __init__(
        self,
        pretrain_img_size: int | Sequence[int] = 224,
        in_channels: int = 3,
        embed_dims: int = 64,
        num_stages: int = 4,
        num_layers: Sequence[int] = (3, 4, 6, 3),
        num_heads: Sequence[int] = (1, 2, 5, 8),
        patch_sizes: Sequence[int] = (4, 2, 2, 2),
        strides: Sequence[int] = (4, 2, 2, 2),
        paddings: Sequence[int] = (0, 0, 0, 0),
        sr_ratios: Sequence[int] = (8, 4, 2, 1),
        out_indices: Sequence[int] = (0, 1, 2, 3),
        mlp_ratios: Sequence[int] = (8, 8, 4, 4),
        qkv_bias: bool = True,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.1,
        use_abs_pos_embed: bool = True,
        norm_after_stage: bool = False,
        use_conv_ffn: bool = False,
        act_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        convert_weights: bool = True,
        init_cfg: dict | Sequence[dict] | None = None,
    ) -> None:
        super().__init__(init_cfg)
        act_cfg = dict(type="GELU") if act_cfg is None else to_builtin(act_cfg)
        norm_cfg = dict(type="LN", eps=1e-6) if norm_cfg is None else to_builtin(norm_cfg)
        num_layers, num_heads = list(to_builtin(num_layers)), list(to_builtin(num_heads))
        patch_sizes, strides = list(to_builtin(patch_sizes)), list(to_builtin(strides))
        paddings, sr_ratios = list(to_builtin(paddings)), list(to_builtin(sr_ratios))
        mlp_ratios = list(to_builtin(mlp_ratios))
        if not num_stages == len(num_layers) == len(num_heads) == len(patch_sizes) == len(strides) == len(sr_ratios):
            raise ValueError(
                f"{type(self).__name__}: num_layers, num_heads, patch_sizes, strides and sr_ratios "
                f"need num_stages ({num_stages}) entries"
            )
        out_indices = tuple(to_builtin(out_indices))
        if max(out_indices) >= num_stages:
            raise ValueError(f"{type(self).__name__}: out_indices {out_indices} must be < num_stages {num_stages}")
        self.convert_weights = convert_weights
        self.pretrain_img_size = to_2tuple(to_builtin(pretrain_img_size))
        self.embed_dims = embed_dims
        self.num_stages = num_stages
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.patch_sizes = patch_sizes
        self.strides = strides
        self.sr_ratios = sr_ratios
        self.out_indices = out_indices

        dpr = torch.linspace(0, drop_path_rate, sum(num_layers), device="cpu").tolist()
        cur = 0
        self.layers = nn.ModuleList()
        for i, num_layer in enumerate(num_layers):
            dims = embed_dims * num_heads[i]
            patch_embed = PatchEmbed(
                in_channels=in_channels,
                embed_dims=dims,
                kernel_size=patch_sizes[i],
                stride=strides[i],
                padding=paddings[i],
                bias=True,
                norm_cfg=norm_cfg,
            )
            blocks = nn.ModuleList()
            if use_abs_pos_embed:
                pos_shape = tuple(int(s) // int(np.prod(patch_sizes[: i + 1])) for s in self.pretrain_img_size)
                blocks.append(AbsolutePositionEmbedding(pos_shape, dims, drop_rate=drop_rate))
            blocks.extend(
                PVTEncoderLayer(
                    embed_dims=dims,
                    num_heads=num_heads[i],
                    feedforward_channels=mlp_ratios[i] * dims,
                    drop_rate=drop_rate,
                    attn_drop_rate=attn_drop_rate,
                    drop_path_rate=dpr[cur + idx],
                    qkv_bias=qkv_bias,
                    act_cfg=act_cfg,
                    norm_cfg=norm_cfg,
                    sr_ratio=sr_ratios[i],
                    use_conv_ffn=use_conv_ffn,
                )
                for idx in range(num_layer)
            )
            in_channels = dims
            norm = build_norm_layer(norm_cfg, dims)[1] if norm_after_stage else nn.Identity()
            self.layers.append(nn.ModuleList([patch_embed, blocks, norm]))
            cur += num_layer
        if convert_weights:  # original-repository checkpoints (``patch_embed1.proj`` ...) load as well
            self._register_load_state_dict_pre_hook(_convert_hook, with_module=True)
        self.reset_parameters()

    def prepare_state_dict(self, state_dict: dict, prefix: str = "") -> None:
        """Convert original PVT names in place when ``convert_weights`` (idempotent; run by posekit's loader)."""
        if self.convert_weights:
            _convert_hook(self, state_dict, prefix)

    def _post_init(self, pretrained: bool) -> None:
        for m in self.modules():
            if isinstance(m, AbsolutePositionEmbedding):
                m.init_weights()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for i, (patch_embed, blocks, norm) in enumerate(self.layers):
            x, hw_shape = patch_embed(x)
            for block in blocks:
                x = block(x, hw_shape)
            x = nlc_to_nchw(norm(x), hw_shape)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


class PyramidVisionTransformerV2(PyramidVisionTransformer):
    """PVTv2, as MMPose's ``PyramidVisionTransformerV2``: :class:`PyramidVisionTransformer` with overlapping patch
    embeddings (``patch_sizes=(7, 3, 3, 3)``, ``paddings=(3, 1, 1, 1)``), no position embedding, a LayerNorm after
    each stage and a depthwise conv in the FFN. Other arguments as there (the b2 config: ``embed_dims=64,
    num_layers=[3, 4, 6, 3]``)."""

    def __init__(self, **kwargs) -> None:
        fixed = dict(
            patch_sizes=(7, 3, 3, 3),
            paddings=(3, 1, 1, 1),
            use_abs_pos_embed=False,
            norm_after_stage=True,
            use_conv_ffn=True,
        )
        clash = sorted(set(fixed) & set(kwargs))
        if clash:
            raise TypeError(f"PyramidVisionTransformerV2: {clash} are fixed by the architecture; remove them")
        super().__init__(**fixed, **kwargs)


def pvt_convert(ckpt: Mapping[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """Rename an original-repository PVT / PVTv2 state dict (``patch_embed1.proj``, ``block1.0.attn.q`` ...) to
    :class:`PyramidVisionTransformer`'s keys (MMPose's ``pvt_convert``): ``q`` and ``kv`` linears become the
    attention's ``in_proj_*``, MLP linears become 1x1 convs, classification-only entries are dropped."""
    use_abs_pos_embed = any(k.startswith("pos_embed") for k in ckpt)
    use_conv_ffn = any("dwconv" in k for k in ckpt)
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for k, v in ckpt.items():
        if k.startswith(("head", "norm.", "cls_token")):
            continue
        new_k, new_v = k, v
        if k.startswith("pos_embed"):
            stage = int(k.replace("pos_embed", ""))
            new_k = f"layers.{stage - 1}.1.0.pos_embed"
            if stage == 4 and v.size(1) == 50:  # a class token + 7x7
                new_v = v[:, 1:, :]
        elif k.startswith("patch_embed"):
            stage = int(k.split(".")[0].replace("patch_embed", ""))
            new_k = k.replace(f"patch_embed{stage}", f"layers.{stage - 1}.0").replace("proj.", "projection.")
        elif k.startswith("block"):
            head, layer = k.split(".")[:2]
            stage = int(head.replace("block", ""))
            new_k = k.replace(f"{head}.{layer}", f"layers.{stage - 1}.1.{int(layer) + use_abs_pos_embed}", 1)
            if "attn.q." in new_k:
                new_k = new_k.replace("q.", "attn.in_proj_")
                new_v = torch.cat([v, ckpt[k.replace("q.", "kv.")]], dim=0)
            elif "attn.kv." in new_k:
                continue
            elif "attn.proj." in new_k:
                new_k = new_k.replace("proj.", "attn.out_proj.")
            elif "mlp." in new_k:
                new_k = new_k.replace("mlp.", "ffn.layers.")
                if "fc1.weight" in new_k or "fc2.weight" in new_k:
                    new_v = v.reshape(*v.shape, 1, 1)
                new_k = new_k.replace("fc1.", "0.").replace("dwconv.dwconv.", "1.")
                new_k = new_k.replace("fc2.", "4." if use_conv_ffn else "3.")
        elif k.startswith("norm"):
            stage = int(k[4])
            new_k = k.replace(f"norm{stage}", f"layers.{stage - 1}.2")
        out[new_k] = new_v
    return out


def _convert_hook(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    """Load-time conversion of original PVT names (only when such names are present)."""
    if not any(k.startswith(prefix + p) for k in state_dict for p in ("patch_embed", "block")):
        return
    own = {k[len(prefix) :]: state_dict.pop(k) for k in list(state_dict) if k.startswith(prefix)}
    for k, v in pvt_convert(own).items():
        state_dict[prefix + k] = v
