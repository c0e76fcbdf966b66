"""posekit.testing: dummy samples and batches that the real pipeline and heads accept."""

from __future__ import annotations

import numpy as np
import torch

from posekit.codecs import MSRAHeatmap
from posekit.datasets.transforms import GenerateTarget, PackPoseInputs, RandomFlip, TopdownAffine
from posekit.models.heads import HeatmapHead, RTMCCHead
from posekit.structures import collate_pose_samples
from posekit.testing import get_coco_sample, get_packed_inputs


def test_get_coco_sample_goes_through_the_topdown_pipeline():
    data = get_coco_sample(img_shape=(240, 320), num_instances=3, random_keypoints_visible=True)
    assert data["img"].shape == (240, 320, 3) and data["bbox"].shape == (3, 4)
    assert data["keypoints"].shape == (3, 17, 2) and set(np.unique(data["keypoints_visible"])) <= {0.0, 1.0}
    x1, y1, x2, y2 = data["bbox"].T
    kx, ky = data["keypoints"][..., 0], data["keypoints"][..., 1]
    assert np.all((kx >= x1[:, None] - 1e-9) & (kx <= x2[:, None] + 1e-9) & (ky >= y1[:, None] - 1e-9))
    assert np.array_equal(get_coco_sample()["bbox"], get_coco_sample()["bbox"])  # RandomState(0): same boxes
    side = get_coco_sample(num_instances=2, non_occlusion=True)["bbox"]
    assert side[0, 2] <= 160 + 1e-9 and side[1, 0] >= 160 - 1e-9

    codec = MSRAHeatmap(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0)
    one = get_coco_sample(num_instances=1)
    for t in (RandomFlip(prob=1.0), TopdownAffine(input_size=codec.input_size), GenerateTarget(codec)):
        one = t(one)
    sample = PackPoseInputs()(one)
    batch = collate_pose_samples([sample, sample])
    assert batch.inputs.shape == (2, 3, 256, 192) and batch.targets["heatmaps"].shape == (2, 17, 64, 48)


def test_get_packed_inputs_feeds_heads():
    batch = get_packed_inputs(batch_size=2, num_keypoints=17, input_size=(192, 256), heatmap_size=(48, 64))
    assert batch.inputs.shape == (2, 3, 128, 128) and batch.inputs.dtype == torch.uint8
    assert batch.targets["heatmaps"].shape == (2, 17, 64, 48)
    assert batch.targets["keypoint_x_labels"].shape == (2, 17, 384)
    assert batch.targets["keypoint_y_labels"].shape == (2, 17, 512)
    assert sorted(batch.metas[0]["flip_indices"]) == list(range(17))

    head = HeatmapHead(in_channels=32, out_channels=17, deconv_out_channels=None)
    losses = head.loss((torch.rand(2, 32, 64, 48),), batch)
    assert torch.isfinite(losses["loss_kpt"])
    rtm = RTMCCHead(
        in_channels=32,
        out_channels=17,
        input_size=(192, 256),
        in_featuremap_size=(6, 8),
        simcc_split_ratio=2.0,
        final_layer_kernel_size=1,
        gau_cfg=dict(hidden_dims=32, s=16, expansion_factor=2, dropout_rate=0.0, drop_path=0.0, act_fn="SiLU"),
    )
    assert torch.isfinite(rtm.loss((torch.rand(2, 32, 8, 6),), batch)["loss_kpt"])

    multi = get_packed_inputs(batch_size=3, num_instances=2, num_levels=2, with_simcc_label=False)
    assert multi.targets["heatmaps"].shape == (3, 34, 64, 48)
    assert multi.targets["keypoint_weights"].shape == (6, 2, 17)
    assert "keypoint_x_labels" not in multi.targets
