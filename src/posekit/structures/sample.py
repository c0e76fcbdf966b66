"""Containers that flow from the data pipeline to the model: :class:`PoseSample` and :class:`PoseBatch`.

Plain dataclasses of tensors plus a meta dict (no InstanceData magic).

Target keys (the codecs' MMPose names):

* field-level (one map per sample, stacked to (B, ...) by the collate): ``heatmaps`` (K, H, W),
  ``heatmap_mask``, ``displacements``, ``heatmap_weights``;
* instance-level (leading N = instances per sample, 1 for top-down; concatenated over N by the collate
  so a top-down batch has (B, ...)): ``keypoint_weights`` (N, K), ``keypoint_labels`` (N, K, 2),
  ``keypoint_x_labels`` (N, K, Wx), ``keypoint_y_labels`` (N, K, Wy), ``keypoints_visible`` ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = ["PoseSample", "PoseBatch", "collate_pose_samples", "FIELD_TARGET_KEYS"]

FIELD_TARGET_KEYS = frozenset({"heatmaps", "heatmap_mask", "displacements", "displacement_weights", "heatmap_weights"})


@dataclass
class PoseSample:
    """One top-down sample after ``PackPoseInputs``.

    Attributes:
        inputs: (3, H, W) uint8 image crop, channel order as loaded (BGR by default).
        targets: codec outputs as tensors, see the module docstring for shapes.
        meta: plain dict: ``id``, ``img_id``, ``img_path``, ``ori_shape``, ``input_size``, ``input_center`` (2,),
            ``input_scale`` (2,), ``flip``, ``flip_indices``, ``bbox`` (1, 4), ``bbox_score`` (1,),
            ``keypoints`` (1, K, 2) and ``keypoints_visible`` (1, K) in image space when known, ...
    """

    inputs: torch.Tensor
    targets: dict[str, torch.Tensor] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    # MMPose's packed-results view: sample["inputs"], sample["data_samples"] (a PoseDataSample)
    def __getitem__(self, key: str) -> Any:
        if key == "inputs":
            return self.inputs
        if key == "data_samples":
            return self.data_samples
        raise KeyError(f"PoseSample has 'inputs' and 'data_samples' (MMPose's keys), not {key!r}")

    def __contains__(self, key: object) -> bool:
        return key in ("inputs", "data_samples")

    @property
    def data_samples(self) -> Any:
        """The sample as MMPose's ``PoseDataSample`` (built on access; shares the arrays and tensors):
        ``gt_instances`` (``bboxes``, ``bbox_scores``, ``keypoints``, ``keypoints_visible``, ``areas`` ...,
        ``transformed_keypoints`` when packed), ``gt_instance_labels`` (per-instance targets), ``gt_fields``
        (per-sample maps such as ``heatmaps``) and the remaining meta as ``metainfo``."""
        from .data_sample import PoseDataSample

        renamed = {"bbox": "bboxes", "bbox_score": "bbox_scores", "bbox_scale": "bbox_scales", "area": "areas"}
        instance_keys = {
            "bbox", "bbox_score", "bbox_scale", "area", "keypoints", "keypoints_visible", "head_size",
            "keypoints_cam", "lifting_target", "lifting_target_visible", "transformed_keypoints",
            "transformed_keypoints_visible",
        }  # fmt: skip
        gt_instances = {renamed.get(k, k): v for k, v in self.meta.items() if k in instance_keys}
        metainfo = {k: v for k, v in self.meta.items() if k not in instance_keys}
        return PoseDataSample(
            metainfo=metainfo,
            gt_instances=gt_instances,
            gt_instance_labels={k: v for k, v in self.targets.items() if k not in FIELD_TARGET_KEYS},
            gt_fields={k: v for k, v in self.targets.items() if k in FIELD_TARGET_KEYS},
        )


@dataclass
class PoseBatch:
    """A collated batch of B top-down samples.

    Attributes:
        inputs: (B, 3, H, W) uint8 (or float after preprocessing).
        targets: stacked/concatenated targets, e.g. ``heatmaps`` (B, K, H, W), ``keypoint_weights`` (B, K).
        centers: (B, 2) float32, the crop centers in image space (``input_center``).
        scales: (B, 2) float32, the crop sizes (w, h) in image space (``input_scale``).
        metas: list of B meta dicts (see :class:`PoseSample`).
    """

    inputs: torch.Tensor
    targets: dict[str, torch.Tensor]
    centers: torch.Tensor
    scales: torch.Tensor
    metas: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.metas)

    @property
    def flip_indices(self) -> list[int] | None:
        """Flip partner of every keypoint (taken from the first sample's meta), or ``None``."""
        if not self.metas:
            return None
        fi = self.metas[0].get("flip_indices")
        return None if fi is None else list(fi)

    @property
    def input_size(self) -> tuple[int, int]:
        """(w, h) of the crops."""
        return int(self.inputs.shape[-1]), int(self.inputs.shape[-2])

    def to(self, device: torch.device | str, non_blocking: bool = False) -> PoseBatch:
        """Move tensors (inputs, targets, centers, scales) to ``device``; metas stay on the host."""
        return PoseBatch(
            inputs=self.inputs.to(device, non_blocking=non_blocking),
            targets={k: v.to(device, non_blocking=non_blocking) for k, v in self.targets.items()},
            centers=self.centers.to(device, non_blocking=non_blocking),
            scales=self.scales.to(device, non_blocking=non_blocking),
            metas=self.metas,
        )

    def pin_memory(self) -> PoseBatch:
        """Called by the DataLoader when ``pin_memory=True``."""
        return PoseBatch(
            inputs=self.inputs.pin_memory(),
            targets={k: v.pin_memory() for k, v in self.targets.items()},
            centers=self.centers.pin_memory(),
            scales=self.scales.pin_memory(),
            metas=self.metas,
        )


def _as_tensor(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    return torch.from_numpy(np.ascontiguousarray(x))


# targets that only some samples carry, and their value for the others: a KeypointConverter marks the keypoints a
# source dataset annotates (CombinedDataset); samples without one annotate all of theirs
_OPTIONAL_TARGETS = {"keypoints_visible_weights": "keypoint_weights"}


def _target(sample: PoseSample, key: str, index: int) -> Any:
    if key in sample.targets:
        return sample.targets[key]
    like = _OPTIONAL_TARGETS.get(key)
    if like is not None and like in sample.targets:
        ref = np.asarray(sample.targets[like])
        return np.ones(ref.shape[:2] if ref.ndim >= 2 else ref.shape, dtype=np.float32)
    raise KeyError(
        f"collate_pose_samples: sample {index} has no target {key!r} that other samples of the batch have; all "
        "samples of a batch need the same targets (same codec / GenerateTarget settings)"
    )


def collate_pose_samples(samples: Sequence[PoseSample]) -> PoseBatch:
    """Collate :class:`PoseSample` s into a :class:`PoseBatch` (the DataLoader's ``collate_fn``).

    Field-level targets are stacked (new batch axis); instance-level targets are concatenated over
    their leading instance axis, like MMPose's heads do with ``gt_instance_labels``. ``keypoints_visible_weights``
    (from a ``KeypointConverter``) is ones for the samples without it.
    """
    if len(samples) == 0:
        raise ValueError("collate_pose_samples: got an empty list of samples")
    inputs = torch.stack([_as_tensor(s.inputs) for s in samples])
    targets: dict[str, torch.Tensor] = {}
    keys = list(dict.fromkeys(k for s in samples for k in s.targets))
    for key in keys:
        vals = [_as_tensor(_target(s, key, i)) for i, s in enumerate(samples)]
        targets[key] = torch.stack(vals) if key in FIELD_TARGET_KEYS else torch.cat(vals, dim=0)
    metas = [s.meta for s in samples]
    centers = torch.as_tensor(
        np.stack([np.asarray(m.get("input_center", (0.0, 0.0)), dtype=np.float32).reshape(2) for m in metas])
    )
    scales = torch.as_tensor(
        np.stack([np.asarray(m.get("input_scale", (0.0, 0.0)), dtype=np.float32).reshape(2) for m in metas])
    )
    return PoseBatch(inputs=inputs, targets=targets, centers=centers, scales=scales, metas=metas)
