"""``KeypointConverter``: map one dataset's keypoints onto another's layout (MMPose 1.3.2's transform).

Used in the per-dataset pipelines of a :class:`~posekit.datasets.CombinedDataset` (e.g. AI Challenger's 14
keypoints onto COCO's 17 to train on both), or alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from posekit.structures.keypoint_mapping import transform_ann as _transform_ann
from posekit.structures.keypoint_mapping import transform_sigmas as _transform_sigmas

__all__ = ["KeypointConverter"]


class KeypointConverter:
    """Re-index ``keypoints`` (N, K_src, 2) and ``keypoints_visible`` to ``num_keypoints`` target keypoints.

    Args:
        num_keypoints: K of the target layout.
        mapping: ``[(source, target), ...]``: ``target[t] = source[s]``; a pair ``((s1, s2), t)`` puts the
            midpoint of ``s1`` and ``s2`` at ``t`` (visible when both are).

    Output (MMPose's layout): ``keypoints`` (N, K, 2) with zeros at unmapped targets and ``keypoints_visible``
    (N, K, 2): channel 0 the visibility, channel 1 a weight that is 1 on the mapped targets (0 elsewhere: the
    source dataset does not annotate them, so losses can ignore them). ``keypoints_3d`` (with ``target_idx``:
    ``lifting_target``, ``lifting_target_visible``) are converted too when present. With midpoint pairs the
    ``flip_indices`` in the results are re-derived as MMPose does; a :class:`CombinedDataset` replaces them with
    the target layout's afterwards either way.
    """

    def __init__(self, num_keypoints: int, mapping: Sequence[tuple[Any, int]]) -> None:
        self.num_keypoints = int(num_keypoints)
        self.mapping = [tuple(m) for m in mapping]
        src1, src2, targets = [], [], []
        self.interpolation = False
        for i, pair in enumerate(self.mapping):
            if len(pair) != 2:
                raise ValueError(f"KeypointConverter: mapping[{i}] must be (source, target), got {pair!r}")
            source, target = pair
            if isinstance(source, (list, tuple)):
                if len(source) != 2:
                    raise ValueError(
                        f"KeypointConverter: mapping[{i}]: a source pair must have 2 indices (midpoint), got {source!r}"
                    )
                src1.append(int(source[0]))
                src2.append(int(source[1]))
                self.interpolation = True
            else:
                src1.append(int(source))
                src2.append(int(source))
            targets.append(int(target))
        if targets and (min(targets) < 0 or max(targets) >= self.num_keypoints):
            raise ValueError(
                f"KeypointConverter: target indices must be in [0, {self.num_keypoints}), got {sorted(set(targets))}"
            )
        self.source_index = src1
        if self.interpolation:
            self.source_index2 = src2
        self.target_index = targets

    def __call__(self, results: dict) -> dict:
        key = "keypoints_3d" if "keypoints_3d" in results else "keypoints"
        source = np.asarray(results[key])
        visible = np.asarray(results["keypoints_visible"])
        if visible.ndim > 2:
            visible = visible[..., 0]
        n, c = source.shape[0], source.shape[-1]
        # keep the input's float dtype (float32 stays float32, float64 stays float64: the mapped keypoints equal the
        # source's exactly, as in MMPose's test); integers become float64 like MMPose's np.zeros
        kpt_dtype = np.result_type(source.dtype, np.float32)
        vis_dtype = np.result_type(visible.dtype, np.float32)
        keypoints = np.zeros((n, self.num_keypoints, max(c, 2)), dtype=kpt_dtype)
        keypoints_visible = np.zeros((n, self.num_keypoints), dtype=vis_dtype)
        weights = np.zeros((n, self.num_keypoints), dtype=vis_dtype)
        weights[:, self.target_index] = 1.0
        flip_indices = results.get("flip_indices")
        if self.interpolation:
            keypoints[:, self.target_index, :c] = 0.5 * (source[:, self.source_index] + source[:, self.source_index2])
            keypoints_visible[:, self.target_index] = visible[:, self.source_index] * visible[:, self.source_index2]
            if flip_indices is not None:
                flip_indices = list(flip_indices)
                for i, (a, b) in enumerate(zip(self.source_index, self.source_index2)):
                    idx = flip_indices[a] if a == b else i
                    flip_indices[i] = idx if idx < self.num_keypoints else i
                flip_indices = flip_indices[: len(self.source_index)]
        else:
            keypoints[:, self.target_index, :c] = source[:, self.source_index]
            keypoints_visible[:, self.target_index] = visible[:, self.source_index]

        results["keypoints"] = keypoints[..., :2]
        results["keypoints_visible"] = np.stack([keypoints_visible, weights], axis=2)
        if key == "keypoints_3d":
            results["keypoints_3d"] = keypoints[..., :c]
            if "target_idx" in results:
                results["lifting_target"] = keypoints[results["target_idx"]]
                results["lifting_target_visible"] = keypoints_visible[results["target_idx"]]
        if "flip_indices" in results:
            results["flip_indices"] = flip_indices
        return results

    def transform_sigmas(self, sigmas: Any) -> Any:
        """OKS sigmas of the source layout -> the target layout (unmapped targets get 1)."""
        return _transform_sigmas(sigmas, self.num_keypoints, self.mapping)

    def transform_ann(self, ann_info: Any) -> Any:
        """COCO annotation dict(s) re-indexed to the target layout, in place (``num_keypoints`` updated)."""
        return _transform_ann(ann_info, self.num_keypoints, self.mapping)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_keypoints={self.num_keypoints}, mapping={self.mapping})"
