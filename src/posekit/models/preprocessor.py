"""``PoseDataPreprocessor``: uint8 crops on the host -> normalised float tensors on the model's device."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["PoseDataPreprocessor"]


class PoseDataPreprocessor(nn.Module):
    """Move images to the module's device, convert to float, swap BGR<->RGB, normalise and pad (MMPose's
    ``PoseDataPreprocessor`` / ``ImgDataPreprocessor``, for a batched tensor).

    Args:
        mean: per-channel mean (of the channel order *after* the swap), or ``None`` for no normalisation.
        std: per-channel std, or ``None``.
        bgr_to_rgb: reverse the channel order (the pipeline loads BGR).
        rgb_to_bgr: same swap, MMPose's other spelling (at most one of the two may be set).
        pad_size_divisor: pad height and width (bottom/right) to a multiple of this.
        pad_value: value of the padding.
        non_blocking: ``non_blocking`` of the host->device copy (use with pinned memory).

    ``mean``/``std`` are non-persistent buffers (not in the state dict), so ``.to(device)`` moves them and the
    output lands on that device. The memory format of the input (e.g. ``channels_last``) is kept.
    """

    def __init__(
        self,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        bgr_to_rgb: bool = False,
        rgb_to_bgr: bool = False,
        pad_size_divisor: int = 1,
        pad_value: float | int = 0,
        non_blocking: bool = False,
    ):
        super().__init__()
        if bgr_to_rgb and rgb_to_bgr:
            raise ValueError("`bgr_to_rgb` and `rgb_to_bgr` cannot be set to True at the same time")
        if (mean is None) != (std is None):
            raise ValueError("mean and std should be both None or both given")
        self._channel_conversion = bool(bgr_to_rgb or rgb_to_bgr)
        self._enable_normalize = mean is not None
        self.pad_size_divisor = int(pad_size_divisor)
        self.pad_value = pad_value
        self.non_blocking = non_blocking
        if mean is not None:
            mean_t = torch.as_tensor(list(mean), dtype=torch.float32).view(-1, 1, 1)
            std_t = torch.as_tensor(list(std), dtype=torch.float32).view(-1, 1, 1)
            if mean_t.numel() not in (1, 3) or std_t.numel() not in (1, 3):
                raise ValueError(f"mean and std need 1 or 3 values, got {list(mean)} and {list(std)}")
        else:
            mean_t = torch.zeros(0)
            std_t = torch.zeros(0)
        self.register_buffer("mean", mean_t, persistent=False)
        self.register_buffer("std", std_t, persistent=False)

    @property
    def device(self) -> torch.device:
        return self.mean.device

    def forward(self, inputs: Tensor | Sequence[Tensor]) -> Tensor:
        """``inputs`` ``(B, 3, H, W)`` (any dtype, any device; or a list of ``(3, H, W)``) -> float32
        ``(B, 3, H', W')`` on the module's device."""
        if not isinstance(inputs, Tensor):
            inputs = torch.stack(list(inputs))
        if inputs.ndim != 4:
            raise ValueError(f"PoseDataPreprocessor expects a (B, C, H, W) batch, got shape {tuple(inputs.shape)}")
        channels_last = (
            inputs.dim() == 4
            and inputs.is_contiguous(memory_format=torch.channels_last)
            and (not inputs.is_contiguous())
        )
        x = inputs.to(self.device, non_blocking=self.non_blocking)  # copy as uint8: 4x fewer bytes
        if self._channel_conversion and x.shape[1] == 3:
            x = x.flip(1)
        x = x.float()
        if self._enable_normalize:
            if self.mean.shape[0] == 3 and x.shape[1] != 3:
                raise ValueError(
                    f"If the mean has 3 values, the input tensor should have 3 channels, got {tuple(x.shape)}"
                )
            x = (x - self.mean) / self.std
        if self.pad_size_divisor > 1:
            h, w = x.shape[-2:]
            pad_h = math.ceil(h / self.pad_size_divisor) * self.pad_size_divisor - h
            pad_w = math.ceil(w / self.pad_size_divisor) * self.pad_size_divisor - w
            if pad_h or pad_w:
                x = F.pad(x, (0, pad_w, 0, pad_h), "constant", self.pad_value)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x
