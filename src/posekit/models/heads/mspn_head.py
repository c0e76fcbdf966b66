"""``MSPNHead``: multi-stage, multi-unit heatmap head of MSPN and RSN (MMPose 1.3.2, same arguments and keys)."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import torch
from torch import Tensor, nn

from ..utils.layers import ConvModule, DepthwiseSeparableConvModule, to_builtin
from .base_head import BaseHead, match_dtype
from .cpm_head import build_stage_losses, flip_test_heatmaps, last_stage_accuracy

__all__ = ["MSPNHead", "PRM", "PredictHeatmap"]

_DEFAULT_LOSS = MappingProxyType({"type": "KeypointMSELoss", "use_target_weight": True})


class PRM(nn.Module):
    """Pose refine machine: ``out * (1 + channel_attention * spatial_attention)`` after a 3x3 conv.

    Args:
        out_channels: channels (K).
        norm_cfg: norm layer config of the convs (the linear path always uses ``BN1d``).
    """

    def __init__(self, out_channels: int, norm_cfg: dict | None = None):
        super().__init__()
        norm_cfg = dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)
        c = out_channels
        self.out_channels = c
        self.global_pooling = nn.AdaptiveAvgPool2d((1, 1))
        self.middle_path = nn.Sequential(
            nn.Linear(c, c), nn.BatchNorm1d(c), nn.ReLU(), nn.Linear(c, c), nn.BatchNorm1d(c), nn.ReLU(), nn.Sigmoid()
        )
        self.bottom_path = nn.Sequential(
            ConvModule(c, c, kernel_size=1, stride=1, padding=0, norm_cfg=norm_cfg, inplace=False),
            DepthwiseSeparableConvModule(c, 1, kernel_size=9, stride=1, padding=4, norm_cfg=norm_cfg, inplace=False),
            nn.Sigmoid(),
        )
        self.conv_bn_relu_prm_1 = ConvModule(c, c, kernel_size=3, stride=1, padding=1, norm_cfg=norm_cfg, inplace=False)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv_bn_relu_prm_1(x)
        channel = self.middle_path(self.global_pooling(out).flatten(1))[:, :, None, None]
        spatial = self.bottom_path(out)
        return out * (1 + channel * spatial)


class PredictHeatmap(nn.Module):
    """One output: 1x1 + 3x3 ``ConvModule`` s (``conv_layers``) to K maps, bilinear resize to ``out_shape``,
    optional :class:`PRM`.

    Args:
        unit_channels: input channels.
        out_channels: heatmaps (K).
        out_shape: ``(H, W)`` of the heatmaps.
        use_prm: refine with a :class:`PRM` (``prm``).
        norm_cfg: norm layer config.
    """

    def __init__(
        self,
        unit_channels: int,
        out_channels: int,
        out_shape: tuple[int, int],
        use_prm: bool = False,
        norm_cfg: dict | None = None,
    ):
        super().__init__()
        norm_cfg = dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)
        self.unit_channels = unit_channels
        self.out_channels = out_channels
        self.out_shape = tuple(out_shape)
        self.use_prm = use_prm
        if use_prm:
            self.prm = PRM(out_channels, norm_cfg=norm_cfg)
        self.conv_layers = nn.Sequential(
            ConvModule(unit_channels, unit_channels, 1, stride=1, padding=0, norm_cfg=norm_cfg, inplace=False),
            ConvModule(
                unit_channels, out_channels, 3, stride=1, padding=1, norm_cfg=norm_cfg, act_cfg=None, inplace=False
            ),
        )

    def forward(self, feature: Tensor) -> Tensor:
        out = nn.functional.interpolate(
            self.conv_layers(feature), size=self.out_shape, mode="bilinear", align_corners=True
        )
        return self.prm(out) if self.use_prm else out


class MSPNHead(BaseHead):
    """Multi-stage multi-unit head of `MSPN <https://arxiv.org/abs/1901.00148>`_ and
    `RSN <https://arxiv.org/abs/2003.04030>`_: one :class:`PredictHeatmap` per (stage, unit) output.

    Args:
        num_stages: backbone stages.
        num_units: outputs per stage.
        out_shape: ``(H, W)`` of the heatmaps.
        unit_channels: channels of the backbone's outputs.
        out_channels: heatmaps (K).
        use_prm: refine every output with a :class:`PRM`.
        norm_cfg: norm layer config.
        level_indices: for each of the ``num_stages * num_units`` outputs, the target level (index into the
            multilevel targets of ``GenerateTarget(multilevel=True)``) it is trained against.
        loss: one loss config for all outputs, or a list of ``num_stages * num_units`` configs (MMPose's configs:
            MSE with weight 0.25 for the coarse units, OHKM MSE for the finest).
        decoder: the codec used by ``predict`` (the finest level's).
        init_cfg: unused (MMPose compatibility); convs get PyTorch's default init.

    Targets (``PackPoseInputs`` + collate of multilevel ``GenerateTarget``): ``heatmaps`` ``(B, L, K, H, W)`` and
    ``keypoint_weights`` ``(B, L, K)``. ``forward(feats)`` returns the ``num_stages * num_units`` heatmaps
    ``(B, K, H, W)``, stage-major; ``predict`` decodes the last one.
    """

    _version = 2

    def __init__(
        self,
        num_stages: int = 4,
        num_units: int = 4,
        out_shape: tuple[int, int] = (64, 48),
        unit_channels: int = 256,
        out_channels: int = 17,
        use_prm: bool = False,
        norm_cfg: dict | None = None,
        level_indices: Sequence[int] = (),
        loss: Any = _DEFAULT_LOSS,
        decoder: Any = None,
        init_cfg: Any = None,
    ):
        super().__init__()
        self.init_cfg = init_cfg
        self.num_stages = num_stages
        self.num_units = num_units
        self.out_shape = tuple(out_shape)
        self.unit_channels = unit_channels
        self.out_channels = out_channels
        level_indices = list(level_indices)
        if len(level_indices) != num_stages * num_units:
            raise ValueError(
                f"The length of level_indices({len(level_indices)}) did not match `num_stages`({num_stages}) * "
                f"`num_units`({num_units})"
            )
        self.level_indices = level_indices
        self.loss_module = build_stage_losses(self, loss, num_stages * num_units, "`num_stages` * `num_units`")
        self.decoder = self.build_decoder(decoder)
        norm_cfg = dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)
        self.predict_layers = nn.ModuleList(
            PredictHeatmap(unit_channels, out_channels, self.out_shape, use_prm, norm_cfg=norm_cfg)
            for _ in range(num_stages * num_units)
        )
        self.init_weights()

    def init_weights(self) -> None:
        """MMPose's default: Kaiming (fan_out, normal) convs, Normal(0.01) linears, ones for BatchNorm2d."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, feats: Sequence[Sequence[Tensor]]) -> list[Tensor]:
        """Heatmaps of every (stage, unit), stage-major, from ``num_stages`` lists of ``num_units`` maps."""
        if len(feats) != self.num_stages:
            raise ValueError(f"MSPNHead: got {len(feats)} stages of features, `num_stages` is {self.num_stages}")
        for feat in feats:
            if len(feat) != self.num_units:
                raise ValueError(f"MSPNHead: got {len(feat)} unit features, `num_units` is {self.num_units}")
            for f in feat:
                if f.shape[1] != self.unit_channels:
                    raise ValueError(
                        f"MSPNHead: a feature map has {f.shape[1]} channels, `unit_channels` is {self.unit_channels}"
                    )
        layers = iter(self.predict_layers)
        return [next(layers)(f) for feat in feats for f in feat]

    def predict(self, feats: Any, batch: Any = None, test_cfg: dict | None = None):
        """Decode the last output (flip test as MMPose). Returns ``(keypoints (B, 1, K, 2), scores (B, 1, K))``
        in crop pixels, plus ``{'heatmaps': ...}`` with ``test_cfg['output_heatmaps']``."""
        test_cfg = test_cfg or {}
        heatmaps = flip_test_heatmaps(self, feats, batch, test_cfg)
        keypoints, scores = self.decode(heatmaps)
        if test_cfg.get("output_heatmaps", False):
            return keypoints, scores, {"heatmaps": heatmaps.detach()}
        return keypoints, scores

    def loss(self, feats: Sequence[Sequence[Tensor]], batch: Any, train_cfg: dict | None = None) -> dict[str, Tensor]:
        """``loss_kpt``: sum over outputs ``i`` of ``loss_i(pred_i, heatmaps[:, level_i], keypoint_weights[:,
        level_i])``; ``acc_pose``: PCK of the last output against its level, masked by the last level's weights."""
        train_cfg = train_cfg or {}
        preds = self.forward(feats)
        gt_all = self.get_target(batch, "heatmaps")
        weights = self.get_target(batch, "keypoint_weights")
        if gt_all.ndim != 5 or weights.ndim != 3:
            raise ValueError(
                f"MSPNHead needs multilevel targets: heatmaps (B, L, K, H, W) and keypoint_weights (B, L, K), got "
                f"{tuple(gt_all.shape)} and {tuple(weights.shape)}; use GenerateTarget(multilevel=True, encoder=[...])"
            )
        gt_all, weights = match_dtype(gt_all, preds[-1]), match_dtype(weights, preds[-1])
        loss_kpt = torch.zeros((), device=preds[-1].device, dtype=preds[-1].dtype)
        for i, (pred, level) in enumerate(zip(preds, self.level_indices)):
            loss_fn = self.loss_module[i] if isinstance(self.loss_module, nn.ModuleList) else self.loss_module
            loss_kpt = loss_kpt + loss_fn(pred, gt_all[:, level], weights[:, level])
        losses = {"loss_kpt": loss_kpt}
        if train_cfg.get("compute_acc", True):
            losses["acc_pose"] = last_stage_accuracy(preds[-1], gt_all[:, self.level_indices[-1]], weights[:, -1])
        return losses
