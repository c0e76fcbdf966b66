"""Megvii heatmaps (MSPN / RSN): a blurred one-hot map scaled to 255 at the keypoint."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .base import BaseKeypointCodec, as_size, check_batched, is_tensor
from .utils.kernels import check_kernel_size, gaussian_kernel1d, reflect101_index
from .utils.post_processing import gaussian_blur, get_heatmap_maximum
from .utils.torch_post_processing import gaussian_blur_torch, get_heatmap_maximum_torch

__all__ = ["MegviiHeatmap"]


def _delta_hits(position: np.ndarray, size: int, ksize: int) -> np.ndarray:
    """Which kernel taps of a reflect-101 Gaussian blur read a one-hot vector's hot entry.

    position (K,) int -> (K, size, ksize) bool: hit[k, i, t] = reflect(i + t - r) == position[k].
    """
    r = (ksize - 1) // 2
    source = reflect101_index(size, r)[np.arange(size)[:, None] + np.arange(ksize)[None, :]]  # (size, ks)
    return source[None] == position[:, None, None]


def _blur_one_hot(hits_x: np.ndarray, hits_y: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``cv2.GaussianBlur`` of K one-hot maps in OpenCV's float32 arithmetic: (K, H, W) float32.

    The row pass sums the kernel taps that read the hot pixel; the column pass runs OpenCV's symmetric
    accumulation ``s = k[c] * x[i]; s += (x[i - j] + x[i + j]) * k[c + j]`` with fused multiply-adds
    (emulated in float64, exact for these products), so values match OpenCV to the last bit.
    """
    r = (kernel.size - 1) // 2
    gx = np.where(hits_x, kernel, np.float32(0)).sum(axis=-1, dtype=np.float32)[:, None, :]  # (K, 1, W)
    count = hits_y.astype(np.float32)  # (K, H, ks): how often tap t reads the hot row
    out = (kernel[r] * (count[..., r, None] * gx)).astype(np.float32)
    for j in range(1, r + 1):
        pair = (count[..., r - j] + count[..., r + j])[..., None] * gx  # x[i - j] + x[i + j], exact
        out = (out.astype(np.float64) + pair.astype(np.float64) * np.float64(kernel[r + j])).astype(np.float32)
    return out


