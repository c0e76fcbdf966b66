"""Codec parity with MMPose 1.3.2 (``tests/data/golden/codec_*.npz``), numpy and batched torch paths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import posekit.codecs as codecs

ENC_ATOL = 1e-5
KPT_ATOL = 1e-3
SCORE_ATOL = 1e-4


def _codec_cases(index: dict) -> list[str]:
    return sorted(name for name, case in index.items() if case.get("kind") == "codec")


def _load(golden_dir, golden_index, name):
    case = golden_index[name]
    codec = getattr(codecs, case["class"])(**case["kwargs"])
    return codec, dict(np.load(golden_dir / f"{name}.npz"))


def _decode_inputs(data: dict, mode: str) -> tuple[np.ndarray, ...]:
    if f"dec_{mode}_input" in data:
        return (data[f"dec_{mode}_input"],)
    return data[f"dec_{mode}_x"], data[f"dec_{mode}_y"]


def _modes(data: dict) -> list[str]:
    return [m for m in ("clean", "noisy") if f"dec_{m}_keypoints" in data]


@pytest.fixture(scope="module")
def case_names(golden_index) -> list[str]:
    names = _codec_cases(golden_index)
    assert len(names) >= 10, "expected the 10 MMPose codec goldens"
    return names


def test_all_golden_codecs_are_covered(golden_index):
    classes = {golden_index[n]["class"] for n in _codec_cases(golden_index)}
    assert classes == {
        "MSRAHeatmap",
        "UDPHeatmap",
        "MegviiHeatmap",
        "RegressionLabel",
        "IntegralRegressionLabel",
        "SimCCLabel",
    }


def test_encode_matches_mmpose(golden_dir, golden_index, case_names):
    for name in case_names:
        codec, data = _load(golden_dir, golden_index, name)
        encoded = codec.encode(data["keypoints"], data["keypoints_visible"])
        expected = {k[4:]: v for k, v in data.items() if k.startswith("enc_")}
        assert set(encoded) == set(expected), name
        for key, value in expected.items():
            assert encoded[key].shape == value.shape, (name, key)
            assert encoded[key].dtype == np.float32, (name, key)
            np.testing.assert_allclose(encoded[key], value, rtol=0, atol=ENC_ATOL, err_msg=f"{name}: {key}")


def test_numpy_decode_matches_mmpose(golden_dir, golden_index, case_names):
    for name in case_names:
        codec, data = _load(golden_dir, golden_index, name)
        for mode in _modes(data):
            keypoints, scores = codec.decode(*_decode_inputs(data, mode))
            want_kpts, want_scores = data[f"dec_{mode}_keypoints"], data[f"dec_{mode}_scores"]
            assert keypoints.shape == want_kpts.shape and scores.shape == want_scores.shape, (name, mode)
            # NaN where MMPose blurs an all-zero heatmap (0 / 0 renormalisation): reproduced, compared as equal
            np.testing.assert_allclose(keypoints, want_kpts, rtol=0, atol=KPT_ATOL, equal_nan=True, err_msg=name)
            np.testing.assert_allclose(scores, want_scores, rtol=0, atol=SCORE_ATOL, equal_nan=True, err_msg=name)


def test_numpy_decode_does_not_modify_inputs(golden_dir, golden_index, case_names):
    for name in case_names:
        codec, data = _load(golden_dir, golden_index, name)
        for mode in _modes(data):
            inputs = _decode_inputs(data, mode)
            copies = [a.copy() for a in inputs]
            codec.decode(*inputs)
            for a, b in zip(inputs, copies):
                np.testing.assert_array_equal(a, b, err_msg=name)


def _torch_batch(codec, data: dict) -> tuple[tuple[torch.Tensor, ...], np.ndarray, np.ndarray]:
    """All decode inputs of a golden file as one torch batch, with the expected (B, K, 2) / (B, K) results."""
    modes = _modes(data)
    want_k = np.concatenate([data[f"dec_{m}_keypoints"] for m in modes])  # (B, K, 2)
    want_s = np.concatenate([data[f"dec_{m}_scores"] for m in modes])
    if isinstance(codec, codecs.SimCCLabel):  # numpy (N, K, W) per mode: instances become batch entries
        xs = np.concatenate([data[f"dec_{m}_x"] for m in modes])
        ys = np.concatenate([data[f"dec_{m}_y"] for m in modes])
        return (torch.from_numpy(xs), torch.from_numpy(ys)), want_k, want_s
    if isinstance(codec, codecs.RegressionLabel | codecs.IntegralRegressionLabel):
        return (torch.from_numpy(np.concatenate([data[f"dec_{m}_input"] for m in modes])),), want_k, want_s
    heatmaps = np.stack([data[f"dec_{m}_input"] for m in modes])  # (B, K, H, W)
    return (torch.from_numpy(heatmaps),), want_k, want_s


def test_torch_decode_matches_mmpose(golden_dir, golden_index, case_names):
    for name in case_names:
        codec, data = _load(golden_dir, golden_index, name)
        inputs, want_k, want_s = _torch_batch(codec, data)
        keypoints, scores = codec.decode(*inputs)
        B, K = want_k.shape[:2]
        assert isinstance(keypoints, torch.Tensor) and isinstance(scores, torch.Tensor)
        assert keypoints.shape == (B, 1, K, 2) and scores.shape == (B, 1, K), name
        assert keypoints.dtype == torch.float32 and scores.dtype == torch.float32, name
        np.testing.assert_allclose(keypoints[:, 0].numpy(), want_k, rtol=0, atol=KPT_ATOL, equal_nan=True, err_msg=name)
        np.testing.assert_allclose(scores[:, 0].numpy(), want_s, rtol=0, atol=SCORE_ATOL, equal_nan=True, err_msg=name)
