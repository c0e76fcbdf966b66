"""Batched flip-test decoding on device vs MMPose's per-sample numpy decoding.

For a batch of B crops (default 64) the network outputs of the original and of the flipped crops are averaged
(flip test) and decoded to keypoints, both ways:

* **per-sample numpy (MMPose's way)**: the outputs are copied to the host, then for every sample the flipped
  output is mirrored back with numpy (``flip_indices``, reversed x, optional one-pixel shift), averaged with the
  original output, and ``codec.decode`` is called on the numpy arrays. posekit's numpy decode is MMPose 1.3.2's
  decode (``tests/codecs`` checks it against MMPose's own outputs); looping over samples is what MMPose's
  ``BaseHead.decode`` does.
* **posekit batched**: what posekit's heads do: ``average_flip_heatmaps`` / ``average_flip_vectors`` (mirror back
  and average in one pass per cache-sized chunk, written into a buffer that already exists: the heads write
  into the flipped branch's forward output; ``--new-output`` allocates the result instead) on the whole batch
  on device, one ``codec.decode`` call on the batch tensor,
  results copied to the host.
* **MMPose 1.3.2 code** (for reference): MMPose's head path itself: the batched torch flip and average (MMPose's
  ``flip_heatmaps`` / ``flip_vectors``, re-implemented op for op; they give posekit's numbers), ``to_numpy``,
  then per sample MMPose 1.3.2's decode functions, re-implemented below line for line (``gaussian_blur`` calling
  OpenCV once per map, ``refine_keypoints_dark`` looping over keypoints in Python, ...). posekit's numpy decode
  is a vectorized rewrite of these, so this column is slower than the per-sample numpy one.

Inputs look like network outputs: the codec's targets of random keypoints (and of the mirrored keypoints for the
flipped branch) plus Gaussian noise. The script asserts that both ways give the same keypoints (within
``--atol`` px) and scores (1e-4) before timing them.

    python scripts/bench_decode.py                    # B=64 on CPU
    python scripts/bench_decode.py --device cuda --batch 256
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product

import cv2
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (  # noqa: E402
    add_common_args,
    apply_threads,
    fmt_ms,
    fmt_ratio,
    markdown_table,
    print_header,
    resolve_device,
    timeit_many,
)

from posekit.codecs import MSRAHeatmap, SimCCLabel, UDPHeatmap  # noqa: E402
from posekit.datasets import load_metainfo  # noqa: E402
from posekit.models.heads.tta import average_flip_heatmaps, average_flip_vectors  # noqa: E402

INPUT_SIZE = (192, 256)
HEATMAP_SIZE = (48, 64)


@dataclass
class Case:
    name: str
    codec: object
    kind: str  # 'heatmap' or 'simcc'
    flip_mode: str = "heatmap"
    shift_heatmap: bool = False


CASES: dict[str, Callable[[], Case]] = {
    "msra_dark": lambda: Case(
        "MSRAHeatmap + DARK 64x48 (HRNet-DARK), flip + shift",
        MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0, unbiased=True),
        "heatmap",
        "heatmap",
        True,
    ),
    "msra": lambda: Case(
        "MSRAHeatmap 64x48 (HRNet), flip + shift",
        MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0),
        "heatmap",
        "heatmap",
        True,
    ),
    "udp": lambda: Case(
        "UDPHeatmap gaussian 64x48 (ViTPose), flip",
        UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0),
        "heatmap",
        "heatmap",
        False,
    ),
    "udp_combined": lambda: Case(
        "UDPHeatmap combined 3x17x64x48, flip udp_combined",
        UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE, heatmap_type="combined"),
        "heatmap",
        "udp_combined",
        False,
    ),
    "simcc": lambda: Case(
        "SimCCLabel 192x256 split 2.0 (RTMPose), flip",
        SimCCLabel(INPUT_SIZE, sigma=(4.9, 5.66), simcc_split_ratio=2.0, normalize=False),
        "simcc",
    ),
    "simcc_dark": lambda: Case(
        "SimCCLabel 192x256 split 2.0 + DARK, flip",
        SimCCLabel(INPUT_SIZE, sigma=(4.9, 5.66), simcc_split_ratio=2.0, normalize=False, use_dark=True),
        "simcc",
    ),
}


# ------------------------------------------------------------------------------------------------------- inputs
def make_outputs(case: Case, batch: int, flip_indices: list[int], noise: float, seed: int):
    """Fake network outputs (numpy): the targets of random keypoints + noise, and the flipped-crop outputs."""
    rng = np.random.default_rng(seed)
    w, h = INPUT_SIZE
    K = len(flip_indices)
    outs, outs_flip = [], []
    for _ in range(batch):
        kpts = ((0.1 + 0.8 * rng.random((1, K, 2))) * (w, h)).astype(np.float32)
        mirrored = kpts[:, flip_indices].copy()
        mirrored[..., 0] = w - 1 - mirrored[..., 0]
        pair = []
        for k in (kpts, mirrored):
            enc = case.codec.encode(k, np.ones((1, K), np.float32))
            if case.kind == "simcc":
                x, y = enc["keypoint_x_labels"][0], enc["keypoint_y_labels"][0]
                pair.append(
                    (
                        x + noise * rng.standard_normal(x.shape).astype(np.float32),
                        y + noise * rng.standard_normal(y.shape).astype(np.float32),
                    )
                )
            else:
                hm = enc["heatmaps"]
                pair.append(hm + noise * rng.standard_normal(hm.shape).astype(np.float32))
        outs.append(pair[0])
        outs_flip.append(pair[1])
    if case.kind == "simcc":
        stack = [(np.stack([o[0] for o in lst]), np.stack([o[1] for o in lst])) for lst in (outs, outs_flip)]
        return stack[0], stack[1]
    return np.stack(outs), np.stack(outs_flip)


# ------------------------------------------------------------------------------------------- MMPose's way (numpy)
def numpy_flip_back(hm: np.ndarray, flip_indices: list[int], flip_mode: str, shift: bool) -> np.ndarray:
    """One sample's flipped-crop heatmaps (C, H, W) mirrored back (numpy version of MMPose's flip_heatmaps)."""
    if flip_mode == "heatmap":
        out = hm[flip_indices, :, ::-1]
    else:  # udp_combined: (K, 3, H, W), x offsets negated
        C, H, W = hm.shape
        out = hm.reshape(C // 3, 3, H, W)[flip_indices, :, :, ::-1].copy()
        out[:, 1] = -out[:, 1]
        out = out.reshape(C, H, W)
    if shift:
        out = np.concatenate((out[..., :1], out[..., :-1]), axis=-1)
    return out


def per_sample_numpy_decode(case: Case, averaged_np):
    """Only the per-sample numpy decode loop, on already averaged host arrays."""
    if case.kind == "simcc":
        return [case.codec.decode(x[None], y[None]) for x, y in zip(*averaged_np)]
    return [case.codec.decode(hm) for hm in averaged_np]


def per_sample_numpy(case: Case, outputs, outputs_flip, flip_indices: list[int]):
    """MMPose's way: host copy, then per sample: numpy flip-back, average, numpy decode."""
    if case.kind == "simcc":
        xs, ys = (t.cpu().numpy() for t in outputs)
        xfs, yfs = (t.cpu().numpy() for t in outputs_flip)
        keypoints, scores = [], []
        for x, y, xf, yf in zip(xs, ys, xfs, yfs):
            x = (x + xf[flip_indices, ::-1]) * 0.5
            y = (y + yf[flip_indices]) * 0.5
            k, s = case.codec.decode(x[None], y[None])
            keypoints.append(k)
            scores.append(s)
        return np.stack(keypoints), np.stack(scores)
    hms, hmfs = outputs.cpu().numpy(), outputs_flip.cpu().numpy()
    keypoints, scores = [], []
    for hm, hmf in zip(hms, hmfs):
        avg = (hm + numpy_flip_back(hmf, flip_indices, case.flip_mode, case.shift_heatmap)) * 0.5
        k, s = case.codec.decode(avg)
        keypoints.append(k)
        scores.append(s)
    return np.stack(keypoints), np.stack(scores)


