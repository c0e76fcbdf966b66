"""``CPMHead``: multi-stage heatmap head of CPM and Stacked Hourglass (MMPose 1.3.2, same arguments and keys)."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from torch import Tensor, nn

from .base_head import BaseHead, heatmap_maximum, match_dtype
from .heatmap_head import init_conv_bn, make_deconv_layers, make_final_layer
from .tta import average_flip_heatmaps

__all__ = ["CPMHead", "build_stage_losses", "last_stage_accuracy", "flip_test_heatmaps"]

_DEFAULT_LOSS = MappingProxyType({"type": "KeypointMSELoss", "use_target_weight": True})
_DEFAULT_FINAL_LAYER = MappingProxyType({"kernel_size": 1})


def build_stage_losses(head: BaseHead, loss: Any, num_losses: int, what: str) -> nn.Module:
    """One loss shared by every output, or (a list) one per output in an ``nn.ModuleList`` (MMPose's layout)."""
    if isinstance(loss, (list, tuple)):
        if len(loss) != num_losses:
            raise ValueError(f"The length of loss_module({len(loss)}) did not match {what}({num_losses})")
        return nn.ModuleList(head.build_loss(c) for c in loss)
    return head.build_loss(loss)


def last_stage_accuracy(pred: Tensor, gt: Tensor, keypoint_weights: Tensor) -> Tensor:
    """MMPose's ``pose_pck_accuracy``: PCK@0.05 of the arg-max of ``(B, K, H, W)`` maps, normalised by ``[H, W]``."""
    h, w = pred.shape[-2:]
    return BaseHead.pck_accuracy(heatmap_maximum(pred), heatmap_maximum(gt), keypoint_weights, [h, w])


def flip_test_heatmaps(head: BaseHead, feats: Any, batch: Any, test_cfg: dict) -> Tensor:
    """The last output of ``head.forward`` on the features, averaged with its flip-test twin when
    ``test_cfg['flip_test']`` (``feats`` is then ``[feats, feats_of_flipped_inputs]``)."""
    if not test_cfg.get("flip_test", False):
        return head.forward(feats)[-1]
    if not (isinstance(feats, (list, tuple)) and len(feats) == 2):
        raise ValueError(f"{type(head).__name__}.predict with flip_test needs [feats, feats_flip]")
    _feats, _feats_flip = feats
    return average_flip_heatmaps(
        head.forward(_feats)[-1],
        head.forward(_feats_flip)[-1],
        flip_indices=head.get_flip_indices(batch),
        flip_mode=test_cfg.get("flip_mode", "heatmap"),
        shift_heatmap=test_cfg.get("shift_heatmap", False),
    )


class CPMHead(BaseHead):
    """Multi-stage heatmap head of `Convolutional Pose Machines <https://arxiv.org/abs/1602.00134>`_ and
    `Stacked Hourglass Networks <https://arxiv.org/abs/1603.06937>`_: per stage, optional deconv layers and a
    final conv.

    Args:
        in_channels: channels of each stage's feature map.
        out_channels: heatmaps per stage (K).
        num_stages: stages (the backbone must return as many maps).
        deconv_out_channels: output channels of each deconv layer (``None``: no deconv).
        deconv_kernel_sizes: kernel size (4, 3 or 2) of each deconv layer.
        final_layer: kwargs of the final ``Conv2d`` (``None``: identity, the stage maps are the heatmaps).
        loss: one loss config for all stages, or a list of ``num_stages`` configs.
        decoder: the codec used by ``predict``.
        init_cfg: unused (MMPose compatibility); the default init (Normal(0.001) convs) is applied at construction.

    ``forward(feats)`` returns a list of ``num_stages`` heatmaps ``(B, K, H, W)``; ``loss`` sums the stages'
    losses against the same target; ``predict`` decodes the last stage. State-dict keys:
    ``multi_deconv_layers.{i}.*``, ``multi_final_layers.{i}.{weight,bias}``, ``loss_module[.{i}].*``.
    """

    _version = 2

    def __init__(
        self,
        in_channels: int | Sequence[int],
        out_channels: int,
        num_stages: int,
        deconv_out_channels: Sequence[int] | None = None,
        deconv_kernel_sizes: Sequence[int] | None = None,
        final_layer: Any = _DEFAULT_FINAL_LAYER,
        loss: Any = _DEFAULT_LOSS,
        decoder: Any = None,
        init_cfg: Any = None,
    ):
        super().__init__()
        self.init_cfg = init_cfg
        self.num_stages = num_stages
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.loss_module = build_stage_losses(self, loss, num_stages, "`num_stages`")
        self.decoder = self.build_decoder(decoder)

        if deconv_out_channels:
            if deconv_kernel_sizes is None or len(deconv_out_channels) != len(deconv_kernel_sizes):
                raise ValueError(
                    '"deconv_out_channels" and "deconv_kernel_sizes" should be integer sequences with the same '
                    f"length. Got mismatched lengths {deconv_out_channels} and {deconv_kernel_sizes}"
                )
            self.multi_deconv_layers = nn.ModuleList(
                make_deconv_layers(in_channels, deconv_out_channels, deconv_kernel_sizes, owner="CPMHead")
                for _ in range(num_stages)
            )
            in_channels = deconv_out_channels[-1]
        else:
            self.multi_deconv_layers = nn.ModuleList(nn.Identity() for _ in range(num_stages))
        self.multi_final_layers = nn.ModuleList(
            make_final_layer(in_channels, out_channels, final_layer) for _ in range(num_stages)
        )
        self.init_weights()

    def init_weights(self) -> None:
        """``Normal(std=0.001)`` for (de)convolutions, ``Constant(1)`` for BatchNorm."""
        init_conv_bn(self)

    def _stage_loss(self, i: int) -> nn.Module:
        return self.loss_module[i] if isinstance(self.loss_module, nn.ModuleList) else self.loss_module

    def forward(self, feats: Sequence[Tensor]) -> list[Tensor]:
        """``num_stages`` heatmaps ``(B, K, H, W)`` from the ``num_stages`` feature maps."""
        if len(feats) != self.num_stages:
            raise ValueError(
                f"The length of feature maps ({len(feats)}) did not match the `num_stages` ({self.num_stages}) in "
                "CPMHead"
            )
        return [final(deconv(f)) for f, deconv, final in zip(feats, self.multi_deconv_layers, self.multi_final_layers)]

    def predict(self, feats: Any, batch: Any = None, test_cfg: dict | None = None):
        """Decode the last stage's heatmaps (flip test as MMPose). Returns ``(keypoints (B, 1, K, 2), scores
        (B, 1, K))`` in crop pixels, plus ``{'heatmaps': ...}`` with ``test_cfg['output_heatmaps']``."""
        test_cfg = test_cfg or {}
        heatmaps = flip_test_heatmaps(self, feats, batch, test_cfg)
        keypoints, scores = self.decode(heatmaps)
        if test_cfg.get("output_heatmaps", False):
            return keypoints, scores, {"heatmaps": heatmaps.detach()}
        return keypoints, scores

    def loss(self, feats: Sequence[Tensor], batch: Any, train_cfg: dict | None = None) -> dict[str, Tensor]:
        """``loss_kpt``: the sum over stages of the loss against ``heatmaps`` ``(B, K, H, W)`` with
        ``keypoint_weights`` ``(B, K)``; ``acc_pose``: PCK of the last stage."""
        train_cfg = train_cfg or {}
        preds = self.forward(feats)
        gt = match_dtype(self.get_target(batch, "heatmaps"), preds[-1])
        weights = match_dtype(self.get_target(batch, "keypoint_weights"), preds[-1])
        loss_kpt = sum(self._stage_loss(i)(pred, gt, weights) for i, pred in enumerate(preds))
        losses = {"loss_kpt": loss_kpt}
        if train_cfg.get("compute_acc", True):
            losses["acc_pose"] = last_stage_accuracy(preds[-1], gt, weights)
        return losses
