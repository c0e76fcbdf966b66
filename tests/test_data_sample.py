"""MMPose's result containers: PoseDataSample / InstanceData / PixelData, merge_data_samples, revert_heatmap."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.structures import (
    InstanceData,
    PixelData,
    PoseDataSample,
    get_warp_matrix,
    merge_data_samples,
    revert_heatmap,
)


def _sample(i: int, with_heatmaps: bool = True) -> PoseDataSample:
    rng = np.random.RandomState(i)
    ds = PoseDataSample(metainfo=dict(img_path="a.jpg", ori_shape=(120, 160)))
    ds.set_metainfo(dict(input_center=np.array([60.0 + 10 * i, 50.0]), input_scale=np.array([48.0, 64.0])))
    ds.gt_instances = InstanceData(bboxes=rng.rand(1, 4), keypoints=rng.rand(1, 17, 2))
    ds.pred_instances = InstanceData(keypoints=rng.rand(1, 17, 2), keypoint_scores=rng.rand(1, 17))
    if with_heatmaps:
        ds.pred_fields = PixelData(heatmaps=rng.rand(17, 16, 12).astype(np.float32))
    return ds


def test_attribute_and_dict_access():
    ds = _sample(0)
    assert ds.pred_instances.keypoints is ds.pred_instances["keypoints"]
    assert "pred_instances" in ds and "gt_fields" not in ds and "ori_shape" in ds
    assert ds.ori_shape == (120, 160) and ds.img_path == "a.jpg"
    assert ds.keypoints.shape == (1, 17, 2) and ds.keypoint_scores.shape == (1, 17)
    assert len(ds.pred_instances) == 1
    with pytest.raises(AttributeError, match="no field or metainfo"):
        _ = ds.nonexistent
    with pytest.raises(AttributeError, match="unknown field"):
        ds.predictions = {}


def test_merge_concatenates_instances_and_maxes_reverted_heatmaps():
    samples = [_sample(i) for i in range(3)]
    merged = merge_data_samples(samples)
    assert merged.pred_instances.keypoints.shape == (3, 17, 2)
    np.testing.assert_array_equal(merged.gt_instances.bboxes[1], samples[1].gt_instances.bboxes[0])
    assert merged.metainfo["img_path"] == "a.jpg"
    hm = merged.pred_fields.heatmaps
    assert hm.shape == (17, 120, 160)
    expected = np.max(
        [revert_heatmap(s.pred_fields.heatmaps, s.input_center, s.input_scale, (120, 160)) for s in samples], axis=0
    )
    np.testing.assert_array_equal(hm, expected)


def test_merge_without_heatmaps_and_bad_input():
    merged = merge_data_samples([_sample(0, with_heatmaps=False), _sample(1, with_heatmaps=False)])
    assert "pred_fields" not in merged and merged.keypoints.shape == (2, 17, 2)
    with pytest.warns(UserWarning, match="empty list"):
        assert merge_data_samples([]).keys() == []
    with pytest.raises(ValueError, match="PoseDataSample"):
        merge_data_samples([{"pred_instances": {}}])


def test_instance_data_cat_tensors_and_mismatch():
    a = InstanceData(keypoints=torch.zeros(2, 3, 2), names=["a", "b"])
    b = InstanceData(keypoints=torch.ones(1, 3, 2), names=["c"])
    out = InstanceData.cat([a, b])
    assert out.keypoints.shape == (3, 3, 2) and out.names == ["a", "b", "c"] and len(out) == 3
    with pytest.raises(ValueError, match="fields"):
        InstanceData.cat([a, InstanceData(keypoints=torch.zeros(1, 3, 2))])


def test_revert_heatmap_is_the_inverse_warp_of_the_crop():
    """A peak at crop pixel (x, y) lands at the image point the forward warp maps onto it."""
    center, scale = np.array([80.0, 60.0]), np.array([64.0, 64.0])
    hm = np.zeros((2, 32, 32), np.float32)
    hm[0, 10, 20] = 1.0
    out = revert_heatmap(torch.from_numpy(hm), center, scale, (120, 160))
    assert out.shape == (2, 120, 160) and out.dtype == np.float32
    y, x = np.unravel_index(np.argmax(out[0]), out[0].shape)
    fwd = get_warp_matrix(center, scale, 0.0, output_size=(32, 32))
    cx, cy = fwd @ np.array([x, y, 1.0])
    assert abs(cx - 20) <= 0.5 and abs(cy - 10) <= 0.5
    assert revert_heatmap(hm[0], center, scale, (120, 160)).shape == (120, 160)
    with pytest.raises(ValueError, match="heatmap must be"):
        revert_heatmap(np.zeros(5), center, scale, (10, 10))
