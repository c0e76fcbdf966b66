"""The end-to-end graph exported to ONNX: uint8 BGR crops -> keypoints and scores (pre-processing, optional flip
test and the codec's decode inside the graph).

:class:`CropsToKeypoints` wraps a :class:`~posekit.models.TopdownPoseEstimator` in a module whose forward only
uses ONNX-exportable tensor ops (no numpy, no data-dependent Python control flow):

* pre-processing as ``model.data_preprocessor``: ``(B, H, W, 3)`` uint8 BGR -> float ``(B, 3, H, W)``, channel swap,
  ``(x - mean) / std``;
* flip test as ``model.test_cfg`` (``flip_test``, ``flip_mode='heatmap'``, ``shift_heatmap``): the crops and their
  mirror images run as one batch of 2B; the mirrored outputs are flipped back with ``flip_indices`` and averaged
  (``(a + b) * 0.5``), as MMPose's heads do;
* decode as the head's codec: ``MSRAHeatmap`` (arg-max + MMPose's quarter-pixel shift towards the higher
  neighbour; with ``unbiased=True`` DARK's blur / log / Newton step), ``UDPHeatmap`` (``heatmap_type='gaussian'``:
  arg-max + UDP's DARK step on the blurred, clipped log map), ``SimCCLabel`` (arg-max of each axis,
  score ``min(max_x, max_y)``, ``/ simcc_split_ratio``; ``use_dark=False``).

Outputs: ``keypoints`` (B, K, 2) float32 in crop (input_size) pixels and ``scores`` (B, K). Map them to the image
with the crop's center/scale: ``kpt / input_size * scale + center - 0.5 * scale`` (:mod:`posekit.apis.onnx_backend`).

Where MMPose's numpy code reads outside a map (a maximum at -1 because the map is <= 0 everywhere, UDP's flat
indexing wrapping into the neighbouring map), the graph clamps the index to the map instead; those keypoints have
scores <= 0.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from posekit.codecs.utils.kernels import gaussian_kernel1d

__all__ = ["CropsToKeypoints", "supported_codec"]

_SUPPORTED = ("MSRAHeatmap", "UDPHeatmap", "SimCCLabel")


def supported_codec(codec: Any) -> str:
    """The codec's class name if :class:`CropsToKeypoints` can decode it in the graph; else a ``ValueError``."""
    name = type(codec).__name__
    if name not in _SUPPORTED:
        raise ValueError(
            f"decode in the ONNX graph supports {', '.join(_SUPPORTED)}, not {name}; export the raw head output "
            "with posekit.apis.export_onnx(model, path) and decode with the codec in Python"
        )
    if name == "UDPHeatmap" and getattr(codec, "heatmap_type", "gaussian") != "gaussian":
        raise ValueError("decode in the ONNX graph supports UDPHeatmap(heatmap_type='gaussian') only, not 'combined'")
    if name == "SimCCLabel" and getattr(codec, "use_dark", False):
        raise ValueError("decode in the ONNX graph supports SimCCLabel(use_dark=False) only")
    if name == "SimCCLabel" and getattr(codec, "decode_visibility", False):
        raise ValueError("decode in the ONNX graph supports SimCCLabel(decode_visibility=False) only")
    return name


