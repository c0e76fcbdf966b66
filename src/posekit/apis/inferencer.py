"""Batched inference over a stream of images or video frames.

:class:`TopdownInferencer` gathers the person boxes of consecutive frames into batches of ``batch_size`` crops
(one forward per batch) and yields the frames back in order with their people. :class:`PoseInferencer` adds the
person detector (every frame, or every ``det_every`` frames of a video with the boxes carried by the previous
poses in between) and track ids kept across frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from torch import nn

from .detections import _as_boxes
from .inference import _split_predictions, predict_samples, prepare_samples
from .tracking import PoseTracker, bboxes_from_keypoints

__all__ = ["PoseInferencer", "TopdownInferencer"]


class TopdownInferencer:
    """Batched top-down inference over a stream of frames.

    Args:
        model: an estimator from :func:`posekit.apis.init_model`.
        batch_size: crops per forward pass (boxes of several frames share a batch).
        output_heatmaps: also give each frame an image-space ``heatmap`` (H, W): the maximum over keypoints and
            people of the predicted heatmaps warped back into the frame (heatmap heads).

    Each frame is a dict with ``img`` ((H, W, 3) BGR) and optionally ``bboxes`` ((N, 4) xyxy; ``None`` = the whole
    frame, an empty array = nobody) and ``bbox_scores`` (N,); other keys pass through. Calling the inferencer on
    an iterable of frames yields the same dicts, in order, with ``instances``: a list of per-person dicts
    (``keypoints`` (K, 2), ``keypoint_scores`` (K,), ``bbox`` (4,), ``bbox_score``), and ``heatmap`` if asked.
    """

    def __init__(self, model: nn.Module, batch_size: int = 16, output_heatmaps: bool = False) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"TopdownInferencer: batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.batch_size = int(batch_size)
        self.output_heatmaps = bool(output_heatmaps)

    def _prepare(self, frame: dict) -> list:
        img = frame["img"]
        boxes = frame.get("bboxes")
        h, w = img.shape[:2]
        if boxes is None:
            boxes = np.array([[0, 0, w, h]], np.float32)
            scores = None
        else:
            boxes = _as_boxes(boxes, "xyxy", "TopdownInferencer")
            scores = frame.get("bbox_scores")
        return prepare_samples(
            self.model, img, boxes, scores, img_path=frame.get("img_path"), img_id=frame.get("img_id")
        )

    def _flush(self, pending: list[tuple[dict, list]]) -> list[dict]:
        samples = [s for _, ss in pending for s in ss]
        chunks = [
            predict_samples(self.model, samples[i : i + self.batch_size], self.output_heatmaps)
            for i in range(0, len(samples), self.batch_size)
        ]
        people: list[dict] = []
        for chunk in chunks:
            people.extend(_split_predictions(chunk, with_heatmaps=self.output_heatmaps))
        out, pos = [], 0
        for frame, ss in pending:
            instances = people[pos : pos + len(ss)]
            pos += len(ss)
            if self.output_heatmaps:
                frame["heatmap"] = self._image_heatmap(frame["img"].shape[:2], instances)
                for inst in instances:
                    for key in ("heatmaps", "input_center", "input_scale"):
                        inst.pop(key, None)
            frame["instances"] = instances
            out.append(frame)
        return out

    @staticmethod
    def _image_heatmap(shape: tuple[int, int], instances: list[dict]) -> np.ndarray:
        from posekit.visualization import revert_heatmap

        canvas = np.zeros(shape, np.float32)
        for inst in instances:
            if "heatmaps" in inst:
                hm = np.asarray(inst["heatmaps"], np.float32)
                hm = hm.max(axis=0) if hm.ndim == 3 else hm
                np.maximum(canvas, revert_heatmap(hm, inst["input_center"], inst["input_scale"], shape), out=canvas)
        return canvas

    def __call__(self, frames: Iterable[dict]) -> Iterator[dict]:
        pending: list[tuple[dict, list]] = []
        count = 0
        for frame in frames:
            samples = self._prepare(frame)
            pending.append((frame, samples))
            count += len(samples)
            if count >= self.batch_size:
                yield from self._flush(pending)
                pending, count = [], 0
        if pending:
            yield from self._flush(pending)


class PoseInferencer:
    """Detection, top-down pose estimation and tracking over a stream of frames (what ``posekit-infer`` runs).

    A frame (a dict with ``img`` (H, W, 3) BGR) that brings its own ``bboxes`` keeps them; otherwise the
    ``detector`` finds the people (no detector: the whole frame is one box). With ``det_every=N > 1`` the
    detector runs on every N-th frame (and whenever the previous frame had nobody); the frames in between take
    their boxes from the previous frame's poses (:func:`~posekit.apis.tracking.bboxes_from_keypoints`), which
    processes the frames one at a time. With ``track=True`` every person gets a ``track_id`` kept across frames
    (:class:`~posekit.apis.tracking.PoseTracker`).

    Args:
        model: an estimator from :func:`posekit.apis.init_model`.
        detector: a :class:`~posekit.apis.PersonDetector` (anything with ``detect``) or None.
        det_every: run the detector every this many frames (>= 1).
        track: add ``track_id`` to every person.
        track_metric / track_thr: the tracker's similarity (``'iou'`` / ``'oks'``) and its least value.
        kpt_thr: keypoints above this score make a carried box.
        batch_size / output_heatmaps: see :class:`TopdownInferencer`.
    """

    def __init__(
        self,
        model: nn.Module,
        detector: Any = None,
        det_every: int = 1,
        track: bool = False,
        track_metric: str = "iou",
        track_thr: float = 0.3,
        kpt_thr: float = 0.3,
        batch_size: int = 16,
        output_heatmaps: bool = False,
    ) -> None:
        if int(det_every) < 1:
            raise ValueError(f"det_every={det_every}: must be >= 1 (1 detects on every frame)")
        self.topdown = TopdownInferencer(model, batch_size=batch_size, output_heatmaps=output_heatmaps)
        self.detector = detector
        self.det_every = int(det_every)
        self.kpt_thr = float(kpt_thr)
        sigmas = (getattr(model, "dataset_meta", None) or {}).get("sigmas")
        self.tracker = PoseTracker(track_metric, track_thr, sigmas=sigmas) if track else None
        self.num_detections = 0  # frames the detector ran on

    def _detect(self, frame: dict) -> None:
        found = self.detector.detect([frame["img"]])[0]
        frame["bboxes"], frame["bbox_scores"] = found[:, :4], found[:, 4]
        self.num_detections += 1

    def _track(self, frame: dict) -> dict:
        if self.tracker is not None:
            people = frame["instances"]
            boxes = np.array([p["bbox"] for p in people], np.float64).reshape(-1, 4)
            kpts = np.stack([p["keypoints"] for p in people]) if people else None
            for person, tid in zip(people, self.tracker.update(boxes, kpts).tolist()):
                person["track_id"] = int(tid)
        return frame

    def _detected(self, frames: Iterable[dict]) -> Iterator[dict]:
        for frame in frames:
            if frame.get("bboxes") is None and self.detector is not None:
                self._detect(frame)
            yield frame

    def __call__(self, frames: Iterable[dict]) -> Iterator[dict]:
        if self.detector is None or self.det_every == 1:
            for frame in self.topdown(self._detected(frames)):
                yield self._track(frame)
            return
        previous: list[dict] = []
        for index, frame in enumerate(frames):
            if frame.get("bboxes") is None:
                if index % self.det_every == 0 or not previous:
                    self._detect(frame)
                else:
                    kpts = np.stack([p["keypoints"] for p in previous])
                    scores = np.stack([p["keypoint_scores"] for p in previous])
                    frame["bboxes"] = bboxes_from_keypoints(kpts, scores, self.kpt_thr)
                    frame["bbox_scores"] = np.array([p["bbox_score"] for p in previous], np.float32)
                    frame["carried"] = True
            (done,) = self.topdown._flush([(frame, self.topdown._prepare(frame))])
            previous = done["instances"]
            yield self._track(done)
