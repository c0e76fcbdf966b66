"""Common augmentations: :class:`RandomFlip`, :class:`RandomHalfBody`, :class:`Albumentation` (bridge to
albumentations' pixel-level transforms) and :class:`PhotometricDistortion` (MMPose semantics and defaults).

Randomness comes from NumPy's global RNG so that Lightning's per-worker seeding applies.
"""

from __future__ import annotations

import copy
import random
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from posekit.structures import flip_bbox, flip_keypoints

from .compose import BaseTransform, _to_container

__all__ = ["RandomFlip", "RandomHalfBody", "Albumentation", "PhotometricDistortion", "imflip"]

_FLIP_CODES = {"horizontal": 1, "vertical": 0, "diagonal": -1}
_CV2_DEPTHS = {np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32, np.float64)}


def imflip(img: np.ndarray, direction: str = "horizontal") -> np.ndarray:
    """Flip an (H, W[, C]) image; returns a new contiguous array (one pass with ``cv2.flip`` when possible)."""
    if direction not in _FLIP_CODES:
        raise ValueError(f"imflip: direction must be horizontal|vertical|diagonal, got {direction!r}")
    if img.dtype in _CV2_DEPTHS and (img.ndim == 2 or (img.ndim == 3 and img.shape[2] <= 512)):
        out = cv2.flip(img, _FLIP_CODES[direction])
        return out[..., None] if img.ndim == 3 and out.ndim == 2 else out
    axes = {"horizontal": (1,), "vertical": (0,), "diagonal": (0, 1)}[direction]
    return np.ascontiguousarray(np.flip(img, axis=axes))


def _is_seq(x: Any) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, (str, bytes))


class RandomFlip(BaseTransform):
    """Randomly flip the image (and ``img_mask``), ``bbox``, ``bbox_center``, ``keypoints`` and
    ``keypoints_visible`` (left/right partners swapped with ``results['flip_indices']``).

    Sets ``flip`` (bool) and ``flip_direction`` (str or ``None``). A coordinate x maps to ``w - 1 - x``.

    Args:
        prob: flip probability; with a list, one probability per entry of ``direction`` (sum <= 1).
        direction: ``'horizontal'`` | ``'vertical'`` | ``'diagonal'`` or a list of them (with a float ``prob``,
            the probability is split evenly among the directions).
    """

    _VALID = ("horizontal", "vertical", "diagonal")

    def __init__(self, prob: float | list[float] = 0.5, direction: str | list[str] = "horizontal") -> None:
        prob = _to_container(prob)
        direction = _to_container(direction)
        if _is_seq(prob):
            prob = list(prob)
            assert all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in prob), (
                f"RandomFlip: prob list must hold floats, got {prob!r}"
            )
            prob = [float(p) for p in prob]
            assert 0 <= sum(prob) <= 1, f"RandomFlip: the probabilities {prob} must sum to a value in [0, 1]"
        elif isinstance(prob, (int, float)) and not isinstance(prob, bool):
            prob = float(prob)
            assert 0 <= prob <= 1, f"RandomFlip: prob must be in [0, 1], got {prob}"
        else:
            raise ValueError(f"probs must be float or list of float, but got `{type(prob)}`.")
        self.prob = prob

        if isinstance(direction, str):
            assert direction in self._VALID, f"RandomFlip: direction must be one of {self._VALID}, got {direction!r}"
        elif _is_seq(direction):
            direction = list(direction)
            assert all(isinstance(d, str) for d in direction), f"RandomFlip: bad direction list {direction!r}"
            assert set(direction).issubset(self._VALID), (
                f"RandomFlip: directions must be among {self._VALID}, got {direction!r}"
            )
        else:
            raise ValueError(f"direction must be either str or list of str, but got `{type(direction)}`.")
        self.direction = direction

        if isinstance(prob, list):
            assert isinstance(direction, list) and len(prob) == len(direction), (
                f"RandomFlip: a list prob {prob} needs a direction list of the same length, got {direction!r}"
            )

        # candidate directions (None = no flip) and their probabilities, fixed at construction
        directions = list(direction) if isinstance(direction, list) else [direction]
        if isinstance(prob, list):
            probs = prob + [1.0 - sum(prob)]
        else:
            probs = [prob / len(directions)] * len(directions) + [1.0 - prob]
        self._choices: list[str | None] = directions + [None]
        self._probs = np.asarray(probs, dtype=np.float64)
        # np.random.choice(n, p=probs) without its per-call validation: the same cdf, the same single uniform
        # draw from the global RNG and the same search, hence the same choices for the same seed
        cdf = self._probs.cumsum()
        self._cdf = (cdf / cdf[-1]).tolist()

    def _choose_direction(self) -> str | None:
        u = np.random.random_sample()
        for choice, bound in zip(self._choices, self._cdf):
            if u < bound:
                return choice
        return self._choices[-1]

    def transform(self, results: dict) -> dict:
        flip_dir = self._choose_direction()
        if flip_dir is None:
            results["flip"] = False
            results["flip_direction"] = None
            return results
        results["flip"] = True
        results["flip_direction"] = flip_dir

        img = results.get("img")
        if isinstance(img, np.ndarray):
            h, w = img.shape[:2]
        elif isinstance(img, list) and img:
            h, w = img[0].shape[:2]
        elif "img_shape" in results:
            h, w = results["img_shape"][:2]
        else:
            raise KeyError("RandomFlip: results has neither 'img' nor 'img_shape'; put LoadImage before RandomFlip")

        if isinstance(img, list):
            results["img"] = [imflip(im, flip_dir) for im in img]
        elif img is not None:
            results["img"] = imflip(img, flip_dir)
        if results.get("img_mask") is not None:
            results["img_mask"] = imflip(results["img_mask"], flip_dir)

        if results.get("bbox") is not None:
            results["bbox"] = flip_bbox(results["bbox"], image_size=(w, h), bbox_format="xyxy", direction=flip_dir)
        if results.get("bbox_center") is not None:
            results["bbox_center"] = flip_bbox(
                results["bbox_center"], image_size=(w, h), bbox_format="center", direction=flip_dir
            )
        if results.get("keypoints") is not None:
            flip_indices = results.get("flip_indices")
            if flip_indices is None:
                raise KeyError(
                    "RandomFlip: results has 'keypoints' but no 'flip_indices'; the dataset must add its metainfo "
                    "(flip_indices) to every item"
                )
            keypoints, keypoints_visible = flip_keypoints(
                results["keypoints"],
                results.get("keypoints_visible"),
                image_size=(w, h),
                flip_indices=flip_indices,
                direction=flip_dir,
            )
            results["keypoints"] = keypoints
            results["keypoints_visible"] = keypoints_visible
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prob={self.prob}, direction={self.direction})"


