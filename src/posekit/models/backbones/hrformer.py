"""HRFormer (MMPose 1.x ``HRFormer``: same ``extra`` dict, arguments and state_dict keys).

`HRFormer: High-Resolution Transformer for Dense Prediction <https://arxiv.org/abs/2110.09408>`__. HRNet's
multi-resolution layout (:class:`~posekit.models.backbones.hrnet.HRNet`: stem, ``layer1`` of Bottlenecks,
``transition1..3``, ``stage2..4``) whose branches are :class:`HRFormerBlock` s: local-window self-attention
(:class:`LocalWindowSelfAttention`, windows padded symmetrically) and a convolutional FFN (:class:`CrossFFN`).
Fusion (:class:`HRFomerModule`, MMPose's spelling) downsamples with depthwise-separable stride-2 convs and
upsamples bilinearly.

``extra`` is MMPose's: ``drop_path_rate``, ``with_rpe`` (default True), ``with_pad_mask`` (default False), and
``stage1..4`` as HRNet's plus ``num_heads``, ``mlp_ratios`` and ``window_sizes`` for stages 2-4.
``forward(x) -> (B, C0, H/4, W/4)`` only (``multiscale_output=False`` in stage 4, the COCO configs' setting).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..utils.layers import build_activation_layer, build_conv_layer, build_norm_layer, to_builtin
from ..utils.transformer import DropPath, nchw_to_nlc, nlc_to_nchw
from .hrnet import HRModule, HRNet
from .resnet import Bottleneck
from .swin import WindowMSA

__all__ = ["CrossFFN", "HRFomerModule", "HRFormer", "HRFormerBlock", "LocalWindowSelfAttention"]


class LocalWindowSelfAttention(nn.Module):
    """Self-attention inside non-overlapping windows (``attn``: a :class:`WindowMSA`); the map is zero-padded
    symmetrically to whole windows and cropped back after. ``with_pad_mask`` masks the padding out of the
    attention (only when both height and width were padded, as MMPose).

    ``forward(x (B, H*W, C), H, W) -> (B, H*W, C)``.
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        window_size: int | Sequence[int],
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        attn_drop_rate: float = 0.0,
        proj_drop_rate: float = 0.0,
        with_rpe: bool = True,
        with_pad_mask: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(window_size, int):
            window_size = (window_size, window_size)
        self.window_size = tuple(window_size)
        self.with_pad_mask = with_pad_mask
        self.attn = WindowMSA(
            embed_dims=embed_dims,
            num_heads=num_heads,
            window_size=self.window_size,
            qkv_bias=qkv_bias,
            qk_scale=qk_scale,
            attn_drop_rate=attn_drop_rate,
            proj_drop_rate=proj_drop_rate,
            with_rpe=with_rpe,
        )

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:  # noqa: N803 - MMPose's argument names
        b, n, c = x.shape
        wh, ww = self.window_size
        nh, nw = math.ceil(H / wh), math.ceil(W / ww)
        pad_h, pad_w = nh * wh - H, nw * ww - W
        pads = (0, 0, pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
        x = F.pad(x.view(b, H, W, c), pads)
        x = x.view(b, nh, wh, nw, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, wh * ww, c)
        mask = None
        if self.with_pad_mask and pad_h > 0 and pad_w > 0:
            mask = F.pad(x.new_zeros(1, H, W, 1), pads, value=-float("inf"))
            mask = mask.view(1, nh, wh, nw, ww, 1).permute(1, 3, 0, 2, 4, 5).reshape(-1, wh * ww)
            mask = mask[:, None, :].expand([-1, wh * ww, -1])
        out = self.attn(x, mask)
        out = out.reshape(b, nh, nw, wh, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(b, H + pad_h, W + pad_w, c)
        out = out[:, pad_h // 2 : H + pad_h // 2, pad_w // 2 : W + pad_w // 2]
        return out.reshape(b, n, c)


class CrossFFN(nn.Module):
    """Convolutional FFN on the token map: ``fc1`` (1x1) -> ``norm1`` -> act -> ``dw3x3`` (depthwise) -> ``norm2``
    -> act -> ``fc2`` (1x1) -> ``norm3`` -> act.

    ``forward(x (B, H*W, C), H, W) -> (B, H*W, out_features)``.
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int | None = None,
        out_features: int | None = None,
        act_cfg: dict | None = None,
        dw_act_cfg: dict | None = None,
        norm_cfg: dict | None = None,
    ) -> None:
        super().__init__()
        act_cfg = dict(type="GELU") if act_cfg is None else to_builtin(act_cfg)
        dw_act_cfg = dict(type="GELU") if dw_act_cfg is None else to_builtin(dw_act_cfg)
        norm_cfg = dict(type="SyncBN") if norm_cfg is None else to_builtin(norm_cfg)
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        self.fc1 = nn.Conv2d(in_features, hidden_features, kernel_size=1)
        self.act1 = build_activation_layer(act_cfg)
        self.norm1 = build_norm_layer(norm_cfg, hidden_features)[1]
        self.dw3x3 = nn.Conv2d(hidden_features, hidden_features, 3, stride=1, padding=1, groups=hidden_features)
        self.act2 = build_activation_layer(dw_act_cfg)
        self.norm2 = build_norm_layer(norm_cfg, hidden_features)[1]
        self.fc2 = nn.Conv2d(hidden_features, out_features, kernel_size=1)
        self.act3 = build_activation_layer(act_cfg)
        self.norm3 = build_norm_layer(norm_cfg, out_features)[1]

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:  # noqa: N803 - MMPose's argument names
        x = nlc_to_nchw(x, (H, W))
        x = self.act1(self.norm1(self.fc1(x)))
        x = self.act2(self.norm2(self.dw3x3(x)))
        x = self.act3(self.norm3(self.fc2(x)))
        return nchw_to_nlc(x)


class HRFormerBlock(nn.Module):
    """``x + drop_path(attn(norm1(x)))`` then ``x + drop_path(ffn(norm2(x)))`` on ``(B, C, H, W)`` maps.

    Args:
        in_features / out_features: channels (equal in HRFormer). num_heads: attention heads.
        window_size: attention window. mlp_ratio: FFN hidden ratio. drop_path: stochastic depth.
        act_cfg: FFN activation (GELU). norm_cfg: FFN norms (``SyncBN`` by default, as MMPose).
        transformer_norm_cfg: ``norm1`` / ``norm2`` (``LN(eps=1e-6)``).
        **kwargs: :class:`LocalWindowSelfAttention` options (``with_rpe``, ``with_pad_mask``, ...).
    """

    expansion = 1

    def __init__(
        self,
        in_features: int,
        out_features: int,
        num_heads: int,
        window_size: int = 7,
        mlp_ratio: float = 4.0,
        drop_path: float = 0.0,
        act_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        transformer_norm_cfg: dict | None = None,
        **kwargs,
    ) -> None:
        super().__init__()
        act_cfg = dict(type="GELU") if act_cfg is None else to_builtin(act_cfg)
        transformer_norm_cfg = (
            dict(type="LN", eps=1e-6) if transformer_norm_cfg is None else to_builtin(transformer_norm_cfg)
        )
        self.num_heads = num_heads
        self.window_size = window_size
        self.mlp_ratio = mlp_ratio
        self.norm1 = build_norm_layer(transformer_norm_cfg, in_features)[1]
        self.attn = LocalWindowSelfAttention(in_features, num_heads=num_heads, window_size=window_size, **kwargs)
        self.norm2 = build_norm_layer(transformer_norm_cfg, out_features)[1]
        self.ffn = CrossFFN(
            in_features=in_features,
            hidden_features=int(in_features * mlp_ratio),
            out_features=out_features,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            dw_act_cfg=act_cfg,
        )
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.size()
        x = x.view(b, c, -1).permute(0, 2, 1)
        x = x + self.drop_path(self.attn(self.norm1(x), h, w))
        x = x + self.drop_path(self.ffn(self.norm2(x), h, w))
        return x.permute(0, 2, 1).view(b, c, h, w)

    def extra_repr(self) -> str:
        return f"num_heads={self.num_heads}, window_size={self.window_size}, mlp_ratio={self.mlp_ratio}"


class HRFomerModule(HRModule):
    """An :class:`~posekit.models.backbones.hrnet.HRModule` of :class:`HRFormerBlock` branches (MMPose's class name,
    typo included). Fusion: ``j > i``: 1x1 conv + norm + upsample (``upsample_cfg``, bilinear); ``j < i``: steps
    of [3x3 s2 depthwise conv, norm, 1x1 conv, norm (, ReLU except in the last step)].

    Args (beyond HRModule's): num_heads / num_window_sizes / num_mlp_ratios: per branch. drop_paths: the
    stochastic depth of each block of a branch. with_rpe / with_pad_mask: attention options.
    transformer_norm_cfg: the blocks' LayerNorms.
    """

    def __init__(
        self,
        num_branches: int,
        block: type[nn.Module],
        num_blocks: Sequence[int],
        num_inchannels: list[int],
        num_channels: Sequence[int],
        num_heads: Sequence[int],
        num_window_sizes: Sequence[int],
        num_mlp_ratios: Sequence[float],
        multiscale_output: bool = True,
        drop_paths: Sequence[float] | float = 0.0,
        with_rpe: bool = True,
        with_pad_mask: bool = False,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        transformer_norm_cfg: dict | None = None,
        with_cp: bool = False,
        upsample_cfg: dict | None = None,
    ) -> None:
        self.transformer_norm_cfg = transformer_norm_cfg
        self.drop_paths = drop_paths if isinstance(drop_paths, (list, tuple)) else [drop_paths] * max(num_blocks)
        self.num_heads = num_heads
        self.num_window_sizes = num_window_sizes
        self.num_mlp_ratios = num_mlp_ratios
        self.with_rpe = with_rpe
        self.with_pad_mask = with_pad_mask
        norm_cfg = dict(type="SyncBN", requires_grad=True) if norm_cfg is None else norm_cfg
        upsample_cfg = dict(mode="bilinear", align_corners=False) if upsample_cfg is None else upsample_cfg
        super().__init__(
            num_branches,
            block,
            num_blocks,
            num_inchannels,
            num_channels,
            multiscale_output,
            with_cp,
            conv_cfg,
            norm_cfg,
            upsample_cfg,
        )

    def _make_one_branch(
        self, branch_index: int, block: type[nn.Module], num_blocks: Sequence[int], num_channels: Sequence[int]
    ) -> nn.Sequential:
        if self.in_channels[branch_index] != num_channels[branch_index]:
            raise ValueError(
                f"HRFomerModule: branch {branch_index} has {self.in_channels[branch_index]} input channels but "
                f"{num_channels[branch_index]} block channels; HRFormer branches keep their width"
            )
        layers = []
        for i in range(num_blocks[branch_index]):
            layers.append(
                block(
                    self.in_channels[branch_index],
                    num_channels[branch_index],
                    num_heads=self.num_heads[branch_index],
                    window_size=self.num_window_sizes[branch_index],
                    mlp_ratio=self.num_mlp_ratios[branch_index],
                    drop_path=self.drop_paths[i],
                    norm_cfg=self.norm_cfg,
                    transformer_norm_cfg=self.transformer_norm_cfg,
                    with_rpe=self.with_rpe,
                    with_pad_mask=self.with_pad_mask,
                )
            )
            if i == 0:
                self.in_channels[branch_index] = self.in_channels[branch_index] * block.expansion
        return nn.Sequential(*layers)

    def _make_fuse_layers(self) -> nn.ModuleList | None:
        if self.num_branches == 1:
            return None
        ch = self.in_channels
        conv = lambda cin, cout, **kw: build_conv_layer(self.conv_cfg, cin, cout, bias=False, **kw)  # noqa: E731
        norm = lambda c: build_norm_layer(self.norm_cfg, c)[1]  # noqa: E731
        fuse_layers = []
        for i in range(self.num_branches if self.multiscale_output else 1):
            fuse_layer: list[nn.Module | None] = []
            for j in range(self.num_branches):
                if j > i:
                    up = nn.Upsample(
                        scale_factor=2 ** (j - i),
                        mode=self.upsample_cfg["mode"],
                        align_corners=self.upsample_cfg["align_corners"],
                    )
                    fuse_layer.append(nn.Sequential(conv(ch[j], ch[i], kernel_size=1, stride=1), norm(ch[i]), up))
                elif j == i:
                    fuse_layer.append(None)
                else:
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        cout = ch[i] if last else ch[j]
                        parts = [
                            conv(ch[j], ch[j], kernel_size=3, stride=2, padding=1, groups=ch[j]),
                            norm(ch[j]),
                            conv(ch[j], cout, kernel_size=1, stride=1),
                            norm(cout),
                        ]
                        if not last:
                            parts.append(nn.ReLU(False))
                        steps.append(nn.Sequential(*parts))
                    fuse_layer.append(nn.Sequential(*steps))
            fuse_layers.append(nn.ModuleList(fuse_layer))
        return nn.ModuleList(fuse_layers)

    def get_num_inchannels(self) -> list[int]:
        return self.in_channels


class HRFormer(HRNet):
    """HRFormer backbone, as MMPose's ``HRFormer`` (see the module docstring for ``extra``).

    Args:
        extra: HRNet's stage settings plus the transformer ones (copied, not modified).
        in_channels: input channels. conv_cfg / norm_cfg: conv and BatchNorm configs (``None`` norm: BN).
        transformer_norm_cfg: the blocks' LayerNorms (``LN(eps=1e-6)``). norm_eval / with_cp /
        zero_init_residual / frozen_stages / init_cfg: as :class:`~posekit.models.backbones.hrnet.HRNet`.
    """

    blocks_dict = {"BOTTLENECK": Bottleneck, "HRFORMERBLOCK": HRFormerBlock}

    def __init__(
        self,
        extra: dict,
        in_channels: int = 3,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        transformer_norm_cfg: dict | None = None,
        norm_eval: bool = False,
        with_cp: bool = False,
        zero_init_residual: bool = False,
        frozen_stages: int = -1,
        init_cfg: dict | Sequence[dict] | None = None,
    ) -> None:
        extra = copy.deepcopy(to_builtin(extra))
        for key in ("drop_path_rate", "stage1", "stage2", "stage3", "stage4"):
            if key not in extra:
                raise KeyError(f"HRFormer: extra needs {key!r} (see the MMPose HRFormer configs)")
        depths = [extra[s]["num_blocks"][0] * extra[s]["num_modules"] for s in ("stage2", "stage3", "stage4")]
        dpr = torch.linspace(0, extra["drop_path_rate"], sum(depths), device="cpu").tolist()
        extra["stage2"]["drop_path_rates"] = dpr[: depths[0]]
        extra["stage3"]["drop_path_rates"] = dpr[depths[0] : depths[0] + depths[1]]
        extra["stage4"]["drop_path_rates"] = dpr[depths[0] + depths[1] :]
        extra["upsample"] = extra.get("upsample", {"mode": "bilinear", "align_corners": False})
        self.transformer_norm_cfg = (
            dict(type="LN", eps=1e-6) if transformer_norm_cfg is None else to_builtin(transformer_norm_cfg)
        )
        self.with_rpe = extra.get("with_rpe", True)
        self.with_pad_mask = extra.get("with_pad_mask", False)
        norm_cfg = dict(type="BN", requires_grad=True) if norm_cfg is None else norm_cfg
        super().__init__(
            extra, in_channels, conv_cfg, norm_cfg, norm_eval, with_cp, zero_init_residual, frozen_stages, init_cfg
        )

    def _make_stage(
        self, layer_config: dict, in_channels: list[int], multiscale_output: bool = True
    ) -> tuple[nn.Sequential, list[int]]:
        num_modules = layer_config["num_modules"]
        num_blocks = layer_config["num_blocks"]
        rates = layer_config["drop_path_rates"]
        modules = []
        for i in range(num_modules):
            modules.append(
                HRFomerModule(
                    layer_config["num_branches"],
                    self.blocks_dict[layer_config["block"]],
                    num_blocks,
                    in_channels,
                    layer_config["num_channels"],
                    layer_config["num_heads"],
                    layer_config["window_sizes"],
                    layer_config["mlp_ratios"],
                    multiscale_output or i != num_modules - 1,
                    drop_paths=rates[num_blocks[0] * i : num_blocks[0] * (i + 1)],
                    with_rpe=self.with_rpe,
                    with_pad_mask=self.with_pad_mask,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    transformer_norm_cfg=self.transformer_norm_cfg,
                    with_cp=self.with_cp,
                    upsample_cfg=self.upsample_cfg,
                )
            )
            in_channels = modules[-1].get_num_inchannels()
        return nn.Sequential(*modules), in_channels

    def _post_init(self, pretrained: bool) -> None:
        super()._post_init(pretrained)
        if pretrained:
            return
        for m in self.modules():
            if isinstance(m, WindowMSA):
                m.init_weights()
