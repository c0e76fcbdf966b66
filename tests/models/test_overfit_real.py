"""The whole training path learns real data: the ``tiny`` model overfits the 12 annotated people of MMPose's four
real COCO test images (``tests/data/mmpose_testdata/coco``) to PCK@0.05 > 0.9.

Dataset -> val-style pipeline (no augmentation) + ``GenerateTarget`` -> ``collate_pose_samples`` ->
``PoseDataPreprocessor`` -> ``TopdownPoseEstimator.loss`` (Adam) -> ``predict`` (heatmap decode, crop -> image
space) -> ``PCKAccuracy`` against the image-space annotations.
"""

from __future__ import annotations

import numpy as np
import torch

from posekit.codecs import MSRAHeatmap
from posekit.datasets import CocoStyleDataset
from posekit.datasets.transforms import GenerateTarget, GetBBoxCenterScale, LoadImage, PackPoseInputs, TopdownAffine
from posekit.evaluation import PCKAccuracy
from posekit.evaluation.functional import keypoint_pck_accuracy
from posekit.models import build_model
from posekit.structures import collate_pose_samples

STEPS = 100
MAX_LR = 5e-3


def _pck(model, inputs, batch) -> tuple[float, float]:
    """(PCKAccuracy's PCK: threshold 0.05 of the box's longer side, MMPose's ``norm_item='bbox'``;
    ``keypoint_pck_accuracy`` with each axis normalised by the box's own width / height)."""
    model.eval()
    with torch.no_grad():
        preds = model.predict(inputs, batch)
    model.train()
    metric = PCKAccuracy(thr=0.05, norm_item="bbox")
    metric.update(batch.metas, preds["keypoints"], preds["keypoint_scores"])
    pck = metric.compute()["PCK"]

    gt = np.concatenate([m["keypoints"] for m in batch.metas])  # (N, K, 2) image space
    mask = np.concatenate([m["keypoints_visible"] for m in batch.metas]) > 0
    boxes = np.concatenate([m["bbox"] for m in batch.metas])
    wh = boxes[:, 2:] - boxes[:, :2]
    _, per_axis, _ = keypoint_pck_accuracy(preds["keypoints"][:, 0].numpy(), gt, mask, 0.05, wh)
    return float(pck), float(per_axis)


def test_tiny_model_overfits_real_coco_people(testdata_dir):
    torch.manual_seed(0)
    root = testdata_dir / "coco"
    model = build_model("tiny", overrides=["model.test_cfg.flip_test=false"])
    codec = model.head.decoder
    assert isinstance(codec, MSRAHeatmap) and tuple(codec.input_size) == (96, 128)
    pipeline = [
        LoadImage(),
        GetBBoxCenterScale(padding=1.25),
        TopdownAffine(input_size=codec.input_size),
        GenerateTarget(codec),
        PackPoseInputs(),
    ]
    dataset = CocoStyleDataset(ann_file=str(root / "test_coco.json"), data_prefix={"img": str(root)}, pipeline=pipeline)
    assert len(dataset) == 12  # 14 annotations, 2 without labelled keypoints
    batch = collate_pose_samples([dataset[i] for i in range(len(dataset))])
    assert batch.inputs.dtype == torch.uint8 and batch.inputs.shape == (12, 3, 128, 96)
    assert batch.targets["heatmaps"].shape == (12, 17, 32, 24)
    visible = int(batch.targets["keypoint_weights"].gt(0).sum())
    assert visible > 150

    inputs = model.data_preprocessor(batch.inputs)
    before, _ = _pck(model, inputs, batch)
    assert before < 0.3  # untrained: the assertion below is not a given

    optimizer = torch.optim.Adam(model.parameters(), lr=MAX_LR)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=MAX_LR, total_steps=STEPS, pct_start=0.15)
    first = None
    for _ in range(STEPS):
        losses = model.loss(inputs, batch)
        first = float(losses["loss_kpt"].detach()) if first is None else first
        optimizer.zero_grad()
        losses["loss_kpt"].backward()
        optimizer.step()
        schedule.step()
    last = float(losses["loss_kpt"].detach())
    assert last < 0.1 * first
    assert float(losses["acc_pose"]) > 0.9  # MMPose's heatmap arg-max PCK on the training crops

    pck, per_axis = _pck(model, inputs, batch)
    assert pck > 0.9, f"PCK@0.05 (bbox) after {STEPS} steps: {pck:.3f} (before: {before:.3f})"
    assert per_axis > 0.8, f"PCK@0.05 (per-axis box size): {per_axis:.3f}"
