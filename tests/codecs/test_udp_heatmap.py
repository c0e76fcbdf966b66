"""UDPHeatmap ('gaussian' and 'combined')."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.codecs import UDPHeatmap

INPUT_SIZE, HEATMAP_SIZE = (192, 256), (48, 64)


@pytest.fixture(params=["gaussian", "combined"])
def codec(request) -> UDPHeatmap:
    return UDPHeatmap(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, heatmap_type=request.param)


def _channels(codec: UDPHeatmap) -> int:
    return 17 * (3 if codec.heatmap_type == "combined" else 1)


def test_encode_shapes(codec, keypoints, keypoints_visible):
    encoded = codec.encode(keypoints, keypoints_visible)
    assert encoded["heatmaps"].shape == (_channels(codec), 64, 48)
    assert encoded["heatmaps"].dtype == np.float32
    assert encoded["keypoint_weights"].shape == (1, 17)


def test_round_trip_is_subpixel(codec, rng):
    # UDP recovers sub-pixel heatmap positions; MMPose then maps heatmap -> input with input_size / (W - 1)
    # (encode used (input_size - 1) / (W - 1)), a deliberate-looking MMPose asymmetry that posekit keeps
    kpts = ((0.1 + 0.8 * rng.random((1, 17, 2))) * INPUT_SIZE).astype(np.float32)
    decoded, scores = codec.decode(codec.encode(kpts)["heatmaps"])
    assert decoded.shape == (1, 17, 2) and scores.shape == (1, 17)
    expected = kpts * np.array(INPUT_SIZE) / (np.array(INPUT_SIZE) - 1)
    np.testing.assert_allclose(decoded, expected, atol=0.2 if codec.heatmap_type == "gaussian" else 1e-3)


def test_combined_maps_hold_disc_and_offsets(keypoints):
    codec = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE, heatmap_type="combined")
    hm = codec.encode(keypoints)["heatmaps"].reshape(17, 3, 64, 48)
    radius = codec.radius_factor * 64
    kp = keypoints[0] / codec.scale_factor
    ys, xs = np.mgrid[:64, :48]
    for k in (0, 7):
        disc = (kp[k, 0] - xs) ** 2 + (kp[k, 1] - ys) ** 2 <= radius**2
        np.testing.assert_array_equal(hm[k, 0], disc.astype(np.float32))
        np.testing.assert_allclose(hm[k, 1], (kp[k, 0] - xs) / radius, atol=1e-5)
        np.testing.assert_allclose(hm[k, 2], (kp[k, 1] - ys) / radius, atol=1e-5)


def test_weights(codec, keypoints):
    kpts = keypoints.copy()
    kpts[0, 1] = (-500, 10)
    visible = np.ones((1, 17), np.float32)
    visible[0, 2] = 0
    weights = codec.encode(kpts, visible)["keypoint_weights"][0]
    assert weights[2] == 0
    if codec.heatmap_type == "gaussian":  # 'combined' keeps the visibility as MMPose does
        assert weights[1] == 0
    assert (weights[[0, 3, 4]] == 1).all()


def test_errors():
    with pytest.raises(ValueError, match="invalid `heatmap_type`"):
        UDPHeatmap(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, heatmap_type="invalid")
    codec = UDPHeatmap(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE)
    with pytest.raises(AssertionError, match="only support single-instance"):
        codec.encode(np.random.rand(2, 17, 2), np.random.rand(2, 17))
    combined = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE, heatmap_type="combined")
    with pytest.raises(ValueError, match="3 maps per keypoint"):
        combined.decode(torch.zeros(1, 17, 64, 48))


def test_random_decode_shapes(codec, rng):
    keypoints, scores = codec.decode(rng.random((_channels(codec), 64, 48)).astype(np.float32))
    assert keypoints.shape == (1, 17, 2) and scores.shape == (1, 17)


def test_torch_matches_numpy_on_noisy_batch(codec, rng, device):
    batch = []
    for _ in range(4):
        kpts = ((0.05 + 0.9 * rng.random((1, 17, 2))) * INPUT_SIZE).astype(np.float32)
        hm = codec.encode(kpts)["heatmaps"]
        batch.append(hm + 0.03 * rng.standard_normal(hm.shape).astype(np.float32))
    batch = np.stack(batch)
    keypoints, scores = codec.decode(torch.from_numpy(batch).to(device))
    assert keypoints.shape == (4, 1, 17, 2) and keypoints.device.type == device
    for b in range(4):
        want_k, want_s = codec.decode(batch[b])
        np.testing.assert_allclose(keypoints[b].cpu().numpy(), want_k, atol=1e-3)
        np.testing.assert_allclose(scores[b].cpu().numpy(), want_s, atol=1e-5)