class MegviiHeatmap(BaseKeypointCodec):
    """Keypoint heatmaps the Megvii way (`MSPN`, Li et al. 2019; `RSN`, Cai et al. 2020).

    A one-hot map at the (truncated) keypoint blurred with ``cv2.GaussianBlur(kernel_size)`` and scaled so the
    keypoint pixel is 255. Decoding blurs, takes the maximum, shifts by ``0.25 * sign(gradient) + 0.5``
    away from the border, and maps the score to ``max / 255 + 0.5``.

    Args:
        input_size: image (crop) size (w, h).
        heatmap_size: heatmap size (W, H).
        kernel_size: odd Gaussian kernel size.

    Encoded: ``heatmaps`` (K, H, W) float32, ``keypoint_weights`` (1, K).
    Decoded: numpy (K, H, W) -> (1, K, 2), (1, K); torch (B, K, H, W) -> (B, 1, K, 2), (B, 1, K).
    """

    label_mapping_table = dict(keypoint_weights="keypoint_weights")
    field_mapping_table = dict(heatmaps="heatmaps")

    def __init__(self, input_size: tuple[int, int], heatmap_size: tuple[int, int], kernel_size: int) -> None:
        super().__init__()
        self.input_size = as_size(input_size, "input_size", "MegviiHeatmap")
        self.heatmap_size = as_size(heatmap_size, "heatmap_size", "MegviiHeatmap")
        self.kernel_size = check_kernel_size(kernel_size, "MegviiHeatmap kernel_size")
        self.scale_factor = (np.array(self.input_size) / self.heatmap_size).astype(np.float32)

    def encode(self, keypoints: np.ndarray, keypoints_visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """keypoints (1, K, 2) in input pixels -> heatmaps (K, H, W), keypoint_weights (1, K)."""
        keypoints, keypoints_visible = self._check_encode_inputs(keypoints, keypoints_visible)
        self._check_single_instance(keypoints)
        W, H = self.heatmap_size
        K = keypoints.shape[1]
        kx, ky = (keypoints[0] / self.scale_factor).astype(np.int64).T  # (K,) each, truncated
        weights = keypoints_visible.copy()
        labeled = keypoints_visible[0] >= 0.5
        outside = (kx < 0) | (kx >= W) | (ky < 0) | (ky >= H)
        weights[0, labeled & outside] = 0
        draw = labeled & ~outside

        kernel = gaussian_kernel1d(self.kernel_size)
        hits_x = _delta_hits(np.clip(kx, 0, W - 1), W, self.kernel_size)  # (K, W, ks)
        hits_y = _delta_hits(np.clip(ky, 0, H - 1), H, self.kernel_size)  # (K, H, ks)
        blurred = _blur_one_hot(hits_x, hits_y, kernel)
        k = np.arange(K)
        peak = blurred[k, np.clip(ky, 0, H - 1), np.clip(kx, 0, W - 1)]
        heatmaps = blurred / peak[:, None, None] * np.float32(255.0)
        heatmaps = np.where(draw[:, None, None], heatmaps, np.float32(0)).astype(np.float32)
        return dict(heatmaps=heatmaps, keypoint_weights=weights)

    def decode(self, encoded: np.ndarray | Tensor) -> tuple[np.ndarray | Tensor, np.ndarray | Tensor]:
        """Heatmaps (K, H, W) numpy or (B, K, H, W) tensor -> keypoints in input pixels and scores."""
        if is_tensor(encoded):
            return self._decode_torch(encoded)
        heatmaps = np.array(encoded, copy=True)
        if heatmaps.ndim != 3:
            raise ValueError(f"MegviiHeatmap.decode: numpy heatmaps must be (K, H, W), got {heatmaps.shape}")
        heatmaps = gaussian_blur(heatmaps, self.kernel_size)
        K, H, W = heatmaps.shape
        keypoints, scores = get_heatmap_maximum(heatmaps)
        px, py = keypoints[:, 0].astype(int), keypoints[:, 1].astype(int)
        inner = (1 < px) & (px < W - 1) & (1 < py) & (py < H - 1)
        pxc, pyc, k = np.clip(px, 1, W - 2), np.clip(py, 1, H - 2), np.arange(K)
        diff = np.stack(
            (
                heatmaps[k, pyc, pxc + 1] - heatmaps[k, pyc, pxc - 1],
                heatmaps[k, pyc + 1, pxc] - heatmaps[k, pyc - 1, pxc],
            ),
            axis=-1,
        )
        keypoints += np.where(inner[:, None], np.sign(diff) * 0.25 + 0.5, 0).astype(np.float32)
        scores = scores / 255.0 + 0.5
        return keypoints[None] * self.scale_factor, scores[None]

    def _decode_torch(self, heatmaps: Tensor) -> tuple[Tensor, Tensor]:
        heatmaps = check_batched("MegviiHeatmap.decode", heatmaps, 4, "(B, K, H, W)")
        H, W = heatmaps.shape[-2:]
        blurred = gaussian_blur_torch(heatmaps, self.kernel_size)
        keypoints, scores = get_heatmap_maximum_torch(blurred)
        px, py = keypoints[..., 0].long(), keypoints[..., 1].long()
        inner = (px > 1) & (px < W - 1) & (py > 1) & (py < H - 1)
        flat = blurred.flatten(-2)
        pxc, pyc = px.clamp(1, max(W - 2, 1)), py.clamp(1, max(H - 2, 1))

        def at(dy: int, dx: int) -> Tensor:
            idx = ((pyc + dy).clamp(0, H - 1) * W + (pxc + dx).clamp(0, W - 1))[..., None]
            return flat.gather(-1, idx)[..., 0]

        diff = torch.stack((at(0, 1) - at(0, -1), at(1, 0) - at(-1, 0)), dim=-1)
        shift = torch.sign(diff) * 0.25 + 0.5
        keypoints = keypoints + torch.where(inner[..., None], shift, torch.zeros_like(shift))
        scores = scores / 255.0 + 0.5
        return (keypoints * heatmaps.new_tensor(self.scale_factor))[:, None], scores[:, None]