# ------------------------------------------------------------------------------- MMPose 1.3.2 decode functions
def mm_get_heatmap_maximum(heatmaps):
    K, H, W = heatmaps.shape
    heatmaps_flatten = heatmaps.reshape(K, -1)
    y_locs, x_locs = np.unravel_index(np.argmax(heatmaps_flatten, axis=1), shape=(H, W))
    locs = np.stack((x_locs, y_locs), axis=-1).astype(np.float32)
    vals = np.amax(heatmaps_flatten, axis=1)
    locs[vals <= 0.0] = -1
    return locs, vals


def mm_gaussian_blur(heatmaps, kernel=11):
    border = (kernel - 1) // 2
    K, H, W = heatmaps.shape
    for k in range(K):
        origin_max = np.max(heatmaps[k])
        dr = np.zeros((H + 2 * border, W + 2 * border), dtype=np.float32)
        dr[border:-border, border:-border] = heatmaps[k].copy()
        dr = cv2.GaussianBlur(dr, (kernel, kernel), 0)
        heatmaps[k] = dr[border:-border, border:-border].copy()
        heatmaps[k] *= origin_max / np.max(heatmaps[k])
    return heatmaps


def mm_gaussian_blur1d(simcc, kernel=11):
    border = (kernel - 1) // 2
    N, K, Wx = simcc.shape
    for n, k in product(range(N), range(K)):
        origin_max = np.max(simcc[n, k])
        dr = np.zeros((1, Wx + 2 * border), dtype=np.float32)
        dr[0, border:-border] = simcc[n, k].copy()
        dr = cv2.GaussianBlur(dr, (kernel, 1), 0)
        simcc[n, k] = dr[0, border:-border].copy()
        simcc[n, k] *= origin_max / np.max(simcc[n, k])
    return simcc