class RandomHalfBody(BaseTransform):
    """With probability ``prob``, replace the box by one around the visible upper- or lower-body keypoints.

    Applied to an instance only if it has at least ``min_total_keypoints`` visible keypoints. The upper body is
    chosen with probability ``upper_prioritized_prob`` when both halves have enough visible keypoints
    (``min_upper_keypoints`` / ``min_lower_keypoints``); otherwise the half that has enough is used. The new box
    is centred on the mean of the chosen keypoints, sized by their extent times ``padding``.
    Needs ``keypoints``, ``keypoints_visible``, ``upper_body_ids``, ``lower_body_ids``, ``bbox_center``,
    ``bbox_scale``; updates ``bbox_center`` and ``bbox_scale``.
    """

    def __init__(
        self,
        min_total_keypoints: int = 9,
        min_upper_keypoints: int = 2,
        min_lower_keypoints: int = 3,
        padding: float = 1.5,
        prob: float = 0.3,
        upper_prioritized_prob: float = 0.7,
    ) -> None:
        self.min_total_keypoints = min_total_keypoints
        self.min_upper_keypoints = min_upper_keypoints
        self.min_lower_keypoints = min_lower_keypoints
        self.padding = padding
        self.prob = prob
        self.upper_prioritized_prob = upper_prioritized_prob

    def _get_half_body_bbox(self, keypoints: np.ndarray, half_body_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Center (2,) and scale (2,) of the box around ``keypoints[half_body_ids]`` ((K, D) keypoints)."""
        selected = keypoints[half_body_ids, :2]
        center = selected.mean(axis=0)
        scale = (selected.max(axis=0) - selected.min(axis=0)) * self.padding
        return center, scale.astype(center.dtype)

    def _random_select_half_body(
        self, keypoints_visible: np.ndarray, upper_body_ids: np.ndarray, lower_body_ids: np.ndarray
    ) -> list[np.ndarray | None]:
        """Per instance: the keypoint indices of the chosen half, or ``None`` (no half-body box)."""
        half_body_ids: list[np.ndarray | None] = []
        for visible in keypoints_visible:
            indices = None
            if visible.sum() >= self.min_total_keypoints and np.random.rand() <= self.prob:
                upper_valid = upper_body_ids[visible[upper_body_ids] > 0]
                lower_valid = lower_body_ids[visible[lower_body_ids] > 0]
                prefer_upper = np.random.rand() < self.upper_prioritized_prob
                upper_ok = len(upper_valid) >= self.min_upper_keypoints
                lower_ok = len(lower_valid) >= self.min_lower_keypoints
                if upper_ok and lower_ok:
                    indices = upper_valid if prefer_upper else lower_valid
                elif upper_ok:
                    indices = upper_valid
                elif lower_ok:
                    indices = lower_valid
            half_body_ids.append(indices)
        return half_body_ids

    def transform(self, results: dict) -> dict:
        for key in ("keypoints", "keypoints_visible", "bbox_center", "bbox_scale"):
            if results.get(key) is None:
                raise KeyError(f"RandomHalfBody: results has no {key!r} (needs keypoints and GetBBoxCenterScale first)")
        for key in ("upper_body_ids", "lower_body_ids"):
            if results.get(key) is None:
                raise KeyError(
                    f"RandomHalfBody: results has no {key!r}; the dataset metainfo must define keypoint types "
                    "(upper/lower) or remove RandomHalfBody from the pipeline"
                )
        visible = np.asarray(results["keypoints_visible"])
        if visible.ndim == 3:  # (N, K, 2): visibility + per-keypoint weight
            visible = visible[..., 0]
        upper = np.asarray(results["upper_body_ids"], dtype=np.int64).reshape(-1)
        lower = np.asarray(results["lower_body_ids"], dtype=np.int64).reshape(-1)
        half_body_ids = self._random_select_half_body(visible, upper, lower)
        if all(ids is None for ids in half_body_ids):
            return results

        centers, scales = [], []
        for i, indices in enumerate(half_body_ids):
            if indices is None:
                centers.append(results["bbox_center"][i])
                scales.append(results["bbox_scale"][i])
            else:
                c, s = self._get_half_body_bbox(results["keypoints"][i], indices)
                centers.append(c)
                scales.append(s)
        results["bbox_center"] = np.stack(centers)
        results["bbox_scale"] = np.stack(scales)
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(min_total_keypoints={self.min_total_keypoints}, "
            f"min_upper_keypoints={self.min_upper_keypoints}, "
            f"min_lower_keypoints={self.min_lower_keypoints}, padding={self.padding}, prob={self.prob}, "
            f"upper_prioritized_prob={self.upper_prioritized_prob})"
        )


# albumentations 1.x argument names still found in MMPose configs -> albumentations 2.x ranges
def _translate_coarse_dropout(args: dict) -> dict:
    legacy = {"max_holes", "min_holes", "max_height", "min_height", "max_width", "min_width", "fill_value"}
    if not legacy & args.keys():
        return args
    args = dict(args)
    for lo, hi, new in (
        ("min_holes", "max_holes", "num_holes_range"),
        ("min_height", "max_height", "hole_height_range"),
        ("min_width", "max_width", "hole_width_range"),
    ):
        if lo in args or hi in args:
            if new in args:
                raise ValueError(f"Albumentation: CoarseDropout got both {new!r} and the legacy {lo!r}/{hi!r}")
            vmax = args.pop(hi, None)
            vmin = args.pop(lo, None)
            if vmax is None:
                raise ValueError(f"Albumentation: CoarseDropout got {lo!r} without {hi!r}")
            args[new] = (vmax if vmin is None else vmin, vmax)
    if "fill_value" in args:
        if "fill" in args:
            raise ValueError("Albumentation: CoarseDropout got both 'fill' and the legacy 'fill_value'")
        args["fill"] = args.pop("fill_value")
    return args


_LEGACY_TRANSLATIONS = {"CoarseDropout": _translate_coarse_dropout}
# transforms living in albumentations' geometric module that do not move pixels
_PIXEL_LEVEL_GEOMETRIC = frozenset({"Morphological"})


class Albumentation(BaseTransform):
    """Run albumentations (2.x) pixel-level transforms on ``results['img']``.

    Args:
        transforms: list of entries, each an albumentations transform object, a ``{_target_: ...}`` config, or an
            MMPose-style ``{type: 'Blur', **kwargs}`` dict (``type`` names a class of ``albumentations``;
            nested ``transforms`` of ``OneOf``/``SomeOf`` are built the same way). Arguments are passed through
            to albumentations, whose validation errors name the transform; an argument albumentations does not
            accept raises instead of being silently ignored. The albumentations 1.x arguments of ``CoarseDropout``
            used by MMPose's RTMPose configs (``max_holes``, ``max_height``, ... ``fill_value``) are translated to
            the 2.x ranges with the same meaning.
        keymap: results key -> albumentations key; defaults to ``{'img': 'image'}``.

    Geometric albumentations transforms would move pixels without moving the keypoints, so they are refused.
    The random state of albumentations is reseeded from NumPy's global RNG on every call.
    """

    def __init__(self, transforms: list[Any], keymap: dict | None = None) -> None:
        import albumentations

        transforms = _to_container(transforms)
        if not _is_seq(transforms):
            raise TypeError(f"Albumentation: transforms must be a list, got {type(transforms).__name__}")
        self.transforms = list(transforms)
        self.aug = albumentations.Compose([self.albu_builder(t) for t in self.transforms])
        keymap = _to_container(keymap)
        self.keymap_to_albu = dict(keymap) if keymap else {"img": "image"}

    def _check_pixel_level(self, obj: Any) -> None:
        module = type(obj).__module__
        if (".geometric" in module or ".crops" in module) and type(obj).__name__ not in _PIXEL_LEVEL_GEOMETRIC:
            raise ValueError(
                f"Albumentation: {type(obj).__name__} is a geometric transform; only pixel-level transforms are "
                "supported (keypoints and boxes would not follow). Use RandomFlip/RandomBBoxTransform instead."
            )

    def albu_builder(self, cfg: Any) -> Any:
        """Build one albumentations transform from an object or a config (see the class docstring)."""
        import albumentations as albu

        if isinstance(cfg, (albu.BasicTransform, albu.BaseCompose)):
            self._check_pixel_level(cfg)
            return cfg
        cfg = _to_container(cfg)
        if not isinstance(cfg, Mapping):
            raise TypeError(
                f"Albumentation: each transform must be an albumentations object or a dict with 'type' or "
                f"'_target_', got {cfg!r}"
            )
        args = copy.deepcopy(dict(cfg))
        if "_target_" in args:
            from hydra.utils import get_object

            target = args.pop("_target_")
            name = str(target).rsplit(".", 1)[-1]
            try:
                builder = get_object(str(target))
            except Exception as e:
                raise ValueError(f"Albumentation: cannot import _target_ {target!r}: {e}") from e
            if name in _LEGACY_TRANSLATIONS:
                args = _LEGACY_TRANSLATIONS[name](args)
            if "transforms" in args:
                args["transforms"] = [self.albu_builder(t) for t in args["transforms"]]
        elif "type" in args:
            obj_type = args.pop("type")
            if isinstance(obj_type, str):
                cls = getattr(albu, obj_type, None)
                if not isinstance(cls, type):
                    raise ValueError(
                        f"Albumentation: albumentations {albu.__version__} has no transform named {obj_type!r}; "
                        "see https://albumentations.ai/docs/ for the available names"
                    )
                name = obj_type
            elif isinstance(obj_type, type):
                cls, name = obj_type, obj_type.__name__
            else:
                raise TypeError(f"Albumentation: 'type' must be a str or a class, got {obj_type!r}")
            if name in _LEGACY_TRANSLATIONS:
                args = _LEGACY_TRANSLATIONS[name](args)
            if "transforms" in args:
                args["transforms"] = [self.albu_builder(t) for t in args["transforms"]]
            builder = cls
        else:
            raise ValueError(f"Albumentation: transform config {cfg!r} has neither 'type' nor '_target_'")

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                obj = builder(**args)
            except (TypeError, ValueError) as e:
                raise ValueError(f"Albumentation: cannot build {name}({args}): {e}") from e
        for w in caught:
            msg = str(w.message)
            if "are not valid for transform" in msg:
                raise ValueError(
                    f"Albumentation: {name}({args}): {msg} (albumentations {albu.__version__} renamed some "
                    "arguments; see its documentation for the current names)"
                )
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        self._check_pixel_level(obj)
        return obj

    def transform(self, results: dict) -> dict:
        results_albu = {}
        for k, v in self.keymap_to_albu.items():
            if k not in results:
                raise KeyError(f"Albumentation: results has no {k!r}, which the keymap {self.keymap_to_albu} needs")
            results_albu[v] = results[k]
        seed = int(np.random.randint(0, 2**31 - 1))
        self.aug.set_random_state(np.random.default_rng(seed), random.Random(seed))
        out = self.aug(**results_albu)
        for k, v in self.keymap_to_albu.items():
            results[k] = out[v]
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(transforms={self.transforms})"


class PhotometricDistortion(BaseTransform):
    """Random brightness, contrast, saturation, hue and channel swap of a uint8 BGR image (MMPose/MMDet).

    Each step is applied with probability 0.5; contrast is applied either before or after the HSV steps.
    All per-pixel operations are 256-entry lookup tables (``cv2.LUT``).
    """

    def __init__(
        self,
        brightness_delta: int = 32,
        contrast_range: Sequence[float] = (0.5, 1.5),
        saturation_range: Sequence[float] = (0.5, 1.5),
        hue_delta: int = 18,
    ) -> None:
        self.brightness_delta = brightness_delta
        self.contrast_lower, self.contrast_upper = contrast_range
        self.saturation_lower, self.saturation_upper = saturation_range
        self.hue_delta = hue_delta

    def _random_flags(self) -> tuple:
        contrast_mode = np.random.randint(2)
        brightness_flag = np.random.randint(2)
        contrast_flag = np.random.randint(2)
        hsv_mode = np.random.randint(4)
        swap_flag = np.random.randint(2)
        brightness_beta = np.random.uniform(-self.brightness_delta, self.brightness_delta)
        contrast_alpha = np.random.uniform(self.contrast_lower, self.contrast_upper)
        saturation_alpha = np.random.uniform(self.saturation_lower, self.saturation_upper)
        hue_delta = np.random.randint(-self.hue_delta, self.hue_delta)
        swap_channel_order = np.random.permutation(3)
        return (
            contrast_mode,
            brightness_flag,
            contrast_flag,
            hsv_mode,
            swap_flag,
            brightness_beta,
            contrast_alpha,
            saturation_alpha,
            hue_delta,
            swap_channel_order,
        )

    @staticmethod
    def _lut(alpha: float = 1.0, beta: float = 0.0) -> np.ndarray:
        """LUT of ``uint8(clip(x * alpha + beta, 0, 255))`` (MMPose's ``_convert``)."""
        return np.clip(np.arange(256, dtype=np.float32) * np.float32(alpha) + np.float32(beta), 0, 255).astype(np.uint8)

    def transform(self, results: dict) -> dict:
        img = results.get("img")
        if img is None:
            raise KeyError("PhotometricDistortion: results has no 'img'; put LoadImage first")
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(
                f"PhotometricDistortion: needs a uint8 (H, W, 3) BGR image, got {img.dtype} {img.shape} "
                "(do not combine it with LoadImage(to_float32=True))"
            )
        (
            contrast_mode,
            brightness_flag,
            contrast_flag,
            hsv_mode,
            swap_flag,
            brightness_beta,
            contrast_alpha,
            saturation_alpha,
            hue_delta,
            swap_channel_order,
        ) = self._random_flags()

        # brightness and the first contrast step compose into one LUT
        lut = np.arange(256, dtype=np.uint8)
        if brightness_flag:
            lut = self._lut(beta=brightness_beta)[lut]
        if contrast_flag and contrast_mode == 0:
            lut = self._lut(alpha=contrast_alpha)[lut]
        if brightness_flag or (contrast_flag and contrast_mode == 0):
            img = cv2.LUT(img, lut)

        if hsv_mode:
            hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
            h, s, v = cv2.split(hsv)
            if hsv_mode in (1, 3):
                s = cv2.LUT(s, self._lut(alpha=saturation_alpha))
            if hsv_mode in (2, 3):  # OpenCV's 8-bit hue is in [0, 180): rotate it modulo 180
                h = cv2.LUT(h, ((np.arange(256) + hue_delta) % 180).astype(np.uint8))
            img = cv2.cvtColor(cv2.merge((h, s, v)), cv2.COLOR_HSV2BGR)

        if contrast_flag and contrast_mode == 1:
            img = cv2.LUT(img, self._lut(alpha=contrast_alpha))

        if swap_flag:
            img = np.ascontiguousarray(img[..., swap_channel_order])

        results["img"] = img
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(brightness_delta={self.brightness_delta}, "
            f"contrast_range=({self.contrast_lower}, {self.contrast_upper}), "
            f"saturation_range=({self.saturation_lower}, {self.saturation_upper}), "
            f"hue_delta={self.hue_delta})"
        )
