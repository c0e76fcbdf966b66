"""What ``posekit-infer`` runs: :func:`run_inference` on an image, a folder of images or a video.

It reads the frames (skipping undecodable images with a warning, counted), finds the people (a detection file,
a person detector, or the whole frame), estimates their poses (:class:`~posekit.apis.PoseInferencer`), and writes
the drawn pictures or video, the predictions JSON (incrementally: valid after every image) and the COCO keypoint
results.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from torch import nn

from .detections import _image_id_from_name, load_detections
from .file_io import PredictionsWriter, _list_inputs, _prefetch, _write_json, read_image_file
from .inferencer import PoseInferencer

__all__ = ["run_inference"]

logger = logging.getLogger(__name__)


def _instance_json(inst: Mapping[str, Any]) -> dict[str, Any]:
    out = {
        "bbox": [round(float(v), 2) for v in np.asarray(inst["bbox"]).reshape(4)],
        "bbox_score": round(float(inst["bbox_score"]), 4),
        "keypoints": np.round(np.asarray(inst["keypoints"], np.float64), 2).tolist(),
        "keypoint_scores": np.round(np.asarray(inst["keypoint_scores"], np.float64), 4).tolist(),
    }
    if "track_id" in inst:
        out["track_id"] = int(inst["track_id"])
    return out


def _coco_result(image_id: Any, inst: Mapping[str, Any], kpt_thr: float) -> dict[str, Any]:
    """One COCO keypoint result: ``keypoints`` [x, y, score] * K, ``score`` = box score x mean confident
    keypoint score (MMPose's rescoring)."""
    kpts = np.asarray(inst["keypoints"], np.float64)
    scores = np.asarray(inst["keypoint_scores"], np.float64)
    confident = scores[scores > kpt_thr]
    score = float(inst["bbox_score"]) * (float(confident.mean()) if confident.size else 0.0)
    flat = np.concatenate([kpts, scores[:, None]], axis=1).reshape(-1)
    return {"image_id": image_id, "category_id": 1, "keypoints": np.round(flat, 3).tolist(), "score": round(score, 5)}


def _meta_json(model: nn.Module, source: str | None, kpt_thr: float, detector: Any) -> dict[str, Any]:
    meta = getattr(model, "dataset_meta", None) or {}
    names = meta.get("keypoint_id2name") or {}
    return {
        "model": source,
        "detector": getattr(detector, "name", None if detector is None else type(detector).__name__),
        "dataset_name": meta.get("dataset_name"),
        "keypoint_names": [names[i] for i in sorted(names)] if names else None,
        "skeleton_links": [list(map(int, link)) for link in meta.get("skeleton_links") or []],
        "kpt_thr": kpt_thr,
        "coordinates": "image pixels, x right, y down; bbox xyxy",
    }


def _progress(iterable: Iterable, total: int | None, enabled: bool, unit: str):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, unit=unit, dynamic_ncols=True)