def mm_refine_keypoints(keypoints, heatmaps):
    N, K = keypoints.shape[:2]
    H, W = heatmaps.shape[1:]
    for n, k in product(range(N), range(K)):
        x, y = keypoints[n, k, :2].astype(int)
        if 1 < x < W - 1 and 0 < y < H:
            dx = heatmaps[k, y, x + 1] - heatmaps[k, y, x - 1]
        else:
            dx = 0.0
        if 1 < y < H - 1 and 0 < x < W:
            dy = heatmaps[k, y + 1, x] - heatmaps[k, y - 1, x]
        else:
            dy = 0.0
        keypoints[n, k] += np.sign([dx, dy], dtype=np.float32) * 0.25
    return keypoints


def mm_refine_keypoints_dark(keypoints, heatmaps, blur_kernel_size):
    N, K = keypoints.shape[:2]
    H, W = heatmaps.shape[1:]
    heatmaps = mm_gaussian_blur(heatmaps, blur_kernel_size)
    np.maximum(heatmaps, 1e-10, out=heatmaps)
    np.log(heatmaps, out=heatmaps)
    for n, k in product(range(N), range(K)):
        x, y = keypoints[n, k, :2].astype(int)
        if 1 < x < W - 2 and 1 < y < H - 2:
            dx = 0.5 * (heatmaps[k, y, x + 1] - heatmaps[k, y, x - 1])
            dy = 0.5 * (heatmaps[k, y + 1, x] - heatmaps[k, y - 1, x])
            dxx = 0.25 * (heatmaps[k, y, x + 2] - 2 * heatmaps[k, y, x] + heatmaps[k, y, x - 2])
            dxy = 0.25 * (
                heatmaps[k, y + 1, x + 1]
                - heatmaps[k, y - 1, x + 1]
                - heatmaps[k, y + 1, x - 1]
                + heatmaps[k, y - 1, x - 1]
            )
            dyy = 0.25 * (heatmaps[k, y + 2, x] - 2 * heatmaps[k, y, x] + heatmaps[k, y - 2, x])
            derivative = np.array([[dx], [dy]])
            hessian = np.array([[dxx, dxy], [dxy, dyy]])
            if dxx * dyy - dxy**2 != 0:
                hessianinv = np.linalg.inv(hessian)
                offset = -hessianinv @ derivative
                offset = np.squeeze(np.array(offset.T), axis=0)
                keypoints[n, k, :2] += offset
    return keypoints


