"""MMPose 1.3.2 parity of the top-down test pipeline on real COCO images (tests/data/golden)."""

from __future__ import annotations

import json

import numpy as np

from posekit.datasets.transforms import Compose, GetBBoxCenterScale, LoadImage, PackPoseInputs, TopdownAffine


def _instances(testdata_dir, ids):
    """Instance dicts as MMPose's CocoDataset builds them (bbox xywh -> clipped xyxy), in the order of ``ids``."""
    ann_file = testdata_dir / "coco" / "test_coco.json"
    coco = json.loads(ann_file.read_text())
    images = {im["id"]: im for im in coco["images"]}
    anns = {a["id"]: a for a in coco["annotations"]}
    for ann_id in ids:
        ann = anns[int(ann_id)]
        img = images[ann["image_id"]]
        w, h = img["width"], img["height"]
        x, y, bw, bh = ann["bbox"]
        bbox = np.array(
            [[np.clip(x, 0, w - 1), np.clip(y, 0, h - 1), np.clip(x + bw, 0, w - 1), np.clip(y + bh, 0, h - 1)]],
            dtype=np.float32,
        )
        kpts = np.array(ann["keypoints"], dtype=np.float32).reshape(1, -1, 3)
        yield {
            "img_path": str(testdata_dir / "coco" / img["file_name"]),
            "id": ann["id"],
            "img_id": img["id"],
            "bbox": bbox,
            "bbox_score": np.ones(1, dtype=np.float32),
            "keypoints": kpts[..., :2],
            "keypoints_visible": (kpts[..., 2] > 0).astype(np.float32),
        }


def test_coco_topdown_test_pipeline_matches_mmpose(golden_dir, testdata_dir):
    golden = np.load(golden_dir / "pipeline_coco_topdown_test.npz")
    pipeline = Compose([LoadImage(), GetBBoxCenterScale(padding=1.25), TopdownAffine(input_size=(192, 256))])
    n = 0
    for i, results in enumerate(_instances(testdata_dir, golden["ids"])):
        out = pipeline(results)
        assert out["img"].shape == (256, 192, 3) and out["img"].dtype == np.uint8
        np.testing.assert_allclose(out["bbox_center"][0], golden["bbox_center"][i], atol=1e-3)
        np.testing.assert_allclose(out["bbox_scale"][0], golden["bbox_scale"][i], atol=1e-3)
        np.testing.assert_allclose(out["transformed_keypoints"][0], golden["transformed_keypoints"][i], atol=1e-3)
        diff = np.abs(out["img"].astype(np.float32) - golden["crops"][i].astype(np.float32)).mean()
        assert diff < 1.0, f"crop {i} (id {golden['ids'][i]}) differs by {diff:.3f} grey levels on average"
        np.testing.assert_allclose(out["input_center"], golden["bbox_center"][i], atol=1e-3)
        np.testing.assert_allclose(out["input_scale"], golden["bbox_scale"][i], atol=1e-3)
        assert out["input_size"] == (192, 256)
        assert out["ori_shape"] == out["img_shape"]
        n += 1
    assert n == len(golden["ids"]) == 12


def test_packed_golden_sample(golden_dir, testdata_dir):
    golden = np.load(golden_dir / "pipeline_coco_topdown_test.npz")
    results = next(_instances(testdata_dir, golden["ids"][:1]))
    pipeline = Compose([LoadImage(), GetBBoxCenterScale(), TopdownAffine(input_size=(192, 256)), PackPoseInputs()])
    sample = pipeline(results)
    assert sample.inputs.shape == (3, 256, 192) and sample.inputs.is_contiguous()
    crop = golden["crops"][0].astype(np.float32)
    assert np.abs(sample.inputs.permute(1, 2, 0).numpy().astype(np.float32) - crop).mean() < 1.0
    assert sample.meta["id"] == int(golden["ids"][0])
    assert sample.meta["ori_shape"] == (425, 640)
    np.testing.assert_allclose(sample.meta["input_center"], golden["bbox_center"][0], atol=1e-3)
    assert sample.targets == {}
