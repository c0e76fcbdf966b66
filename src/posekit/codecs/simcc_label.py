"""SimCC labels (RTMPose, SimCC-ResNet): keypoints as 1-D classification targets along x and y."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from .base import BaseKeypointCodec, as_size, check_batched, is_tensor
from .utils.post_processing import get_simcc_maximum
from .utils.refinement import modulate_simcc, refine_simcc_dark
from .utils.torch_post_processing import get_simcc_maximum_torch
from .utils.torch_refinement import modulate_simcc_torch, refine_simcc_dark_torch

__all__ = ["SimCCLabel"]


class SimCCLabel(BaseKeypointCodec):
    """Keypoints as SimCC x/y label vectors (`SimCC`, Li et al. 2022).

    Args:
        input_size: image (crop) size (w, h).
        smoothing_type: ``'gaussian'`` (Gaussian labels) or ``'standard'`` (one-hot with label smoothing).
        sigma: Gaussian sigma in SimCC bins, a scalar or (sigma_x, sigma_y). Stored as a (2,) array.
        simcc_split_ratio: bins per input pixel; vectors have ``round(w * ratio)`` / ``round(h * ratio)`` bins.
        label_smooth_weight: mass spread over the other bins (``'standard'`` only), in [0, 1].
        normalize: divide Gaussian labels by ``sigma * sqrt(2 * pi)``.
        use_dark: refine decoded maxima with 1-D DARK.
        decode_visibility: also decode a visibility (softmax of ``simcc * decode_beta * sigma``);
            ``decode`` then returns ``keypoints, (scores, visibility)``.
        decode_beta: the softmax temperature factor of the visibility.

    Encoded: ``keypoint_x_labels`` (N, K, Wx), ``keypoint_y_labels`` (N, K, Wy), ``keypoint_weights`` (N, K).
    Decoded: numpy (N, K, Wx), (N, K, Wy) -> (N, K, 2), (N, K); torch (B, K, Wx), (B, K, Wy) -> (B, 1, K, 2),
    (B, 1, K).
    """

    label_mapping_table = dict(
        keypoint_x_labels="keypoint_x_labels",
        keypoint_y_labels="keypoint_y_labels",
        keypoint_weights="keypoint_weights",
    )

    def __init__(
        self,
        input_size: tuple[int, int],
        smoothing_type: str = "gaussian",
        sigma: float | int | Sequence[float] = 6.0,
        simcc_split_ratio: float = 2.0,
        label_smooth_weight: float = 0.0,
        normalize: bool = True,
        use_dark: bool = False,
        decode_visibility: bool = False,
        decode_beta: float = 150.0,
    ) -> None:
        super().__init__()
        self.input_size = as_size(input_size, "input_size", "SimCCLabel")
        self.smoothing_type = smoothing_type
        self.simcc_split_ratio = simcc_split_ratio
        self.label_smooth_weight = label_smooth_weight
        self.normalize = normalize
        self.use_dark = use_dark
        self.decode_visibility = decode_visibility
        self.decode_beta = decode_beta
        if isinstance(sigma, (float, int)):
            self.sigma = np.array([sigma, sigma])
        else:
            self.sigma = np.array(list(sigma))
        if self.sigma.shape != (2,):
            raise ValueError(f"SimCCLabel: sigma must be a scalar or (sigma_x, sigma_y), got {sigma!r}")

        if self.smoothing_type not in {"gaussian", "standard"}:
            raise ValueError(
                f"{self.__class__.__name__} got invalid `smoothing_type` value {self.smoothing_type}. "
                'Should be one of {"gaussian", "standard"}'
            )
        if self.smoothing_type == "gaussian" and self.label_smooth_weight > 0:
            raise ValueError("Attribute `label_smooth_weight` is only used for `standard` mode.")
        if self.label_smooth_weight < 0.0 or self.label_smooth_weight > 1.0:
            raise ValueError("`label_smooth_weight` should be in range [0, 1]")

    # ------------------------------------------------------------------------------------------------ encode
    @property
    def simcc_size(self) -> tuple[int, int]:
        """Number of bins (Wx, Wy)."""
        w, h = self.input_size
        return int(np.around(w * self.simcc_split_ratio)), int(np.around(h * self.simcc_split_ratio))

    def encode(self, keypoints: np.ndarray, keypoints_visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """keypoints (N, K, 2) in input pixels, keypoints_visible (N, K) -> x/y labels and weights."""
        keypoints, keypoints_visible = self._check_encode_inputs(keypoints, keypoints_visible)
        mu = np.around(keypoints * self.simcc_split_ratio).astype(np.int64)  # (N, K, 2) bins
        weights = keypoints_visible.copy()
        labeled = keypoints_visible >= 0.5
        if self.smoothing_type == "gaussian":
            x_labels, y_labels, outside = self._gaussian_labels(mu)
        else:
            x_labels, y_labels, outside = self._standard_labels(mu)
        weights[labeled & outside] = 0
        draw = (labeled & ~outside)[..., None]
        x_labels = np.where(draw, x_labels, np.float32(0))
        y_labels = np.where(draw, y_labels, np.float32(0))
        return dict(keypoint_x_labels=x_labels, keypoint_y_labels=y_labels, keypoint_weights=weights)

    def _gaussian_labels(self, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        Wx, Wy = self.simcc_size
        radius = self.sigma * 3
        left_top, right_bottom = mu - radius, mu + radius + 1
        outside = (
            (left_top[..., 0] >= Wx)
            | (left_top[..., 1] >= Wy)
            | (right_bottom[..., 0] < 0)
            | (right_bottom[..., 1] < 0)
        )
        labels = []
        for axis, size in enumerate((Wx, Wy)):
            d = np.arange(size, dtype=np.float32) - mu[..., axis : axis + 1].astype(np.float32)
            label = np.exp(-(d**2) / np.float32(2 * self.sigma[axis] ** 2))
            if self.normalize:
                label /= np.float32(self.sigma[axis] * np.sqrt(np.pi * 2))
            labels.append(label)
        return labels[0], labels[1], outside

    def _standard_labels(self, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        Wx, Wy = self.simcc_size
        outside = (mu[..., 0] >= Wx) | (mu[..., 1] >= Wy) | (mu[..., 0] < 0) | (mu[..., 1] < 0)
        labels = []
        for axis, size in enumerate((Wx, Wy)):
            background = self.label_smooth_weight / (size - 1) if self.label_smooth_weight > 0 else 0.0
            hot = np.arange(size) == mu[..., axis : axis + 1]
            labels.append(np.where(hot, 1.0 - self.label_smooth_weight, background).astype(np.float32))
        return labels[0], labels[1], outside

    # ------------------------------------------------------------------------------------------------ decode
    def _dark_kernel_sizes(self) -> tuple[int, int]:
        sizes = []
        for s in self.sigma:
            ks = int((s * 20 - 7) // 3)
            sizes.append(ks - int(ks % 2 == 0))
        return sizes[0], sizes[1]

    def decode(self, simcc_x, simcc_y=None):
        """SimCC vectors -> keypoints in input pixels and scores (``(scores, visibility)`` with
        ``decode_visibility``).

        numpy: (K, Wx)/(N, K, Wx) and (K, Wy)/(N, K, Wy) -> (N, K, 2), (N, K) (N = 1 for 2-D input).
        torch: (B, K, Wx), (B, K, Wy) -> (B, 1, K, 2), (B, 1, K). A ``(simcc_x, simcc_y)`` tuple also works.
        """
        if simcc_y is None:
            if not isinstance(simcc_x, (tuple, list)) or len(simcc_x) != 2:
                raise TypeError("SimCCLabel.decode expects (simcc_x, simcc_y)")
            simcc_x, simcc_y = simcc_x
        if is_tensor(simcc_x) or is_tensor(simcc_y):
            return self._decode_torch(simcc_x, simcc_y)
        return self._decode_numpy(np.asarray(simcc_x), np.asarray(simcc_y))

    def _decode_numpy(self, simcc_x: np.ndarray, simcc_y: np.ndarray):
        lead = simcc_x.shape[:-1]
        keypoints, scores = get_simcc_maximum(simcc_x, simcc_y)
        if keypoints.ndim == 2:
            keypoints, scores = keypoints[None], scores[None]
            simcc_x, simcc_y = simcc_x[None], simcc_y[None]
        if self.use_dark:
            x_blur, y_blur = self._dark_kernel_sizes()
            keypoints[..., 0] = refine_simcc_dark(keypoints[..., 0].copy(), simcc_x, x_blur)
            keypoints[..., 1] = refine_simcc_dark(keypoints[..., 1].copy(), simcc_y, y_blur)
            if self.decode_visibility:
                # MMPose's DARK overwrites the inputs with their modulated logs before visibility is read
                simcc_x, simcc_y = modulate_simcc(simcc_x, x_blur), modulate_simcc(simcc_y, y_blur)
        keypoints /= self.simcc_split_ratio
        if not self.decode_visibility:
            return keypoints, scores
        _, visibility = get_simcc_maximum(
            simcc_x * self.decode_beta * self.sigma[0], simcc_y * self.decode_beta * self.sigma[1], apply_softmax=True
        )
        return keypoints, (scores, visibility.reshape(lead))

    def _decode_torch(self, simcc_x: Tensor, simcc_y: Tensor):
        simcc_x = check_batched("SimCCLabel.decode simcc_x", simcc_x, 3, "(B, K, Wx)")
        simcc_y = check_batched("SimCCLabel.decode simcc_y", simcc_y, 3, "(B, K, Wy)")
        keypoints, scores = get_simcc_maximum_torch(simcc_x, simcc_y)
        if self.use_dark:
            x_blur, y_blur = self._dark_kernel_sizes()
            kx = refine_simcc_dark_torch(keypoints[..., 0], simcc_x, x_blur)
            ky = refine_simcc_dark_torch(keypoints[..., 1], simcc_y, y_blur)
            keypoints = torch.stack((kx, ky), dim=-1)
            if self.decode_visibility:
                simcc_x, simcc_y = modulate_simcc_torch(simcc_x, x_blur), modulate_simcc_torch(simcc_y, y_blur)
        keypoints = (keypoints / self.simcc_split_ratio)[:, None]
        scores = scores[:, None]
        if not self.decode_visibility:
            return keypoints, scores
        beta_x = float(self.decode_beta * self.sigma[0])
        beta_y = float(self.decode_beta * self.sigma[1])
        _, visibility = get_simcc_maximum_torch(simcc_x * beta_x, simcc_y * beta_y, apply_softmax=True)
        return keypoints, (scores, visibility[:, None])
