"""Image loading: :class:`LoadImage` (MMPose's ``LoadImage``, cv2 decoding)."""

from __future__ import annotations

import logging
import os

import cv2
import numpy as np

from .compose import BaseTransform

__all__ = ["BAD_IMAGE_POLICIES", "LoadImage", "image_bytes_problem"]

logger = logging.getLogger(__name__)

BAD_IMAGE_POLICIES = ("error", "skip")


def image_bytes_problem(buf: np.ndarray) -> str | None:
    """What is wrong with an encoded image file, judged from its bytes (``None``: nothing seen).

    A JPEG must end with the end-of-image marker ``FF D9`` (a truncated file decodes with only libjpeg's anonymous
    "Premature end of JPEG file" warning and a grey lower part); a PNG must hold its ``IEND`` chunk.
    """
    if buf.size == 0:
        return "the file is empty (0 bytes)"
    head = buf[:8].tobytes()
    if head[:3] == b"\xff\xd8\xff":
        tail = buf[-64:].tobytes().rstrip(b"\x00\r\n ")
        if not tail.endswith(b"\xff\xd9") and _pil_finds_truncated(buf):  # data after the EOI marker is legal
            return "truncated JPEG (no end-of-image marker FFD9)"
    elif head == b"\x89PNG\r\n\x1a\n" and b"IEND" not in buf[-32:].tobytes():
        return "truncated PNG (no IEND chunk)"
    return None


_CV2_FLAGS = {
    "color": cv2.IMREAD_COLOR,
    "grayscale": cv2.IMREAD_GRAYSCALE,
    "unchanged": cv2.IMREAD_UNCHANGED,
    "color_ignore_orientation": cv2.IMREAD_IGNORE_ORIENTATION | cv2.IMREAD_COLOR,
    "grayscale_ignore_orientation": cv2.IMREAD_IGNORE_ORIENTATION | cv2.IMREAD_GRAYSCALE,
}


class LoadImage(BaseTransform):
    """Load ``results['img_path']`` (or take the array already in ``results['img']``).

    Sets ``img`` ((H, W, 3) uint8 BGR for ``color_type='color'``), ``img_shape`` and ``ori_shape`` = (h, w).

    Args:
        to_float32: convert the image to float32.
        color_type: ``'color'`` | ``'grayscale'`` | ``'unchanged'`` | ``'color_ignore_orientation'`` |
            ``'grayscale_ignore_orientation'`` (MMCV's flags).
        imdecode_backend: ``'cv2'`` (default) or ``'pillow'``; both give BGR for colour images.
        backend_args: accepted for MMPose compatibility; only local files are supported, so it must be ``None``.
        ignore_empty: return ``None`` (drop the sample) instead of raising when the file is missing or
            does not decode.
        on_bad_image: ``'error'`` (default): an empty, truncated or undecodable image raises ``OSError`` naming
            its path; ``'skip'``: the sample is dropped (in training the dataset draws another one), with a warning
            naming the path and the number skipped so far (``skipped``). Set for a whole run with
            ``data.on_bad_image=skip``.
    """

    def __init__(
        self,
        to_float32: bool = False,
        color_type: str = "color",
        imdecode_backend: str = "cv2",
        ignore_empty: bool = False,
        *,
        backend_args: dict | None = None,
        on_bad_image: str = "error",
    ) -> None:
        if on_bad_image not in BAD_IMAGE_POLICIES:
            raise ValueError(f"LoadImage: on_bad_image must be one of {BAD_IMAGE_POLICIES}, got {on_bad_image!r}")
        self.on_bad_image = on_bad_image
        self.skipped = 0
        if color_type not in _CV2_FLAGS:
            raise ValueError(f"LoadImage: color_type must be one of {sorted(_CV2_FLAGS)}, got {color_type!r}")
        if imdecode_backend not in ("cv2", "pillow"):
            raise ValueError(f"LoadImage: imdecode_backend must be 'cv2' or 'pillow', got {imdecode_backend!r}")
        if backend_args:
            raise ValueError(
                f"LoadImage: backend_args={backend_args!r} is not supported (posekit reads local files only); "
                "remove it from the pipeline config"
            )
        self.to_float32 = to_float32
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend
        self.ignore_empty = ignore_empty
        self.backend_args = backend_args

    def _read(self, path: str) -> np.ndarray | None:
        buf = np.fromfile(path, dtype=np.uint8)
        problem = image_bytes_problem(buf)
        if problem:
            raise _BadImage(problem)
        if self.imdecode_backend == "cv2":
            return cv2.imdecode(buf, _CV2_FLAGS[self.color_type])
        import io

        from PIL import Image, ImageOps

        with Image.open(io.BytesIO(buf.tobytes())) as im:
            if "ignore_orientation" not in self.color_type:
                im = ImageOps.exif_transpose(im)
            if self.color_type.startswith("grayscale"):
                return np.asarray(im.convert("L"))
            if self.color_type == "unchanged":
                arr = np.asarray(im)
                return arr[..., ::-1].copy() if arr.ndim == 3 and arr.shape[2] == 3 else arr
            return np.ascontiguousarray(np.asarray(im.convert("RGB"))[..., ::-1])

    def transform(self, results: dict) -> dict | None:
        img = results.get("img")
        if img is None:
            path = results.get("img_path")
            if path is None:
                raise KeyError(
                    "LoadImage: the results dict has neither 'img' nor 'img_path'; "
                    "give the dataset item an 'img_path' (or an 'img' array for inference)"
                )
            path = os.fspath(path)
            if not os.path.isfile(path):
                if self.ignore_empty:
                    return None
                raise FileNotFoundError(
                    f"LoadImage: image file not found: img_path={path!r}; check the dataset's data_root/data_prefix"
                )
            try:
                img = self._read(path)
            except _BadImage as e:
                return self._bad(path, str(e))
            except Exception as e:  # pillow raises on corrupt files
                return self._bad(path, f"failed to decode: {e}")
            if img is None or img.size == 0:
                return self._bad(path, "exists but does not decode as an image (corrupt or unsupported file)")
        elif not isinstance(img, np.ndarray):
            raise TypeError(
                f"LoadImage: results['img'] must be a numpy array (H, W[, C]), got {type(img).__name__}"
                f" (img_path={results.get('img_path')!r})"
            )
        else:
            results.setdefault("img_path", None)
        if self.to_float32:
            img = img.astype(np.float32)
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        results["ori_shape"] = img.shape[:2]
        return results

    def _bad(self, path: str, problem: str) -> None:
        if self.on_bad_image == "skip":
            self.skipped += 1
            logger.warning("LoadImage: skipping img_path=%r: %s (%d skipped so far)", path, problem, self.skipped)
            return None
        if self.ignore_empty:
            return None
        raise OSError(
            f"LoadImage: img_path={path!r}: {problem}; replace the file or remove it from the annotations "
            "(or skip such images with data.on_bad_image=skip)"
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(ignore_empty={self.ignore_empty}, to_float32={self.to_float32}, "
            f"color_type='{self.color_type}', imdecode_backend='{self.imdecode_backend}', "
            f"backend_args={self.backend_args})"
        )


def _pil_finds_truncated(buf: np.ndarray) -> bool:
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(buf.tobytes())) as im:
            im.load()
    except (OSError, SyntaxError, ValueError):
        return True
    return False


class _BadImage(Exception):
    """An image file whose bytes are visibly broken (empty, truncated)."""
