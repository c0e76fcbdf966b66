"""Vision Transformer backbone as used by ViTPose (mmpretrain's ``models/backbones/vision_transformer.py``).

Patch embedding (a strided conv, ``patch_embed.projection``) + learned position embedding (``pos_embed``) +
``num_layers`` pre-norm encoder layers (``layers.i.{ln1, attn.qkv, attn.proj, ln2, ffn.layers.0.0, ffn.layers.1}``)
+ a final LayerNorm (``ln1``). State-dict keys are mmpretrain's, so MMPose ViTPose checkpoints (and mmpretrain /
MAE backbones) load one-to-one.

ViTPose-B: ``VisionTransformer(arch='base', img_size=(256, 192), patch_size=16, qkv_bias=True,
drop_path_rate=0.3, with_cls_token=False, out_type='featmap', patch_cfg={'padding': 2})`` gives a 16x12 token grid
and a ``(B, 768, 16, 12)`` feature map (85.8M parameters).

Loading a checkpoint whose ``pos_embed`` was trained for another grid (e.g. a 14x14 + cls-token MAE checkpoint)
resizes it (bicubic) in :meth:`VisionTransformer.prepare_state_dict`, which runs as a ``load_state_dict`` pre-hook.
"""

from __future__ import annotations

import logging
import math
from collections.abc import MutableMapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from posekit.models.backbones.base import BaseBackbone
from posekit.models.utils.checkpoint import get_state_dict, load_checkpoint_file, load_state_dict
from posekit.models.utils.layers import build_norm_layer, to_builtin
from posekit.models.utils.transformer import FFN, MultiheadAttention, PatchEmbed, resize_pos_embed, to_2tuple

__all__ = ["TransformerEncoderLayer", "VisionTransformer"]

logger = logging.getLogger(__name__)


def _norm(norm_cfg: dict, dims: int) -> nn.Module:
    return build_norm_layer(norm_cfg, dims)[1]


