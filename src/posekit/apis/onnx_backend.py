"""The ONNX Runtime backend: run an end-to-end ONNX file (:func:`posekit.apis.export.export_onnx_end2end`) on
images and boxes, with the same crops and the same image-space mapping as the PyTorch path.

:class:`OnnxPoseModel` holds an ``onnxruntime.InferenceSession`` of a ``crops -> keypoints, scores`` graph and
offers what the inference functions use of a PyTorch model: ``test_pipeline`` (``GetBBoxCenterScale`` ->
``TopdownAffine`` at the exported input size, UDP warp for UDP codecs), ``dataset_meta`` (stored in the file)
and :meth:`OnnxPoseModel.predict_samples` (the batched equivalent of :func:`posekit.apis.predict_samples`).

    model = OnnxPoseModel("rtmpose_m_e2e.onnx", threads=1)
    people = model.inference_topdown(img, bboxes)       # [{'keypoints' (K, 2), 'keypoint_scores' (K,), ...}]

Needs ``onnxruntime`` (``pip install posekit[export]``), imported when a model is created.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["OnnxPoseModel", "is_onnx_model"]


def is_onnx_model(model: Any) -> bool:
    """True for an :class:`OnnxPoseModel` (the inference functions dispatch on it)."""
    return isinstance(model, OnnxPoseModel)


class OnnxPoseModel:
    """An end-to-end pose ONNX file run by onnxruntime.

    Args:
        path: a ``.onnx`` file written by :func:`~posekit.apis.export.export_onnx_end2end` (its metadata must say
            ``posekit_graph = crops_to_keypoints``).
        threads: intra-op threads of the session (``None``: onnxruntime's default, all cores).
        providers: onnxruntime execution providers (default ``['CPUExecutionProvider']``).

    Attributes: ``input_size`` (w, h), ``flip_test``, ``use_udp``, ``dataset_meta``, ``test_pipeline``, ``session``.
    """

    is_onnx_backend = True

    def __init__(
        self, path: str | os.PathLike, threads: int | None = None, providers: Sequence[str] | None = None
    ) -> None:
        import onnxruntime as ort

        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"ONNX file not found: {self.path}")
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            self.path, sess_options=options, providers=list(providers or ["CPUExecutionProvider"])
        )
        meta = self.session.get_modelmeta().custom_metadata_map
        if meta.get("posekit_graph") != "crops_to_keypoints":
            raise ValueError(
                f"{self.path}: not an end-to-end posekit graph (metadata posekit_graph="
                f"{meta.get('posekit_graph')!r}); export it with posekit.apis.export.export_onnx_end2end"
            )
        w, h = json.loads(meta["posekit_input_size_wh"])
        self.input_size = (int(w), int(h))
        self.flip_test = bool(json.loads(meta.get("posekit_flip_test", "false")))
        self.use_udp = bool(json.loads(meta.get("posekit_use_udp", "false")))
        self.dataset_meta: dict[str, Any] = self._dataset_meta(json.loads(meta.get("posekit_dataset_meta", "{}")))
        self.test_pipeline = self._build_pipeline()

    @staticmethod
    def _dataset_meta(stored: dict[str, Any]) -> dict[str, Any]:
        """The packaged metainfo of the stored ``dataset_name`` (names, colours, ... as the PyTorch path has them),
        else the subset stored in the file."""
        name = stored.get("dataset_name")
        if name:
            from posekit.datasets import load_metainfo

            try:
                full = load_metainfo(name)
            except (FileNotFoundError, KeyError, ValueError):
                return stored
            if full.get("num_keypoints") == stored.get("num_keypoints", full.get("num_keypoints")):
                return full
        return stored

    def _build_pipeline(self):
        from posekit.datasets.transforms import Compose, GetBBoxCenterScale, LoadImage, PackPoseInputs, TopdownAffine

        return Compose(
            [
                LoadImage(),
                GetBBoxCenterScale(padding=1.25),
                TopdownAffine(input_size=self.input_size, use_udp=self.use_udp),
                PackPoseInputs(),
            ]
        )

    def __repr__(self) -> str:
        return f"OnnxPoseModel({self.path!r}, input_size={self.input_size}, flip_test={self.flip_test})"

    # ---- running -----------------------------------------------------------------------------------------------
    def __call__(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 BGR crops (B, h, w, 3) -> keypoints (B, K, 2) in crop pixels, scores (B, K)."""
        crops = np.ascontiguousarray(crops, dtype=np.uint8)
        w, h = self.input_size
        if crops.ndim != 4 or crops.shape[1:] != (h, w, 3):
            raise ValueError(f"{self.path}: crops must be uint8 (B, {h}, {w}, 3) BGR, got shape {crops.shape}")
        keypoints, scores = self.session.run(None, {"crops": crops})
        return keypoints, scores

    def predict_samples(self, samples: Sequence, output_heatmaps: bool = False) -> dict[str, np.ndarray]:
        """What :func:`posekit.apis.predict_samples` returns, from one session run over ``samples``
        (``PoseSample`` s from ``test_pipeline``): ``keypoints`` (B, K, 2) image pixels, ``keypoint_scores``,
        ``input_center``, ``input_scale``, ``bbox``, ``bbox_score``. The graph has no heatmap output."""
        if output_heatmaps:
            raise ValueError(f"{self.path}: the ONNX backend returns no heatmaps; use the PyTorch model for them")
        if len(samples) == 0:
            return {}
        crops = np.stack([np.asarray(s.inputs) for s in samples]).transpose(0, 2, 3, 1)
        centers = np.stack([np.asarray(s.meta["input_center"], np.float32).reshape(2) for s in samples])
        scales = np.stack([np.asarray(s.meta["input_scale"], np.float32).reshape(2) for s in samples])
        keypoints, scores = self(crops)
        return {
            "keypoints": self.to_image_space(keypoints, centers, scales),
            "keypoint_scores": scores.astype(np.float32, copy=False),
            "input_center": centers,
            "input_scale": scales,
            "bbox": np.stack([np.asarray(s.meta["bbox"], np.float32).reshape(4) for s in samples]),
            "bbox_score": np.asarray(
                [float(np.asarray(s.meta.get("bbox_score", 1.0)).reshape(-1)[0]) for s in samples], np.float32
            ),
        }

    def to_image_space(self, keypoints: np.ndarray, centers: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """Crop pixels (B, K, 2) -> image pixels: ``kpt / input_size * scale + center - 0.5 * scale``."""
        size = np.asarray(self.input_size, np.float32)
        c, s = centers[:, None].astype(np.float32), scales[:, None].astype(np.float32)
        return (keypoints / size * s + c - 0.5 * s).astype(np.float32)

    def inference_topdown(
        self, img: Any, bboxes: Any = None, bbox_format: str = "xyxy", bbox_scores: Any = None
    ) -> list[dict[str, Any]]:
        """:func:`posekit.apis.inference_topdown` with this session: one dict per box (``keypoints`` (K, 2) image
        pixels, ``keypoint_scores`` (K,), ``bbox`` (4,), ``bbox_score``); no boxes = the whole image."""
        from .inference import _as_boxes, _split_predictions, load_image, prepare_samples

        image, path = load_image(img)
        h, w = image.shape[:2]
        boxes = None if bboxes is None else _as_boxes(bboxes, bbox_format, "OnnxPoseModel.inference_topdown")
        if boxes is None or len(boxes) == 0:
            boxes, bbox_scores = np.array([[0, 0, w, h]], dtype=np.float32), None
        samples = prepare_samples(self, image, boxes, bbox_scores, img_path=path)
        return _split_predictions(self.predict_samples(samples), with_heatmaps=False)
