"""SimCCLabel: Gaussian / standard labels, DARK, visibility, torch batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.codecs import SimCCLabel

INPUT_SIZE = (192, 256)

CONFIGS = {
    "gaussian": dict(smoothing_type="gaussian", sigma=6.0, simcc_split_ratio=2.0),
    "rtmpose": dict(sigma=(4.9, 5.66), simcc_split_ratio=2.0, normalize=False),
    "smoothing": dict(smoothing_type="standard", sigma=5.0, simcc_split_ratio=3.0, label_smooth_weight=0.1),
    "one-hot": dict(smoothing_type="standard", sigma=5.0, simcc_split_ratio=3.0),
    "dark": dict(sigma=(4.9, 5.66), simcc_split_ratio=2.0, normalize=False, use_dark=True),
    "visibility": dict(sigma=6.0, decode_visibility=True),
}


@pytest.fixture(params=list(CONFIGS))
def codec(request) -> SimCCLabel:
    return SimCCLabel(input_size=INPUT_SIZE, **CONFIGS[request.param])


def _scores(codec, scores):
    return scores[0] if codec.decode_visibility else scores


def test_encode_shapes(codec, keypoints, keypoints_visible):
    encoded = codec.encode(keypoints, keypoints_visible)
    r = codec.simcc_split_ratio
    assert encoded["keypoint_x_labels"].shape == (1, 17, int(192 * r))
    assert encoded["keypoint_y_labels"].shape == (1, 17, int(256 * r))
    assert encoded["keypoint_weights"].shape == (1, 17)
    assert encoded["keypoint_x_labels"].dtype == np.float32


def test_gaussian_label_values(keypoints):
    codec = SimCCLabel(INPUT_SIZE, sigma=(4.9, 5.66), normalize=True)
    x = codec.encode(keypoints)["keypoint_x_labels"][0, 3]
    mu = np.around(keypoints[0, 3, 0] * 2)
    expected = np.exp(-((np.arange(384) - mu) ** 2) / (2 * 4.9**2)) / (4.9 * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-8)


def test_standard_label_values(keypoints):
    codec = SimCCLabel(INPUT_SIZE, smoothing_type="standard", simcc_split_ratio=3.0, label_smooth_weight=0.1)
    y = codec.encode(keypoints)["keypoint_y_labels"][0, 0]
    mu = int(np.around(keypoints[0, 0, 1] * 3))
    assert y[mu] == pytest.approx(0.9)
    np.testing.assert_allclose(np.delete(y, mu), 0.1 / (768 - 1), rtol=1e-6)
    assert y.sum() == pytest.approx(1.0, rel=1e-5)


def test_decode_shapes(codec, rng):
    r = codec.simcc_split_ratio
    x, y = rng.random((1, 17, int(192 * r))), rng.random((1, 17, int(256 * r)))
    keypoints, scores = codec.decode(x, y)
    assert keypoints.shape == (1, 17, 2) and _scores(codec, scores).shape == (1, 17)
    keypoints2, _ = codec.decode((x, y))  # MMPose <= 1.1 style tuple
    np.testing.assert_array_equal(keypoints, keypoints2)
    k2d, s2d = codec.decode(x[0], y[0])  # (K, W) input gets the instance dim
    assert k2d.shape == (1, 17, 2)
    if codec.decode_visibility:
        assert s2d[1].shape == (17,)


def test_round_trip(codec, keypoints, keypoints_visible):
    encoded = codec.encode(keypoints, keypoints_visible)
    decoded, _ = codec.decode(encoded["keypoint_x_labels"], encoded["keypoint_y_labels"])
    np.testing.assert_allclose(decoded, keypoints, atol=0.5 / codec.simcc_split_ratio + 1e-3)


def test_weights():
    codec = SimCCLabel(INPUT_SIZE, sigma=6.0)
    kpts = np.array([[[10, 10], [-9, 10], [-10, 10], [10, 300], [50, 50]]], np.float32)
    visible = np.array([[1, 1, 1, 1, 0]], np.float32)
    encoded = codec.encode(kpts, visible)
    # the Gaussian keeps weight while its 3-sigma window (18 bins) still touches the vector: -9 px = bin -18
    np.testing.assert_array_equal(encoded["keypoint_weights"], [[1, 1, 0, 0, 0]])
    assert encoded["keypoint_x_labels"][0, 4].max() == 0 and encoded["keypoint_x_labels"][0, 2].max() == 0
    standard = SimCCLabel(INPUT_SIZE, smoothing_type="standard")
    np.testing.assert_array_equal(standard.encode(kpts, visible)["keypoint_weights"], [[1, 0, 0, 0, 0]])


def test_errors():
    with pytest.raises(ValueError, match="got invalid `smoothing_type`"):
        SimCCLabel(INPUT_SIZE, smoothing_type="uniform")
    with pytest.raises(ValueError, match="`label_smooth_weight` should be"):
        SimCCLabel(INPUT_SIZE, smoothing_type="standard", label_smooth_weight=1.1)
    with pytest.raises(ValueError, match="is only used for `standard` mode."):
        SimCCLabel(INPUT_SIZE, smoothing_type="gaussian", label_smooth_weight=0.1)
    with pytest.raises(ValueError, match=r"\(B, K, Wx\)"):
        SimCCLabel(INPUT_SIZE).decode(torch.zeros(17, 384), torch.zeros(17, 512))


def test_dark_refines_subpixel():
    codec = SimCCLabel(INPUT_SIZE, sigma=(4.9, 5.66), normalize=False, use_dark=True)
    plain = SimCCLabel(INPUT_SIZE, sigma=(4.9, 5.66), normalize=False)
    mu = np.array([[[50.3, 70.8]]]) * 2  # sub-bin centre
    x = np.exp(-((np.arange(384) - mu[..., 0:1]) ** 2) / (2 * 4.9**2)).astype(np.float32)
    y = np.exp(-((np.arange(512) - mu[..., 1:2]) ** 2) / (2 * 5.66**2)).astype(np.float32)
    refined, _ = codec.decode(x, y)
    coarse, _ = plain.decode(x, y)
    np.testing.assert_allclose(refined[0, 0], [50.3, 70.8], atol=0.05)
    assert np.abs(coarse[0, 0] - [50.3, 70.8]).max() > 0.1


def test_visibility_is_a_probability(rng):
    codec = SimCCLabel(INPUT_SIZE, sigma=6.0, decode_visibility=True)
    keypoints, (scores, visibility) = codec.decode(rng.random((2, 17, 384)), rng.random((2, 17, 512)))
    assert visibility.shape == (2, 17) and ((visibility > 0) & (visibility <= 1)).all()


def test_torch_matches_numpy(codec, rng, device):
    r = codec.simcc_split_ratio
    kpts = ((0.05 + 0.9 * rng.random((5, 17, 2))) * INPUT_SIZE).astype(np.float32)
    encoded = codec.encode(kpts)
    x = encoded["keypoint_x_labels"] + 0.01 * rng.standard_normal((5, 17, int(192 * r))).astype(np.float32)
    y = encoded["keypoint_y_labels"] + 0.01 * rng.standard_normal((5, 17, int(256 * r))).astype(np.float32)
    want_k, want_s = codec.decode(x, y)
    k, s = codec.decode(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))
    assert k.shape == (5, 1, 17, 2) and k.device.type == device and k.dtype == torch.float32
    np.testing.assert_allclose(k[:, 0].cpu().numpy(), want_k, atol=1e-3)
    if codec.decode_visibility:
        (want_s, want_v), (s, v) = want_s, s
        assert v.shape == (5, 1, 17)
        np.testing.assert_allclose(v[:, 0].cpu().numpy(), want_v, atol=1e-4)
    np.testing.assert_allclose(s[:, 0].cpu().numpy(), want_s, atol=1e-6)


def test_sigma_attribute():
    np.testing.assert_array_equal(SimCCLabel(INPUT_SIZE, sigma=6.0).sigma, [6.0, 6.0])
    np.testing.assert_array_equal(SimCCLabel(INPUT_SIZE, sigma=[4.9, 5.66]).sigma, [4.9, 5.66])
    with pytest.raises(ValueError, match="sigma"):
        SimCCLabel(INPUT_SIZE, sigma=(1.0, 2.0, 3.0))