def run_inference(
    model: nn.Module,
    input: str | os.PathLike,
    output_dir: str | os.PathLike,
    bboxes: str | os.PathLike | None = None,
    kpt_thr: float = 0.3,
    bbox_thr: float = 0.3,
    det_cat_id: int | None = 1,
    show_heatmaps: bool = False,
    batch_size: int = 16,
    draw_bbox: bool = True,
    radius: int | None = None,
    thickness: int | None = None,
    save_vis: bool = True,
    progress: bool | None = None,
    fps: float | None = None,
    model_source: str | None = None,
    read_ahead: int = 8,
    detector: Any = None,
    det_thr: float = 0.5,
    det_every: int = 1,
    track: bool | None = None,
    skip_bad: bool = True,
) -> dict[str, Any]:
    """Pose estimation on an image, a folder of images (recursively) or a video, written to ``output_dir``.

    * images: ``output_dir/vis/<relative path>`` (skeletons coloured by the dataset metainfo; with
      ``show_heatmaps`` the heatmap overlay is stacked below), ``output_dir/predictions.json``
      (``{"meta": ..., "images": [{"img_path", "image_id", "width", "height", "instances": [...]}],
      "skipped": [{"img_path", "error"}]}``, rewritten after every image) and ``output_dir/coco_results.json``
      (COCO keypoint results ``[{image_id, category_id, keypoints [x, y, score] * K, score}]``);
    * a video: ``output_dir/<stem>.mp4`` (mp4v), ``output_dir/<stem>.json`` (``{"meta", "video", "fps",
      "width", "height", "frames": [{"frame_id", "instances"}]}``) and ``output_dir/<stem>_coco_results.json``
      (image_id = frame index).

    Each instance is ``{"bbox" [x1, y1, x2, y2], "bbox_score", "keypoints" [[x, y] * K], "keypoint_scores"}``
    (+ ``"track_id"`` when tracking).

    Args:
        model: from :func:`posekit.apis.init_model`.
        input: image file, video file or folder.
        output_dir: created if missing.
        bboxes: a COCO-style detection JSON (see :func:`load_detections`); it takes precedence over ``detector``.
        kpt_thr: keypoints below this score are not drawn (all are saved in the JSON).
        bbox_thr / det_cat_id: filtering of the detection file (see :func:`load_detections`).
        show_heatmaps: draw the predicted heatmaps (heatmap heads).
        batch_size: crops per forward.
        draw_bbox / radius / thickness: drawing options.
        save_vis: write the pictures / video (``False``: JSON only).
        progress: show a progress bar (default: for folders and videos).
        fps: frame rate of the output video (default: the input's).
        model_source: what to record as the model in the JSON meta.
        read_ahead: images / frames decoded ahead in a background thread while the model runs (0: read in line).
        detector: without ``bboxes``: a :class:`~posekit.apis.PersonDetector`, a torchvision detector name
            (:data:`~posekit.apis.detector.DETECTORS`, COCO weights downloaded once) or ``None`` (the whole
            frame is one person).
        det_thr: the score threshold of a detector built from a name.
        det_every: video: run the detector every this many frames; between, boxes come from the previous poses.
        track: add ``track_id`` s kept across frames (default: on for a video, off for images).
        skip_bad: an image that does not decode is skipped with a warning and listed under ``"skipped"``
            (``False``: it stops the run with its path).

    Returns:
        A summary: ``kind`` (image | folder | video), ``output_dir``, ``num_frames``, ``num_instances``,
        ``num_skipped``, ``seconds``, ``fps`` (frames per second of the whole loop: reading, detection,
        inference, drawing, writing), ``predictions`` (JSON path), ``coco_results``, ``outputs`` (written
        pictures / video).
    """
    from posekit.visualization import PoseVisualizer

    from .detector import build_detector
    from .inference import _model_device

    input_path = Path(input).expanduser()
    out_dir = Path(output_dir)
    kind, files = _list_inputs(input_path)
    dets = load_detections(bboxes, bbox_thr=bbox_thr, det_cat_id=det_cat_id) if bboxes else None
    det = None if dets is not None else build_detector(detector, score_thr=det_thr, device=_model_device(model))
    visualizer = PoseVisualizer(
        getattr(model, "dataset_meta", None) or "coco",
        kpt_thr=kpt_thr,
        radius=radius,
        thickness=thickness,
        draw_bbox=draw_bbox,
    )
    inferencer = PoseInferencer(
        model,
        detector=det,
        det_every=det_every if kind == "video" else 1,
        track=(kind == "video") if track is None else bool(track),
        kpt_thr=kpt_thr,
        batch_size=batch_size,
        output_heatmaps=show_heatmaps,
    )
    show_progress = kind != "image" if progress is None else bool(progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = _meta_json(model, model_source, kpt_thr, det)
    start = time.perf_counter()
    opts = {"save_vis": save_vis, "show_progress": show_progress, "read_ahead": read_ahead, "kpt_thr": kpt_thr}
    if kind == "video":
        summary = _run_video(files[0], out_dir, inferencer, visualizer, dets, meta, fps=fps, **opts)
    else:
        root = input_path if kind == "folder" else input_path.parent
        summary = _run_images(files, root, out_dir, inferencer, visualizer, dets, meta, skip_bad=skip_bad, **opts)
    seconds = time.perf_counter() - start
    summary.update(
        kind=kind,
        output_dir=str(out_dir),
        seconds=round(seconds, 3),
        fps=round(summary["num_frames"] / max(seconds, 1e-9), 3),
        detector_frames=inferencer.num_detections,
    )
    return summary


def _draw(visualizer, frame: dict) -> np.ndarray:
    return visualizer.draw_results(frame["img"], frame["instances"], heatmap=frame.get("heatmap"))


def _run_images(
    files, root, out_dir, inferencer, visualizer, dets, meta, *, save_vis, show_progress, read_ahead, kpt_thr, skip_bad
) -> dict:
    rel_names = [str(p.relative_to(root)) if p.is_relative_to(root) else p.name for p in files]
    if dets is not None:
        matched = sum(dets.has(name, _image_id_from_name(name)) for name in rel_names)
        if matched == 0:
            raise ValueError(
                f"bboxes={dets.source}: none of the {len(files)} input images is in the detection file (matched by "
                "file name, then by image_id = the number in the file name); check that it belongs to these images"
            )
    pred_path = out_dir / "predictions.json"
    writer = PredictionsWriter(pred_path, {"meta": meta}, "images")
    skipped: list[dict[str, str]] = []

    def frames() -> Iterator[dict]:
        for path, name in zip(files, rel_names):
            try:
                img = read_image_file(path)
            except (OSError, ValueError) as err:
                if not skip_bad:
                    raise ValueError(f"input: {err} (skip_bad=true skips such files)") from None
                logger.warning("skipping %s", err)
                skipped.append({"img_path": str(path), "error": str(err)})
                continue
            image_id = _image_id_from_name(name)
            frame = {"img": img, "img_path": str(path), "name": name, "img_id": image_id}
            if dets is not None:
                frame["bboxes"], frame["bbox_scores"] = dets.get(name, image_id)
            yield frame

    outputs, coco, num_instances = [], [], 0
    for frame in _progress(inferencer(_prefetch(frames(), read_ahead)), len(files), show_progress, "img"):
        instances = frame["instances"]
        num_instances += len(instances)
        h, w = frame["img"].shape[:2]
        image_id = frame["img_id"] if frame["img_id"] is not None else frame["name"]
        coco.extend(_coco_result(image_id, inst, kpt_thr) for inst in instances)
        if save_vis:
            target = out_dir / "vis" / frame["name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            canvas = _draw(visualizer, frame)
            if not cv2.imwrite(str(target), canvas):
                target = target.with_suffix(".jpg")
                if not cv2.imwrite(str(target), canvas):
                    raise OSError(f"could not write {target}")
            outputs.append(str(target))
        writer.add(
            {
                "img_path": frame["img_path"],
                "image_id": frame["img_id"],
                "width": w,
                "height": h,
                "instances": [_instance_json(i) for i in instances],
            }
        )
    writer.close(skipped=skipped)
    if skipped:
        logger.warning("skipped %d of %d images that do not decode (listed in %s)", len(skipped), len(files), pred_path)
    coco_path = out_dir / "coco_results.json"
    _write_json(coco, coco_path)
    return {
        "num_frames": len(writer),
        "num_instances": num_instances,
        "num_skipped": len(skipped),
        "skipped": [s["img_path"] for s in skipped],
        "predictions": str(pred_path),
        "coco_results": str(coco_path),
        "outputs": outputs,
    }


def _run_video(
    path, out_dir, inferencer, visualizer, dets, meta, *, save_vis, show_progress, read_ahead, kpt_thr, fps
) -> dict:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"input={path}: OpenCV cannot open this video")
    src_fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) or None
    width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if dets is not None and not any(isinstance(k, int) and k >= 0 for k in dets.by_id):
        cap.release()
        raise ValueError(
            f"bboxes={dets.source}: video frames are matched by image_id = the 0-based frame index, and the file has "
            "no such integer image_id"
        )
    out_fps = float(fps) if fps else (src_fps if src_fps > 0 else 25.0)

    def frames() -> Iterator[dict]:
        index = 0
        while True:
            ok, img = cap.read()
            if not ok:
                break
            frame = {"img": img, "frame_id": index, "img_id": index}
            if dets is not None:
                frame["bboxes"], frame["bbox_scores"] = dets.get(None, index)
            yield frame
            index += 1

    video_out = out_dir / f"{path.stem}.mp4"
    pred_path = out_dir / f"{path.stem}.json"
    header = {"meta": meta, "video": str(path), "fps": out_fps, "width": width, "height": height}
    records = PredictionsWriter(pred_path, header, "frames")
    writer, coco, num_instances = None, [], 0
    decoded = _prefetch(frames(), read_ahead)  # closed before the capture is released: the reader thread uses it
    try:
        for frame in _progress(inferencer(decoded), total, show_progress, "frame"):
            instances = frame["instances"]
            num_instances += len(instances)
            coco.extend(_coco_result(frame["frame_id"], inst, kpt_thr) for inst in instances)
            if save_vis:
                canvas = _draw(visualizer, frame)
                if writer is None:
                    writer = cv2.VideoWriter(
                        str(video_out), cv2.VideoWriter_fourcc(*"mp4v"), out_fps, (canvas.shape[1], canvas.shape[0])
                    )
                    if not writer.isOpened():
                        raise OSError(f"cv2.VideoWriter cannot write {video_out} (mp4v codec unavailable?)")
                writer.write(canvas)
            records.add({"frame_id": frame["frame_id"], "instances": [_instance_json(i) for i in instances]})
    finally:
        decoded.close()
        cap.release()
        if writer is not None:
            writer.release()
    records.close()
    if not len(records):
        raise ValueError(f"input={path}: the video has no readable frames")
    coco_path = out_dir / f"{path.stem}_coco_results.json"
    _write_json(coco, coco_path)
    return {
        "num_frames": len(records),
        "num_instances": num_instances,
        "num_skipped": 0,
        "skipped": [],
        "predictions": str(pred_path),
        "coco_results": str(coco_path),
        "outputs": [str(video_out)] if save_vis else [],
    }