class TransformerEncoderLayer(nn.Module):
    """One pre-norm ViT encoder layer: ``x + attn(ln1(x))`` then ``x + ffn(ln2(x))`` (mmpretrain's).

    Args:
        embed_dims: token dimension. num_heads: attention heads. feedforward_channels: FFN hidden width.
        layer_scale_init_value: > 0 adds LayerScale to both branches. Defaults to 0.
        drop_rate: dropout after the attention projection and in the FFN. attn_drop_rate: attention dropout.
        drop_path_rate: stochastic depth of both branches.
        num_fcs: FFN linears. Defaults to 2.
        qkv_bias: bias of the qkv linear. Defaults to True.
        ffn_type: only ``'origin'`` is supported.
        act_cfg: FFN activation. Defaults to GELU. norm_cfg: norm layers. Defaults to ``dict(type='LN')``.
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        feedforward_channels: int,
        layer_scale_init_value: float = 0.0,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        num_fcs: int = 2,
        qkv_bias: bool = True,
        ffn_type: str = "origin",
        act_cfg: dict = {"type": "GELU"},  # noqa: B006 - mmpretrain's default, read-only
        norm_cfg: dict = {"type": "LN"},  # noqa: B006
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__()
        if ffn_type != "origin":
            raise NotImplementedError(f"TransformerEncoderLayer: ffn_type {ffn_type!r} is not supported ('origin')")
        norm_cfg = to_builtin(norm_cfg)
        self.embed_dims = embed_dims
        self.ln1 = _norm(norm_cfg, embed_dims)
        self.attn = MultiheadAttention(
            embed_dims=embed_dims,
            num_heads=num_heads,
            attn_drop=attn_drop_rate,
            proj_drop=drop_rate,
            drop_path_rate=drop_path_rate,
            qkv_bias=qkv_bias,
            layer_scale_init_value=layer_scale_init_value,
        )
        self.ln2 = _norm(norm_cfg, embed_dims)
        self.ffn = FFN(
            embed_dims=embed_dims,
            feedforward_channels=feedforward_channels,
            num_fcs=num_fcs,
            ffn_drop=drop_rate,
            drop_path_rate=drop_path_rate,
            act_cfg=to_builtin(act_cfg),
            layer_scale_init_value=layer_scale_init_value,
        )

    @property
    def norm1(self) -> nn.Module:
        return self.ln1

    @property
    def norm2(self) -> nn.Module:
        return self.ln2

    def init_weights(self) -> None:
        """mmpretrain's: FFN linears Xavier-uniform, biases ~ N(0, 1e-6)."""
        for m in self.ffn.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.normal_(m.bias, std=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return self.ffn(self.ln2(x), identity=x)


class VisionTransformer(BaseBackbone):
    """Vision Transformer (`An Image is Worth 16x16 Words <https://arxiv.org/abs/2010.11929>`_), mmpretrain's API.

    Args:
        arch: ``'small'``, ``'base'``, ``'large'``, ``'huge'``, ``'deit-tiny'``, ``'deit-small'``, ``'deit-base'``
            (or short forms), or a dict with ``embed_dims``, ``num_layers``, ``num_heads``,
            ``feedforward_channels``. Defaults to ``'base'``.
        img_size: expected input ``(h, w)`` (or an int); sizes ``pos_embed``. Other sizes work (the position
            embedding is interpolated on the fly). Defaults to 224.
        patch_size: patch size. Defaults to 16.
        in_channels: input channels. Defaults to 3.
        out_indices: layers whose output is returned (negative counts from the end). Defaults to -1.
        drop_rate: dropout after the position embedding and in the layers. Defaults to 0.
        drop_path_rate: maximum stochastic depth (linearly increasing over the layers). Defaults to 0.
        qkv_bias: qkv bias. Defaults to True.
        norm_cfg: norm layers. Defaults to ``dict(type='LN', eps=1e-6)``.
        final_norm: LayerNorm (``ln1``) after the last layer. Defaults to True.
        out_type: ``'cls_token'`` (B, C), ``'featmap'`` (B, C, h, w), ``'avg_featmap'`` (B, C) or ``'raw'``
            (B, L, C). Defaults to ``'cls_token'``; ViTPose uses ``'featmap'``.
        with_cls_token: prepend a class token. Defaults to True; ViTPose uses False.
        frozen_stages: freeze the embeddings and the first ``frozen_stages`` layers (> 0). Defaults to -1.
        interpolate_mode: position embedding resize mode. Defaults to ``'bicubic'``.
        layer_scale_init_value: LayerScale init (0 = none). Defaults to 0.
        patch_cfg: extra :class:`~posekit.models.utils.transformer.PatchEmbed` arguments (ViTPose:
            ``{'padding': 2}``).
        layer_cfgs: extra :class:`TransformerEncoderLayer` arguments (one dict for all, or one per layer).
        pre_norm: LayerNorm before the layers (CLIP style; disables the patch conv bias). Defaults to False.
        init_cfg: initialisation; ``dict(type='Pretrained', checkpoint=...)`` loads a local checkpoint.

    ``forward(x (B, 3, H, W)) -> tuple`` with one output per ``out_indices`` entry.
    """

    arch_zoo = {
        **dict.fromkeys(
            ["s", "small"], {"embed_dims": 768, "num_layers": 8, "num_heads": 8, "feedforward_channels": 768 * 3}
        ),
        **dict.fromkeys(
            ["b", "base"], {"embed_dims": 768, "num_layers": 12, "num_heads": 12, "feedforward_channels": 3072}
        ),
        **dict.fromkeys(
            ["l", "large"], {"embed_dims": 1024, "num_layers": 24, "num_heads": 16, "feedforward_channels": 4096}
        ),
        **dict.fromkeys(
            ["h", "huge"], {"embed_dims": 1280, "num_layers": 32, "num_heads": 16, "feedforward_channels": 5120}
        ),
        **dict.fromkeys(
            ["deit-t", "deit-tiny"],
            {"embed_dims": 192, "num_layers": 12, "num_heads": 3, "feedforward_channels": 192 * 4},
        ),
        **dict.fromkeys(
            ["deit-s", "deit-small"],
            {"embed_dims": 384, "num_layers": 12, "num_heads": 6, "feedforward_channels": 384 * 4},
        ),
        **dict.fromkeys(
            ["deit-b", "deit-base"],
            {"embed_dims": 768, "num_layers": 12, "num_heads": 12, "feedforward_channels": 768 * 4},
        ),
    }
    num_extra_tokens = 1  # class token
    OUT_TYPES = {"raw", "cls_token", "featmap", "avg_featmap"}

    def __init__(
        self,
        arch: str | dict = "base",
        img_size: int | Sequence[int] = 224,
        patch_size: int = 16,
        in_channels: int = 3,
        out_indices: int | Sequence[int] = -1,
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        qkv_bias: bool = True,
        norm_cfg: dict = {"type": "LN", "eps": 1e-6},  # noqa: B006 - mmpretrain's default, read-only
        final_norm: bool = True,
        out_type: str = "cls_token",
        with_cls_token: bool = True,
        frozen_stages: int = -1,
        interpolate_mode: str = "bicubic",
        layer_scale_init_value: float = 0.0,
        patch_cfg: dict = {},  # noqa: B006
        layer_cfgs: dict | Sequence[dict] = {},  # noqa: B006
        pre_norm: bool = False,
        init_cfg: dict | Sequence[dict] | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        arch = to_builtin(arch)
        if isinstance(arch, str):
            arch = arch.lower()
            if arch not in self.arch_zoo:
                raise ValueError(f"VisionTransformer: arch {arch!r} is not one of {sorted(self.arch_zoo)}")
            self.arch_settings = dict(self.arch_zoo[arch])
        else:
            essential = {"embed_dims", "num_layers", "num_heads", "feedforward_channels"}
            if not isinstance(arch, dict) or not essential <= set(arch):
                raise ValueError(f"VisionTransformer: a custom arch needs a dict with keys {sorted(essential)}")
            self.arch_settings = arch
        norm_cfg = to_builtin(norm_cfg)

        self.embed_dims = int(self.arch_settings["embed_dims"])
        self.num_layers = int(self.arch_settings["num_layers"])
        self.img_size = to_2tuple(to_builtin(img_size))

        _patch_cfg = {
            "in_channels": in_channels,
            "input_size": self.img_size,
            "embed_dims": self.embed_dims,
            "conv_type": "Conv2d",
            "kernel_size": patch_size,
            "stride": patch_size,
            "bias": not pre_norm,
        }
        _patch_cfg.update(to_builtin(patch_cfg) or {})
        self.patch_embed = PatchEmbed(**_patch_cfg)
        self.patch_resolution = self.patch_embed.init_out_size
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]

        if out_type not in self.OUT_TYPES:
            raise ValueError(f"VisionTransformer: unsupported out_type {out_type!r}; choose from {self.OUT_TYPES}")
        self.out_type = out_type

        self.with_cls_token = with_cls_token
        if with_cls_token:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        elif out_type != "cls_token":
            self.cls_token = None
            self.num_extra_tokens = 0
        else:
            raise ValueError('VisionTransformer: with_cls_token must be True when out_type="cls_token"')

        self.interpolate_mode = interpolate_mode
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + self.num_extra_tokens, self.embed_dims))
        self._register_load_state_dict_pre_hook(self._prepare_pos_embed)
        self.drop_after_pos = nn.Dropout(p=drop_rate)

        out_indices = [out_indices] if isinstance(out_indices, int) else list(to_builtin(out_indices))
        for i, index in enumerate(out_indices):
            if index < 0:
                out_indices[i] = self.num_layers + index
            if not 0 <= out_indices[i] <= self.num_layers:
                raise ValueError(f"VisionTransformer: invalid out_indices entry {index}")
        self.out_indices = out_indices

        dpr = np.linspace(0, drop_path_rate, self.num_layers)  # stochastic depth decay rule
        layer_cfgs = to_builtin(layer_cfgs)
        if isinstance(layer_cfgs, dict):
            layer_cfgs = [layer_cfgs] * self.num_layers
        self.layers = nn.ModuleList()
        for i in range(self.num_layers):
            _layer_cfg = {
                "embed_dims": self.embed_dims,
                "num_heads": self.arch_settings["num_heads"],
                "feedforward_channels": self.arch_settings["feedforward_channels"],
                "layer_scale_init_value": layer_scale_init_value,
                "drop_rate": drop_rate,
                "drop_path_rate": float(dpr[i]),
                "qkv_bias": qkv_bias,
                "norm_cfg": norm_cfg,
            }
            _layer_cfg.update(layer_cfgs[i])
            self.layers.append(TransformerEncoderLayer(**_layer_cfg))

        self.frozen_stages = frozen_stages
        self.pre_norm = _norm(norm_cfg, self.embed_dims) if pre_norm else nn.Identity()
        self.final_norm = final_norm
        if final_norm:
            self.ln1 = _norm(norm_cfg, self.embed_dims)
        if self.out_type == "avg_featmap":
            self.ln2 = _norm(norm_cfg, self.embed_dims)

        self.reset_parameters()
        self._freeze_stages()

    @property
    def norm1(self) -> nn.Module:
        return self.ln1

    @property
    def norm2(self) -> nn.Module:
        return self.ln2

    # ------------------------------------------------------------------------------------------------ init
    def _post_init(self, pretrained: bool) -> None:
        """mmpretrain's random init: FFN linears Xavier-uniform, ``pos_embed`` ~ TruncNormal(std 0.02)."""
        for layer in self.layers:
            layer.init_weights()
        if not pretrained and self.pos_embed is not None:
            nn.init.trunc_normal_(self.pos_embed, mean=0.0, std=0.02, a=-2.0, b=2.0)

    def init_weights(self) -> None:
        """Random init (:meth:`reset_parameters`), then any ``Pretrained`` ``init_cfg`` checkpoint, with its
        ``pos_embed`` fitted to this model by :meth:`prepare_state_dict` (a 14x14 + cls-token MAE checkpoint loads
        into ViTPose's 16x12 grid as in MMPose)."""
        self.reset_parameters()
        for cfg in self._init_cfg_list():
            if cfg["type"] != "Pretrained":
                continue
            if "checkpoint" not in cfg:
                raise KeyError("VisionTransformer: init_cfg of type 'Pretrained' needs a 'checkpoint' path")
            source = str(cfg["checkpoint"])
            state_dict = get_state_dict(load_checkpoint_file(source, cfg.get("map_location", "cpu")), source)
            state_dict = {k[len("module.") :] if k.startswith("module.") else k: v for k, v in state_dict.items()}
            prefix = cfg.get("prefix")
            if prefix:
                prefix = prefix if prefix.endswith(".") else prefix + "."
                state_dict = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
                if not state_dict:
                    raise KeyError(f"VisionTransformer: no entry of {source} starts with prefix {prefix!r}")
            self.prepare_state_dict(state_dict)
            load_state_dict(self, state_dict)

    def prepare_state_dict(self, state_dict: MutableMapping[str, torch.Tensor], prefix: str = "") -> None:
        """Make a checkpoint's ``{prefix}pos_embed`` fit this model, in place.

        A class-token entry this model does not use is dropped; a different token grid is resized with
        :func:`~posekit.models.utils.transformer.resize_pos_embed` (``interpolate_mode``). The checkpoint's grid is
        taken as square when its token count is a square, else as the factorisation closest to this model's
        aspect ratio (so a 16x12 ViTPose checkpoint resizes correctly to 24x18 and back).
        """
        name = prefix + "pos_embed"
        if name not in state_dict:
            return
        ckpt = state_dict[name]
        if ckpt.ndim != 3 or ckpt.shape[-1] != self.pos_embed.shape[-1]:
            return  # a different embedding width: leave it to the loader's shape check
        own_len = self.pos_embed.shape[1]
        length = ckpt.shape[1]
        if not self.with_cls_token and length != own_len:
            if length == own_len + 1 or (_is_square(length - 1) and not _is_square(length)):
                ckpt = ckpt[:, 1:]  # drop the class token this model does not use
                length -= 1
        if tuple(ckpt.shape) == tuple(self.pos_embed.shape):
            state_dict[name] = ckpt
            return
        src_grid = _grid_of(length - self.num_extra_tokens, prefer=self.patch_resolution)
        if src_grid is None:
            raise ValueError(
                f"VisionTransformer: cannot infer the token grid of a checkpoint pos_embed of shape {tuple(ckpt.shape)}"
            )
        logger.info(
            "Resize the pos_embed shape from %s to %s.", tuple(state_dict[name].shape), tuple(self.pos_embed.shape)
        )
        state_dict[name] = resize_pos_embed(
            ckpt, src_grid, self.patch_resolution, self.interpolate_mode, self.num_extra_tokens
        )

    def _prepare_pos_embed(self, state_dict: MutableMapping[str, torch.Tensor], prefix: str, *args: Any, **kw: Any):
        self.prepare_state_dict(state_dict, prefix)

    @staticmethod
    def resize_pos_embed(*args: Any, **kwargs: Any) -> torch.Tensor:
        """Interface for backward-compatibility (mmpretrain's)."""
        return resize_pos_embed(*args, **kwargs)

    # ------------------------------------------------------------------------------------------------ training
    def _freeze_stages(self) -> None:
        if self.frozen_stages is None or self.frozen_stages <= 0:
            return
        if self.pos_embed is not None:
            self.pos_embed.requires_grad = False
        self.drop_after_pos.eval()
        self._freeze_module(self.patch_embed)
        for param in self.pre_norm.parameters():
            param.requires_grad = False
        if self.cls_token is not None:
            self.cls_token.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            self._freeze_module(self.layers[i - 1])
        if self.frozen_stages == len(self.layers) and self.final_norm:
            self._freeze_module(self.ln1)

    # ------------------------------------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        b = x.shape[0]
        x, patch_resolution = self.patch_embed(x)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(b, -1, -1), x), dim=1)
        x = x + resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            patch_resolution,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens,
        )
        x = self.drop_after_pos(x)
        x = self.pre_norm(x)

        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == len(self.layers) - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, patch_resolution))
        return tuple(outs)

    def _format_output(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        if self.out_type == "raw":
            return x
        if self.out_type == "cls_token":
            return x[:, 0]
        patch_token = x[:, self.num_extra_tokens :]
        if self.out_type == "featmap":
            return patch_token.reshape(x.size(0), *hw, -1).permute(0, 3, 1, 2)
        return self.ln2(patch_token.mean(dim=1))  # avg_featmap

    def get_layer_depth(self, param_name: str, prefix: str = "") -> tuple[int, int]:
        """mmpretrain's layer-wise depth of a parameter: ``(depth, num_layers + 2)``.

        Embeddings (``cls_token``, ``pos_embed``, ``patch_embed``) are depth 0, ``layers.i`` is ``i + 1``, anything
        else (final norm, names outside ``prefix`` such as the head) is ``num_layers + 1``.
        """
        num_layers = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        param_name = param_name[len(prefix) :]
        if param_name in ("cls_token", "pos_embed") or param_name.startswith("patch_embed"):
            depth = 0
        elif param_name.startswith("layers"):
            depth = int(param_name.split(".")[1]) + 1
        else:
            depth = num_layers - 1
        return depth, num_layers


def _is_square(n: int) -> bool:
    return n > 0 and math.isqrt(n) ** 2 == n


def _grid_of(n: int, prefer: Sequence[int] | None = None) -> tuple[int, int] | None:
    """``(h, w)`` with ``h * w == n``: square if possible, else the factorisation closest to ``prefer``'s aspect."""
    if n <= 0:
        return None
    if _is_square(n):
        return math.isqrt(n), math.isqrt(n)
    if prefer is None:
        return None
    aspect = prefer[0] / prefer[1]
    best = None
    for h in range(1, n + 1):
        if n % h == 0:
            w = n // h
            score = abs(math.log((h / w) / aspect))
            if best is None or score < best[0]:
                best = (score, h, w)
    if best is None or best[1] == 1 or best[2] == 1:
        return None
    return best[1], best[2]
