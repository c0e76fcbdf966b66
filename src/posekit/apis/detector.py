"""Person detection for top-down inference: torchvision's COCO-trained detectors behind one small interface.

:class:`PersonDetector` ``.detect(images) -> [(N, 5) float32 x1, y1, x2, y2, score]`` per image, COCO's person
class only (torchvision label 1). The weights are torchvision's own (``weights='DEFAULT'``), downloaded once into
torch's hub cache (``<torch.hub.get_dir()>/checkpoints``) through :func:`posekit.hub.download_weights` (so
``POSEKIT_WEIGHTS_MIRROR`` and the offline message apply). Speeds and box AP of the choices: docs/inference.md.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["DEFAULT_DETECTOR", "DETECTORS", "PersonDetector", "build_detector"]

#: torchvision detectors trained on COCO that :class:`PersonDetector` accepts
DETECTORS = (
    "fasterrcnn_mobilenet_v3_large_fpn",
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "fasterrcnn_resnet50_fpn",
    "fasterrcnn_resnet50_fpn_v2",
    "retinanet_resnet50_fpn",
    "retinanet_resnet50_fpn_v2",
    "fcos_resnet50_fpn",
    "ssdlite320_mobilenet_v3_large",
    "ssd300_vgg16",
)
#: the default: best box AP per CPU second of the measured ones (docs/inference.md)
DEFAULT_DETECTOR = "fasterrcnn_mobilenet_v3_large_fpn"
#: torchvision's (91-entry) COCO label of a person
PERSON_LABEL = 1


def _fetch_torchvision_weights(weights: Any) -> None:
    """Put ``weights``' file into torch's hub cache through posekit's downloader (mirror, clear offline error)."""
    from posekit.hub import download_weights

    download_weights(weights.url, folder=Path(torch.hub.get_dir()) / "checkpoints")


class PersonDetector:
    """A COCO person detector: ``detect(images)`` -> one ``(N, 5)`` array (x1, y1, x2, y2, score) per image.

    Args:
        model: a torchvision detection model name (:data:`DETECTORS`) or an ``nn.Module`` that takes a list of
            (3, H, W) float RGB tensors in [0, 1] and returns dicts with ``boxes`` (N, 4) xyxy, ``scores`` (N,),
            ``labels`` (N,) (torchvision's detection interface).
        score_thr: boxes scoring below are dropped.
        device: where the detector runs.
        weights: ``'DEFAULT'`` (torchvision's COCO weights, downloaded once), ``None`` (random init: tests,
            plumbing) or a torchvision weights enum member.
        weights_backbone: the backbone's ImageNet weights when ``weights`` is None (``None``: random).
        person_label: the label id kept (torchvision's COCO person = 1).
    """

    def __init__(
        self,
        model: str | nn.Module = DEFAULT_DETECTOR,
        score_thr: float = 0.5,
        device: str | torch.device = "cpu",
        weights: Any = "DEFAULT",
        weights_backbone: Any = None,
        person_label: int = PERSON_LABEL,
    ) -> None:
        if not 0.0 <= float(score_thr) <= 1.0:
            raise ValueError(f"PersonDetector: score_thr must be in [0, 1], got {score_thr}")
        if isinstance(model, str):
            self.name = model
            model = self._build(model, weights, weights_backbone)
        else:
            self.name = type(model).__name__
        self.model = model.to(torch.device(device)).eval()
        self.device = torch.device(device)
        self.score_thr = float(score_thr)
        self.person_label = int(person_label)

    @staticmethod
    def _build(name: str, weights: Any, weights_backbone: Any) -> nn.Module:
        import torchvision

        if name not in DETECTORS:
            raise ValueError(f"det_model={name!r}: unknown detector; choose one of {', '.join(DETECTORS)}")
        enum = torchvision.models.get_model_weights(name)
        if isinstance(weights, str):
            try:
                weights = enum[weights] if weights != "DEFAULT" else enum.DEFAULT
            except KeyError:
                raise ValueError(f"{name}: unknown weights {weights!r}; one of {[w.name for w in enum]}") from None
        if weights is not None:
            _fetch_torchvision_weights(weights)
            weights_backbone = None
        return torchvision.models.get_model(name, weights=weights, weights_backbone=weights_backbone)

    def _to_tensor(self, img: np.ndarray) -> torch.Tensor:
        if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3:
            shape = getattr(img, "shape", type(img).__name__)
            raise ValueError(f"PersonDetector.detect: expected (H, W, 3) BGR uint8 images, got {shape}")
        rgb = np.ascontiguousarray(img[..., ::-1])
        return torch.from_numpy(rgb).to(self.device).permute(2, 0, 1).float().div_(255.0)

    def detect(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Person boxes of each (H, W, 3) BGR uint8 image: a list of ``(N, 5)`` float32 arrays, highest score first."""
        if isinstance(images, np.ndarray) and images.ndim == 3:
            images = [images]
        if len(images) == 0:
            return []
        with torch.inference_mode():
            outputs = self.model([self._to_tensor(img) for img in images])
        results = []
        for out in outputs:
            keep = (out["labels"] == self.person_label) & (out["scores"] >= self.score_thr)
            boxes = torch.cat([out["boxes"][keep], out["scores"][keep, None]], dim=1).float().cpu().numpy()
            results.append(boxes[np.argsort(-boxes[:, 4], kind="stable")].astype(np.float32))
        return results

    __call__ = detect


def build_detector(
    det_model: str | PersonDetector | nn.Module | None, score_thr: float = 0.5, device: str | torch.device = "cpu"
) -> PersonDetector | None:
    """``None`` / ``'none'`` -> None (the whole frame is one box); a name or module -> :class:`PersonDetector`;
    an object with a ``detect`` method is returned as is."""
    if det_model is None or (isinstance(det_model, str) and det_model.lower() in ("none", "null", "")):
        return None
    if hasattr(det_model, "detect"):
        return det_model  # type: ignore[return-value]
    if isinstance(det_model, str):
        return _named_detector(det_model, float(score_thr), str(torch.device(device)))
    return PersonDetector(det_model, score_thr=score_thr, device=device)


@functools.lru_cache(maxsize=2)
def _named_detector(name: str, score_thr: float, device: str) -> PersonDetector:
    """Detectors built by name are kept (the last two), so ``inference_topdown(..., detector='name')`` in a loop
    builds and loads the weights once."""
    return PersonDetector(name, score_thr=score_thr, device=device)
