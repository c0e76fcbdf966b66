"""UDP heatmaps (Unbiased Data Processing): Gaussian or combined (label disc + offsets) targets."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import Tensor

from .base import BaseKeypointCodec, as_size, check_batched, is_tensor
from .utils.gaussian_heatmap import generate_udp_gaussian_heatmaps
from .utils.offset_heatmap import generate_offset_heatmap
from .utils.post_processing import get_heatmap_maximum
from .utils.refinement import refine_keypoints_dark_udp
from .utils.torch_post_processing import gaussian_blur_reflect_torch, get_heatmap_maximum_torch
from .utils.torch_refinement import refine_keypoints_dark_udp_torch

__all__ = ["UDPHeatmap"]


class UDPHeatmap(BaseKeypointCodec):
    """Keypoint heatmaps with UDP (`The Devil is in the Details`, Huang et al. 2020).

    Encoding puts input pixel ``p`` at heatmap position ``p * (heatmap_size - 1) / (input_size - 1)`` (corners
    aligned); decoding maps back with ``input_size / (heatmap_size - 1)`` exactly as MMPose 1.3 does (so a round
    trip scales by ``input_size / (input_size - 1)``, ~0.5 %).

    Args:
        input_size: image (crop) size (w, h).
        heatmap_size: heatmap size (W, H).
        heatmap_type: ``'gaussian'`` (K maps) or ``'combined'`` (3K maps: label disc, x offset, y offset).
        sigma: Gaussian sigma (``'gaussian'``).
        radius_factor: disc radius ``r = radius_factor * max(W, H)`` (``'combined'``).
        blur_kernel_size: DARK modulation kernel (``'gaussian'``); ``'combined'`` blurs the label maps with
            ``2 * blur_kernel_size + 1``.

    Encoded: ``heatmaps`` (K or 3K, H, W) float32, ``keypoint_weights`` (1, K).
    Decoded: numpy (C, H, W) -> (1, K, 2), (1, K); torch (B, C, H, W) -> (B, 1, K, 2), (B, 1, K).
    """

    label_mapping_table = dict(keypoint_weights="keypoint_weights")
    field_mapping_table = dict(heatmaps="heatmaps")

    def __init__(
        self,
        input_size: tuple[int, int],
        heatmap_size: tuple[int, int],
        heatmap_type: str = "gaussian",
        sigma: float = 2.0,
        radius_factor: float = 0.0546875,
        blur_kernel_size: int = 11,
    ) -> None:
        super().__init__()
        self.input_size = as_size(input_size, "input_size", "UDPHeatmap")
        self.heatmap_size = as_size(heatmap_size, "heatmap_size", "UDPHeatmap")
        self.sigma = sigma
        self.radius_factor = radius_factor
        self.heatmap_type = heatmap_type
        self.blur_kernel_size = blur_kernel_size
        self.scale_factor = ((np.array(self.input_size) - 1) / (np.array(self.heatmap_size) - 1)).astype(np.float32)
        if self.heatmap_type not in {"gaussian", "combined"}:
            raise ValueError(
                f"{self.__class__.__name__} got invalid `heatmap_type` value {self.heatmap_type}. "
                'Should be one of {"gaussian", "combined"}'
            )

    def encode(self, keypoints: np.ndarray, keypoints_visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """keypoints (1, K, 2) in input pixels -> heatmaps (K or 3K, H, W), keypoint_weights (1, K)."""
        keypoints, keypoints_visible = self._check_encode_inputs(keypoints, keypoints_visible)
        self._check_single_instance(keypoints)
        if self.heatmap_type == "gaussian":
            heatmaps, keypoint_weights = generate_udp_gaussian_heatmaps(
                heatmap_size=self.heatmap_size,
                keypoints=keypoints / self.scale_factor,
                keypoints_visible=keypoints_visible,
                sigma=self.sigma,
            )
        else:
            heatmaps, keypoint_weights = generate_offset_heatmap(
                heatmap_size=self.heatmap_size,
                keypoints=keypoints / self.scale_factor,
                keypoints_visible=keypoints_visible,
                radius_factor=self.radius_factor,
            )
        return dict(heatmaps=heatmaps, keypoint_weights=keypoint_weights)

    # ------------------------------------------------------------------------------------------------ decode
    def decode(self, encoded: np.ndarray | Tensor) -> tuple[np.ndarray | Tensor, np.ndarray | Tensor]:
        """Heatmaps (C, H, W) numpy or (B, C, H, W) tensor -> keypoints in input pixels and scores."""
        if is_tensor(encoded):
            return self._decode_torch(encoded)
        heatmaps = np.array(encoded, copy=True)
        if heatmaps.ndim != 3:
            raise ValueError(f"UDPHeatmap.decode: numpy heatmaps must be (C, H, W), got {heatmaps.shape}")
        if self.heatmap_type == "gaussian":
            keypoints, scores = get_heatmap_maximum(heatmaps)
            keypoints = refine_keypoints_dark_udp(keypoints[None], heatmaps, blur_kernel_size=self.blur_kernel_size)
            scores = scores[None]
        else:
            keypoints, scores = self._decode_combined_numpy(heatmaps)
        W, H = self.heatmap_size
        return keypoints / [W - 1, H - 1] * self.input_size, scores

    def _check_combined(self, channels: int) -> int:
        if channels % 3:
            raise ValueError(f"UDPHeatmap(heatmap_type='combined') needs 3 maps per keypoint, got {channels} maps")
        return channels // 3

    def _decode_combined_numpy(self, heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        C, H, W = heatmaps.shape
        K = self._check_combined(C)
        ks = 2 * self.blur_kernel_size + 1
        labels = np.ascontiguousarray(heatmaps[::3].transpose(1, 2, 0))  # (H, W, K): one OpenCV call
        labels = cv2.GaussianBlur(labels, (ks, ks), 0).reshape(H, W, K).transpose(2, 0, 1)
        radius = self.radius_factor * max(W, H)
        keypoints, scores = get_heatmap_maximum(np.ascontiguousarray(labels))
        index = (keypoints[..., 0] + keypoints[..., 1] * W + W * H * np.arange(K)).astype(int)
        offsets = np.stack((heatmaps[1::3].reshape(-1), heatmaps[2::3].reshape(-1)), axis=-1) * radius
        keypoints = keypoints + np.take(offsets, index, axis=0, mode="wrap")
        return keypoints[None].astype(np.float32), scores[None]

    def _decode_torch(self, heatmaps: Tensor) -> tuple[Tensor, Tensor]:
        heatmaps = check_batched("UDPHeatmap.decode", heatmaps, 4, "(B, C, H, W)")
        B, C, H, W = heatmaps.shape
        if self.heatmap_type == "gaussian":
            keypoints, scores = get_heatmap_maximum_torch(heatmaps)
            keypoints = refine_keypoints_dark_udp_torch(keypoints, heatmaps, self.blur_kernel_size, scores)
        else:
            K = self._check_combined(C)
            labels = gaussian_blur_reflect_torch(heatmaps[:, ::3], 2 * self.blur_kernel_size + 1)
            keypoints, scores = get_heatmap_maximum_torch(labels)
            radius = self.radius_factor * max(W, H)
            k_offset = torch.arange(K, device=heatmaps.device) * (W * H)
            index = (keypoints[..., 0] + keypoints[..., 1] * W).long() + k_offset  # (B, K)
            # MMPose indexes the K offset maps flattened one after another (a -1 maximum wraps around)
            index = torch.remainder(index, K * H * W)
            # ... which are channels 3k + 1 (x) and 3k + 2 (y) of the output: read the 2K values in place
            k_map, pixel = torch.div(index, H * W, rounding_mode="floor"), torch.remainder(index, H * W)
            x_index = (3 * k_map + 1) * (H * W) + pixel
            flat = heatmaps.reshape(B, C * H * W)
            offsets = torch.stack((flat.gather(1, x_index), flat.gather(1, x_index + H * W)), dim=-1)
            keypoints = keypoints + offsets * radius
        W_, H_ = self.heatmap_size
        scale = heatmaps.new_tensor([(self.input_size[0]) / (W_ - 1), (self.input_size[1]) / (H_ - 1)])
        return (keypoints * scale)[:, None], scores[:, None]
