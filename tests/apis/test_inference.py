"""init_model / inference_topdown / TopdownInferencer on the real COCO test images with the tiny model."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from posekit.apis import (
    TopdownInferencer,
    build_test_pipeline,
    inference_topdown,
    init_model,
    load_detections,
    merge_data_samples,
    model_input_size,
)
from posekit.structures import bbox_xywh2xyxy


def _crop_region(res: dict) -> tuple[np.ndarray, np.ndarray]:
    lo = res["input_center"] - res["input_scale"] / 2
    return lo, lo + res["input_scale"]


def test_init_model_by_name_attaches_cfg_and_metainfo(tiny_model):
    assert not tiny_model.training
    assert tiny_model.dataset_meta["dataset_name"] == "coco"
    assert tiny_model.cfg["model_name"] == "tiny"
    assert model_input_size(tiny_model) == (96, 128)
    assert next(tiny_model.parameters()).device.type == "cpu"


def test_keypoints_lie_in_the_crops_of_the_boxes(tiny_model, coco_images):
    path, boxes = coco_images["000000196141.jpg"]
    results = inference_topdown(tiny_model, str(path), boxes, bbox_format="xywh", return_heatmaps=True)
    assert len(results) == len(boxes) == 5
    xyxy = bbox_xywh2xyxy(boxes)
    for res, box in zip(results, xyxy):
        assert res["keypoints"].shape == (17, 2) and res["keypoint_scores"].shape == (17,)
        assert res["heatmaps"].shape == (17, 32, 24)
        np.testing.assert_allclose(res["bbox"], box, atol=1e-3)
        np.testing.assert_allclose(res["input_center"], (box[:2] + box[2:]) / 2, atol=1e-3)
        lo, hi = _crop_region(res)
        # the crop is the box padded by 1.25 and widened to 3:4; every decoded keypoint lies inside it
        assert np.all(res["keypoints"] >= lo - 1e-3) and np.all(res["keypoints"] <= hi + 1e-3)
        assert np.all(res["input_scale"] >= 1.25 * (box[2:] - box[:2]) - 1e-3)
        assert np.all(np.isfinite(res["keypoint_scores"]))


def test_batched_equals_per_box(tiny_model, coco_images):
    path, boxes = coco_images["000000197388.jpg"]
    img = cv2.imread(str(path))
    batched = inference_topdown(tiny_model, img, boxes, bbox_format="xywh")
    for i, box in enumerate(boxes):
        single = inference_topdown(tiny_model, img, box[None], bbox_format="xywh")
        assert len(single) == 1
        np.testing.assert_allclose(single[0]["keypoints"], batched[i]["keypoints"], atol=1e-3)
        np.testing.assert_allclose(single[0]["keypoint_scores"], batched[i]["keypoint_scores"], atol=1e-5)
    # xyxy input gives the same people
    as_xyxy = inference_topdown(tiny_model, img, bbox_xywh2xyxy(boxes))
    np.testing.assert_allclose(as_xyxy[2]["keypoints"], batched[2]["keypoints"], atol=1e-4)


def test_whole_image_when_no_boxes(tiny_model, coco_images):
    path, _ = coco_images["000000000785.jpg"]
    h, w = cv2.imread(str(path)).shape[:2]
    for boxes in (None, np.zeros((0, 4))):
        res = inference_topdown(tiny_model, path, boxes)
        assert len(res) == 1
        np.testing.assert_allclose(res[0]["bbox"], [0, 0, w, h])


def test_flip_test_follows_test_cfg(tiny_model, coco_images):
    path, boxes = coco_images["000000040083.jpg"]
    with_flip = inference_topdown(tiny_model, path, boxes)
    saved = tiny_model.test_cfg
    tiny_model.test_cfg = {**saved, "flip_test": False}
    try:
        without = inference_topdown(tiny_model, path, boxes)
    finally:
        tiny_model.test_cfg = saved
    diff = max(np.abs(a["keypoint_scores"] - b["keypoint_scores"]).max() for a, b in zip(with_flip, without))
    assert diff > 0, "flip test must change the (averaged) heatmaps of a random model"


def test_mmpose_shaped_results_and_merge(tiny_model, coco_images):
    path, boxes = coco_images["000000196141.jpg"]
    samples = inference_topdown(
        tiny_model, path, boxes, bbox_format="xywh", return_heatmaps=True, return_datasamples=True
    )
    assert len(samples) == 5 and samples[0].pred_instances["keypoints"].shape == (1, 17, 2)
    merged = merge_data_samples(samples)
    assert merged.keypoints.shape == (5, 17, 2) and merged.keypoint_scores.shape == (5, 17)
    assert merged.pred_instances["bboxes"].shape == (5, 4)
    assert merged.pred_fields["heatmaps"].shape == (17, 429, 640)


def test_inferencer_batches_across_frames_like_per_image_calls(tiny_model, coco_images):
    frames, expected = [], []
    for name, (path, boxes) in sorted(coco_images.items()):
        img = cv2.imread(str(path))
        frames.append({"img": img, "bboxes": bbox_xywh2xyxy(boxes), "name": name})
        expected.append(inference_topdown(tiny_model, img, boxes, bbox_format="xywh"))
    frames.append({"img": frames[0]["img"], "bboxes": np.zeros((0, 4)), "name": "nobody"})
    frames.append({"img": frames[0]["img"], "name": "whole"})
    out = list(TopdownInferencer(tiny_model, batch_size=3, output_heatmaps=True)(frames))
    assert [f["name"] for f in out] == [f["name"] for f in frames]
    for frame, exp in zip(out, expected):
        assert len(frame["instances"]) == len(exp)
        assert frame["heatmap"].shape == frame["img"].shape[:2]
        for a, b in zip(frame["instances"], exp):
            np.testing.assert_allclose(a["keypoints"], b["keypoints"], atol=1e-3)
    assert out[-2]["instances"] == [] and len(out[-1]["instances"]) == 1


def test_init_model_from_posekit_checkpoint(tiny_ckpt, coco_images):
    path, state = tiny_ckpt
    model = init_model(path)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, state[f"model.{k}"])
    assert model.cfg["data"]["metainfo"] == "coco"
    pipeline = build_test_pipeline(model)
    assert type(pipeline.transforms[2]).__name__ == "TopdownAffine"
    img_path, boxes = coco_images["000000000785.jpg"]
    res = inference_topdown(model, img_path, boxes, bbox_format="xywh")
    assert res[0]["keypoints"].shape == (17, 2)
    # a model config + the same weights gives the same predictions
    same = init_model("tiny", checkpoint=path)
    res2 = inference_topdown(same, img_path, boxes, bbox_format="xywh")
    np.testing.assert_allclose(res[0]["keypoints"], res2[0]["keypoints"], atol=1e-5)


def test_stored_test_pipeline_is_used(tmp_path, coco_images, ckpt_factory, tiny_model):
    pipeline = ckpt_factory.pipeline()
    pipeline[1]["padding"] = 1.0  # the stored val pipeline, not posekit's default 1.25
    path = tmp_path / "pad1.ckpt"
    ckpt_factory.write(path, pipeline=pipeline)
    model = init_model(path)
    img_path, boxes = coco_images["000000040083.jpg"]
    box = boxes[:1]  # 174.71 x 174.71 -> widened to 3:4
    res = inference_topdown(model, img_path, box, bbox_format="xywh", return_heatmaps=True)[0]
    np.testing.assert_allclose(res["input_scale"], [174.71, 174.71 / 0.75], rtol=1e-4)
    default = inference_topdown(tiny_model, img_path, box, bbox_format="xywh", return_heatmaps=True)[0]
    np.testing.assert_allclose(default["input_scale"], [174.71 * 1.25, 174.71 * 1.25 / 0.75], rtol=1e-4)


def test_init_model_from_model_yaml(tmp_path):
    from posekit import conf_dir

    model = init_model(conf_dir() / "model" / "tiny.yaml", metainfo="coco")
    assert model_input_size(model) == (96, 128)
    assert model.cfg["codec"]["input_size"] == [96, 128]


def test_init_model_errors(tmp_path, tiny_ckpt):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        init_model(tmp_path / "missing.ckpt")
    bare = tmp_path / "bare.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}}, bare)
    with pytest.raises(ValueError, match="no stored posekit configuration"):
        init_model(bare)
    with pytest.raises(ValueError, match="neither a checkpoint"):
        init_model("no_such_model")
    with pytest.raises(ValueError, match="predicts 17 keypoints but metainfo .mpii. has 16"):
        init_model(tiny_ckpt[0], metainfo="mpii")
    with pytest.raises(ValueError, match="do not fit"):
        init_model("res50", checkpoint=tiny_ckpt[0])


def test_load_detections_formats(tmp_path, testdata_dir):
    root = testdata_dir / "coco"
    dets = load_detections(root / "test_coco_det_AP_H_56.json", bbox_thr=0.3)
    boxes, scores = dets.get("000000000785.jpg", 785)
    assert len(boxes) >= 1 and np.all(scores >= 0.3) and np.all(boxes[:, 2:] > boxes[:, :2])
    gt = load_detections(root / "test_coco.json")
    boxes, scores = gt.get("000000196141.jpg")
    assert len(boxes) == 5 and np.all(scores == 1.0)
    assert gt.get("unknown.jpg")[0].shape == (0, 4)
    custom = tmp_path / "dets.json"
    custom.write_text(
        json.dumps(
            [
                {"file_name": "a.jpg", "bbox": [1, 2, 3, 4], "score": 0.9, "category_id": 1},
                {"image_id": 7, "bbox": [0, 0, 5, 5], "score": 0.2},
                {"image_id": 7, "bbox": [0, 0, 5, 5], "score": 0.9, "category_id": 2},
            ]
        )
    )
    d = load_detections(custom, det_cat_id=1)
    np.testing.assert_allclose(d.get("sub/a.jpg")[0], [[1, 2, 4, 6]])
    assert len(d.get(None, 7)[0]) == 1
    assert len(load_detections(custom, det_cat_id=None).get(None, 7)[0]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image_id": 1}]))
    with pytest.raises(ValueError, match="no 'bbox'"):
        load_detections(bad)


def test_prefetch_keeps_order_raises_in_place_and_stops_when_closed():
    import threading
    import time

    from posekit.apis.file_io import _prefetch

    assert list(_prefetch(iter(range(100)), depth=3)) == list(range(100))

    def failing():
        yield 1
        raise ValueError("bad frame 2")

    got = []
    with pytest.raises(ValueError, match="bad frame 2"):
        for x in _prefetch(failing()):
            got.append(x)
    assert got == [1]

    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    gen = _prefetch(endless(), depth=2)
    assert next(gen) == 0
    gen.close()
    time.sleep(0.3)
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count  # the reader thread has stopped
    assert not any(t.name == "posekit-prefetch" and t.is_alive() for t in threading.enumerate())


def test_prefetch_depth_zero_reads_in_line():
    import threading

    from posekit.apis.file_io import _prefetch

    before = {t.name for t in threading.enumerate()}
    gen = _prefetch(iter(range(5)), depth=0)
    assert list(gen) == list(range(5))
    assert "posekit-prefetch" not in {t.name for t in threading.enumerate()} - before
