"""Person detector plumbing (torchvision detectors built with ``weights=None``; detector outputs given by a stand-in
module with torchvision's interface), detector -> boxes -> poses -> JSON/pictures end to end on the real COCO test
images, the tracker, and a generated video of moving figures (track ids stable, det_every)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from posekit.apis import (
    PersonDetector,
    PoseTracker,
    bbox_iou,
    bboxes_from_keypoints,
    inference_topdown,
    run_inference,
)


class BoxesBySize(nn.Module):
    """torchvision's detection interface, answering each image (found by its (H, W)) with fixed outputs."""

    def __init__(self, outputs: dict[tuple[int, int], dict[str, torch.Tensor]]) -> None:
        super().__init__()
        self.outputs = outputs
        self.calls = 0

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        self.calls += len(images)
        for img in images:
            assert img.dtype == torch.float32 and img.shape[0] == 3 and 0 <= float(img.min()) <= float(img.max()) <= 1
        return [self.outputs[tuple(img.shape[1:])] for img in images]


class BrightBlobs(nn.Module):
    """A detector that finds the figures of the generated clip: connected bright regions (torchvision interface)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        out = []
        for img in images:
            self.calls += 1
            mask = (img.mean(0) > 0.5).numpy().astype(np.uint8)
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            boxes = [[x, y, x + w, y + h] for x, y, w, h, area in stats[1:n] if area > 20]
            out.append(
                {
                    "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                    "scores": torch.full((len(boxes),), 0.9),
                    "labels": torch.ones(len(boxes), dtype=torch.int64),
                }
            )
        return out


def _gt_outputs(coco_images) -> tuple[dict, dict]:
    """Per image size: the annotated person boxes (score 0.9), plus a car (label 3) and a weak person (0.2)."""
    outputs, expected = {}, {}
    for name, (path, xywh) in coco_images.items():
        h, w = cv2.imread(str(path)).shape[:2]
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        boxes = np.concatenate([xyxy, [[0, 0, 10, 10], [5, 5, 50, 50]]])
        outputs[(h, w)] = {
            "boxes": torch.tensor(boxes, dtype=torch.float32),
            "scores": torch.tensor([0.9] * len(xyxy) + [0.95, 0.2]),
            "labels": torch.tensor([1] * len(xyxy) + [3, 1]),
        }
        expected[name] = xyxy
    return outputs, expected


def test_torchvision_detector_builds_without_weights_and_returns_person_boxes(coco_images):
    torch.manual_seed(0)
    det = PersonDetector("fasterrcnn_mobilenet_v3_large_320_fpn", weights=None, score_thr=0.0)
    img = cv2.imread(str(next(iter(coco_images.values()))[0]))
    (boxes,) = det.detect([img])
    assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 5
    assert np.all(np.diff(boxes[:, 4]) <= 0)  # highest score first
    with pytest.raises(ValueError, match="unknown detector"):
        PersonDetector("yolo_v99", weights=None)


def test_detector_keeps_confident_persons_only(coco_images):
    outputs, expected = _gt_outputs(coco_images)
    det = PersonDetector(BoxesBySize(outputs), score_thr=0.5)
    for name, (path, _) in coco_images.items():
        (boxes,) = det.detect([cv2.imread(str(path))])
        np.testing.assert_allclose(np.sort(boxes[:, :4], axis=0), np.sort(expected[name], axis=0), atol=1e-4)
        assert np.all(boxes[:, 4] == np.float32(0.9))


def test_inference_topdown_runs_the_detector_when_no_boxes(tiny_model, coco_images):
    outputs, expected = _gt_outputs(coco_images)
    det = PersonDetector(BoxesBySize(outputs))
    name, (path, _) = next(iter(coco_images.items()))
    people = inference_topdown(tiny_model, str(path), detector=det)
    assert len(people) == len(expected[name])
    mine = inference_topdown(tiny_model, str(path), bboxes=expected[name])  # bring-your-own boxes still work
    for a, b in zip(sorted(people, key=lambda p: p["bbox"][0]), sorted(mine, key=lambda p: p["bbox"][0])):
        np.testing.assert_allclose(a["keypoints"], b["keypoints"], atol=1e-4)


def test_folder_end_to_end_with_detector(tmp_path, tiny_model, testdata_dir, coco_images):
    outputs, expected = _gt_outputs(coco_images)
    det = PersonDetector(BoxesBySize(outputs))
    out = tmp_path / "out"
    summary = run_inference(tiny_model, testdata_dir / "coco", out, detector=det, progress=False)
    assert summary["num_frames"] == 4 and summary["detector_frames"] == 4
    preds = json.loads((out / "predictions.json").read_text())
    coco = json.loads((out / "coco_results.json").read_text())
    assert sum(len(r["instances"]) for r in preds["images"]) == len(coco) == sum(len(b) for b in expected.values())
    for rec in preds["images"]:
        name = rec["img_path"].rsplit("/", 1)[-1]
        got = np.array([i["bbox"] for i in rec["instances"]])
        np.testing.assert_allclose(np.sort(got, axis=0), np.sort(expected[name], axis=0), atol=0.01)
        assert cv2.imread(str(out / "vis" / name)).shape == (rec["height"], rec["width"], 3)
    first = coco[0]
    assert first["category_id"] == 1 and len(first["keypoints"]) == 17 * 3 and isinstance(first["image_id"], int)


def test_cli_default_detector_without_network(tmp_path, testdata_dir, coco_images, monkeypatch, request):
    from posekit.cli import infer

    outputs, expected = _gt_outputs(coco_images)
    built = []

    def fake_build(name, weights, weights_backbone):
        built.append((name, weights))
        return BoxesBySize(outputs)

    from posekit.apis.detector import _named_detector

    _named_detector.cache_clear()  # detectors built by name are cached: none of the real ones, none kept after
    request.addfinalizer(_named_detector.cache_clear)
    monkeypatch.setattr(PersonDetector, "_build", staticmethod(fake_build))
    name = "000000000785.jpg"
    infer.main(["model=tiny", f"input={testdata_dir / 'coco' / name}", f"output_dir={tmp_path}"])
    assert built == [("fasterrcnn_mobilenet_v3_large_fpn", "DEFAULT")]
    preds = json.loads((tmp_path / "predictions.json").read_text())
    assert len(preds["images"][0]["instances"]) == len(expected[name])
    assert preds["meta"]["detector"] == "fasterrcnn_mobilenet_v3_large_fpn"


def test_bad_images_are_skipped_counted_and_json_is_written(tmp_path, tiny_model, testdata_dir):
    src = tmp_path / "in"
    src.mkdir()
    good = (testdata_dir / "coco" / "000000000785.jpg").read_bytes()
    (src / "a.jpg").write_bytes(good)
    (src / "b.jpg").write_bytes(b"")  # zero bytes
    (src / "c.jpg").write_bytes(good[: len(good) // 2])  # half a JPEG: does not decode
    (src / "d.jpg").write_bytes(good[:-300])  # the end cut off (older OpenCV builds decode it with grey rows)
    (src / "e.jpg").write_bytes(good)
    summary = run_inference(tiny_model, src, tmp_path / "out", progress=False)
    assert summary["num_frames"] == 2 and summary["num_skipped"] == 3
    preds = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert [r["img_path"].rsplit("/", 1)[-1] for r in preds["images"]] == ["a.jpg", "e.jpg"]
    errors = {s["img_path"].rsplit("/", 1)[-1]: s["error"] for s in preds["skipped"]}
    assert set(errors) == {"b.jpg", "c.jpg", "d.jpg"}
    assert "empty" in errors["b.jpg"] and "does not decode" in errors["c.jpg"]
    assert "truncated JPEG" in errors["d.jpg"] or "does not decode" in errors["d.jpg"]
    assert all(name in err for name, err in errors.items())
    with pytest.raises(ValueError, match="b.jpg: the file is empty"):
        run_inference(tiny_model, src, tmp_path / "strict", progress=False, skip_bad=False)


def test_predictions_json_is_valid_after_every_image(tmp_path, tiny_model, testdata_dir, monkeypatch):
    from posekit.apis import file_io

    seen = []
    real_add = file_io.PredictionsWriter.add

    def add(self, record):
        real_add(self, record)
        seen.append(len(json.loads(self.path.read_text())["images"]))

    monkeypatch.setattr(file_io.PredictionsWriter, "add", add)
    run_inference(tiny_model, testdata_dir / "coco", tmp_path, progress=False, save_vis=False)
    assert seen == [1, 2, 3, 4]


def test_tracker_keeps_ids_of_moving_boxes_and_starts_new_ones():
    tracker = PoseTracker(thr=0.3)
    a, b = np.array([0, 0, 10, 20.0]), np.array([50, 0, 60, 20.0])
    assert tracker.update(np.stack([a, b])).tolist() == [0, 1]
    assert tracker.update(np.stack([b + 2, a + 2])).tolist() == [1, 0]  # order swapped, ids follow the boxes
    assert tracker.update(np.stack([a + 4, [200, 200, 210, 220]])).tolist() == [0, 2]
    assert bbox_iou(a[None], a[None])[0, 0] == pytest.approx(1.0)
    oks = PoseTracker(metric="oks", thr=0.5, sigmas=np.full(3, 0.1))
    k = np.array([[[0, 0], [5, 5], [10, 10.0]], [[100, 100], [105, 105], [110, 110.0]]])
    boxes = bboxes_from_keypoints(k, np.ones((2, 3)))
    np.testing.assert_allclose(boxes[0], [-1.25, -1.25, 11.25, 11.25])
    assert oks.update(boxes, k).tolist() == [0, 1]
    assert oks.update(boxes[::-1], k[::-1] + 0.5).tolist() == [1, 0]


def _figure_clip(path, frames: int = 12, size=(160, 120)) -> list[list[np.ndarray]]:
    """Two bright stick figures walking right on a dark background; returns their true boxes per frame."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, size)
    truth = []
    for t in range(frames):
        img = np.full((size[1], size[0], 3), 20, np.uint8)
        boxes = []
        for x0, y0 in ((10 + 3 * t, 15), (90 + 2 * t, 55)):
            cv2.circle(img, (x0 + 8, y0 + 5), 5, (255, 255, 255), -1)  # head
            cv2.line(img, (x0 + 8, y0 + 10), (x0 + 8, y0 + 30), (255, 255, 255), 3)  # body
            cv2.line(img, (x0 + 8, y0 + 30), (x0 + 2 + (t % 3), y0 + 45), (255, 255, 255), 3)  # legs
            cv2.line(img, (x0 + 8, y0 + 30), (x0 + 14 - (t % 3), y0 + 45), (255, 255, 255), 3)
            cv2.line(img, (x0 + 1, y0 + 16), (x0 + 15, y0 + 16), (255, 255, 255), 3)  # arms
            boxes.append(np.array([x0, y0, x0 + 16, y0 + 46], np.float32))
        writer.write(img)
        truth.append(boxes)
    writer.release()
    return truth


@pytest.mark.parametrize("det_every", [1, 4])
def test_video_track_ids_stay_with_the_moving_figures(tmp_path, tiny_model, det_every):
    clip = tmp_path / "walk.mp4"
    truth = _figure_clip(clip)
    blobs = BrightBlobs()
    summary = run_inference(
        tiny_model, clip, tmp_path / "out", detector=PersonDetector(blobs), det_every=det_every, progress=False
    )
    assert blobs.calls == summary["detector_frames"] == -(-len(truth) // det_every)
    preds = json.loads((tmp_path / "out" / "walk.json").read_text())
    assert len(preds["frames"]) == len(truth)
    for frame, boxes in zip(preds["frames"], truth):
        assert len(frame["instances"]) == 2
        for inst in frame["instances"]:
            # the figure whose true box is nearest this person's box centre carries the id of its first frame
            centre = np.reshape(inst["bbox"], (2, 2)).mean(0)
            nearest = int(np.argmin([np.linalg.norm(centre - b.reshape(2, 2).mean(0)) for b in boxes]))
            assert inst["track_id"] == nearest, (frame["frame_id"], inst)
    coco = json.loads((tmp_path / "out" / "walk_coco_results.json").read_text())
    assert len(coco) == 2 * len(truth)
