"""Flip test-time augmentation helpers (MMPose's ``models/utils/tta.py``), out-of-place and batched.

``flip_heatmaps`` / ``flip_vectors`` / ``flip_coordinates`` take the raw outputs of the flipped image and return
them mirrored back into the original image's frame, with left/right keypoints swapped by ``flip_indices``: the
same numbers as MMPose's functions. ``average_flip_heatmaps`` and ``average_flip_vectors`` also average them with
the outputs of the original image (``(x + flip(x_flip)) * 0.5``, bitwise the same) in as few passes over memory
as possible: on the CPU the flip test of a batch of heatmaps is memory-bound, so they work through the batch in
cache-sized chunks instead of materialising every intermediate (B, C, H, W) tensor.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import torch
from torch import Tensor

__all__ = [
    "flip_heatmaps",
    "flip_vectors",
    "flip_coordinates",
    "flip_visibility",
    "average_flip_heatmaps",
    "average_flip_vectors",
    "writable_output",
]

# On the CPU the averaging helpers process this many bytes of each input per chunk, so that a chunk's
# temporaries stay in the core's L2 cache between the steps (1 MB: the L2 size of the 2-core EPYC VM the
# benchmarks ran on; 0.5-2 MB measured alike).
_CPU_CHUNK_BYTES = 1 << 20

_GROUPED_MODES = {"udp_combined": (3, 1), "offset": (2, 0)}  # flip_mode -> (channels per keypoint, x channel)


def _check_flip_mode(flip_mode: str) -> None:
    if flip_mode != "heatmap" and flip_mode not in _GROUPED_MODES:
        raise ValueError(f'Invalid flip_mode value "{flip_mode}": expected "heatmap", "udp_combined" or "offset"')


def _channel_order(flip_indices: Sequence[int] | None, channels: int, flip_mode: str, device) -> Tensor | None:
    """Channel permutation (C,) that swaps symmetric keypoints, every keypoint's channel group kept together."""
    if flip_indices is None:
        return None
    group = _GROUPED_MODES[flip_mode][0] if flip_mode in _GROUPED_MODES else 1
    if len(flip_indices) * group != channels:
        raise ValueError(
            f"flip_indices has {len(flip_indices)} entries but the {flip_mode!r} maps have {channels} channels "
            f"({group} per keypoint)"
        )
    order = torch.as_tensor(list(flip_indices), dtype=torch.long)
    if group > 1:
        order = (order[:, None] * group + torch.arange(group)).reshape(-1)
    return order.to(device)


_CV2_FLIP_DTYPES = (torch.float32, torch.float64, torch.float16)


