"""MSRAHeatmap (+ DARK): encode targets, round trips, weights, torch/numpy agreement, devices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.codecs import MSRAHeatmap

INPUT_SIZE, HEATMAP_SIZE = (192, 256), (48, 64)


@pytest.fixture(params=[False, True], ids=["msra", "dark"])
def codec(request) -> MSRAHeatmap:
    return MSRAHeatmap(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=2.0, unbiased=request.param)


def test_encode_shapes_and_peaks(codec, keypoints, keypoints_visible):
    encoded = codec.encode(keypoints, keypoints_visible)
    assert set(encoded) == {"heatmaps", "keypoint_weights"}
    heatmaps, weights = encoded["heatmaps"], encoded["keypoint_weights"]
    assert heatmaps.shape == (17, 64, 48) and heatmaps.dtype == np.float32
    assert weights.shape == (1, 17)
    np.testing.assert_array_equal(weights, 1)
    # the peak sits at the keypoint (heatmap pixels), peak value 1 (exactly 1 for integer centres)
    peak = np.stack(np.unravel_index(heatmaps.reshape(17, -1).argmax(1), (64, 48)), -1)[:, ::-1]
    np.testing.assert_allclose(peak, np.round(keypoints[0] / 4), atol=1)
    assert heatmaps.max() <= 1 and heatmaps.max(axis=(1, 2)).min() > 0.8


def test_encode_without_visibility_defaults_to_visible(codec, keypoints):
    encoded = codec.encode(keypoints)
    np.testing.assert_array_equal(encoded["keypoint_weights"], np.ones((1, 17)))


def test_round_trip(codec, keypoints, keypoints_visible):
    heatmaps = codec.encode(keypoints, keypoints_visible)["heatmaps"]
    decoded, scores = codec.decode(heatmaps)
    assert decoded.shape == (1, 17, 2) and scores.shape == (1, 17)
    # quarter-offset MSRA decoding is biased by up to 1 heatmap pixel; DARK is nearly exact
    np.testing.assert_allclose(decoded, keypoints, atol=1.0 if codec.unbiased else 4.0)
    if codec.unbiased:
        subpixel = keypoints + np.float32(0.37)
        out, _ = codec.decode(codec.encode(subpixel)["heatmaps"])
        np.testing.assert_allclose(out, subpixel, atol=0.3)


def test_invisible_and_outside_keypoints_get_zero_weight(codec, keypoints):
    kpts = keypoints.copy()
    kpts[0, 3] = (-100, 50)  # far left of the map
    kpts[0, 4] = (50, 1000)  # far below
    visible = np.ones((1, 17), np.float32)
    visible[0, 5] = 0
    encoded = codec.encode(kpts, visible)
    weights, heatmaps = encoded["keypoint_weights"][0], encoded["heatmaps"]
    assert weights[3] == 0 and weights[4] == 0 and weights[5] == 0
    assert (weights[[0, 1, 2, 6]] == 1).all()
    assert heatmaps[5].max() == 0 and heatmaps[3].max() == 0


def test_multi_instance_is_rejected(codec):
    with pytest.raises(AssertionError, match="only support single-instance"):
        codec.encode(np.random.rand(2, 17, 2), np.random.rand(2, 17))


def test_bad_shapes_are_rejected(codec):
    with pytest.raises(ValueError, match=r"\(N, K, 2\)"):
        codec.encode(np.zeros((17, 2)))
    with pytest.raises(ValueError, match="keypoints_visible"):
        codec.encode(np.zeros((1, 17, 2)), np.ones((1, 16)))
    with pytest.raises(ValueError, match=r"\(B, K, H, W\)"):
        codec.decode(torch.zeros(17, 64, 48))


def test_torch_matches_numpy_on_noisy_batch(codec, rng):
    batch = []
    for _ in range(6):
        kpts = ((0.05 + 0.9 * rng.random((1, 17, 2))) * INPUT_SIZE).astype(np.float32)
        hm = codec.encode(kpts)["heatmaps"]
        batch.append(hm + 0.05 * rng.standard_normal(hm.shape).astype(np.float32))
    batch = np.stack(batch)
    keypoints, scores = codec.decode(torch.from_numpy(batch))
    assert keypoints.shape == (6, 1, 17, 2) and scores.shape == (6, 1, 17)
    for b in range(6):
        want_k, want_s = codec.decode(batch[b])
        np.testing.assert_allclose(keypoints[b].numpy(), want_k, atol=1e-3)
        np.testing.assert_allclose(scores[b].numpy(), want_s, atol=1e-5)


def test_torch_device_and_dtype(codec, keypoints, device):
    hm = torch.from_numpy(codec.encode(keypoints)["heatmaps"])[None].to(device)
    for dtype in (torch.float16, torch.float32, torch.float64):
        k, s = codec.decode(hm.to(dtype))
        assert k.device == hm.device and s.device == hm.device
        assert k.dtype == torch.float32 and s.dtype == torch.float32
        np.testing.assert_allclose(k[0].cpu().numpy(), keypoints, atol=4.0)


def test_attributes():
    codec = MSRAHeatmap(input_size=[96, 128], heatmap_size=[24, 32], sigma=2.0)
    assert codec.input_size == (96, 128) and codec.heatmap_size == (24, 32) and codec.sigma == 2.0
    np.testing.assert_array_equal(codec.scale_factor, [4, 4])
    assert codec.field_mapping_table == {"heatmaps": "heatmaps"}
    assert codec.label_mapping_table == {"keypoint_weights": "keypoint_weights"}
