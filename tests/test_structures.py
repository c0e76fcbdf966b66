import numpy as np
import pytest
import torch

from posekit.structures import (
    PoseSample,
    bbox_cs2xyxy,
    bbox_xywh2xyxy,
    bbox_xyxy2cs,
    bbox_xyxy2xywh,
    collate_pose_samples,
    fix_aspect_ratio,
    flip_bbox,
    flip_keypoints,
    get_udp_warp_matrix,
    get_warp_matrix,
)


def test_bbox_golden(golden_dir):
    g = np.load(golden_dir / "structures_bbox_warp.npz")
    center, scale = bbox_xyxy2cs(g["bbox_xyxy"], padding=1.25)
    np.testing.assert_allclose(center, g["center"], atol=1e-4)
    np.testing.assert_allclose(scale, g["scale"], atol=1e-4)
    for i in range(len(center)):
        c, s, r = g["center"][i], g["scale"][i], float(g["rot"][i])
        # bit-equal to MMPose's get_warp_matrix for the same inputs
        np.testing.assert_array_equal(get_warp_matrix(c, s, r, (192, 256)), g["warp"][i])
        np.testing.assert_array_equal(get_warp_matrix(c, s, r, (192, 256), inv=True), g["warp_inv"][i])
        np.testing.assert_array_equal(get_warp_matrix(c, s, r, (192, 256), shift=(0.1, -0.05)), g["warp_shift"][i])
        np.testing.assert_allclose(get_udp_warp_matrix(c, s, r, (192, 256)), g["warp_udp"][i], atol=1e-4)


def test_bbox_round_trips():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (5, 2))
    xyxy = np.concatenate([xy, xy + rng.uniform(1, 50, (5, 2))], axis=1)
    np.testing.assert_allclose(bbox_xywh2xyxy(bbox_xyxy2xywh(xyxy)), xyxy)
    c, s = bbox_xyxy2cs(xyxy, padding=1.25)
    np.testing.assert_allclose(bbox_cs2xyxy(c, s, padding=1.25), xyxy, atol=1e-9)
    c1, s1 = bbox_xyxy2cs(xyxy[0])
    assert c1.shape == (2,) and s1.shape == (2,)
    for fmt in ("xyxy", "xywh", "center"):
        for d in ("horizontal", "vertical", "diagonal"):
            b = xyxy if fmt != "center" else xyxy[:, :2]
            np.testing.assert_allclose(flip_bbox(flip_bbox(b, (200, 150), fmt, d), (200, 150), fmt, d), b)


def test_warp_inverse_and_point_mapping():
    c, s = np.array([120.0, 80.0]), np.array([90.0, 120.0])
    m = get_warp_matrix(c, s, 30.0, (192, 256))
    minv = get_warp_matrix(c, s, 30.0, (192, 256), inv=True)
    full = np.vstack([m, [0, 0, 1]]) @ np.vstack([minv, [0, 0, 1]])
    np.testing.assert_allclose(full, np.eye(3), atol=1e-9)
    # the box centre goes to the output centre
    np.testing.assert_allclose(m @ np.array([120.0, 80.0, 1.0]), [96.0, 128.0], atol=1e-9)


def test_fix_aspect_ratio():
    out = fix_aspect_ratio(np.array([[30.0, 100.0], [300.0, 100.0]]), 0.75)
    np.testing.assert_allclose(out, [[75.0, 100.0], [300.0, 400.0]])


def test_flip_keypoints_twice_identity_and_swap():
    rng = np.random.default_rng(1)
    kpts = rng.uniform(0, 100, (2, 3, 2))
    vis = rng.uniform(0, 1, (2, 3))
    flip_indices = [0, 2, 1]
    f, fv = flip_keypoints(kpts, vis, (100, 80), flip_indices)
    np.testing.assert_allclose(f[:, 1, 0], 99 - kpts[:, 2, 0])
    np.testing.assert_allclose(fv[:, 1], vis[:, 2])
    for d in ("horizontal", "vertical", "diagonal"):
        f, fv = flip_keypoints(kpts, vis, (100, 80), flip_indices, d)
        ff, ffv = flip_keypoints(f, fv, (100, 80), flip_indices, d)
        np.testing.assert_allclose(ff, kpts)
        np.testing.assert_allclose(ffv, vis)
    with pytest.raises(ValueError, match="flip_indices"):
        flip_keypoints(kpts, vis, (100, 80), [0, 1])


def test_collate_pose_samples():
    samples = [
        PoseSample(
            inputs=torch.zeros(3, 8, 6, dtype=torch.uint8),
            targets={"heatmaps": np.zeros((4, 4, 3), np.float32), "keypoint_weights": np.ones((1, 4), np.float32)},
            meta={
                "input_center": np.array([1.0, 2.0]),
                "input_scale": np.array([3.0, 4.0]),
                "flip_indices": [0, 1, 3, 2],
            },
        )
        for _ in range(3)
    ]
    batch = collate_pose_samples(samples)
    assert batch.inputs.shape == (3, 3, 8, 6)
    assert batch.targets["heatmaps"].shape == (3, 4, 4, 3)
    assert batch.targets["keypoint_weights"].shape == (3, 4)
    assert batch.centers.tolist() == [[1.0, 2.0]] * 3
    assert batch.flip_indices == [0, 1, 3, 2]
    assert batch.input_size == (6, 8)
    assert len(batch.to("cpu")) == 3


def test_collate_fills_keypoints_visible_weights_for_samples_without_it():
    """A CombinedDataset batch mixes converted samples (with keypoints_visible_weights) and plain ones."""
    from posekit.structures import PoseSample, collate_pose_samples

    def sample(with_weights: bool) -> PoseSample:
        targets = {"heatmaps": np.zeros((3, 4, 4), np.float32), "keypoint_weights": np.full((1, 3), 0.5, np.float32)}
        if with_weights:
            targets["keypoints_visible_weights"] = np.array([[1.0, 0.0, 1.0]], np.float32)
        return PoseSample(inputs=np.zeros((3, 8, 8), np.uint8), targets=targets, meta={})

    batch = collate_pose_samples([sample(False), sample(True), sample(False)])
    np.testing.assert_array_equal(batch.targets["keypoints_visible_weights"], [[1, 1, 1], [1, 0, 1], [1, 1, 1]])
    other = sample(True)
    other.targets["extra"] = np.zeros((1, 3), np.float32)
    with pytest.raises(KeyError, match="sample 0 has no target 'extra'"):
        collate_pose_samples([sample(False), other])