def _mirror(heatmaps: Tensor, order: Tensor | None, flip_mode: str) -> Tensor:
    """A new contiguous tensor: channels re-ordered by ``order``, columns reversed, x offsets negated.

    On the CPU the columns are reversed in place by ``cv2.flip`` (SIMD, ~2x faster than ``torch.flip`` and no
    second buffer); both are plain copies, so the values are the same bits."""
    if (
        heatmaps.device.type == "cpu"
        and heatmaps.dtype in _CV2_FLIP_DTYPES
        and heatmaps.numel() > 0
        and not torch.compiler.is_compiling()
    ):
        if order is None:
            mirrored = heatmaps.clone(memory_format=torch.contiguous_format)
        else:
            mirrored = torch.index_select(heatmaps, 1, order).contiguous()
        rows = mirrored.detach().numpy().reshape(-1, mirrored.shape[-1])
        cv2.flip(rows, 1, dst=rows)
    else:
        mirrored = heatmaps if order is None else torch.index_select(heatmaps, 1, order)
        mirrored = mirrored.flip(-1).contiguous()
    if flip_mode in _GROUPED_MODES:
        group, x_channel = _GROUPED_MODES[flip_mode]
        b, c, h, w = mirrored.shape
        mirrored.view(b, c // group, group, h, w)[:, :, x_channel].neg_()
    return mirrored


def flip_heatmaps(
    heatmaps: Tensor,
    flip_indices: Sequence[int] | None = None,
    flip_mode: str = "heatmap",
    shift_heatmap: bool = True,
) -> Tensor:
    """Flip heatmaps ``(B, C, H, W)`` horizontally and swap symmetric keypoints.

    Args:
        heatmaps: heatmaps predicted for the flipped image.
        flip_indices: each keypoint's symmetric keypoint.
        flip_mode: ``'heatmap'`` (C = K), ``'udp_combined'`` (C = 3K: heatmap, x offset, y offset; the x offset
            is negated) or ``'offset'`` (C = 2K: x and y offsets; the x offset is negated).
        shift_heatmap: shift the flipped heatmaps one pixel right to align them with the original ones
            (``out[..., 0] = flipped[..., 0]``, ``out[..., j] = flipped[..., j - 1]``).
    """
    _check_flip_mode(flip_mode)
    if heatmaps.ndim != 4:
        raise ValueError(f"flip_heatmaps expects (B, C, H, W) heatmaps, got shape {tuple(heatmaps.shape)}")
    order = _channel_order(flip_indices, heatmaps.shape[1], flip_mode, heatmaps.device)
    if torch.is_grad_enabled() and heatmaps.requires_grad:
        return _flip_heatmaps_autograd(heatmaps, order, flip_mode, shift_heatmap)
    mirrored = _mirror(heatmaps, order, flip_mode)
    if not shift_heatmap or mirrored.shape[-1] < 2:
        return mirrored
    # The shift is a one-element shift of the flattened maps except in column 0, which keeps its value.
    shifted = torch.empty_like(mirrored)
    shifted.view(-1)[1:] = mirrored.view(-1)[:-1]
    shifted[..., 0] = mirrored[..., 0]
    return shifted


def _flip_heatmaps_autograd(heatmaps: Tensor, order: Tensor | None, flip_mode: str, shift: bool) -> Tensor:
    """Differentiable version of :func:`flip_heatmaps` (no in-place steps)."""
    out = heatmaps if order is None else heatmaps.index_select(1, order)
    out = out.flip(-1)
    if flip_mode in _GROUPED_MODES:
        group, x_channel = _GROUPED_MODES[flip_mode]
        sign = torch.ones(group, dtype=out.dtype, device=out.device)
        sign[x_channel] = -1
        b, c, h, w = out.shape
        out = (out.view(b, c // group, group, h, w) * sign.view(1, 1, group, 1, 1)).view(b, c, h, w)
    if shift:
        out = torch.cat((out[..., :1], out[..., :-1]), dim=-1)
    return out


def _chunk_size(x: Tensor) -> int:
    """Samples per chunk for the averaging helpers: the whole batch off the CPU, ~1 MB of each input on it."""
    n = x.shape[0]
    if x.device.type != "cpu" or n == 0:
        return max(n, 1)
    per_sample = max(x[0].numel() * x.element_size(), 1)
    return max(1, min(n, _CPU_CHUNK_BYTES // per_sample))


def _needs_autograd(*tensors: Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def average_flip_heatmaps(
    heatmaps: Tensor,
    heatmaps_flip: Tensor,
    flip_indices: Sequence[int] | None = None,
    flip_mode: str = "heatmap",
    shift_heatmap: bool = True,
    out: Tensor | None = None,
) -> Tensor:
    """Flip-test average ``(heatmaps + flip_heatmaps(heatmaps_flip, ...)) * 0.5``, both ``(B, C, H, W)``.

    Bitwise the same as the expression; reads each input once and writes the result once per cache-sized chunk
    of the batch (the x offsets of ``'udp_combined'`` / ``'offset'`` maps are subtracted, as the expression does).

    Args:
        out: a contiguous tensor of the result's shape and dtype to write into, e.g. a buffer reused between
            batches, or ``heatmaps`` itself when nothing else holds it (saves allocating, and on the CPU
            page-faulting, a map-sized tensor: ~17 ms for the 40 MB of a B=64 'udp_combined' batch).
    """
    if heatmaps.shape != heatmaps_flip.shape:
        raise ValueError(
            f"heatmaps {tuple(heatmaps.shape)} and flipped heatmaps {tuple(heatmaps_flip.shape)} differ in shape"
        )
    if _needs_autograd(heatmaps, heatmaps_flip):
        if out is not None:
            raise ValueError("average_flip_heatmaps: out= is not differentiable; call it under torch.no_grad()")
        return (heatmaps + flip_heatmaps(heatmaps_flip, flip_indices, flip_mode, shift_heatmap)) * 0.5
    _check_flip_mode(flip_mode)
    if heatmaps.ndim != 4:
        raise ValueError(f"average_flip_heatmaps expects (B, C, H, W) heatmaps, got shape {tuple(heatmaps.shape)}")
    order = _channel_order(flip_indices, heatmaps.shape[1], flip_mode, heatmaps.device)
    dtype = torch.promote_types(heatmaps.dtype, heatmaps_flip.dtype)
    if out is None:
        out = torch.empty(heatmaps.shape, dtype=dtype, device=heatmaps.device)
    elif out.shape != heatmaps.shape or out.dtype != dtype or not out.is_contiguous():
        raise ValueError(
            f"out must be a contiguous {dtype} tensor of shape {tuple(heatmaps.shape)}, got "
            f"{out.dtype} {tuple(out.shape)} (contiguous: {out.is_contiguous()})"
        )
    shift = shift_heatmap and heatmaps.shape[-1] >= 2
    step = _chunk_size(heatmaps)
    for start in range(0, heatmaps.shape[0], step):
        part = slice(start, start + step)
        orig, dst = heatmaps[part].contiguous(), out[part]
        mirrored = _mirror(heatmaps_flip[part], order, flip_mode)
        if shift:
            # shifted[..., j] = mirrored[..., j - 1] is a one-element shift of the flattened maps, except in
            # column 0, which keeps mirrored[..., 0]: that column is summed first (dst may be orig itself).
            first_column = orig[..., 0] + mirrored[..., 0]
            torch.add(orig.view(-1)[1:], mirrored.view(-1)[:-1], out=dst.view(-1)[1:])
            dst[..., 0] = first_column
        else:
            torch.add(orig, mirrored, out=dst)
        dst.mul_(0.5)
    return out


def writable_output(
    output: Tensor, inputs: Tensor | Sequence[Tensor], dtype: torch.dtype | None = None
) -> Tensor | None:
    """``output`` if a flip-test average may be written into it, else ``None``.

    For the heads' flipped-branch output: it may be overwritten when it is a contiguous tensor outside autograd
    (of ``dtype`` if given) that shares no memory with ``inputs`` (the features it came from: an identity head
    returns its input). Writing there saves allocating, and on the CPU page-faulting, a map-sized tensor per
    batch (13 MB for B=64, 17x64x48; ~5 ms on the benchmark VM).
    """
    if not isinstance(output, Tensor) or not output.is_contiguous() or _needs_autograd(output):
        return None
    if dtype is not None and output.dtype != dtype:
        return None
    ptr = output.untyped_storage().data_ptr()
    for t in [inputs] if isinstance(inputs, Tensor) else inputs:
        if isinstance(t, Tensor) and t.untyped_storage().data_ptr() == ptr:
            return None
    return output


def flip_vectors(x_labels: Tensor, y_labels: Tensor, flip_indices: Sequence[int]) -> tuple[Tensor, Tensor]:
    """Flip SimCC vectors: ``x (B, K, Wx)`` is reversed, both are re-ordered by ``flip_indices``."""
    if x_labels.ndim != 3 or y_labels.ndim != 3:
        raise ValueError(
            f"flip_vectors expects (B, K, W) vectors, got {tuple(x_labels.shape)} and {tuple(y_labels.shape)}"
        )
    if flip_indices is None:
        raise ValueError("flip_vectors needs flip_indices (each keypoint's symmetric keypoint)")
    order = _channel_order(flip_indices, x_labels.shape[1], "heatmap", x_labels.device)
    if y_labels.shape[1] != x_labels.shape[1]:
        raise ValueError(f"x and y vectors have {x_labels.shape[1]} and {y_labels.shape[1]} keypoints")
    return torch.index_select(x_labels, 1, order).flip(-1), torch.index_select(y_labels, 1, order)


def average_flip_vectors(
    x_labels: Tensor,
    y_labels: Tensor,
    x_labels_flip: Tensor,
    y_labels_flip: Tensor,
    flip_indices: Sequence[int],
) -> tuple[Tensor, Tensor]:
    """Flip-test average of SimCC vectors: ``((x + x_flip') * 0.5, (y + y_flip') * 0.5)`` with
    ``x_flip', y_flip' = flip_vectors(x_labels_flip, y_labels_flip, flip_indices)``, bitwise the same."""
    x_flip, y_flip = flip_vectors(x_labels_flip, y_labels_flip, flip_indices)
    if _needs_autograd(x_labels, y_labels, x_flip, y_flip):
        return (x_labels + x_flip) * 0.5, (y_labels + y_flip) * 0.5
    if _needs_autograd(x_labels, y_labels) or (x_flip.dtype, y_flip.dtype) != (x_labels.dtype, y_labels.dtype):
        return (x_labels + x_flip) * 0.5, (y_labels + y_flip) * 0.5
    # flip_vectors' results are fresh tensors: accumulate into them instead of allocating two more.
    return x_flip.add_(x_labels).mul_(0.5), y_flip.add_(y_labels).mul_(0.5)


def flip_coordinates(
    coords: Tensor, flip_indices: Sequence[int], shift_coords: bool, input_size: Sequence[int]
) -> Tensor:
    """Flip normalised coordinates ``(B, K, D)`` (x in [0, 1] at index 0): ``x -> 1 - x [- 1 / w]``.

    Channels after the first two (e.g. RLE's sigmas) are only re-ordered.
    """
    assert coords.ndim == 3
    assert len(flip_indices) == coords.shape[1]
    x = 1.0 - coords[:, :, :1]
    if shift_coords:
        x = x - 1.0 / float(input_size[0])
    coords = torch.cat((x, coords[:, :, 1:]), dim=-1)
    return coords[:, list(flip_indices)]


def flip_visibility(vis: Tensor, flip_indices: Sequence[int]) -> Tensor:
    """Re-order keypoint visibilities ``(B, K)`` by ``flip_indices``."""
    assert vis.ndim == 2
    return vis[:, list(flip_indices)]
