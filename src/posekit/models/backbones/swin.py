"""Swin Transformer (MMPose 1.x ``SwinTransformer``: same arguments and state_dict keys).

`Swin Transformer: Hierarchical Vision Transformer using Shifted Windows <https://arxiv.org/abs/2103.14030>`__.

Layout: ``patch_embed`` (4x4 s4 conv + LN) -> ``stages.0..3`` (:class:`SwinBlockSequence`: ``blocks`` alternating
regular / shifted window attention, then a :class:`PatchMerging` ``downsample`` except in the last stage) ->
``norm{i}`` LayerNorm for each ``out_indices`` entry. A stage's output is taken *before* its downsample, so
stage ``i`` gives ``(B, embed_dims * 2**i, H / 4 / 2**i, W / 4 / 2**i)``; the COCO configs return stage 3.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp

from ..utils.layers import build_norm_layer, to_builtin
from ..utils.transformer import FFN, DropPath, PatchEmbed, to_2tuple
from .base import BaseBackbone

__all__ = [
    "PatchMerging",
    "ShiftWindowMSA",
    "SwinBlock",
    "SwinBlockSequence",
    "SwinTransformer",
    "WindowMSA",
    "swin_converter",
]


class WindowMSA(nn.Module):
    """Window multi-head self-attention with a learned relative position bias
    (``relative_position_bias_table ((2Wh-1)(2Ww-1), heads)`` indexed by the ``relative_position_index`` buffer;
    ``with_rpe=False`` drops both, as HRFormer allows).

    ``forward(x (B*nW, Wh*Ww, C), mask (nW, N, N) | None) -> (B*nW, Wh*Ww, C)``.
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        window_size: Sequence[int],
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        attn_drop_rate: float = 0.0,
        proj_drop_rate: float = 0.0,
        with_rpe: bool = True,
    ) -> None:
        super().__init__()
        self.embed_dims = embed_dims
        self.window_size = tuple(window_size)
        self.num_heads = num_heads
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        self.with_rpe = with_rpe
        if with_rpe:
            wh, ww = self.window_size
            self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1), num_heads))
            # index[i, j] of the bias between window positions i and j (MMPose's construction: the buffer matches)
            coords = torch.arange(0, (2 * ww - 1) * wh, 2 * ww - 1)[:, None] + torch.arange(ww)[None, :]
            coords = coords.reshape(1, -1)
            self.register_buffer("relative_position_index", (coords + coords.T).flip(1).contiguous())
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop_rate)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop_rate)
        self.softmax = nn.Softmax(dim=-1)

    def init_weights(self) -> None:
        if self.with_rpe:
            nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        if self.with_rpe:
            area = self.window_size[0] * self.window_size[1]
            bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(area, area, -1)
            attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(b // nw, nw, self.num_heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, n, n)
        attn = self.attn_drop(self.softmax(attn))
        x = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj_drop(self.proj(x))


class ShiftWindowMSA(nn.Module):
    """Pads the token map to whole windows, cyclically shifts it by ``shift_size`` (masking attention across the
    wrap-around), runs :class:`WindowMSA` (``w_msa``) per window and undoes shift and padding.

    ``forward(query (B, H*W, C), hw_shape) -> drop_path(attention) (B, H*W, C)``.
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        window_size: int,
        shift_size: int = 0,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        attn_drop_rate: float = 0.0,
        proj_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0 <= shift_size < window_size:
            raise ValueError(f"ShiftWindowMSA: shift_size must be in [0, {window_size}), got {shift_size}")
        self.window_size = window_size
        self.shift_size = shift_size
        self.w_msa = WindowMSA(
            embed_dims,
            num_heads,
            to_2tuple(window_size),
            qkv_bias=qkv_bias,
            qk_scale=qk_scale,
            attn_drop_rate=attn_drop_rate,
            proj_drop_rate=proj_drop_rate,
        )
        self.drop = DropPath(drop_path_rate)

    def _shift_mask(self, h_pad: int, w_pad: int, device: torch.device) -> torch.Tensor:
        """``(nW, ws*ws, ws*ws)``: 0 within a region of the shifted map, -100 across regions."""
        ws, s = self.window_size, self.shift_size
        img_mask = torch.zeros((1, h_pad, w_pad, 1), device=device)
        cnt = 0
        for hs in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
            for wsl in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
                img_mask[:, hs, wsl, :] = cnt
                cnt += 1
        mask_windows = self.window_partition(img_mask).view(-1, ws * ws)
        attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
        return attn_mask.masked_fill(attn_mask != 0, -100.0).masked_fill(attn_mask == 0, 0.0)

    def forward(self, query: torch.Tensor, hw_shape: Sequence[int]) -> torch.Tensor:
        b, length, c = query.shape
        h, w = hw_shape
        if length != h * w:
            raise ValueError(f"ShiftWindowMSA: {length} tokens do not make a {h}x{w} map")
        ws = self.window_size
        query = query.view(b, h, w, c)
        pad_r, pad_b = (ws - w % ws) % ws, (ws - h % ws) % ws
        query = F.pad(query, (0, 0, 0, pad_r, 0, pad_b))
        h_pad, w_pad = query.shape[1], query.shape[2]
        if self.shift_size > 0:
            query = torch.roll(query, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
            attn_mask = self._shift_mask(h_pad, w_pad, query.device)
        else:
            attn_mask = None
        windows = self.window_partition(query).view(-1, ws**2, c)
        windows = self.w_msa(windows, mask=attn_mask).view(-1, ws, ws, c)
        x = self.window_reverse(windows, h_pad, w_pad)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
        if pad_r > 0 or pad_b > 0:
            x = x[:, :h, :w, :].contiguous()
        return self.drop(x.view(b, h * w, c))

    def window_reverse(self, windows: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """``(B*nW, ws, ws, C)`` -> ``(B, H, W, C)``."""
        ws = self.window_size
        b = int(windows.shape[0] / (h * w / ws / ws))
        x = windows.view(b, h // ws, w // ws, ws, ws, -1)
        return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(b, h, w, -1)

    def window_partition(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, H, W, C)`` -> ``(B*nW, ws, ws, C)``."""
        b, h, w, c = x.shape
        ws = self.window_size
        x = x.view(b, h // ws, ws, w // ws, ws, c)
        return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, c)


class SwinBlock(nn.Module):
    """``x + attn(norm1(x))`` then ``x + ffn(norm2(x))``; ``shift`` uses a half-window shift."""

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        feedforward_channels: int,
        window_size: int = 7,
        shift: bool = False,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        act_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        norm_cfg = dict(type="LN") if norm_cfg is None else to_builtin(norm_cfg)
        self.with_cp = with_cp
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = ShiftWindowMSA(
            embed_dims,
            num_heads,
            window_size,
            shift_size=window_size // 2 if shift else 0,
            qkv_bias=qkv_bias,
            qk_scale=qk_scale,
            attn_drop_rate=attn_drop_rate,
            proj_drop_rate=drop_rate,
            drop_path_rate=drop_path_rate,
        )
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(
            embed_dims=embed_dims,
            feedforward_channels=feedforward_channels,
            num_fcs=2,
            ffn_drop=drop_rate,
            drop_path_rate=drop_path_rate,
            act_cfg=dict(type="GELU") if act_cfg is None else to_builtin(act_cfg),
            add_identity=True,
        )

    def forward(self, x: torch.Tensor, hw_shape: Sequence[int]) -> torch.Tensor:
        def _inner_forward(x: torch.Tensor) -> torch.Tensor:
            x = x + self.attn(self.norm1(x), hw_shape)
            return self.ffn(self.norm2(x), identity=x)

        if self.with_cp and x.requires_grad:
            return cp.checkpoint(_inner_forward, x, use_reentrant=False)
        return _inner_forward(x)


class PatchMerging(nn.Module):
    """Merge each ``kernel_size`` patch of tokens (``nn.Unfold`` order: channel-major) -> ``norm`` -> ``reduction``
    linear (MMPose's ``PatchMerging``; corner padding to whole patches by default).

    ``forward(x (B, H*W, C), input_size (H, W)) -> (tokens (B, h*w, out_channels), (h, w))``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int] = 2,
        stride: int | Sequence[int] | None = None,
        padding: int | Sequence[int] | str = "corner",
        dilation: int | Sequence[int] = 1,
        bias: bool = False,
        norm_cfg: dict | None = dict(type="LN"),  # noqa: B006 - MMPose's default, read-only
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        kernel_size = to_2tuple(kernel_size)
        stride = kernel_size if not stride else to_2tuple(stride)
        dilation = to_2tuple(dilation)
        self.adaptive_padding: str | None = None
        if isinstance(padding, str):
            if padding not in ("corner", "same"):
                raise ValueError(f"PatchMerging: padding must be an int, 'corner' or 'same', got {padding!r}")
            self.adaptive_padding = padding
            padding = 0
        padding = to_2tuple(padding)
        self.sampler = nn.Unfold(kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
        sample_dim = kernel_size[0] * kernel_size[1] * in_channels
        self.norm = build_norm_layer(to_builtin(norm_cfg), sample_dim)[1] if norm_cfg is not None else None
        self.reduction = nn.Linear(sample_dim, out_channels, bias=bias)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        (kh, kw), (sh, sw), (dh, dw) = self.sampler.kernel_size, self.sampler.stride, self.sampler.dilation
        h, w = x.shape[-2:]
        pad_h = max((-(-h // sh) - 1) * sh + (kh - 1) * dh + 1 - h, 0)
        pad_w = max((-(-w // sw) - 1) * sw + (kw - 1) * dw + 1 - w, 0)
        if pad_h == 0 and pad_w == 0:
            return x
        if self.adaptive_padding == "corner":
            return F.pad(x, [0, pad_w, 0, pad_h])
        return F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])

    def forward(self, x: torch.Tensor, input_size: Sequence[int]) -> tuple[torch.Tensor, tuple[int, int]]:
        b, length, c = x.shape
        h, w = input_size
        if length != h * w:
            raise ValueError(f"PatchMerging: {length} tokens do not make a {h}x{w} map")
        x = x.view(b, h, w, c).permute(0, 3, 1, 2)
        if self.adaptive_padding is not None:
            x = self._pad(x)
            h, w = x.shape[-2:]
        x = self.sampler(x)
        (kh, kw), (sh, sw) = self.sampler.kernel_size, self.sampler.stride
        (ph, pw), (dh, dw) = self.sampler.padding, self.sampler.dilation
        out_size = ((h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1)
        x = x.transpose(1, 2)
        if self.norm is not None:
            x = self.norm(x)
        return self.reduction(x), out_size


class SwinBlockSequence(nn.Module):
    """``depth`` :class:`SwinBlock` s (odd ones shifted) and an optional ``downsample``.

    ``forward(x, hw_shape) -> (x_down, down_hw_shape, x, hw_shape)`` (the stage output before downsampling too).
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        feedforward_channels: int,
        depth: int,
        window_size: int = 7,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float | Sequence[float] = 0.0,
        downsample: nn.Module | None = None,
        act_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(drop_path_rate, (list, tuple)):
            rates = list(drop_path_rate)
            if len(rates) != depth:
                raise ValueError(f"SwinBlockSequence: {len(rates)} drop path rates for {depth} blocks")
        else:
            rates = [float(drop_path_rate)] * depth
        self.blocks = nn.ModuleList(
            SwinBlock(
                embed_dims,
                num_heads,
                feedforward_channels,
                window_size=window_size,
                shift=i % 2 == 1,
                qkv_bias=qkv_bias,
                qk_scale=qk_scale,
                drop_rate=drop_rate,
                attn_drop_rate=attn_drop_rate,
                drop_path_rate=rates[i],
                act_cfg=act_cfg,
                norm_cfg=norm_cfg,
                with_cp=with_cp,
            )
            for i in range(depth)
        )
        self.downsample = downsample

    def forward(self, x: torch.Tensor, hw_shape: Sequence[int]):
        for block in self.blocks:
            x = block(x, hw_shape)
        if self.downsample is not None:
            x_down, down_hw_shape = self.downsample(x, hw_shape)
            return x_down, down_hw_shape, x, hw_shape
        return x, hw_shape, x, hw_shape


class SwinTransformer(BaseBackbone):
    """Swin Transformer, as MMPose's ``SwinTransformer``.

    Args:
        pretrain_img_size: image size of ``absolute_pos_embed``. Defaults to 224.
        in_channels: input channels. embed_dims: stage-0 width (doubles per stage). patch_size: patch embedding
            size (== ``strides[0]``). window_size: attention window. mlp_ratio: FFN width ratio.
        depths / num_heads / strides: per stage. out_indices: stages to return (each gets a ``norm{i}``).
        qkv_bias / qk_scale: attention. patch_norm: LayerNorm in the patch embedding / merging.
        drop_rate / attn_drop_rate / drop_path_rate: dropouts (stochastic depth grows linearly over the blocks).
        use_abs_pos_embed: add ``absolute_pos_embed``. act_cfg / norm_cfg: GELU / LN.
        with_cp: gradient checkpointing. convert_weights: a ``Pretrained`` checkpoint of the original Swin
            repository is renamed with :func:`swin_converter` while loading.
        frozen_stages: freeze the patch embedding and stages ``0..frozen_stages-1`` (-1: nothing frozen).
        init_cfg: see :class:`BaseBackbone`; MMPose's default: Linear TruncNormal(0.02), LayerNorm 1.
    """

    default_init_cfg = (
        dict(type="TruncNormal", std=0.02, layer=["Linear"]),
        dict(type="Constant", val=1, layer=["LayerNorm"]),
    )

    def __init__(
        self,
        pretrain_img_size: int | Sequence[int] = 224,
        in_channels: int = 3,
        embed_dims: int = 96,
        patch_size: int = 4,
        window_size: int = 7,
        mlp_ratio: int = 4,
        depths: Sequence[int] = (2, 2, 6, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        strides: Sequence[int] = (4, 2, 2, 2),
        out_indices: Sequence[int] = (0, 1, 2, 3),
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        patch_norm: bool = True,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.1,
        use_abs_pos_embed: bool = False,
        act_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        with_cp: bool = False,
        convert_weights: bool = False,
        frozen_stages: int = -1,
        init_cfg: dict | Sequence[dict] | None = None,
    ) -> None:
        super().__init__(init_cfg)
        act_cfg = dict(type="GELU") if act_cfg is None else to_builtin(act_cfg)
        norm_cfg = dict(type="LN") if norm_cfg is None else to_builtin(norm_cfg)
        depths, num_heads = list(to_builtin(depths)), list(to_builtin(num_heads))
        strides, out_indices = list(to_builtin(strides)), tuple(to_builtin(out_indices))
        if strides[0] != patch_size:
            raise ValueError(f"SwinTransformer: strides[0] ({strides[0]}) must equal patch_size ({patch_size})")
        self.convert_weights = convert_weights
        self.frozen_stages = frozen_stages
        self.pretrain_img_size = to_2tuple(to_builtin(pretrain_img_size))
        self.out_indices = out_indices
        self.use_abs_pos_embed = use_abs_pos_embed
        num_layers = len(depths)

        self.patch_embed = PatchEmbed(
            in_channels=in_channels,
            embed_dims=embed_dims,
            conv_type="Conv2d",
            kernel_size=patch_size,
            stride=strides[0],
            norm_cfg=norm_cfg if patch_norm else None,
        )
        if use_abs_pos_embed:
            num_patches = (self.pretrain_img_size[0] // patch_size) * (self.pretrain_img_size[1] // patch_size)
            self.absolute_pos_embed = nn.Parameter(torch.zeros((1, num_patches, embed_dims)))
        self.drop_after_pos = nn.Dropout(p=drop_rate)

        dpr = torch.linspace(0, drop_path_rate, sum(depths), device="cpu").tolist()
        self.stages = nn.ModuleList()
        channels = embed_dims
        for i in range(num_layers):
            downsample = None
            if i < num_layers - 1:
                downsample = PatchMerging(
                    channels, 2 * channels, stride=strides[i + 1], norm_cfg=norm_cfg if patch_norm else None
                )
            self.stages.append(
                SwinBlockSequence(
                    embed_dims=channels,
                    num_heads=num_heads[i],
                    feedforward_channels=mlp_ratio * channels,
                    depth=depths[i],
                    window_size=window_size,
                    qkv_bias=qkv_bias,
                    qk_scale=qk_scale,
                    drop_rate=drop_rate,
                    attn_drop_rate=attn_drop_rate,
                    drop_path_rate=dpr[sum(depths[:i]) : sum(depths[: i + 1])],
                    downsample=downsample,
                    act_cfg=act_cfg,
                    norm_cfg=norm_cfg,
                    with_cp=with_cp,
                )
            )
            if downsample is not None:
                channels = downsample.out_channels
        self.num_features = [int(embed_dims * 2**i) for i in range(num_layers)]
        for i in out_indices:
            self.add_module(f"norm{i}", build_norm_layer(norm_cfg, self.num_features[i])[1])
        self._register_load_state_dict_pre_hook(self._prepare_hook)
        self.reset_parameters()
        self._freeze_stages()

    def _post_init(self, pretrained: bool) -> None:
        if pretrained:
            return
        for m in self.modules():
            if isinstance(m, WindowMSA):
                m.init_weights()
        if self.use_abs_pos_embed:
            nn.init.trunc_normal_(self.absolute_pos_embed, std=0.02)

    def _prepare_hook(self, state_dict: dict, prefix: str, *args) -> None:
        self.prepare_state_dict(state_dict, prefix)

    def prepare_state_dict(self, state_dict: dict, prefix: str = "") -> None:
        """Make a checkpoint fit, in place (idempotent; also a ``load_state_dict`` pre-hook): convert original Swin
        names (``convert_weights``) and resize relative position bias tables made for another window size
        (bicubic), as MMPose's ``init_weights`` does."""
        if self.convert_weights and any(k.startswith(prefix + "layers.") for k in state_dict):
            own = {k[len(prefix) :]: state_dict.pop(k) for k in list(state_dict) if k.startswith(prefix)}
            for k, v in swin_converter(own).items():
                state_dict[prefix + k[len("backbone.") :]] = v
        current = dict(self.named_parameters())
        for key in [k for k in state_dict if k.startswith(prefix) and k.endswith("relative_position_bias_table")]:
            name = key[len(prefix) :]
            if name not in current:
                continue
            table, own = state_dict[key], current[name]
            (l1, h1), (l2, h2) = table.shape, own.shape
            if h1 == h2 and l1 != l2:
                s1, s2 = int(l1**0.5), int(l2**0.5)
                grid = table.permute(1, 0).reshape(1, h1, s1, s1)
                state_dict[key] = F.interpolate(grid, size=(s2, s2), mode="bicubic").view(h2, l2).permute(1, 0)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            self._freeze_module(self.patch_embed)
            if self.use_abs_pos_embed:
                self.absolute_pos_embed.requires_grad = False
            self.drop_after_pos.eval()
        for i in range(1, self.frozen_stages + 1):
            if (i - 1) in self.out_indices:
                self._freeze_module(getattr(self, f"norm{i - 1}"))
            self._freeze_module(self.stages[i - 1])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x, hw_shape = self.patch_embed(x)
        if self.use_abs_pos_embed:
            x = x + self.absolute_pos_embed
        x = self.drop_after_pos(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x, hw_shape, out, out_hw_shape = stage(x, hw_shape)
            if i in self.out_indices:
                out = getattr(self, f"norm{i}")(out)
                outs.append(out.view(-1, *out_hw_shape, self.num_features[i]).permute(0, 3, 1, 2).contiguous())
        return tuple(outs)


def swin_converter(ckpt: Mapping[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """Rename an original Swin repository state dict to this layout under ``backbone.`` (MMPose's
    ``swin_converter``): ``layers`` -> ``stages``, ``attn`` -> ``attn.w_msa``, ``mlp.fc1/fc2`` -> ``ffn.layers``,
    ``patch_embed.proj`` -> ``projection``; patch-merging weights are reordered from the original's
    ``x0, x1, x2, x3`` concatenation to ``nn.Unfold``'s channel-major order."""

    def reduction_order(x: torch.Tensor) -> torch.Tensor:
        out_c, in_c = x.shape
        return x.reshape(out_c, 4, in_c // 4)[:, [0, 2, 1, 3], :].transpose(1, 2).reshape(out_c, in_c)

    def norm_order(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(4, x.shape[0] // 4)[[0, 2, 1, 3], :].transpose(0, 1).reshape(x.shape[0])

    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for k, v in ckpt.items():
        if k.startswith("head"):
            continue
        new_k, new_v = k, v
        if k.startswith("layers"):
            if "attn." in k:
                new_k = k.replace("attn.", "attn.w_msa.")
            elif "mlp." in k:
                new_k = k.replace("mlp.fc1.", "ffn.layers.0.0.").replace("mlp.fc2.", "ffn.layers.1.")
                new_k = new_k.replace("mlp.", "ffn.")
            elif "downsample" in k:
                if "reduction." in k:
                    new_v = reduction_order(v)
                elif "norm." in k:
                    new_v = norm_order(v)
            new_k = new_k.replace("layers", "stages", 1)
        elif k.startswith("patch_embed") and "proj" in k:
            new_k = k.replace("proj", "projection")
        out["backbone." + new_k] = new_v
    return out