def _argmax_2d(maps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(B, K, H, W) -> integer x, y (B, K) of the first maximum, its value (B, K)."""
    W = maps.shape[-1]
    flat = maps.flatten(2)
    idx = flat.argmax(-1)
    vals = flat.gather(-1, idx[..., None])[..., 0]
    return idx % W, torch.div(idx, W, rounding_mode="floor"), vals


def _gather(maps: Tensor, x: Tensor, y: Tensor, offsets: list[tuple[int, int]]) -> Tensor:
    """maps (B, K, H, W), integer x, y (B, K) -> values at (y + dy, x + dx) (B, K, len(offsets)), indices clamped."""
    H, W = maps.shape[-2:]
    dy = torch.tensor([o[0] for o in offsets])
    dx = torch.tensor([o[1] for o in offsets])
    rows = (y[..., None] + dy).clamp(0, H - 1)
    cols = (x[..., None] + dx).clamp(0, W - 1)
    return maps.flatten(2).gather(-1, rows * W + cols)


def _blur(maps: Tensor, kernel: Tensor) -> Tensor:
    """Separable Gaussian blur of (B, K, H, W) maps with a zero border (OpenCV's kernel)."""
    B, K, H, W = maps.shape
    r = (kernel.numel() - 1) // 2
    x = F.pad(maps.reshape(B * K, 1, H, W), (r, r, r, r))
    x = F.conv2d(x, kernel.view(1, 1, 1, -1))
    x = F.conv2d(x, kernel.view(1, 1, -1, 1))
    return x.reshape(B, K, H, W)


class CropsToKeypoints(nn.Module):
    """uint8 BGR crops ``(B, H, W, 3)`` -> ``keypoints`` (B, K, 2) in crop pixels, ``scores`` (B, K).

    Args:
        model: a top-down estimator (``data_preprocessor``, ``backbone``, ``neck``, ``head`` with a supported
            ``decoder``; ``test_cfg`` and ``dataset_meta['flip_indices']`` for the flip test).
        flip_test: override ``model.test_cfg['flip_test']``.
    """

    def __init__(self, model: nn.Module, flip_test: bool | None = None) -> None:
        super().__init__()
        head = getattr(model, "head", None)
        codec = getattr(head, "decoder", None)
        if codec is None:
            raise ValueError("the model's head has no decoder (codec); cannot decode in the ONNX graph")
        self.codec_name = supported_codec(codec)
        self.codec = codec
        self.model = model
        test_cfg = dict(getattr(model, "test_cfg", None) or {})
        self.flip_test = bool(test_cfg.get("flip_test", False) if flip_test is None else flip_test)
        self.shift_heatmap = bool(test_cfg.get("shift_heatmap", False))
        if self.flip_test:
            if test_cfg.get("flip_mode", "heatmap") != "heatmap" and self.codec_name != "SimCCLabel":
                raise ValueError(
                    f"flip test in the ONNX graph supports flip_mode='heatmap', not {test_cfg['flip_mode']}"
                )
            meta = getattr(model, "dataset_meta", None) or getattr(model, "metainfo", None) or {}
            if "flip_indices" not in meta:
                raise ValueError("flip test needs the model's dataset_meta['flip_indices'] (or pass flip_test=False)")
            self.register_buffer("flip_indices", torch.as_tensor(list(meta["flip_indices"])), persistent=False)
        pre = model.data_preprocessor
        self.swap = bool(getattr(pre, "_channel_conversion", False))
        self.normalize = bool(getattr(pre, "_enable_normalize", False))
        if self.normalize:
            self.register_buffer("mean", pre.mean.detach().float().reshape(1, -1, 1, 1).clone(), persistent=False)
            self.register_buffer("std", pre.std.detach().float().reshape(1, -1, 1, 1).clone(), persistent=False)
        ksize = int(getattr(codec, "blur_kernel_size", 11))
        self.register_buffer("blur_kernel", torch.from_numpy(gaussian_kernel1d(ksize).copy()).float(), persistent=False)

    # ---- stages ------------------------------------------------------------------------------------------------
    def preprocess(self, crops: Tensor) -> Tensor:
        """(B, H, W, 3) uint8 BGR -> (B, 3, H, W) float, as ``model.data_preprocessor``."""
        x = crops.permute(0, 3, 1, 2)
        if self.swap:
            x = x.flip(1)
        x = x.float()
        if self.normalize:
            x = (x - self.mean) / self.std
        return x

    def head_outputs(self, inputs: Tensor) -> Any:
        """Raw head outputs, flip-averaged with the mirrored crops when ``flip_test``."""
        if not self.flip_test:
            return self.model(inputs)
        B = inputs.shape[0]
        out = self.model(torch.cat((inputs, inputs.flip(-1)), 0))
        fi = self.flip_indices
        if isinstance(out, Tensor):  # heatmaps
            hm, hm_flip = out[:B], out[B:].index_select(1, fi).flip(-1)
            if self.shift_heatmap:
                hm_flip = torch.cat((hm_flip[..., :1], hm_flip[..., :-1]), -1)
            return (hm + hm_flip) * 0.5
        x, y = out
        x_flip = x[B:].index_select(1, fi).flip(-1)
        y_flip = y[B:].index_select(1, fi)
        return (x[:B] + x_flip) * 0.5, (y[:B] + y_flip) * 0.5

    def decode(self, out: Any) -> tuple[Tensor, Tensor]:
        """Head outputs -> keypoints (B, K, 2) in crop pixels, scores (B, K)."""
        if self.codec_name == "SimCCLabel":
            return self._decode_simcc(*out)
        if self.codec_name == "UDPHeatmap":
            return self._decode_udp(out)
        return self._decode_msra(out)

    def forward(self, crops: Tensor) -> tuple[Tensor, Tensor]:
        return self.decode(self.head_outputs(self.preprocess(crops)))

    # ---- decoders ----------------------------------------------------------------------------------------------
    def _decode_simcc(self, simcc_x: Tensor, simcc_y: Tensor) -> tuple[Tensor, Tensor]:
        idx_x, idx_y = simcc_x.argmax(-1), simcc_y.argmax(-1)
        vals = torch.minimum(simcc_x.gather(-1, idx_x[..., None])[..., 0], simcc_y.gather(-1, idx_y[..., None])[..., 0])
        locs = torch.stack((idx_x, idx_y), -1).float()
        locs = torch.where((vals <= 0)[..., None], torch.full_like(locs, -1.0), locs)
        return locs / float(self.codec.simcc_split_ratio), vals

    def _modulate(self, heatmaps: Tensor) -> Tensor:
        """DARK's modulation: zero-padded Gaussian blur, each map rescaled to its original maximum."""
        blurred = _blur(heatmaps, self.blur_kernel)
        scale = heatmaps.flatten(2).amax(-1) / blurred.flatten(2).amax(-1)
        return blurred * scale[..., None, None]

    def _decode_msra(self, heatmaps: Tensor) -> tuple[Tensor, Tensor]:
        H, W = heatmaps.shape[-2:]
        x, y, vals = _argmax_2d(heatmaps)
        invalid = vals <= 0
        x = torch.where(invalid, torch.full_like(x, -1), x)
        y = torch.where(invalid, torch.full_like(y, -1), y)
        locs = torch.stack((x, y), -1).float()
        if getattr(self.codec, "unbiased", False):
            logs = self._modulate(heatmaps).clamp_min(1e-10).log()
            offsets = [(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2), (2, 0), (-2, 0)]
            offsets += [(1, 1), (-1, 1), (1, -1), (-1, -1)]
            c, xp, xm, yp, ym, xp2, xm2, yp2, ym2, pp, mp, pm, mm = _gather(logs, x, y, offsets).unbind(-1)
            dx, dy = 0.5 * (xp - xm), 0.5 * (yp - ym)
            dxx, dyy = 0.25 * (xp2 - 2 * c + xm2), 0.25 * (yp2 - 2 * c + ym2)
            dxy = 0.25 * (pp - mp - pm + mm)
            det = dxx * dyy - dxy * dxy
            ok = (x > 1) & (x < W - 2) & (y > 1) & (y < H - 2) & (det != 0)
            det = torch.where(ok, det, torch.ones_like(det))
            off = torch.stack((-(dyy * dx - dxy * dy) / det, -(dxx * dy - dxy * dx) / det), -1)
            locs = locs + torch.where(ok[..., None], off, torch.zeros_like(off))
        else:
            v = _gather(heatmaps, x, y, [(0, 1), (0, -1), (1, 0), (-1, 0)])
            ok_x = (x > 1) & (x < W - 1) & (y > 0) & (y < H)
            ok_y = (y > 1) & (y < H - 1) & (x > 0) & (x < W)
            grad = torch.stack((v[..., 0] - v[..., 1], v[..., 2] - v[..., 3]), -1)
            grad = torch.where(torch.stack((ok_x, ok_y), -1), grad, torch.zeros_like(grad))
            locs = locs + torch.sign(grad) * 0.25
        scale = torch.tensor([float(s) for s in self.codec.scale_factor])
        return locs * scale, vals

    def _decode_udp(self, heatmaps: Tensor) -> tuple[Tensor, Tensor]:
        H, W = heatmaps.shape[-2:]
        x, y, vals = _argmax_2d(heatmaps)
        logs = self._modulate(heatmaps).clamp(1e-3, 50.0).log()
        logs = F.pad(logs, (1, 1, 1, 1), mode="replicate")  # edge padding: the centre is at (x + 1, y + 1)
        i_, ix1, ix1_, iy1, iy1_, ix1y1, ix1_y1_ = _gather(
            logs, x + 1, y + 1, [(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, -1)]
        ).unbind(-1)
        dx, dy = 0.5 * (ix1 - ix1_), 0.5 * (iy1 - iy1_)
        eps = float(torch.finfo(torch.float32).eps)
        a = ix1 - 2 * i_ + ix1_ + eps
        d = iy1 - 2 * i_ + iy1_ + eps
        b = 0.5 * (ix1y1 - ix1 - iy1 + i_ + i_ - ix1_ - iy1_ + ix1_y1_)
        det = a * d - b * b
        locs = torch.stack((x.float() - (d * dx - b * dy) / det, y.float() - (a * dy - b * dx) / det), -1)
        invalid = (vals <= 0)[..., None]
        locs = torch.where(invalid, torch.full_like(locs, -1.0), locs)
        in_w, in_h = self.codec.input_size
        scale = torch.tensor([float(in_w) / (W - 1), float(in_h) / (H - 1)])
        return locs * scale, vals
