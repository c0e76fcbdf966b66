"""Gaussian kernels and border indices shared by the numpy and torch blurs.

The kernels are OpenCV's own (``cv2.getGaussianKernel(ksize, 0, CV_32F)``), so a torch blur built from them
matches ``cv2.GaussianBlur(img, (ksize, ksize), 0)`` up to float32 summation order.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

__all__ = ["check_kernel_size", "gaussian_kernel1d", "reflect101_index"]


def check_kernel_size(ksize: int, what: str = "blur kernel size") -> int:
    """Return ``ksize`` as an int, raising ``ValueError`` unless it is a positive odd integer."""
    if int(ksize) != ksize or ksize < 1 or int(ksize) % 2 == 0:
        raise ValueError(f"{what} must be a positive odd integer, got {ksize!r}")
    return int(ksize)


@lru_cache(maxsize=64)
def _kernel(ksize: int) -> np.ndarray:
    kernel = cv2.getGaussianKernel(ksize, 0, ktype=cv2.CV_32F).reshape(-1)
    kernel.setflags(write=False)
    return kernel


def gaussian_kernel1d(ksize: int) -> np.ndarray:
    """OpenCV's 1-D Gaussian kernel for ``sigma=0``: (ksize,) float32, read-only.

    ``sigma = 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8`` (OpenCV's rule; 2.0 for ksize 11), and the fixed
    binomial tables for ksize <= 7, exactly as ``cv2.GaussianBlur(img, (ksize, ksize), 0)`` uses them.
    """
    return _kernel(check_kernel_size(ksize))


def reflect101_index(size: int, pad: int) -> np.ndarray:
    """Indices that pad a length-``size`` axis by ``pad`` on both sides with OpenCV's BORDER_REFLECT_101.

    Returns (size + 2 * pad,) int64 indices into the original axis (``dcb|abcd|cba`` style, edge not repeated),
    valid for any ``pad`` (reflections repeat for pads longer than the axis).
    """
    pos = np.arange(-pad, size + pad)
    if size == 1:
        return np.zeros_like(pos)
    period = 2 * (size - 1)
    pos = np.mod(pos, period)
    return np.where(pos >= size, period - pos, pos).astype(np.int64)
