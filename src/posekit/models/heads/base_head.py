"""Common base of the top-down heads: decoding with the owned codec, batch access helpers and ``acc_pose``.

Head API (see ``docs/CONTRACTS.md``):

* ``forward(feats: tuple[Tensor]) -> Tensor | tuple`` -- raw outputs (what ONNX export sees);
* ``loss(feats, batch: PoseBatch, train_cfg={}) -> dict`` -- ``loss_kpt`` and ``acc_pose`` (tensors);
* ``predict(feats, batch, test_cfg={}) -> (keypoints (B, 1, K, 2), scores (B, 1, K))`` in crop pixels; with
  ``test_cfg['flip_test']`` ``feats`` is ``[feats, feats_of_flipped_inputs]``; with
  ``test_cfg['output_heatmaps']`` a third element, a dict (``heatmaps`` ...), is returned.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from posekit.evaluation.functional import keypoint_pck_accuracy

from ..builder import build_object

__all__ = ["BaseHead", "to_numpy_once", "heatmap_maximum", "simcc_maximum", "match_dtype"]


def to_numpy_once(*tensors: Tensor) -> list[np.ndarray]:
    """Copy several tensors to numpy (float32) with a single device->host transfer."""
    if not tensors:
        return []
    flat = torch.cat([t.detach().reshape(-1).to(torch.float32) for t in tensors])
    arr = flat.cpu().numpy()
    out, offset = [], 0
    for t in tensors:
        n = t.numel()
        out.append(arr[offset : offset + n].reshape(tuple(t.shape)))
        offset += n
    return out


def heatmap_maximum(heatmaps: Tensor) -> Tensor:
    """Arg-max locations ``(B, K, 2)`` (x, y) of heatmaps ``(B, K, H, W)``, -1 where the maximum is <= 0.

    Same result as MMPose's ``get_heatmap_maximum`` (first maximum wins), computed on the tensor's device.
    """
    w = heatmaps.shape[-1]
    vals, idx = heatmaps.detach().flatten(2).max(dim=-1)
    locs = torch.stack((idx % w, torch.div(idx, w, rounding_mode="floor")), dim=-1).to(torch.float32)
    return torch.where((vals <= 0)[..., None], torch.full_like(locs, -1.0), locs)


def simcc_maximum(simcc_x: Tensor, simcc_y: Tensor) -> Tensor:
    """Arg-max bins ``(B, K, 2)`` of SimCC vectors, -1 where ``min(max_x, max_y) <= 0`` (MMPose's rule)."""
    vx, ix = simcc_x.detach().max(dim=-1)
    vy, iy = simcc_y.detach().max(dim=-1)
    locs = torch.stack((ix, iy), dim=-1).to(torch.float32)
    vals = torch.minimum(vx, vy)
    return torch.where((vals <= 0)[..., None], torch.full_like(locs, -1.0), locs)


def match_dtype(target: Tensor, ref: Tensor) -> Tensor:
    """``target`` cast for a loss against ``ref``: float32 under autocast (losses run in float32 there),
    else ``ref``'s dtype."""
    if torch.is_autocast_enabled(ref.device.type):
        return target.to(torch.float32)
    return target.to(ref.dtype)


class BaseHead(nn.Module):
    """Base class of posekit's heads (MMPose's ``BaseHead`` without the registry).

    Subclasses set ``self.loss_module`` and ``self.decoder`` (a codec, possibly ``None``) and implement
    ``forward``, ``loss`` and ``predict``.
    """

    _version = 2

    # ---- building ----------------------------------------------------------------------------------------
    @staticmethod
    def build_loss(loss: Any) -> nn.Module:
        """A loss module from an instance or a config (``_target_`` or MMPose ``type``)."""
        module = build_object(loss, what="loss")
        if module is None:
            raise ValueError("a head needs a loss (got None)")
        return module

    @staticmethod
    def build_decoder(decoder: Any) -> Any:
        """A codec from an instance, a config (``_target_`` or ``type``) or ``None``."""
        return build_object(decoder, what="decoder")

    def _set_loss_and_decoder(self, loss: Any, decoder: Any, init_cfg: Any) -> None:
        """``init_cfg``, ``loss_module`` and ``decoder`` (in this order, MMPose's module layout), as every head."""
        self.init_cfg = init_cfg
        self.loss_module = self.build_loss(loss)
        self.decoder = self.build_decoder(decoder)

    def _require_single_input(self, in_channels: Any) -> None:
        """Heads that read one feature map take an ``int`` ``in_channels``."""
        if not isinstance(in_channels, int):
            raise ValueError(f"{self.__class__.__name__} does not support selecting multiple input features.")

    def init_weights(self) -> None:
        """Re-initialise the head's parameters as MMPose's default ``init_cfg`` does."""

    # ---- decoding ----------------------------------------------------------------------------------------
    def decode(self, batch_outputs: Tensor | tuple[Tensor, ...]) -> tuple[Tensor, Tensor]:
        """Decode raw outputs on their device with ``self.decoder``.

        Returns ``(keypoints (B, 1, K, 2), scores (B, 1, K))`` in crop (input_size) pixels.
        """
        if self.decoder is None:
            raise RuntimeError(
                f"The decoder has not been set in {self.__class__.__name__}. Please set the decoder configs in the "
                "init parameters to enable head methods `head.predict()` and `head.decode()`"
            )
        if isinstance(batch_outputs, tuple):
            keypoints, scores = self.decoder.decode(*batch_outputs)
        else:
            keypoints, scores = self.decoder.decode(batch_outputs)
        if isinstance(scores, tuple):  # (scores, visibility) from visibility-aware codecs
            scores = scores[0]
        return keypoints, scores

    # ---- batch access ------------------------------------------------------------------------------------
    @staticmethod
    def get_target(batch: Any, key: str) -> Tensor:
        """``batch.targets[key]``, with an error that says which codec produces it."""
        targets = getattr(batch, "targets", None)
        if targets is None or key not in targets:
            have = sorted(targets) if targets is not None else []
            raise KeyError(
                f"the batch has no target {key!r} (it has {have}); the data pipeline's GenerateTarget codec must "
                "produce it (heatmap heads need a heatmap codec, SimCC heads SimCCLabel, regression heads "
                "RegressionLabel/IntegralRegressionLabel)"
            )
        return targets[key]

    @staticmethod
    def get_flip_indices(batch: Any) -> list[int]:
        """The batch's ``flip_indices`` (from its metas); required by flip test."""
        fi = getattr(batch, "flip_indices", None) if batch is not None else None
        if fi is None:
            raise ValueError(
                "flip test needs `flip_indices` in the batch metas (set by the dataset metainfo); "
                "or disable it with test_cfg.flip_test=false"
            )
        return list(fi)

    @staticmethod
    def get_input_size(batch: Any) -> tuple[int, int]:
        """Crop size ``(w, h)``: the metas' ``input_size`` or the inputs' shape."""
        metas = getattr(batch, "metas", None)
        if metas:
            size = metas[0].get("input_size")
            if size is not None:
                return int(size[0]), int(size[1])
        return batch.input_size

    # ---- accuracy ----------------------------------------------------------------------------------------
    @staticmethod
    def pck_accuracy(pred: Tensor, gt: Tensor, mask: Tensor, norm_factor: Any) -> Tensor:
        """MMPose's ``keypoint_pck_accuracy(pred, gt, mask > 0, thr=0.05, norm_factor)`` average, as a tensor on
        ``pred``'s device, with one device->host copy.

        Args:
            pred, gt: ``(B, K, 2)`` locations.
            mask: ``(B, K)`` weights (positive = valid).
            norm_factor: host array-like ``(2,)`` shared by the batch (its dtype is kept, as in MMPose) or ``(B, 2)``.
        """
        b = pred.shape[0]
        norm = np.asarray(norm_factor)
        if norm.ndim == 1:
            norm = np.tile(norm[None], (b, 1))
        p, g, m = to_numpy_once(pred, gt, mask)
        _, avg_acc, _ = keypoint_pck_accuracy(p, g, m > 0, 0.05, norm)
        return torch.tensor(float(avg_acc), device=pred.device)
