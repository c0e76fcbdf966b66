"""MSRA heatmaps (SimpleBaseline / HRNet), optionally unbiased (DARK)."""

from __future__ import annotations

import numpy as np
from torch import Tensor

from .base import BaseKeypointCodec, as_size, check_batched, is_tensor
from .utils.gaussian_heatmap import generate_gaussian_heatmaps, generate_unbiased_gaussian_heatmaps
from .utils.post_processing import get_heatmap_maximum
from .utils.refinement import refine_keypoints, refine_keypoints_dark
from .utils.torch_post_processing import get_heatmap_maximum_torch
from .utils.torch_refinement import refine_keypoints_dark_torch, refine_keypoints_torch

__all__ = ["MSRAHeatmap"]


class MSRAHeatmap(BaseKeypointCodec):
    """Keypoints as Gaussian heatmaps, the "MSRA" way (`Simple Baselines`, Xiao et al. 2018).

    Args:
        input_size: image (crop) size (w, h).
        heatmap_size: heatmap size (W, H).
        sigma: Gaussian sigma in heatmap pixels.
        unbiased: DARK encoding (sub-pixel Gaussian centre) and decoding (Taylor refinement).
        blur_kernel_size: odd kernel of DARK's heatmap modulation; sigma = 0.3 * ((ks - 1) * 0.5 - 1) + 0.8
            (11 <-> sigma 2, 17 <-> sigma 3).

    Encoded: ``heatmaps`` (K, H, W) float32, ``keypoint_weights`` (N, K) float32 (single instance, N = 1).
    Decoded: numpy (K, H, W) -> keypoints (1, K, 2), scores (1, K); torch (B, K, H, W) -> (B, 1, K, 2), (B, 1, K).
    """

    label_mapping_table = dict(keypoint_weights="keypoint_weights")
    field_mapping_table = dict(heatmaps="heatmaps")

    def __init__(
        self,
        input_size: tuple[int, int],
        heatmap_size: tuple[int, int],
        sigma: float,
        unbiased: bool = False,
        blur_kernel_size: int = 11,
    ) -> None:
        super().__init__()
        self.input_size = as_size(input_size, "input_size", "MSRAHeatmap")
        self.heatmap_size = as_size(heatmap_size, "heatmap_size", "MSRAHeatmap")
        self.sigma = sigma
        self.unbiased = unbiased
        self.blur_kernel_size = blur_kernel_size
        self.scale_factor = (np.array(self.input_size) / self.heatmap_size).astype(np.float32)

    def encode(self, keypoints: np.ndarray, keypoints_visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """keypoints (1, K, 2) in input pixels, keypoints_visible (1, K) -> heatmaps (K, H, W), weights (1, K)."""
        keypoints, keypoints_visible = self._check_encode_inputs(keypoints, keypoints_visible)
        self._check_single_instance(keypoints)
        generate = generate_unbiased_gaussian_heatmaps if self.unbiased else generate_gaussian_heatmaps
        heatmaps, keypoint_weights = generate(
            heatmap_size=self.heatmap_size,
            keypoints=keypoints / self.scale_factor,
            keypoints_visible=keypoints_visible,
            sigma=self.sigma,
        )
        return dict(heatmaps=heatmaps, keypoint_weights=keypoint_weights)

    def decode(self, encoded: np.ndarray | Tensor) -> tuple[np.ndarray | Tensor, np.ndarray | Tensor]:
        """Heatmaps (K, H, W) numpy or (B, K, H, W) tensor -> keypoints in input pixels and max scores."""
        if is_tensor(encoded):
            return self._decode_torch(encoded)
        heatmaps = np.array(encoded, copy=True)
        if heatmaps.ndim != 3:
            raise ValueError(f"MSRAHeatmap.decode: numpy heatmaps must be (K, H, W), got {heatmaps.shape}")
        keypoints, scores = get_heatmap_maximum(heatmaps)
        keypoints, scores = keypoints[None], scores[None]
        if self.unbiased:
            keypoints = refine_keypoints_dark(keypoints, heatmaps, blur_kernel_size=self.blur_kernel_size)
        else:
            keypoints = refine_keypoints(keypoints, heatmaps)
        return keypoints * self.scale_factor, scores

    def _decode_torch(self, heatmaps: Tensor) -> tuple[Tensor, Tensor]:
        heatmaps = check_batched("MSRAHeatmap.decode", heatmaps, 4, "(B, K, H, W)")
        keypoints, scores = get_heatmap_maximum_torch(heatmaps)
        if self.unbiased:
            keypoints = refine_keypoints_dark_torch(keypoints, heatmaps, self.blur_kernel_size)
        else:
            keypoints = refine_keypoints_torch(keypoints, heatmaps)
        scale = heatmaps.new_tensor(self.scale_factor)
        return (keypoints * scale)[:, None], scores[:, None]