def mm_refine_keypoints_dark_udp(keypoints, heatmaps, blur_kernel_size):
    N, K = keypoints.shape[:2]
    H, W = heatmaps.shape[1:]
    heatmaps = mm_gaussian_blur(heatmaps, blur_kernel_size)
    np.clip(heatmaps, 1e-3, 50.0, out=heatmaps)
    np.log(heatmaps, out=heatmaps)
    heatmaps_pad = np.pad(heatmaps, ((0, 0), (1, 1), (1, 1)), mode="edge").flatten()
    for n in range(N):
        index = keypoints[n, :, 0] + 1 + (keypoints[n, :, 1] + 1) * (W + 2)
        index += (W + 2) * (H + 2) * np.arange(0, K)
        index = index.astype(int).reshape(-1, 1)
        i_ = heatmaps_pad[index]
        ix1 = heatmaps_pad[index + 1]
        iy1 = heatmaps_pad[index + W + 2]
        ix1y1 = heatmaps_pad[index + W + 3]
        ix1_y1_ = heatmaps_pad[index - W - 3]
        ix1_ = heatmaps_pad[index - 1]
        iy1_ = heatmaps_pad[index - 2 - W]
        dx = 0.5 * (ix1 - ix1_)
        dy = 0.5 * (iy1 - iy1_)
        derivative = np.concatenate([dx, dy], axis=1)
        derivative = derivative.reshape(K, 2, 1)
        dxx = ix1 - 2 * i_ + ix1_
        dyy = iy1 - 2 * i_ + iy1_
        dxy = 0.5 * (ix1y1 - ix1 - iy1 + i_ + i_ - ix1_ - iy1_ + ix1_y1_)
        hessian = np.concatenate([dxx, dxy, dxy, dyy], axis=1)
        hessian = hessian.reshape(K, 2, 2)
        hessian = np.linalg.inv(hessian + np.finfo(np.float32).eps * np.eye(2))
        keypoints[n] -= np.einsum("imn,ink->imk", hessian, derivative).squeeze()
    return keypoints


def mm_get_simcc_maximum(simcc_x, simcc_y):
    N, K, _ = simcc_x.shape
    simcc_x = simcc_x.reshape(N * K, -1)
    simcc_y = simcc_y.reshape(N * K, -1)
    x_locs = np.argmax(simcc_x, axis=1)
    y_locs = np.argmax(simcc_y, axis=1)
    locs = np.stack((x_locs, y_locs), axis=-1).astype(np.float32)
    max_val_x = np.amax(simcc_x, axis=1)
    max_val_y = np.amax(simcc_y, axis=1)
    mask = max_val_x > max_val_y
    max_val_x[mask] = max_val_y[mask]
    vals = max_val_x
    locs[vals <= 0.0] = -1
    return locs.reshape(N, K, 2), vals.reshape(N, K)


def mm_refine_simcc_dark(keypoints, simcc, blur_kernel_size):
    N = simcc.shape[0]
    simcc = mm_gaussian_blur1d(simcc, blur_kernel_size)
    np.clip(simcc, 1e-3, 50.0, out=simcc)
    np.log(simcc, out=simcc)
    simcc = np.pad(simcc, ((0, 0), (0, 0), (2, 2)), "edge")
    for n in range(N):
        px = (keypoints[n] + 2.5).astype(np.int64).reshape(-1, 1)  # K, 1
        dx0 = np.take_along_axis(simcc[n], px, axis=1)  # K, 1
        dx1 = np.take_along_axis(simcc[n], px + 1, axis=1)
        dx_1 = np.take_along_axis(simcc[n], px - 1, axis=1)
        dx2 = np.take_along_axis(simcc[n], px + 2, axis=1)
        dx_2 = np.take_along_axis(simcc[n], px - 2, axis=1)
        dx = 0.5 * (dx1 - dx_1)
        dxx = 1e-9 + 0.25 * (dx2 - 2 * dx0 + dx_2)
        offset = dx / dxx
        keypoints[n] -= offset.reshape(-1)
    return keypoints


