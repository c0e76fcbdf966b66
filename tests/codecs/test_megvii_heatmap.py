"""MegviiHeatmap."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from posekit.codecs import MegviiHeatmap

INPUT_SIZE, HEATMAP_SIZE = (192, 256), (48, 64)


@pytest.fixture
def codec() -> MegviiHeatmap:
    return MegviiHeatmap(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, kernel_size=11)


def test_encode_is_blurred_one_hot_at_255(codec, keypoints, keypoints_visible):
    kpts = keypoints.copy()
    kpts[0, 0] = (2.0, 3.0)  # next to the border: OpenCV's reflect-101 border is reproduced
    encoded = codec.encode(kpts, keypoints_visible)
    heatmaps = encoded["heatmaps"]
    assert heatmaps.shape == (17, 64, 48) and encoded["keypoint_weights"].shape == (1, 17)
    for k in (0, 5):
        x, y = (kpts[0, k] / 4).astype(int)
        one_hot = np.zeros((64, 48), np.float32)
        one_hot[y, x] = 1
        blurred = cv2.GaussianBlur(one_hot, (11, 11), 0)
        np.testing.assert_allclose(heatmaps[k], blurred / blurred[y, x] * 255, rtol=1e-6, atol=1e-4)
        assert heatmaps[k, y, x] == pytest.approx(255)


def test_round_trip_and_scores(codec, keypoints, keypoints_visible):
    decoded, scores = codec.decode(codec.encode(keypoints, keypoints_visible)["heatmaps"])
    assert decoded.shape == (1, 17, 2) and scores.shape == (1, 17)
    np.testing.assert_allclose(decoded, keypoints, atol=4.0)
    np.testing.assert_allclose(scores, 1.5, atol=1e-4)  # 255 / 255 + 0.5


def test_weights_and_errors(codec, keypoints):
    kpts = keypoints.copy()
    kpts[0, 1] = (200, 10)  # x / 4 = 50 >= W
    visible = np.ones((1, 17), np.float32)
    visible[0, 2] = 0
    encoded = codec.encode(kpts, visible)
    assert encoded["keypoint_weights"][0, 1] == 0 and encoded["keypoint_weights"][0, 2] == 0
    assert encoded["heatmaps"][1].max() == 0 and encoded["heatmaps"][2].max() == 0
    with pytest.raises(AssertionError, match="only support single-instance"):
        codec.encode(np.random.rand(2, 17, 2), np.random.rand(2, 17))
    with pytest.raises(ValueError, match="odd"):
        MegviiHeatmap(INPUT_SIZE, HEATMAP_SIZE, kernel_size=10)


def test_torch_matches_numpy(codec, rng, device):
    clean = [codec.encode(((0.05 + 0.9 * rng.random((1, 17, 2))) * INPUT_SIZE).astype(np.float32))["heatmaps"]]
    noisy = [h + 5 * rng.standard_normal(h.shape).astype(np.float32) for h in clean * 2]
    batch = np.stack(clean + noisy + [rng.random((17, 64, 48)).astype(np.float32)])
    keypoints, scores = codec.decode(torch.from_numpy(batch).to(device))
    assert keypoints.shape == (len(batch), 1, 17, 2) and scores.device.type == device
    for b in range(len(batch)):
        want_k, want_s = codec.decode(batch[b])
        # exact ties of clean targets (sign test) must agree too
        np.testing.assert_allclose(keypoints[b].cpu().numpy(), want_k, atol=1e-3)
        np.testing.assert_allclose(scores[b].cpu().numpy(), want_s, atol=1e-5)
