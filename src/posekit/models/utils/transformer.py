"""Transformer building blocks with MMPose / mmcv / mmpretrain names and state_dict keys.

* :class:`ScaleNorm` (MMPose ``models/utils/transformer.py``, used by RTMCC): ``x / (||x|| * dim**-0.5) * g``.
* :class:`DropPath` (stochastic depth, mmcv's ``DropPath``).
* :class:`PatchEmbed` (mmcv's ``bricks.transformer.PatchEmbed``: a strided conv named ``projection``).
* :class:`MultiheadAttention` (mmpretrain's: ``qkv`` + ``proj`` linears) and :class:`FFN` (mmcv's:
  ``layers.0.0`` / ``layers.1`` linears), the parts of mmpretrain's ``TransformerEncoderLayer``.
* :func:`resize_pos_embed` (mmpretrain's): interpolate a ``(1, L, C)`` position embedding to another grid.

Token tensors are ``(B, L, C)``; feature maps ``(B, C, H, W)``; grid shapes ``(h, w)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from posekit.models.utils.layers import build_activation_layer, build_norm_layer, to_builtin

__all__ = [
    "ScaleNorm",
    "DropPath",
    "drop_path",
    "PatchEmbed",
    "MultiheadAttention",
    "FFN",
    "LayerScale",
    "resize_pos_embed",
    "to_2tuple",
    "nlc_to_nchw",
    "nchw_to_nlc",
]


def to_2tuple(x: int | Sequence[int]) -> tuple[int, int]:
    """``3 -> (3, 3)``; a pair stays a pair (as a tuple)."""
    if isinstance(x, Sequence) and not isinstance(x, str):
        if len(x) != 2:
            raise ValueError(f"expected an int or a pair, got {x!r}")
        return int(x[0]), int(x[1])
    return int(x), int(x)


def nlc_to_nchw(x: torch.Tensor, hw_shape: Sequence[int]) -> torch.Tensor:
    """``(B, H*W, C)`` -> ``(B, C, H, W)``."""
    h, w = hw_shape
    b, length, c = x.shape
    if length != h * w:
        raise ValueError(f"token count {length} does not match the grid {h}x{w}")
    return x.transpose(1, 2).reshape(b, c, h, w).contiguous()


def nchw_to_nlc(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` -> ``(B, H*W, C)``."""
    return x.flatten(2).transpose(1, 2).contiguous()


class ScaleNorm(nn.Module):
    """Scale Norm (`Transformers without Tears <https://arxiv.org/abs/1910.05895>`_), MMPose's version.

    ``y = x / max(||x||_2 * dim**-0.5, eps) * g`` over the last axis, with one learnable scalar ``g``.

    Args:
        dim: size of the normalised (last) axis.
        eps: lower clamp of the scaled norm. Defaults to 1e-5.
    """

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.scale = dim**-0.5
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True) * self.scale
        return x / norm.clamp(min=self.eps) * self.g


def drop_path(x: torch.Tensor, drop_prob: float = 0.0, training: bool = False) -> torch.Tensor:
    """Zero whole samples with probability ``drop_prob`` and rescale the rest by ``1 / (1 - drop_prob)``."""
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1.0 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    random_tensor = keep_prob + torch.rand(shape, dtype=x.dtype, device=x.device)
    return x.div(keep_prob) * random_tensor.floor()


class DropPath(nn.Module):
    """Stochastic depth per sample (mmcv's ``DropPath``; ``drop_prob`` defaults to 0.1 as there)."""

    def __init__(self, drop_prob: float = 0.1) -> None:
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


def _drop_path_or_identity(drop_prob: float) -> nn.Module:
    return DropPath(drop_prob) if drop_prob > 0.0 else nn.Identity()


