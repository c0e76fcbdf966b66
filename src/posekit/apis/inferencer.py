"""Batched inference over many images or video frames, and what ``posekit-infer`` runs (:func:`run_inference`).

:class:`TopdownInferencer` gathers the person boxes of consecutive frames into batches of ``batch_size`` crops
(one forward per batch) and yields the frames back in order with their people. :func:`run_inference` reads an
image, a folder of images or a video, takes the boxes from a COCO-style detection JSON or the whole frame, and
writes the drawn pictures (or video) and the predictions JSON.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from torch import nn

from .inference import _as_boxes, _split_predictions, predict_samples, prepare_samples

__all__ = [
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "Detections",
    "TopdownInferencer",
    "load_detections",
    "run_inference",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


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


# ---------------------------------------------------------------------------------------------------- detections
class Detections:
    """Person boxes per image from a detection file, looked up by file name or image id (see
    :func:`load_detections`)."""

    def __init__(self, by_name: dict[str, list], by_id: dict[Any, list], source: str) -> None:
        self.by_name = by_name
        self.by_id = by_id
        self.source = source

    def _lookup(self, name: str | None, image_id: Any) -> list | None:
        if name is not None:
            for key in (name, os.path.basename(name)):
                if key in self.by_name:
                    return self.by_name[key]
        if image_id is not None:
            for key in (image_id, str(image_id)):
                if key in self.by_id:
                    return self.by_id[key]
        return None

    def has(self, name: str | None = None, image_id: Any = None) -> bool:
        return self._lookup(name, image_id) is not None

    def get(self, name: str | None = None, image_id: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``(boxes (N, 4) xyxy, scores (N,))`` of the image with file name ``name`` (its path relative to the
        input folder, or its base name) or id ``image_id``; empty when the file lists none for it."""
        found = self._lookup(name, image_id) or []
        if not found:
            return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
        arr = np.asarray(found, np.float32)
        return arr[:, :4], arr[:, 4]


