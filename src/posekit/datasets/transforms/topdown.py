"""Top-down crop: :class:`TopdownAffine` (MMPose semantics)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from posekit.structures import fix_aspect_ratio, get_udp_warp_matrix, get_warp_matrix

from .compose import BaseTransform, _to_container

__all__ = ["TopdownAffine"]


class TopdownAffine(BaseTransform):
    """Crop the (rotated) box of the single instance to ``input_size`` with one affine warp.

    Grows ``bbox_scale`` to the aspect ratio of ``input_size``, builds the warp matrix from ``bbox_center``,
    ``bbox_scale`` and ``bbox_rotation`` (degrees, optional) with :func:`~posekit.structures.get_warp_matrix`
    (or :func:`~posekit.structures.get_udp_warp_matrix` with ``use_udp``), warps ``img`` with
    ``cv2.warpAffine`` (bilinear, zero border) and maps ``keypoints`` (N, K, D) to ``transformed_keypoints``
    (x, y transformed; other columns copied). Sets ``input_size`` (w, h), ``input_center`` (2,) and
    ``input_scale`` (2,) (the crop's box in image space).

    Args:
        input_size: (w, h) of the model input.
        use_udp: unbiased data processing (UDP, CVPR 2020) warp.
    """

    def __init__(self, input_size: Sequence[int], use_udp: bool = False) -> None:
        input_size = _to_container(input_size)
        assert (
            isinstance(input_size, Sequence)
            and not isinstance(input_size, str)
            and len(input_size) == 2
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in input_size)
        ), f"TopdownAffine: input_size must be two positive ints (w, h), got {input_size!r}"
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.use_udp = use_udp

    def transform(self, results: dict) -> dict:
        w, h = self.input_size
        for key in ("bbox_center", "bbox_scale"):
            if results.get(key) is None:
                raise KeyError(f"TopdownAffine: results has no {key!r}; put GetBBoxCenterScale before TopdownAffine")
        if results.get("img") is None:
            raise KeyError("TopdownAffine: results has no 'img'; put LoadImage before TopdownAffine")
        center_all = np.asarray(results["bbox_center"])
        if center_all.ndim != 2 or center_all.shape[0] != 1:
            raise ValueError(
                "TopdownAffine: top-down crops need exactly one instance per sample; got bbox_center of shape "
                f"{center_all.shape} (img_path={results.get('img_path')!r})"
            )
        results["bbox_scale"] = fix_aspect_ratio(results["bbox_scale"], aspect_ratio=w / h)
        center = center_all[0]
        scale = results["bbox_scale"][0]
        rot = float(results["bbox_rotation"][0]) if results.get("bbox_rotation") is not None else 0.0

        if self.use_udp:
            warp_mat = get_udp_warp_matrix(center, scale, rot, output_size=(w, h))
        else:
            warp_mat = get_warp_matrix(center, scale, rot, output_size=(w, h))

        img = results["img"]
        if isinstance(img, list):
            results["img"] = [cv2.warpAffine(im, warp_mat, (w, h), flags=cv2.INTER_LINEAR) for im in img]
        else:
            results["img"] = cv2.warpAffine(img, warp_mat, (w, h), flags=cv2.INTER_LINEAR)

        keypoints = results.get("keypoints")
        if keypoints is not None:
            keypoints = np.asarray(keypoints)
            transformed = keypoints.copy() if keypoints.shape[-1] > 2 else None
            xy = keypoints[..., :2] @ warp_mat[:, :2].T + warp_mat[:, 2]
            if transformed is None:
                transformed = xy.astype(keypoints.dtype if keypoints.dtype.kind == "f" else np.float32, copy=False)
            else:
                transformed[..., :2] = xy
            results["transformed_keypoints"] = transformed

        results["input_size"] = (w, h)
        results["input_center"] = center
        results["input_scale"] = scale
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(input_size={self.input_size}, use_udp={self.use_udp})"