class PatchEmbed(nn.Module):
    """Image to patch tokens with a strided convolution (mmcv's ``PatchEmbed``, conv only).

    Args:
        in_channels: input channels. Defaults to 3.
        embed_dims: token dimension. Defaults to 768.
        kernel_size: patch size. Defaults to 16.
        stride: conv stride; ``None`` means ``kernel_size``. Defaults to 16.
        padding: an int / pair (conv zero padding; ViTPose uses 2), or ``'corner'`` / ``'same'`` for mmcv's
            adaptive padding (pad so that the input is fully covered). Defaults to ``'corner'``.
        dilation: conv dilation. Defaults to 1.
        bias: conv bias. Defaults to True.
        norm_cfg: optional norm on the tokens (``{'type': 'LN', 'eps': ...}``); keys ``norm.*``.
        input_size: ``(h, w)`` of the expected input, used to compute :attr:`init_out_size`.

    ``forward(x (B, C, H, W)) -> (tokens (B, h*w, embed_dims), (h, w))``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        embed_dims: int = 768,
        conv_type: str = "Conv2d",
        kernel_size: int | Sequence[int] = 16,
        stride: int | Sequence[int] | None = 16,
        padding: int | Sequence[int] | str = "corner",
        dilation: int | Sequence[int] = 1,
        bias: bool = True,
        norm_cfg: dict | None = None,
        input_size: int | Sequence[int] | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__()
        if conv_type not in ("Conv2d", "Conv"):
            raise ValueError(f"PatchEmbed: conv_type {conv_type!r} is not supported (only 'Conv2d')")
        self.embed_dims = embed_dims
        kernel_size = to_2tuple(kernel_size)
        stride = kernel_size if stride is None else to_2tuple(stride)
        dilation = to_2tuple(dilation)
        self.adaptive_padding: str | None = None
        if isinstance(padding, str):
            if padding not in ("corner", "same"):
                raise ValueError(f"PatchEmbed: padding must be an int, 'corner' or 'same', got {padding!r}")
            self.adaptive_padding = padding
            padding = 0
        padding = to_2tuple(padding)
        self._kernel, self._stride, self._dilation = kernel_size, stride, dilation
        self.projection = nn.Conv2d(
            in_channels,
            embed_dims,
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=bias,
        )
        if norm_cfg is not None:
            self.norm = build_norm_layer(to_builtin(norm_cfg), embed_dims)[1]
        else:
            self.norm = None

        if input_size is not None:
            h, w = to_2tuple(input_size)
            self.init_input_size: tuple[int, int] | None = (h, w)
            if self.adaptive_padding is not None:
                pad_h, pad_w = self._adaptive_pad_shape((h, w))
                h, w = h + pad_h, w + pad_w
            h_out = (h + 2 * padding[0] - dilation[0] * (kernel_size[0] - 1) - 1) // stride[0] + 1
            w_out = (w + 2 * padding[1] - dilation[1] * (kernel_size[1] - 1) - 1) // stride[1] + 1
            self.init_out_size: tuple[int, int] | None = (h_out, w_out)
        else:
            self.init_input_size = None
            self.init_out_size = None

    def _adaptive_pad_shape(self, input_shape: Sequence[int]) -> tuple[int, int]:
        pads = []
        for size, k, s, d in zip(input_shape, self._kernel, self._stride, self._dilation):
            out = math.ceil(size / s)
            pads.append(max((out - 1) * s + (k - 1) * d + 1 - size, 0))
        return pads[0], pads[1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        if self.adaptive_padding is not None:
            pad_h, pad_w = self._adaptive_pad_shape(x.shape[-2:])
            if pad_h > 0 or pad_w > 0:
                if self.adaptive_padding == "corner":
                    x = F.pad(x, [0, pad_w, 0, pad_h])
                else:
                    x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        x = self.projection(x)
        out_size = (int(x.shape[2]), int(x.shape[3]))
        x = x.flatten(2).transpose(1, 2)
        if self.norm is not None:
            x = self.norm(x)
        return x, out_size


class LayerScale(nn.Module):
    """Per-channel learnable scale (mmpretrain's ``LayerScale``, key ``weight``)."""

    def __init__(self, dim: int, layer_scale_init_value: float = 1e-5, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace
        self.weight = nn.Parameter(torch.ones(dim) * layer_scale_init_value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul_(self.weight) if self.inplace else x * self.weight


class MultiheadAttention(nn.Module):
    """Multi-head self-attention (mmpretrain's ``MultiheadAttention``): keys ``qkv.*`` and ``proj.*``.

    Args:
        embed_dims: token dimension.
        num_heads: attention heads.
        input_dims: input token dimension; ``None`` means ``embed_dims``.
        attn_drop: dropout on the attention weights. proj_drop: dropout after ``proj``.
        drop_path_rate: stochastic depth on the output.
        qkv_bias: bias of the ``qkv`` linear. qk_scale: overrides ``head_dims**-0.5``. proj_bias: bias of ``proj``.
        layer_scale_init_value: > 0 adds a :class:`LayerScale` (``gamma1.weight``).
        v_shortcut: add ``v`` to the output (single-head T2T-ViT trick).
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        input_dims: int | None = None,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        drop_path_rate: float = 0.0,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        proj_bias: bool = True,
        v_shortcut: bool = False,
        layer_scale_init_value: float = 0.0,
    ) -> None:
        super().__init__()
        if embed_dims % num_heads != 0:
            raise ValueError(f"embed_dims {embed_dims} must be divisible by num_heads {num_heads}")
        self.input_dims = input_dims or embed_dims
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.v_shortcut = v_shortcut
        self.head_dims = embed_dims // num_heads
        self.scale = qk_scale if qk_scale is not None else self.head_dims**-0.5
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(self.input_dims, embed_dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims, bias=proj_bias)
        self.proj_drop = nn.Dropout(proj_drop)
        self.out_drop = _drop_path_or_identity(drop_path_rate)
        if layer_scale_init_value > 0:
            self.gamma1 = LayerScale(embed_dims, layer_scale_init_value)
        else:
            self.gamma1 = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dims).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0.0, scale=self.scale
        )
        out = out.transpose(1, 2).reshape(b, n, self.embed_dims)
        out = self.proj(out)
        out = self.out_drop(self.gamma1(self.proj_drop(out)))
        if self.v_shortcut:
            out = v.squeeze(1) + out
        return out


class FFN(nn.Module):
    """Feed-forward block with identity shortcut (mmcv's ``FFN``): keys ``layers.0.0.*`` ... ``layers.{n-1}.*``.

    ``act_cfg`` defaults to ReLU as in mmcv (ViT passes GELU).

    ``forward(x, identity=None) = identity + drop_path(layers(x))`` (``identity`` defaults to ``x``).
    """

    def __init__(
        self,
        embed_dims: int = 256,
        feedforward_channels: int = 1024,
        num_fcs: int = 2,
        act_cfg: dict | None = None,
        ffn_drop: float = 0.0,
        drop_path_rate: float = 0.0,
        add_identity: bool = True,
        layer_scale_init_value: float = 0.0,
    ) -> None:
        super().__init__()
        if num_fcs < 2:
            raise ValueError(f"num_fcs should be no less than 2, got {num_fcs}")
        act_cfg = {"type": "ReLU", "inplace": True} if act_cfg is None else to_builtin(act_cfg)
        self.embed_dims = embed_dims
        self.feedforward_channels = feedforward_channels
        self.num_fcs = num_fcs
        layers: list[nn.Module] = []
        in_channels = embed_dims
        for _ in range(num_fcs - 1):
            layers.append(
                nn.Sequential(
                    nn.Linear(in_channels, feedforward_channels), build_activation_layer(act_cfg), nn.Dropout(ffn_drop)
                )
            )
            in_channels = feedforward_channels
        layers.append(nn.Linear(feedforward_channels, embed_dims))
        layers.append(nn.Dropout(ffn_drop))
        self.layers = nn.Sequential(*layers)
        self.dropout_layer = _drop_path_or_identity(drop_path_rate)
        self.add_identity = add_identity
        if layer_scale_init_value > 0:
            self.gamma2 = LayerScale(embed_dims, layer_scale_init_value)
        else:
            self.gamma2 = nn.Identity()

    def forward(self, x: torch.Tensor, identity: torch.Tensor | None = None) -> torch.Tensor:
        out = self.gamma2(self.layers(x))
        if not self.add_identity:
            return self.dropout_layer(out)
        if identity is None:
            identity = x
        return identity + self.dropout_layer(out)


def resize_pos_embed(
    pos_embed: torch.Tensor,
    src_shape: Sequence[int],
    dst_shape: Sequence[int],
    mode: str = "bicubic",
    num_extra_tokens: int = 1,
) -> torch.Tensor:
    """Resize a ``(1, extra + h*w, C)`` position embedding from grid ``src_shape`` to ``dst_shape`` (``(h, w)``).

    The ``num_extra_tokens`` leading tokens (class token) are kept; the grid part is interpolated in float32
    (``align_corners=False``), as mmpretrain does.
    """
    src_h, src_w = int(src_shape[0]), int(src_shape[1])
    dst_h, dst_w = int(dst_shape[0]), int(dst_shape[1])
    if (src_h, src_w) == (dst_h, dst_w):
        return pos_embed
    if pos_embed.ndim != 3:
        raise ValueError(f"pos_embed must be (1, L, C), got shape {tuple(pos_embed.shape)}")
    _, length, c = pos_embed.shape
    if length != src_h * src_w + num_extra_tokens:
        raise ValueError(
            f"pos_embed has {length} tokens, but the grid {src_h}x{src_w} plus {num_extra_tokens} extra "
            f"tokens needs {src_h * src_w + num_extra_tokens}"
        )
    extra = pos_embed[:, :num_extra_tokens]
    grid = pos_embed[:, num_extra_tokens:].reshape(1, src_h, src_w, c).permute(0, 3, 1, 2)
    out = F.interpolate(grid.float(), size=(dst_h, dst_w), align_corners=False, mode=mode)
    out = torch.flatten(out, 2).transpose(1, 2).to(pos_embed.dtype)
    return torch.cat((extra, out), dim=1)