def mmpose_decode(codec, encoded):
    """MMPose 1.3.2's ``decode`` of MSRAHeatmap / UDPHeatmap / SimCCLabel (the options used here)."""
    if isinstance(codec, SimCCLabel):
        simcc_x, simcc_y = encoded
        keypoints, scores = mm_get_simcc_maximum(simcc_x, simcc_y)
        if codec.use_dark:
            x_blur = int((codec.sigma[0] * 20 - 7) // 3)
            y_blur = int((codec.sigma[1] * 20 - 7) // 3)
            x_blur -= int((x_blur % 2) == 0)
            y_blur -= int((y_blur % 2) == 0)
            keypoints[:, :, 0] = mm_refine_simcc_dark(keypoints[:, :, 0], simcc_x, x_blur)
            keypoints[:, :, 1] = mm_refine_simcc_dark(keypoints[:, :, 1], simcc_y, y_blur)
        keypoints /= codec.simcc_split_ratio
        return keypoints, scores
    heatmaps = encoded.copy()
    if isinstance(codec, MSRAHeatmap):
        keypoints, scores = mm_get_heatmap_maximum(heatmaps)
        keypoints, scores = keypoints[None], scores[None]
        if codec.unbiased:
            keypoints = mm_refine_keypoints_dark(keypoints, heatmaps, blur_kernel_size=codec.blur_kernel_size)
        else:
            keypoints = mm_refine_keypoints(keypoints, heatmaps)
        return keypoints * codec.scale_factor, scores
    if codec.heatmap_type == "gaussian":
        keypoints, scores = mm_get_heatmap_maximum(heatmaps)
        keypoints = keypoints[None]
        scores = scores[None]
        keypoints = mm_refine_keypoints_dark_udp(keypoints, heatmaps, blur_kernel_size=codec.blur_kernel_size)
    else:
        _K, H, W = heatmaps.shape
        K = _K // 3
        for cls_heatmap in heatmaps[::3]:
            ks = 2 * codec.blur_kernel_size + 1
            cv2.GaussianBlur(cls_heatmap, (ks, ks), 0, cls_heatmap)
        radius = codec.radius_factor * max(W, H)
        x_offset = heatmaps[1::3].flatten() * radius
        y_offset = heatmaps[2::3].flatten() * radius
        keypoints, scores = mm_get_heatmap_maximum(heatmaps=heatmaps[::3])
        index = (keypoints[..., 0] + keypoints[..., 1] * W).flatten()
        index += W * H * np.arange(0, K)
        index = index.astype(int)
        keypoints += np.stack((x_offset[index], y_offset[index]), axis=-1)
        keypoints = keypoints[None].astype(np.float32)
        scores = scores[None]
    W, H = codec.heatmap_size
    keypoints = keypoints / [W - 1, H - 1] * codec.input_size
    return keypoints, scores


def mmpose_flip(case: Case, outputs, outputs_flip, flip_indices: list[int]):
    """MMPose 1.3.2's head flip test, op for op: ``flip_heatmaps`` / ``flip_vectors`` (torch flip, list
    indexing, x offsets negated, in-place shift of a clone) and ``(x + x_flip) * 0.5``."""
    if case.kind == "simcc":
        xf, yf = outputs_flip
        xf = xf.flip(-1)[:, flip_indices]
        yf = yf[:, flip_indices]
        return (outputs[0] + xf) * 0.5, (outputs[1] + yf) * 0.5
    hm = outputs_flip
    if case.flip_mode == "heatmap":
        hm = hm.flip(-1)[:, flip_indices]
    else:
        B, C, H, W = hm.shape
        hm = hm.reshape(B, C // 3, 3, H, W).flip(-1)[:, flip_indices]
        hm[:, :, 1] = -hm[:, :, 1]
        hm = hm.reshape(B, C, H, W)
    if case.shift_heatmap:
        hm[..., 1:] = hm[..., :-1].clone()
    return (outputs + hm) * 0.5


def mmpose_head(case: Case, outputs, outputs_flip, flip_indices: list[int]):
    """MMPose's head: batched torch flip + average, ``to_numpy``, per-sample MMPose decode."""
    averaged = mmpose_flip(case, outputs, outputs_flip, flip_indices)
    keypoints, scores = [], []
    if case.kind == "simcc":
        xs, ys = (t.cpu().numpy() for t in averaged)
        for x, y in zip(xs, ys):
            k, s = mmpose_decode(case.codec, (x[None].copy(), y[None].copy()))
            keypoints.append(k)
            scores.append(s)
    else:
        for hm in averaged.cpu().numpy():
            k, s = mmpose_decode(case.codec, hm)
            keypoints.append(k)
            scores.append(s)
    return np.stack(keypoints), np.stack(scores)


# ---------------------------------------------------------------------------------------------- posekit batched
def batched_flip(case: Case, outputs, outputs_flip, flip_indices: list[int], out=None):
    """The heads' flip test: mirror the flipped branch back and average, on the whole batch.

    ``out``: write the result into this buffer, as the heads write into the flipped branch's output (which the
    benchmark cannot overwrite: it reuses its inputs); ``None`` (``--new-output``) allocates it."""
    if case.kind == "simcc":
        return average_flip_vectors(*outputs, *outputs_flip, flip_indices=flip_indices)
    return average_flip_heatmaps(
        outputs, outputs_flip, flip_indices, flip_mode=case.flip_mode, shift_heatmap=case.shift_heatmap, out=out
    )


def batched_decode(case: Case, averaged):
    keypoints, scores = case.codec.decode(*averaged) if case.kind == "simcc" else case.codec.decode(averaged)
    return keypoints.cpu(), scores.cpu()


def posekit_batched(case: Case, outputs, outputs_flip, flip_indices: list[int], out=None):
    return batched_decode(case, batched_flip(case, outputs, outputs_flip, flip_indices, out))


# -------------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64, help="crops per batch (default 64)")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES), help="codecs to run")
    parser.add_argument("--noise", type=float, default=0.05, help="std of the noise added to the targets")
    parser.add_argument("--atol", type=float, default=1e-3, help="max keypoint difference (input px) allowed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--new-output",
        action="store_true",
        help="posekit allocates the flip-test average instead of writing it into an existing buffer (out=)",
    )
    add_common_args(parser)
    args = parser.parse_args(argv)
    apply_threads(args.threads)
    device = resolve_device(args.device)
    flip_indices = list(load_metainfo("coco")["flip_indices"])
    torch.set_grad_enabled(False)

    print_header(f"Flip-test decoding of B={args.batch} crops: posekit batched vs per-sample numpy", device)
    rows, rows_decode = [], []
    for key in args.cases:
        case = CASES[key]()
        out_np, flip_np = make_outputs(case, args.batch, flip_indices, args.noise, args.seed)
        if case.kind == "simcc":
            outputs = tuple(torch.from_numpy(a).to(device) for a in out_np)
            outputs_flip = tuple(torch.from_numpy(a).to(device) for a in flip_np)
        else:
            outputs = torch.from_numpy(out_np).to(device)
            outputs_flip = torch.from_numpy(flip_np).to(device)
        scratch = None if case.kind == "simcc" or args.new_output else torch.empty_like(outputs)

        # equal results first
        want_k, want_s = per_sample_numpy(case, outputs, outputs_flip, flip_indices)  # (B, 1, K, 2), (B, 1, K)
        got_k, got_s = posekit_batched(case, outputs, outputs_flip, flip_indices, scratch)
        np.testing.assert_allclose(got_k.numpy(), want_k, rtol=0, atol=args.atol, equal_nan=True, err_msg=key)
        np.testing.assert_allclose(got_s.numpy(), want_s, rtol=0, atol=1e-4, equal_nan=True, err_msg=key)
        max_diff = float(np.nanmax(np.abs(got_k.numpy() - want_k)))
        mm_k, mm_s = mmpose_head(case, outputs, outputs_flip, flip_indices)
        np.testing.assert_allclose(mm_k, want_k, rtol=0, atol=args.atol, equal_nan=True, err_msg=f"{key} (MMPose)")
        np.testing.assert_allclose(mm_s, want_s, rtol=0, atol=1e-4, equal_nan=True, err_msg=f"{key} (MMPose)")

        def run_numpy(case=case, outputs=outputs, outputs_flip=outputs_flip):
            return per_sample_numpy(case, outputs, outputs_flip, flip_indices)

        def run_mmpose(case=case, outputs=outputs, outputs_flip=outputs_flip):
            return mmpose_head(case, outputs, outputs_flip, flip_indices)

        def run_posekit(case=case, outputs=outputs, outputs_flip=outputs_flip, scratch=scratch):
            return posekit_batched(case, outputs, outputs_flip, flip_indices, scratch)

        averaged = batched_flip(case, outputs, outputs_flip, flip_indices)
        if case.kind == "simcc":
            averaged_np = tuple(a.cpu().numpy() for a in averaged)
        else:
            averaged_np = averaged.cpu().numpy()

        def run_flip(case=case, outputs=outputs, outputs_flip=outputs_flip, scratch=scratch):
            return batched_flip(case, outputs, outputs_flip, flip_indices, scratch)

        def run_add(outputs=outputs, outputs_flip=outputs_flip, scratch=scratch):
            if isinstance(outputs, tuple):
                return [a + b for a, b in zip(outputs, outputs_flip)]
            return outputs + outputs_flip if scratch is None else torch.add(outputs, outputs_flip, out=scratch)

        def run_decode(case=case, averaged=averaged):
            return batched_decode(case, averaged)

        def run_numpy_decode(case=case, averaged_np=averaged_np):
            return per_sample_numpy_decode(case, averaged_np)

        t = timeit_many(
            {
                "mmpose": run_mmpose,
                "numpy": run_numpy,
                "posekit": run_posekit,
                "flip": run_flip,
                "add": run_add,
                "decode": run_decode,
                "numpy_decode": run_numpy_decode,
            },
            args.repeat,
            args.warmup,
            device,
        )
        med = {k: v.median for k, v in t.items()}
        rows.append(
            [
                case.name,
                fmt_ms(med["mmpose"]),
                fmt_ms(med["numpy"]),
                fmt_ms(med["posekit"]),
                fmt_ratio(med["numpy"] / med["posekit"]),
                fmt_ratio(med["mmpose"] / med["posekit"]),
                f"{max_diff:.1e}",
            ]
        )
        rows_decode.append(
            [
                case.name,
                fmt_ms(med["numpy_decode"]),
                fmt_ms(med["decode"]),
                fmt_ratio(med["numpy_decode"] / med["decode"]),
                fmt_ms(med["flip"]),
                fmt_ms(med["add"]),
            ]
        )
    headers = [
        "codec / flip mode",
        "MMPose 1.3.2 code (ms)",
        "per-sample numpy (ms)",
        "posekit batched (ms)",
        "speed-up vs per-sample numpy",
        "speed-up vs MMPose code",
        "max keypoint diff (px)",
    ]
    print("Flip test + decode, end to end (outputs on the device -> keypoints and scores on the host):\n")
    print(markdown_table(headers, rows))
    print("\nThe two halves of the posekit column, and the per-sample numpy decode without its flip:\n")
    headers = [
        "codec",
        "per-sample numpy decode (ms)",
        "posekit batched decode (ms)",
        "decode speed-up",
        "posekit flip + average (ms)",
        "floor: outputs + outputs_flip, one pass (ms)",
    ]
    print(markdown_table(headers, rows_decode))
    print(
        f"\nMedian of {args.repeat} interleaved runs per cell. All three ways asserted equal (keypoints within "
        f"{args.atol} px, scores within 1e-4) before timing."
    )


if __name__ == "__main__":
    main()
