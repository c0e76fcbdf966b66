"""RegressionLabel and IntegralRegressionLabel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.codecs import IntegralRegressionLabel, MSRAHeatmap, RegressionLabel

INPUT_SIZE = (192, 256)


def test_regression_encode_is_normalized_coords(keypoints, keypoints_visible):
    codec = RegressionLabel(input_size=INPUT_SIZE)
    encoded = codec.encode(keypoints, keypoints_visible)
    assert set(encoded) == {"keypoint_labels", "keypoint_weights"}
    np.testing.assert_allclose(encoded["keypoint_labels"], keypoints / np.array(INPUT_SIZE), rtol=1e-6)
    assert encoded["keypoint_labels"].dtype == np.float32
    np.testing.assert_array_equal(encoded["keypoint_weights"], 1)


def test_regression_weights():
    codec = RegressionLabel(input_size=INPUT_SIZE)
    kpts = np.array([[[0, 0], [191, 255], [191.5, 10], [-0.1, 10], [10, 20]]], np.float32)
    visible = np.array([[1, 1, 1, 1, 0.4]], np.float32)
    np.testing.assert_array_equal(codec.encode(kpts, visible)["keypoint_weights"], [[1, 1, 0, 0, 0]])


def test_regression_decode_numpy_and_torch(rng):
    codec = RegressionLabel(input_size=INPUT_SIZE)
    with_sigma = rng.random((3, 17, 4))
    coords, scores = codec.decode(with_sigma)
    np.testing.assert_allclose(coords, with_sigma[..., :2] * INPUT_SIZE)
    np.testing.assert_allclose(scores, (1 - with_sigma[..., 2:]).mean(-1))
    coords2, scores2 = codec.decode(with_sigma[..., :2])
    assert coords2.shape == (3, 17, 2) and (scores2 == 1).all()

    k, s = codec.decode(torch.from_numpy(with_sigma))
    assert k.shape == (3, 1, 17, 2) and s.shape == (3, 1, 17) and k.dtype == torch.float32
    np.testing.assert_allclose(k[:, 0].numpy(), coords, atol=1e-4)
    np.testing.assert_allclose(s[:, 0].numpy(), scores, atol=1e-6)
    with pytest.raises(ValueError, match="2 .* or 4"):
        codec.decode(np.zeros((1, 17, 3)))


def test_regression_round_trip(keypoints):
    codec = RegressionLabel(input_size=INPUT_SIZE)
    decoded, _ = codec.decode(codec.encode(keypoints)["keypoint_labels"])
    np.testing.assert_allclose(decoded, keypoints, atol=1e-4)


def test_integral_encode(keypoints, keypoints_visible):
    codec = IntegralRegressionLabel(input_size=INPUT_SIZE, heatmap_size=(48, 64), sigma=2.0)
    encoded = codec.encode(keypoints, keypoints_visible)
    assert set(encoded) == {"keypoint_labels", "heatmaps", "keypoint_weights"}
    np.testing.assert_allclose(encoded["heatmaps"].sum(axis=(1, 2)), 1, rtol=1e-5)
    raw = MSRAHeatmap(INPUT_SIZE, (48, 64), 2.0).encode(keypoints)["heatmaps"]
    np.testing.assert_allclose(encoded["heatmaps"], raw / raw.sum(axis=(1, 2), keepdims=True), rtol=1e-5)
    unnormalized = IntegralRegressionLabel(INPUT_SIZE, (48, 64), 2.0, normalize=False).encode(keypoints)
    np.testing.assert_array_equal(unnormalized["heatmaps"], raw)
    assert codec.input_size == INPUT_SIZE and codec.heatmap_size == (48, 64) and codec.sigma == 2.0

    decoded, scores = codec.decode(encoded["keypoint_labels"])
    np.testing.assert_allclose(decoded, keypoints, atol=1e-4)
    k, s = codec.decode(torch.from_numpy(encoded["keypoint_labels"]))
    assert k.shape == (1, 1, 17, 2) and s.shape == (1, 1, 17)
