"""GenerateTarget (fake codecs, and posekit.codecs.MSRAHeatmap once it exists) and PackPoseInputs."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from posekit.datasets.transforms import Compose, GenerateTarget, PackPoseInputs, TopdownAffine
from posekit.structures import PoseSample, collate_pose_samples


class FakeHeatmapCodec:
    """A tiny heatmap codec: one-hot maps at the keypoints / ``stride``, weights = visibility."""

    def __init__(self, input_size=(192, 256), heatmap_size=(48, 64)):
        self.input_size = input_size
        self.heatmap_size = heatmap_size

    def encode(self, keypoints, keypoints_visible=None):
        k = keypoints.shape[1]
        w, h = self.heatmap_size
        stride = np.array(self.input_size) / np.array(self.heatmap_size)
        heatmaps = np.zeros((k, h, w), dtype=np.float32)
        xy = np.round(keypoints[0] / stride).astype(int)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
        heatmaps[np.flatnonzero(inside), xy[inside, 1], xy[inside, 0]] = 1.0
        weights = (keypoints_visible > 0).astype(np.float32) * inside[None]
        return dict(heatmaps=heatmaps, keypoint_weights=weights)


class FakeLabelCodec:
    auxiliary_encode_keys = {"bbox_score"}

    def __init__(self, input_size=(192, 256)):
        self.input_size = input_size
        self.seen_aux = None

    def encode(self, keypoints, keypoints_visible=None, bbox_score=None):
        self.seen_aux = bbox_score
        labels = (keypoints / np.array(self.input_size)).astype(np.float32)
        return dict(keypoint_labels=labels, keypoint_weights=np.ones(keypoints.shape[:2], np.float32), extra=labels[0])


def _topdown(make_sample, **kw):
    return TopdownAffine(input_size=(192, 256))(make_sample(**kw))


def test_generate_single_target(make_sample):
    data = _topdown(make_sample)
    out = GenerateTarget(encoder=FakeHeatmapCodec())(copy.deepcopy(data))
    assert out["heatmaps"].shape == (17, 64, 48)
    np.testing.assert_allclose(out["keypoint_weights"], np.ones((1, 17)))
    # the transformed (crop) keypoints are encoded, not the image-space ones
    peaks = np.stack(np.unravel_index(out["heatmaps"].reshape(17, -1).argmax(1), (64, 48))[::-1], axis=1)
    np.testing.assert_allclose(peaks, np.round(data["transformed_keypoints"][0] / 4), atol=0)

    out = GenerateTarget(encoder=FakeHeatmapCodec(), use_dataset_keypoint_weights=True)(copy.deepcopy(data))
    np.testing.assert_allclose(out["keypoint_weights"], data["dataset_keypoint_weights"][None])


def test_generate_target_without_affine_uses_keypoints(make_sample):
    data = make_sample()
    out = GenerateTarget(encoder=FakeLabelCodec(input_size=(320, 240)))(data)
    np.testing.assert_allclose(out["keypoint_labels"], data["keypoints"] / np.array([320, 240]), rtol=1e-6)


def test_generate_target_from_configs(make_sample):
    data = _topdown(make_sample)
    cls_path = f"{__name__}.FakeHeatmapCodec"
    for cfg in ({"_target_": cls_path, "heatmap_size": [24, 32]}, {"type": FakeHeatmapCodec, "heatmap_size": (24, 32)}):
        out = GenerateTarget(encoder=cfg)(copy.deepcopy(data))
        assert out["heatmaps"].shape == (17, 32, 24)
    with pytest.raises(ValueError, match="NoSuchCodec"):
        GenerateTarget(encoder={"type": "NoSuchCodec"})
    with pytest.raises(TypeError, match="encoder"):
        GenerateTarget(encoder=42)


def test_generate_multilevel_target(make_sample):
    data = _topdown(make_sample)
    t = GenerateTarget(
        encoder=[FakeHeatmapCodec(), FakeHeatmapCodec(heatmap_size=(24, 32))],
        multilevel=True,
        use_dataset_keypoint_weights=True,
    )
    out = t(copy.deepcopy(data))
    assert isinstance(out["heatmaps"], list) and isinstance(out["keypoint_weights"], list)
    assert out["heatmaps"][0].shape == (17, 64, 48) and out["heatmaps"][1].shape == (17, 32, 24)
    for w in out["keypoint_weights"]:
        np.testing.assert_allclose(w, data["dataset_keypoint_weights"][None])

    # same-shaped levels pack to (L, K, H, W) maps and (N, L, K) weights, and collate to (B, L, ...)
    same = GenerateTarget(encoder=[FakeHeatmapCodec(), FakeHeatmapCodec()], multilevel=True)
    pipeline = Compose([TopdownAffine(input_size=(192, 256)), same, PackPoseInputs()])
    samples = [pipeline(make_sample(seed=s)) for s in range(3)]
    assert samples[0].targets["heatmaps"].shape == (2, 17, 64, 48)
    assert samples[0].targets["keypoint_weights"].shape == (1, 2, 17)
    batch = collate_pose_samples(samples)
    assert batch.targets["heatmaps"].shape == (3, 2, 17, 64, 48)
    assert batch.targets["keypoint_weights"].shape == (3, 2, 17)
    with pytest.raises(ValueError, match="different shapes"):
        PackPoseInputs()(t(_topdown(make_sample)))


def test_generate_combined_target(make_sample):
    data = _topdown(make_sample)
    label_codec = FakeLabelCodec()
    t = GenerateTarget(encoder=[FakeHeatmapCodec(), label_codec], use_dataset_keypoint_weights=True)
    out = t(copy.deepcopy(data))
    assert out["heatmaps"].shape == (17, 64, 48)
    assert out["keypoint_labels"].shape == (1, 17, 2)
    assert isinstance(out["keypoint_weights"], list) and out["keypoint_weights"][0].shape == (1, 17)
    np.testing.assert_array_equal(label_codec.seen_aux, data["bbox_score"])  # auxiliary_encode_keys
    sample = PackPoseInputs()(out)
    # 'extra' is no known target key: it is packed under its own name
    assert set(sample.targets) == {"heatmaps", "keypoint_labels", "keypoint_weights", "extra"}


def test_generate_target_errors(make_sample):
    with pytest.raises(AssertionError, match="Need multiple encoder configs"):
        GenerateTarget(encoder=FakeHeatmapCodec(), multilevel=True)
    data = _topdown(make_sample)
    with pytest.raises(ValueError, match="have the same keys"):
        GenerateTarget(encoder=[FakeHeatmapCodec(), FakeLabelCodec()], multilevel=True)(copy.deepcopy(data))
    with pytest.raises(ValueError, match="Overlapping item"):
        GenerateTarget(encoder=[FakeHeatmapCodec(), FakeHeatmapCodec()])(copy.deepcopy(data))
    with pytest.warns(DeprecationWarning, match="`target_type` is deprecated"):
        GenerateTarget(encoder=FakeHeatmapCodec(), target_type="heatmap")
    bad = copy.deepcopy(data)
    del bad["dataset_keypoint_weights"]
    with pytest.raises(KeyError, match="dataset_keypoint_weights"):
        GenerateTarget(encoder=FakeHeatmapCodec(), use_dataset_keypoint_weights=True)(bad)
    with pytest.raises(ValueError, match="transformed_keypoints"):
        GenerateTarget(encoder=FakeHeatmapCodec())({"keypoints_visible": np.ones((1, 17))})


def test_generate_target_splits_visibility_weights(make_sample):
    data = _topdown(make_sample)
    vis = data["keypoints_visible"]
    data["keypoints_visible"] = np.stack([vis, np.full_like(vis, 0.5)], axis=-1)  # (N, K, 2)
    out = GenerateTarget(encoder=FakeHeatmapCodec())(data)
    assert out["keypoints_visible"].shape == (1, 17)
    np.testing.assert_allclose(out["keypoints_visible_weights"], 0.5)
    assert PackPoseInputs()(out).targets["keypoints_visible_weights"].shape == (1, 17)


def test_generate_target_with_msra_heatmap(make_sample):
    codecs = pytest.importorskip("posekit.codecs")
    if not hasattr(codecs, "MSRAHeatmap"):
        pytest.skip("posekit.codecs.MSRAHeatmap is not written yet")
    data = _topdown(make_sample)
    cfgs = [
        codecs.MSRAHeatmap(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0),
        {"type": "MSRAHeatmap", "input_size": (192, 256), "heatmap_size": (48, 64), "sigma": 2.0},
        {"_target_": "posekit.codecs.MSRAHeatmap", "input_size": [192, 256], "heatmap_size": [48, 64], "sigma": 2.0},
    ]
    for cfg in cfgs:
        out = GenerateTarget(encoder=cfg, use_dataset_keypoint_weights=True)(copy.deepcopy(data))
        assert out["heatmaps"].shape == (17, 64, 48)
        assert out["keypoint_weights"].shape == (1, 17)
        np.testing.assert_allclose(out["keypoint_weights"], data["dataset_keypoint_weights"][None])
        peaks = np.stack(np.unravel_index(out["heatmaps"].reshape(17, -1).argmax(1), (64, 48))[::-1], axis=1)
        assert np.abs(peaks - data["transformed_keypoints"][0] / 4).max() <= 1.0
        assert PackPoseInputs()(out).targets["heatmaps"].dtype == torch.float32


# --------------------------------------------------------------------------------------------------- PackPoseInputs


def test_pack_pose_inputs(make_sample):
    results = GenerateTarget(encoder=FakeHeatmapCodec())(_topdown(make_sample))
    results["area"] = np.array([123.0], dtype=np.float32)
    img = results["img"]
    sample = PackPoseInputs()(results)
    assert isinstance(sample, PoseSample)
    assert sample.inputs.shape == (3, 256, 192) and sample.inputs.dtype == torch.uint8
    assert sample.inputs.is_contiguous()
    np.testing.assert_array_equal(sample.inputs.numpy(), img.transpose(2, 0, 1))
    assert set(sample.targets) == {"heatmaps", "keypoint_weights"}
    assert sample.targets["heatmaps"].shape == (17, 64, 48) and sample.targets["heatmaps"].dtype == torch.float32
    assert sample.targets["keypoint_weights"].shape == (1, 17)
    assert np.shares_memory(sample.targets["heatmaps"].numpy(), results["heatmaps"])  # no copy of the targets
    meta = sample.meta
    for key in ("id", "img_id", "img_shape", "input_size", "input_center", "input_scale", "flip_indices", "bbox"):
        assert key in meta, key
    for key in ("bbox_score", "bbox_scale", "area", "keypoints", "keypoints_visible", "dataset_name"):
        assert key in meta, key
    assert meta["input_center"].shape == (2,) and meta["input_size"] == (192, 256)
    assert meta["keypoints"].shape == (1, 17, 2)  # image space, not the crop's
    assert "transformed_keypoints" not in meta and "heatmaps" not in meta and "upper_body_ids" not in meta

    packed = PackPoseInputs(meta_keys=("id",), pack_transformed=True)(results)
    # MMPose packs the instance fields (its gt_instances) whatever meta_keys says
    instance_fields = {"bbox", "bbox_score", "bbox_scale", "area", "keypoints", "keypoints_visible"}
    assert set(packed.meta) == {"id", "transformed_keypoints"} | (instance_fields & set(results))
    assert set(packed["data_samples"].gt_instances) >= {"bboxes", "keypoints", "transformed_keypoints"}
    assert repr(PackPoseInputs(meta_keys=("id",))) == "PackPoseInputs(meta_keys=('id',), pack_transformed=False)"


def test_pack_pose_inputs_image_forms():
    gray = PackPoseInputs()({"img": np.zeros((5, 6), np.uint8)})
    assert gray.inputs.shape == (1, 5, 6)
    seq = PackPoseInputs()({"img": [np.zeros((5, 6, 3), np.uint8)] * 4})
    assert seq.inputs.shape == (4, 3, 5, 6) and seq.inputs.is_contiguous()
    flipped = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)[:, ::-1]  # negative strides
    np.testing.assert_array_equal(PackPoseInputs()({"img": flipped}).inputs.numpy(), flipped.transpose(2, 0, 1))
    with pytest.raises(KeyError, match="img"):
        PackPoseInputs()({"img_path": "a.jpg"})


def test_collate_packed_samples(make_sample):
    pipeline = Compose([TopdownAffine(input_size=(192, 256)), GenerateTarget(FakeHeatmapCodec()), PackPoseInputs()])
    samples = [pipeline(make_sample(seed=s)) for s in range(4)]
    batch = collate_pose_samples(samples)
    assert batch.inputs.shape == (4, 3, 256, 192) and batch.inputs.dtype == torch.uint8
    assert batch.targets["heatmaps"].shape == (4, 17, 64, 48)
    assert batch.targets["keypoint_weights"].shape == (4, 17)
    np.testing.assert_allclose(batch.centers.numpy()[2], samples[2].meta["input_center"])
    assert batch.flip_indices == make_sample()["flip_indices"]
