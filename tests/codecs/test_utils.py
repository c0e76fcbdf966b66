"""posekit.codecs.utils: vectorized generators against straightforward loop references, blur/maxima/refinement
hand cases, and numpy <-> torch agreement."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from posekit.codecs import utils as U

# ----------------------------------------------------------------------------------- loop references (tests only)


def _ref_windowed(size, keypoints, visible, sigma, udp: bool):
    """One keypoint at a time: paste a (2r+1) Gaussian patch around the rounded keypoint (MSRA / UDP rules)."""
    W, H = size
    N, K, _ = keypoints.shape
    heatmaps = np.zeros((K, H, W), np.float32)
    weights = visible.copy()
    sigmas = [sigma] * N if np.isscalar(sigma) else list(sigma)
    for n in range(N):
        s = sigmas[n]
        radius = 3 * s
        patch = np.arange(0, 2 * radius + 1, 1, dtype=np.float32)
        for k in range(K):
            if visible[n, k] < 0.5:
                continue
            centre = (keypoints[n, k] + 0.5).astype(np.int64)
            x_lo, y_lo = (centre - radius).astype(np.int64)
            x_hi, y_hi = (centre + radius + 1).astype(np.int64)
            if x_lo >= W or y_lo >= H or x_hi < 0 or y_hi < 0:
                weights[n, k] = 0
                continue
            cx = cy = (2 * radius + 1) // 2
            if udp:
                cx = np.float32(cx + (keypoints[n, k, 0] - centre[0]))
                cy = np.float32(cy + (keypoints[n, k, 1] - centre[1]))
            g = np.exp(-((patch[None, :] - cx) ** 2 + (patch[:, None] - cy) ** 2) / np.float32(2 * s**2))
            for y in range(max(0, y_lo), min(H, y_hi)):
                for x in range(max(0, x_lo), min(W, x_hi)):
                    heatmaps[k, y, x] = max(heatmaps[k, y, x], g[y - y_lo, x - x_lo])
    return heatmaps, weights


def _ref_unbiased(size, keypoints, visible, sigma):
    W, H = size
    N, K, _ = keypoints.shape
    heatmaps = np.zeros((K, H, W), np.float32)
    weights = visible.copy()
    xs, ys = np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32)[:, None]
    for n in range(N):
        for k in range(K):
            if visible[n, k] < 0.5:
                continue
            mu = keypoints[n, k].astype(np.float32)
            if (
                mu[0] - 3 * sigma >= W
                or mu[1] - 3 * sigma >= H
                or mu[0] + 3 * sigma + 1 < 0
                or mu[1] + 3 * sigma + 1 < 0
            ):
                weights[n, k] = 0
                continue
            g = np.exp(-((xs - mu[0]) ** 2 + (ys - mu[1]) ** 2) / np.float32(2 * sigma**2))
            heatmaps[k] = np.maximum(heatmaps[k], g)
    return heatmaps, weights


@pytest.fixture
def cases(rng):
    """Multi-instance keypoints in heatmap pixels, many near or beyond the borders, mixed visibility."""
    kpts = rng.uniform(-12, 60, size=(3, 9, 2)).astype(np.float32)
    kpts[0, 0] = (0.49, 0.5)
    kpts[0, 1] = (-6.6, 10)
    kpts[0, 2] = (47.5, 63.5)
    visible = rng.choice([0.0, 0.3, 1.0, 2.0], size=(3, 9)).astype(np.float32)
    return kpts, visible


@pytest.mark.parametrize("sigma", [2.0, 1.5, (2.0, 3.0, 1.0)])
def test_generate_gaussian_heatmaps_matches_loop(cases, sigma):
    kpts, visible = cases
    hm, w = U.generate_gaussian_heatmaps((48, 64), kpts, visible, sigma)
    ref_hm, ref_w = _ref_windowed((48, 64), kpts, visible, sigma, udp=False)
    np.testing.assert_array_equal(w, ref_w)
    np.testing.assert_allclose(hm, ref_hm, rtol=0, atol=1e-6)
    assert hm.dtype == np.float32


@pytest.mark.parametrize("sigma", [2.0, 3.0])
def test_generate_udp_gaussian_heatmaps_matches_loop(cases, sigma):
    kpts, visible = cases
    hm, w = U.generate_udp_gaussian_heatmaps((48, 64), kpts, visible, sigma)
    ref_hm, ref_w = _ref_windowed((48, 64), kpts, visible, sigma, udp=True)
    np.testing.assert_array_equal(w, ref_w)
    np.testing.assert_allclose(hm, ref_hm, rtol=0, atol=1e-6)


def test_generate_unbiased_gaussian_heatmaps_matches_loop(cases):
    kpts, visible = cases
    hm, w = U.generate_unbiased_gaussian_heatmaps((48, 64), kpts, visible, 2.0)
    ref_hm, ref_w = _ref_unbiased((48, 64), kpts, visible, 2.0)
    np.testing.assert_array_equal(w, ref_w)
    np.testing.assert_allclose(hm, ref_hm, rtol=0, atol=1e-6)


def test_generate_offset_heatmap_last_instance_wins():
    kpts = np.array([[[10.0, 12.0]], [[20.0, 30.0]], [[5.0, 5.0]]], np.float32)
    visible = np.array([[1.0], [1.0], [0.0]], np.float32)
    hm, w = U.generate_offset_heatmap((48, 64), kpts, visible, radius_factor=0.0546875)
    assert hm.shape == (3, 64, 48)
    np.testing.assert_array_equal(w, visible)
    r = 0.0546875 * 64
    assert hm[0, 30, 20] == 1 and hm[0, 12, 10] == 0  # instance 1 overwrote instance 0
    assert hm[1, 30, 25] == pytest.approx(-5 / r) and hm[2, 31, 20] == pytest.approx(-1 / r)


def test_generators_reject_bad_shapes():
    with pytest.raises(ValueError, match="keypoints_visible"):
        U.generate_gaussian_heatmaps((48, 64), np.zeros((1, 3, 2)), np.ones((1, 4)), 2.0)
    with pytest.raises(ValueError, match="one value per instance"):
        U.generate_gaussian_heatmaps((48, 64), np.zeros((2, 3, 2)), np.ones((2, 3)), (1.0, 2.0, 3.0))


# ----------------------------------------------------------------------------------------------- kernels, blur


@pytest.mark.parametrize("ksize", [1, 3, 5, 7, 11, 17, 23, 37])
def test_kernel_is_opencvs(ksize):
    np.testing.assert_array_equal(U.gaussian_kernel1d(ksize), cv2.getGaussianKernel(ksize, 0, ktype=cv2.CV_32F)[:, 0])
    with pytest.raises(ValueError, match="odd"):
        U.gaussian_kernel1d(ksize + 1)


@pytest.mark.parametrize("size,pad", [(8, 3), (5, 4), (3, 7), (1, 2)])
def test_reflect101_index_matches_opencv_border(size, pad):
    row = np.arange(size, dtype=np.float32)[None]
    padded = cv2.copyMakeBorder(row, 0, 0, pad, pad, cv2.BORDER_REFLECT_101)[0]
    np.testing.assert_array_equal(row[0, U.reflect101_index(size, pad)], padded)


def test_gaussian_blur_matches_per_map_opencv(rng):
    heatmaps = rng.random((5, 20, 16)).astype(np.float32) ** 4
    out = U.gaussian_blur(heatmaps.copy(), 11)
    for k in range(5):  # zero border of 5, blur, crop, rescale to the original max
        padded = cv2.copyMakeBorder(heatmaps[k], 5, 5, 5, 5, cv2.BORDER_CONSTANT, value=0)
        ref = cv2.GaussianBlur(padded, (11, 11), 0)[5:-5, 5:-5]
        ref *= heatmaps[k].max() / ref.max()
        np.testing.assert_allclose(out[k], ref, rtol=1e-6, atol=1e-7)
    out_t = U.gaussian_blur_torch(torch.from_numpy(heatmaps)[None], 11)[0].numpy()
    np.testing.assert_allclose(out_t, out, rtol=1e-5, atol=1e-7)


def test_gaussian_blur1d_and_torch(rng):
    simcc = rng.random((2, 3, 40)).astype(np.float32)
    out = U.gaussian_blur1d(simcc.copy(), 7)
    for n, k in [(0, 0), (1, 2)]:
        ref = cv2.GaussianBlur(np.pad(simcc[n, k], 3)[None], (7, 1), 0)[0, 3:-3]
        np.testing.assert_allclose(out[n, k], ref * simcc[n, k].max() / ref.max(), rtol=1e-6)
    np.testing.assert_allclose(U.gaussian_blur1d_torch(torch.from_numpy(simcc), 7).numpy(), out, rtol=1e-5)


def test_reflect_blur_torch_matches_opencv_default_border(rng):
    maps = rng.random((3, 10, 9)).astype(np.float32)
    out = U.gaussian_blur_reflect_torch(torch.from_numpy(maps), 23).numpy()  # kernel larger than the map
    for k in range(3):
        np.testing.assert_allclose(out[k], cv2.GaussianBlur(maps[k], (23, 23), 0), rtol=1e-5, atol=1e-7)


def test_torch_blur_keeps_mirror_symmetry():
    x = torch.zeros(1, 15, 15)
    x[0, 7, 7] = 255.0
    out = U.gaussian_blur_torch(x, 11)[0]
    assert torch.equal(out, out.flip(0)) and torch.equal(out, out.flip(1))


# ----------------------------------------------------------------------------------------------------- maxima


def test_get_heatmap_maximum():
    hm = np.zeros((3, 4, 5), np.float32)
    hm[0, 2, 3] = 0.7
    hm[1] = -1.0  # non-positive maximum -> (-1, -1)
    hm[2, 1, 1] = hm[2, 3, 4] = 0.5  # tie -> first in row-major order
    locs, vals = U.get_heatmap_maximum(hm)
    np.testing.assert_array_equal(locs, [[3, 2], [-1, -1], [1, 1]])
    np.testing.assert_array_equal(vals, np.float32([0.7, -1.0, 0.5]))
    locs_b, vals_b = U.get_heatmap_maximum(np.stack([hm, hm]))
    assert locs_b.shape == (2, 3, 2) and vals_b.shape == (2, 3)
    locs_t, vals_t = U.get_heatmap_maximum_torch(torch.from_numpy(hm))
    np.testing.assert_array_equal(locs_t.numpy(), locs)
    np.testing.assert_array_equal(vals_t.numpy(), vals)
    with pytest.raises(TypeError):
        U.get_heatmap_maximum(torch.from_numpy(hm))


def test_get_simcc_maximum():
    x = np.array([[0.1, 0.9, 0.2], [0.0, 0.0, 0.0]], np.float32)
    y = np.array([[0.3, 0.1, 0.6, 0.0], [0.5, 0.1, 0.0, 0.0]], np.float32)
    locs, vals = U.get_simcc_maximum(x, y)
    np.testing.assert_array_equal(locs, [[1, 2], [-1, -1]])
    np.testing.assert_allclose(vals, [0.6, 0.0])  # min of the two maxima
    locs_t, vals_t = U.get_simcc_maximum_torch(torch.from_numpy(x), torch.from_numpy(y))
    np.testing.assert_array_equal(locs_t.numpy(), locs)
    _, probs = U.get_simcc_maximum(x, y, apply_softmax=True)
    ex = np.exp(x[0]) / np.exp(x[0]).sum()
    ey = np.exp(y[0]) / np.exp(y[0]).sum()
    assert probs[0] == pytest.approx(min(ex.max(), ey.max()))


# ------------------------------------------------------------------------------------------------- refinement


def test_refine_keypoints_quarter_offset_and_borders():
    hm = np.zeros((4, 6, 6), np.float32)
    hm[0, 3, 3], hm[0, 3, 4], hm[0, 2, 3] = 1.0, 0.5, 0.2  # right and up neighbours are higher
    hm[1, 0, 3], hm[1, 0, 4] = 1.0, 0.5  # y == 0: MMPose skips the x step as well
    hm[2, 3, 1], hm[2, 3, 2] = 1.0, 0.5  # x == 1: no x step (MMPose's 1 < x bound)
    kpts = np.array([[[3, 3], [3, 0], [1, 3], [-1, -1]]], np.float32)
    out = U.refine_keypoints(kpts.copy(), hm)
    np.testing.assert_allclose(out, [[[3.25, 2.75], [3, 0], [1, 3], [-1, -1]]])
    out_t = U.refine_keypoints_torch(torch.from_numpy(kpts), torch.from_numpy(hm)[None])
    np.testing.assert_allclose(out_t.numpy(), out)


def _gaussian_map(cx, cy, sigma=2.0, size=(48, 64)):
    xs, ys = np.arange(size[0]), np.arange(size[1])[:, None]
    return np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2)).astype(np.float32)


def test_refine_keypoints_dark_recovers_subpixel_centre():
    centres = np.array([[20.3, 30.7], [10.8, 12.25], [1.3, 30.0]])  # the last one is too close to the border
    hm = np.stack([_gaussian_map(*c) for c in centres])
    locs, _ = U.get_heatmap_maximum(hm)
    out = U.refine_keypoints_dark(locs[None].copy(), hm, 11)
    np.testing.assert_allclose(out[0, :2], centres[:2], atol=0.02)
    np.testing.assert_array_equal(out[0, 2], locs[2])
    out_t = U.refine_keypoints_dark_torch(torch.from_numpy(locs)[None], torch.from_numpy(hm)[None], 11)
    np.testing.assert_allclose(out_t.numpy(), out, atol=1e-4)


def test_refine_keypoints_dark_udp_recovers_subpixel_centre():
    centres = np.array([[20.3, 30.7], [0.6, 12.25]])
    hm = np.stack([_gaussian_map(*c) for c in centres])
    locs, _ = U.get_heatmap_maximum(hm)
    out = U.refine_keypoints_dark_udp(locs[None].copy(), hm, 11)
    np.testing.assert_allclose(out[0, 0], centres[0], atol=0.02)
    out_t = U.refine_keypoints_dark_udp_torch(torch.from_numpy(locs)[None], torch.from_numpy(hm)[None], 11)
    np.testing.assert_allclose(out_t.numpy(), out, atol=1e-4)


def test_refine_simcc_dark():
    bins = np.arange(100)
    simcc = np.exp(-((bins - np.array([[40.3], [70.6]])) ** 2) / (2 * 5.0**2)).astype(np.float32)[None]  # (1, 2, W)
    kpts = simcc.argmax(-1).astype(np.float32)
    out = U.refine_simcc_dark(kpts.copy(), simcc, 29)
    np.testing.assert_allclose(out, [[40.3, 70.6]], atol=0.05)
    out_t = U.refine_simcc_dark_torch(torch.from_numpy(kpts), torch.from_numpy(simcc), 29)
    np.testing.assert_allclose(out_t.numpy(), out, atol=1e-4)


def test_refinements_leave_heatmaps_untouched():
    hm = np.stack([_gaussian_map(20.3, 30.7)])
    before = hm.copy()
    locs, _ = U.get_heatmap_maximum(hm)
    U.refine_keypoints_dark(locs[None].copy(), hm, 11)
    U.refine_keypoints_dark_udp(locs[None].copy(), hm, 11)
    np.testing.assert_array_equal(hm, before)


# ---------------------------------------------------------------------------------------------- torch helpers


def test_batch_heatmap_nms():
    hm = torch.zeros(1, 1, 5, 5)
    hm[0, 0, 1, 1], hm[0, 0, 1, 2], hm[0, 0, 4, 4] = 0.9, 0.5, 0.3
    out = U.batch_heatmap_nms(hm, 3)
    assert out[0, 0, 1, 1] == pytest.approx(0.9) and out[0, 0, 1, 2] == 0 and out[0, 0, 4, 4] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="odd"):
        U.batch_heatmap_nms(hm, 4)


def test_get_simcc_normalized():
    pred = torch.tensor([[[-1.0, 2.0, 4.0], [0.1, 0.5, 0.2]]])
    out = U.get_simcc_normalized(pred)
    torch.testing.assert_close(out, torch.tensor([[[0.0, 0.5, 1.0], [0.1, 0.5, 0.2]]]))
