"""RTMPose's head (MMPose's ``models/heads/coord_cls_heads/rtmcc_head.py``).

A large-kernel conv maps the last backbone feature map ``(B, C, h, w)`` to ``K`` keypoint maps, each flattened to a
token ``(B, K, h*w)``; a :class:`ScaleNorm` + linear embeds the tokens (``mlp``), a Gated Attention Unit mixes them
(``gau``), and two linears classify the x and y coordinates into SimCC bins (``cls_x``: ``W * split_ratio`` bins,
``cls_y``: ``H * split_ratio`` bins).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import torch
from torch import Tensor, nn

from posekit.models.utils.layers import init_from_cfg, to_builtin
from posekit.models.utils.rtmcc_block import RTMCCBlock
from posekit.models.utils.transformer import ScaleNorm

from .base_head import BaseHead
from .simcc_head import SimCCTrainingMixin, get_simcc_normalized

__all__ = ["RTMCCHead"]

_DEFAULT_GAU = MappingProxyType(
    {
        "hidden_dims": 256,
        "s": 128,
        "expansion_factor": 2,
        "dropout_rate": 0.0,
        "drop_path": 0.0,
        "act_fn": "ReLU",
        "use_rel_bias": False,
        "pos_enc": False,
    }
)
_DEFAULT_LOSS = MappingProxyType({"type": "KLDiscretLoss", "use_target_weight": True})


class RTMCCHead(SimCCTrainingMixin, BaseHead):
    """Top-down SimCC head of RTMPose: large-kernel conv, ScaleNorm + linear, GAU, x/y classifiers.

    Args:
        in_channels: channels of the input feature map (the last one of ``feats``).
        out_channels: number of keypoints ``K``.
        input_size: ``(w, h)`` of the input crops.
        in_featuremap_size: ``(w, h)`` of the input feature map (``input_size // 32`` for CSPNeXt).
        simcc_split_ratio: SimCC bins per pixel. Defaults to 2.0.
        final_layer_kernel_size: kernel of the first conv (``final_layer``; 7 in RTMPose). Defaults to 1.
        gau_cfg: the GAU's ``hidden_dims``, ``s``, ``expansion_factor``, ``dropout_rate``, ``drop_path``,
            ``act_fn``, ``use_rel_bias``, ``pos_enc`` (MMPose's defaults; RTMPose uses ``act_fn='SiLU'``).
        loss: the loss module, or its config (``_target_`` or MMPose ``type``). Defaults to
            ``KLDiscretLoss(use_target_weight=True)``.
        decoder: the SimCC codec (or its config) used by :meth:`predict`. Defaults to None.
        init_cfg: mmengine-style initialisation; ``None`` means MMPose's default (``Normal`` std 0.001 for
            convs, std 0.01 for linears, zero biases).

    ``forward(feats) -> (pred_x (B, K, Wx), pred_y (B, K, Wy))`` with ``Wx = int(w * ratio)``, ``Wy = int(h * ratio)``.
    State-dict keys: ``final_layer``, ``mlp.0.g``, ``mlp.1``, ``gau.*``, ``cls_x``, ``cls_y``.
    """

    _version = 2

    def __init__(
        self,
        in_channels: int | Sequence[int],
        out_channels: int,
        input_size: tuple[int, int],
        in_featuremap_size: tuple[int, int],
        simcc_split_ratio: float = 2.0,
        final_layer_kernel_size: int = 1,
        gau_cfg: Mapping[str, Any] = _DEFAULT_GAU,
        loss: Any = _DEFAULT_LOSS,
        decoder: Any = None,
        init_cfg: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(in_channels, (tuple, list)):
            raise ValueError(f"{type(self).__name__} does not support selecting multiple input features.")
        gau_cfg = {**_DEFAULT_GAU, **to_builtin(gau_cfg)}
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.input_size = tuple(int(v) for v in input_size)
        self.in_featuremap_size = tuple(int(v) for v in in_featuremap_size)
        self.simcc_split_ratio = float(simcc_split_ratio)
        self._set_loss_and_decoder(
            loss, decoder, to_builtin(init_cfg) if init_cfg is not None else self.default_init_cfg
        )

        flatten_dims = self.in_featuremap_size[0] * self.in_featuremap_size[1]
        self.final_layer = nn.Conv2d(
            self.in_channels,
            self.out_channels,
            kernel_size=final_layer_kernel_size,
            stride=1,
            padding=final_layer_kernel_size // 2,
        )
        self.mlp = nn.Sequential(ScaleNorm(flatten_dims), nn.Linear(flatten_dims, gau_cfg["hidden_dims"], bias=False))

        w = int(self.input_size[0] * self.simcc_split_ratio)
        h = int(self.input_size[1] * self.simcc_split_ratio)
        self.gau = RTMCCBlock(
            self.out_channels,
            gau_cfg["hidden_dims"],
            gau_cfg["hidden_dims"],
            s=gau_cfg["s"],
            expansion_factor=gau_cfg["expansion_factor"],
            dropout_rate=gau_cfg["dropout_rate"],
            drop_path=gau_cfg["drop_path"],
            attn_type="self-attn",
            act_fn=gau_cfg["act_fn"],
            use_rel_bias=gau_cfg["use_rel_bias"],
            pos_enc=gau_cfg["pos_enc"],
        )
        self.cls_x = nn.Linear(gau_cfg["hidden_dims"], w, bias=False)
        self.cls_y = nn.Linear(gau_cfg["hidden_dims"], h, bias=False)
        self.init_weights()

    @property
    def default_init_cfg(self) -> list[dict]:
        return [
            {"type": "Normal", "layer": ["Conv2d"], "std": 0.001},
            {"type": "Constant", "layer": "BatchNorm2d", "val": 1},
            {"type": "Normal", "layer": ["Linear"], "std": 0.01, "bias": 0},
        ]

    def init_weights(self) -> None:
        """MMPose's initialisation from ``init_cfg`` (applied at construction too)."""
        init_from_cfg(self, self.init_cfg)

    def forward(self, feats: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """``feats``: multi-scale maps, the last ``(B, C, h, w)`` is used -> ``(pred_x (B,K,Wx), pred_y (B,K,Wy))``."""
        x = feats[-1] if isinstance(feats, (list, tuple)) else feats
        if tuple(x.shape[-2:]) != (self.in_featuremap_size[1], self.in_featuremap_size[0]):
            raise ValueError(
                f"RTMCCHead: the feature map is {x.shape[-1]}x{x.shape[-2]} (w x h) but in_featuremap_size is "
                f"{self.in_featuremap_size[0]}x{self.in_featuremap_size[1]}; set in_featuremap_size to "
                "input_size // 32 (the backbone stride) for this input size"
            )
        x = self.final_layer(x)  # (B, K, h, w)
        x = torch.flatten(x, 2)  # (B, K, h*w)
        x = self.mlp(x)  # (B, K, hidden)
        x = self.gau(x)
        return self.cls_x(x), self.cls_y(x)

    def predict(self, feats: Any, batch: Any = None, test_cfg: Mapping[str, Any] | None = None):
        """Decoded keypoints ``(B, 1, K, 2)`` in crop (``input_size``) pixels and scores ``(B, 1, K)``.

        With ``test_cfg['flip_test']``, ``feats`` is ``[feats, feats_of_flipped_inputs]``: the flipped SimCC vectors
        are mirrored back with ``batch.flip_indices`` and averaged with the original ones before decoding. With
        ``test_cfg['output_heatmaps']`` a third element holds the normalised 1-D distributions and their outer
        product (``heatmaps`` (B, K, Wy, Wx), ``keypoint_x_labels`` (B, 1, K, Wx), ``keypoint_y_labels``), for display.
        """
        test_cfg = test_cfg or {}
        pred_x, pred_y = self.predict_vectors(feats, batch, test_cfg)

        keypoints, scores = self.decode((pred_x, pred_y))
        if test_cfg.get("output_heatmaps", False):
            pred_x = get_simcc_normalized(pred_x.detach())
            pred_y = get_simcc_normalized(pred_y.detach())
            heatmaps = torch.matmul(pred_y.unsqueeze(-1), pred_x.unsqueeze(-2))  # (B, K, Wy, Wx)
            return (
                keypoints,
                scores,
                {"heatmaps": heatmaps, "keypoint_x_labels": pred_x[:, None], "keypoint_y_labels": pred_y[:, None]},
            )
        return keypoints, scores
