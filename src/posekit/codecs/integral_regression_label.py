"""Integral regression labels (IPR / DSNT): a normalized heatmap plus a regression label per keypoint."""

from __future__ import annotations

import numpy as np
from torch import Tensor

from .base import BaseKeypointCodec
from .msra_heatmap import MSRAHeatmap
from .regression_label import RegressionLabel

__all__ = ["IntegralRegressionLabel"]


class IntegralRegressionLabel(BaseKeypointCodec):
    """Targets for integral regression (`Integral Human Pose Regression`, Sun et al. 2018): an MSRA heatmap
    (normalized to sum 1 with ``normalize``) for the heatmap loss and a :class:`RegressionLabel` target.

    Args:
        input_size: image (crop) size (w, h).
        heatmap_size: heatmap size (W, H).
        sigma: Gaussian sigma of the heatmap.
        unbiased: DARK heatmap encoding.
        blur_kernel_size: DARK modulation kernel (unused by decoding, which regresses).
        normalize: divide each heatmap by its sum.

    Encoded: ``keypoint_labels`` (N, K, 2), ``heatmaps`` (K, H, W), ``keypoint_weights`` (N, K) (the
    regression label's weights). Decoded like :class:`RegressionLabel`.
    """

    label_mapping_table = dict(keypoint_labels="keypoint_labels", keypoint_weights="keypoint_weights")
    field_mapping_table = dict(heatmaps="heatmaps")

    def __init__(
        self,
        input_size: tuple[int, int],
        heatmap_size: tuple[int, int],
        sigma: float,
        unbiased: bool = False,
        blur_kernel_size: int = 11,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        self.heatmap_codec = MSRAHeatmap(input_size, heatmap_size, sigma, unbiased, blur_kernel_size)
        self.keypoint_codec = RegressionLabel(input_size)
        self.normalize = normalize

    @property
    def input_size(self) -> tuple[int, int]:
        return self.heatmap_codec.input_size

    @property
    def heatmap_size(self) -> tuple[int, int]:
        return self.heatmap_codec.heatmap_size

    @property
    def sigma(self) -> float:
        return self.heatmap_codec.sigma

    def encode(self, keypoints: np.ndarray, keypoints_visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """keypoints (1, K, 2) in input pixels -> keypoint_labels (1, K, 2), heatmaps (K, H, W), weights (1, K)."""
        encoded_hm = self.heatmap_codec.encode(keypoints, keypoints_visible)
        encoded_kp = self.keypoint_codec.encode(keypoints, keypoints_visible)
        heatmaps = encoded_hm["heatmaps"]
        if self.normalize:
            heatmaps = heatmaps / (heatmaps.sum(axis=(-1, -2)).reshape(-1, 1, 1) + 1e-24)
        return dict(
            keypoint_labels=encoded_kp["keypoint_labels"],
            heatmaps=heatmaps,
            keypoint_weights=encoded_kp["keypoint_weights"],
        )

    def decode(self, encoded: np.ndarray | Tensor) -> tuple[np.ndarray | Tensor, np.ndarray | Tensor]:
        """Normalized coordinates (N, K, 2|4) numpy or (B, K, 2|4) tensor -> keypoints in input pixels, scores."""
        return self.keypoint_codec.decode(encoded)