def load_detections(path: str | os.PathLike, bbox_thr: float = 0.0, det_cat_id: int | None = 1) -> Detections:
    """Read person boxes from a COCO-style JSON file.

    Accepted layouts:

    * COCO detection results: ``[{"image_id", "bbox": [x, y, w, h], "score", "category_id"}, ...]``; an entry may
      also name its image with ``"file_name"`` (or ``"img_path"``);
    * a COCO annotation file (``{"images": [...], "annotations": [...]}``): the annotations' boxes (``score``
      when present, else 1; crowd boxes skipped), images matched by their ``file_name``.

    Images are matched by file name first, then by ``image_id`` (an image file named ``000000000785.jpg`` has id
    785 as in COCO; video frames have their 0-based frame index as id).

    Args:
        bbox_thr: drop boxes scoring below.
        det_cat_id: keep entries of this ``category_id`` (1 = COCO's person); ``None`` keeps all. Entries without
            a category are always kept.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"bboxes={path}: no such detection file")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"bboxes={path}: not valid JSON ({err})") from None
    id_to_name: dict[Any, str] = {}
    if isinstance(raw, Mapping):
        if "annotations" not in raw:
            raise ValueError(
                f"bboxes={path}: a dict needs 'annotations' (+ 'images'); otherwise give a COCO detection-result "
                "list [{image_id, bbox: [x, y, w, h], score, category_id}, ...]"
            )
        for img in raw.get("images") or []:
            if "id" in img and "file_name" in img:
                id_to_name[img["id"]] = img["file_name"]
        entries = [a for a in raw["annotations"] if not a.get("iscrowd", 0)]
    elif isinstance(raw, list):
        entries = raw
    else:
        raise ValueError(f"bboxes={path}: expected a list of detections or a COCO dict, got {type(raw).__name__}")
    by_name: dict[str, list] = {}
    by_id: dict[Any, list] = {}
    for i, det in enumerate(entries):
        if not isinstance(det, Mapping) or "bbox" not in det:
            raise ValueError(f"bboxes={path}: entry #{i} has no 'bbox' [x, y, w, h]: {det!r}"[:300])
        box = det["bbox"]
        if not isinstance(box, (list, tuple)) or len(box) < 4:
            raise ValueError(f"bboxes={path}: entry #{i}: 'bbox' must be [x, y, w, h], got {box!r}")
        if det_cat_id is not None and "category_id" in det and det["category_id"] != det_cat_id:
            continue
        score = float(det.get("score", 1.0))
        if score < bbox_thr:
            continue
        x, y, w, h = (float(v) for v in box[:4])
        row = [x, y, x + w, y + h, score]
        name = det.get("file_name") or det.get("img_path") or id_to_name.get(det.get("image_id"))
        if name is not None:
            by_name.setdefault(str(name), []).append(row)
            base = os.path.basename(str(name))
            if base != name:
                by_name.setdefault(base, []).append(row)
        if "image_id" in det:
            by_id.setdefault(det["image_id"], []).append(row)
        elif name is None:
            raise ValueError(f"bboxes={path}: entry #{i} names no image (needs 'image_id' or 'file_name')")
    return Detections(by_name, by_id, str(path))


def _image_id_from_name(name: str) -> int | None:
    stem = Path(name).stem
    return int(stem) if stem.isdigit() else None


# ---------------------------------------------------------------------------------------------------- the CLI's work
def _instance_json(inst: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "bbox": [round(float(v), 2) for v in np.asarray(inst["bbox"]).reshape(4)],
        "bbox_score": round(float(inst["bbox_score"]), 4),
        "keypoints": np.round(np.asarray(inst["keypoints"], np.float64), 2).tolist(),
        "keypoint_scores": np.round(np.asarray(inst["keypoint_scores"], np.float64), 4).tolist(),
    }


def _meta_json(model: nn.Module, source: str | None, kpt_thr: float) -> dict[str, Any]:
    meta = getattr(model, "dataset_meta", None) or {}
    names = meta.get("keypoint_id2name") or {}
    return {
        "model": source,
        "dataset_name": meta.get("dataset_name"),
        "keypoint_names": [names[i] for i in sorted(names)] if names else None,
        "skeleton_links": [list(map(int, link)) for link in meta.get("skeleton_links") or []],
        "kpt_thr": kpt_thr,
        "coordinates": "image pixels, x right, y down; bbox xyxy",
    }


def _list_inputs(input_path: Path) -> tuple[str, list[Path]]:
    if input_path.is_dir():
        files = sorted(p for p in input_path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise FileNotFoundError(f"input={input_path}: the folder holds no images ({', '.join(IMAGE_EXTENSIONS)})")
        return "folder", files
    if not input_path.exists():
        raise FileNotFoundError(f"input={input_path}: no such file or folder")
    suffix = input_path.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return "video", [input_path]
    if suffix in IMAGE_EXTENSIONS:
        return "image", [input_path]
    raise ValueError(
        f"input={input_path}: unknown file type {suffix!r}; give an image ({', '.join(IMAGE_EXTENSIONS)}), a video "
        f"({', '.join(VIDEO_EXTENSIONS)}) or a folder of images"
    )


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
) -> dict[str, Any]:
    """Pose estimation on an image, a folder of images (recursively) or a video, written to ``output_dir``.

    * images: ``output_dir/vis/<relative path>`` (skeletons coloured by the dataset metainfo; with
      ``show_heatmaps`` the heatmap overlay is stacked below) and ``output_dir/predictions.json``
      (``{"meta": ..., "images": [{"img_path", "image_id", "width", "height", "instances": [...]}]}``);
    * a video: ``output_dir/<stem>.mp4`` (mp4v) and ``output_dir/<stem>.json`` (``{"meta", "video", "fps",
      "width", "height", "frames": [{"frame_id", "instances"}]}``).

    Each instance is ``{"bbox" [x1, y1, x2, y2], "bbox_score", "keypoints" [[x, y] * K], "keypoint_scores"}``.

    Args:
        model: from :func:`posekit.apis.init_model`.
        input: image file, video file or folder.
        output_dir: created if missing.
        bboxes: a COCO-style detection JSON (see :func:`load_detections`); ``None``: the whole frame is one person.
        kpt_thr: keypoints below this score are not drawn (all are saved in the JSON).
        bbox_thr / det_cat_id: detection filtering (see :func:`load_detections`).
        show_heatmaps: draw the predicted heatmaps (heatmap heads).
        batch_size: crops per forward.
        draw_bbox / radius / thickness: drawing options.
        save_vis: write the pictures / video (``False``: JSON only).
        progress: show a progress bar (default: for folders and videos).
        fps: frame rate of the output video (default: the input's).
        model_source: what to record as the model in the JSON meta.
        read_ahead: images / frames decoded ahead in a background thread while the model runs (0: read in line).

    Returns:
        A summary: ``kind`` (image | folder | video), ``output_dir``, ``num_frames``, ``num_instances``,
        ``seconds``, ``fps`` (frames per second of the whole loop: reading, inference, drawing, writing),
        ``predictions`` (JSON path), ``outputs`` (written pictures / video).
    """
    from posekit.visualization import PoseVisualizer

    input_path = Path(input).expanduser()
    out_dir = Path(output_dir)
    kind, files = _list_inputs(input_path)
    dets = load_detections(bboxes, bbox_thr=bbox_thr, det_cat_id=det_cat_id) if bboxes else None
    visualizer = PoseVisualizer(
        getattr(model, "dataset_meta", None) or "coco",
        kpt_thr=kpt_thr,
        radius=radius,
        thickness=thickness,
        draw_bbox=draw_bbox,
    )
    inferencer = TopdownInferencer(model, batch_size=batch_size, output_heatmaps=show_heatmaps)
    show_progress = kind != "image" if progress is None else bool(progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = _meta_json(model, model_source, kpt_thr)
    start = time.perf_counter()
    if kind == "video":
        summary = _run_video(
            files[0], out_dir, inferencer, visualizer, dets, meta, save_vis, show_progress, fps, read_ahead
        )
    else:
        summary = _run_images(
            files,
            input_path if kind == "folder" else input_path.parent,
            out_dir,
            inferencer,
            visualizer,
            dets,
            meta,
            save_vis,
            show_progress,
            read_ahead,
        )
    seconds = time.perf_counter() - start
    summary.update(
        kind=kind,
        output_dir=str(out_dir),
        seconds=round(seconds, 3),
        fps=round(summary["num_frames"] / max(seconds, 1e-9), 3),
    )
    _write_json(summary.pop("_payload"), Path(summary["predictions"]))
    return summary


def _write_json(obj: Any, path: Path) -> None:
    """Write compact JSON through a temporary file + rename (no half-written file on a crash)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    os.replace(tmp, path)


def _prefetch(items: Iterable[Any], depth: int = 8) -> Iterator[Any]:
    """Yield ``items`` while a background thread produces the next ``depth`` of them.

    Image and video decoding (OpenCV) release the GIL, so reading the next frames overlaps the forward pass of
    the current batch. Exceptions of the producer are raised here, in order; closing the generator stops it.
    ``depth <= 0`` reads in line (no thread).
    """
    if depth <= 0:
        yield from items
        return
    import queue
    import threading

    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put((done, None))
        except BaseException as err:  # handed to the consumer
            buffer.put((done, err))

    thread = threading.Thread(target=produce, name="posekit-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, err = buffer.get()
            if item is done:
                if err is not None:
                    raise err
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _run_images(files, root, out_dir, inferencer, visualizer, dets, meta, save_vis, show_progress, read_ahead) -> dict:
    rel_names = [str(p.relative_to(root)) if p.is_relative_to(root) else p.name for p in files]
    if dets is not None:
        matched = sum(dets.has(name, _image_id_from_name(name)) for name in rel_names)
        if matched == 0:
            raise ValueError(
                f"bboxes={dets.source}: none of the {len(files)} input images is in the detection file (matched by "
                "file name, then by image_id = the number in the file name); check that it belongs to these images"
            )

    def frames() -> Iterator[dict]:
        for path, name in zip(files, rel_names):
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is None:
                raise ValueError(f"input: {path} does not decode as an image (corrupt or unsupported format)")
            image_id = _image_id_from_name(name)
            frame = {"img": img, "img_path": str(path), "name": name, "img_id": image_id}
            if dets is not None:
                frame["bboxes"], frame["bbox_scores"] = dets.get(name, image_id)
            yield frame

    records, outputs, num_instances = [], [], 0
    for frame in _progress(inferencer(_prefetch(frames(), read_ahead)), len(files), show_progress, "img"):
        instances = frame["instances"]
        num_instances += len(instances)
        h, w = frame["img"].shape[:2]
        records.append(
            {
                "img_path": frame["img_path"],
                "image_id": frame["img_id"],
                "width": w,
                "height": h,
                "instances": [_instance_json(i) for i in instances],
            }
        )
        if save_vis:
            canvas = visualizer.draw_results(frame["img"], instances, heatmap=frame.get("heatmap"))
            target = out_dir / "vis" / frame["name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(target), canvas):
                target = target.with_suffix(".jpg")
                if not cv2.imwrite(str(target), canvas):
                    raise OSError(f"could not write {target}")
            outputs.append(str(target))
    pred_path = out_dir / "predictions.json"
    return {
        "num_frames": len(records),
        "num_instances": num_instances,
        "predictions": str(pred_path),
        "outputs": outputs,
        "_payload": {"meta": meta, "images": records},
    }


def _run_video(path, out_dir, inferencer, visualizer, dets, meta, save_vis, show_progress, fps, read_ahead) -> dict:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"input={path}: OpenCV cannot open this video")
    src_fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) or None
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

    writer = None
    video_out = out_dir / f"{path.stem}.mp4"
    records, num_instances, size = [], 0, None
    decoded = _prefetch(frames(), read_ahead)  # closed before the capture is released: the reader thread uses it
    try:
        for frame in _progress(inferencer(decoded), total, show_progress, "frame"):
            instances = frame["instances"]
            num_instances += len(instances)
            h, w = frame["img"].shape[:2]
            size = (w, h)
            records.append({"frame_id": frame["frame_id"], "instances": [_instance_json(i) for i in instances]})
            if save_vis:
                canvas = visualizer.draw_results(frame["img"], instances, heatmap=frame.get("heatmap"))
                if writer is None:
                    writer = cv2.VideoWriter(
                        str(video_out), cv2.VideoWriter_fourcc(*"mp4v"), out_fps, (canvas.shape[1], canvas.shape[0])
                    )
                    if not writer.isOpened():
                        raise OSError(f"cv2.VideoWriter cannot write {video_out} (mp4v codec unavailable?)")
                writer.write(canvas)
    finally:
        decoded.close()
        cap.release()
        if writer is not None:
            writer.release()
    if not records:
        raise ValueError(f"input={path}: the video has no readable frames")
    pred_path = out_dir / f"{path.stem}.json"
    payload = {"meta": meta, "video": str(path), "fps": out_fps, "width": size[0], "height": size[1], "frames": records}
    return {
        "num_frames": len(records),
        "num_instances": num_instances,
        "predictions": str(pred_path),
        "outputs": [str(video_out)] if save_vis else [],
        "_payload": payload,
    }
