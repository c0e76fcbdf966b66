"""Image and video file I/O for inference: reading images (skipping undecodable ones when asked), listing inputs,
reading ahead in a thread, and the predictions JSON written incrementally (valid JSON at every moment)."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np

__all__ = ["IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "PredictionsWriter", "load_image", "read_image_file"]

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


def load_image(img: str | os.PathLike | np.ndarray) -> tuple[np.ndarray, str | None]:
    """A path (read with OpenCV, BGR) or an (H, W, 3) BGR array -> ``(image, path or None)``."""
    if isinstance(img, np.ndarray):
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        if img.ndim != 3 or img.shape[2] not in (3, 4):
            raise ValueError(f"expected an (H, W, 3) BGR image, got an array of shape {img.shape}")
        if img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
        return img, None
    path = os.fspath(img)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image file not found: {path}")
    return read_image_file(path), path


def read_image_file(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file into (H, W, 3) BGR uint8; ``ValueError`` naming the file when it is empty, does not
    decode, or is a JPEG cut short (no end-of-image marker: OpenCV would return it with grey rows)."""
    path = os.fspath(path)
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes)")
    arr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if arr is None:
        raise ValueError(f"{path} does not decode as an image (corrupt or unsupported format)")
    if data[:2].tobytes() == b"\xff\xd8" and b"\xff\xd9" not in data[-1024:].tobytes():
        raise ValueError(f"{path}: truncated JPEG (no end-of-image marker); re-download or re-export the image")
    return arr


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


class PredictionsWriter:
    """The predictions JSON, rewritten atomically (temporary file + rename) as records arrive: the file is valid
    JSON at every moment and holds every record up to the latest write.

    The file is ``{**header, list_key: [records...], **footer}``. Each record is serialised once; a write joins the
    serialised records. A write follows every :meth:`add` while the file is under :attr:`THROTTLE_BYTES` (4 MB,
    some 2,000 people); beyond, the next write waits ten times as long as the last one took, which bounds the
    overhead of rewriting to about 10% on large runs.
    :meth:`close` always writes. Non-finite numbers are refused (``allow_nan=False``: strict JSON).
    """

    THROTTLE_BYTES = 4 << 20

    def __init__(self, path: str | os.PathLike, header: Mapping[str, Any], list_key: str) -> None:
        self.path = Path(path)
        self.header = dict(header)
        self.list_key = list_key
        self.footer: dict[str, Any] = {}
        self._parts: list[str] = []
        self._next_write = 0.0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.write()

    def __len__(self) -> int:
        return len(self._parts)

    def add(self, record: Mapping[str, Any]) -> None:
        self._parts.append(json.dumps(record, separators=(",", ":"), allow_nan=False))
        if time.perf_counter() >= self._next_write:
            self.write()

    def write(self) -> None:
        start = time.perf_counter()
        head = json.dumps(self.header, separators=(",", ":"), allow_nan=False)[:-1]
        tail = json.dumps(self.footer, separators=(",", ":"), allow_nan=False)[1:]
        body = f'{head}{"," if self.header else ""}"{self.list_key}":[{",".join(self._parts)}]'
        text = body + ("," + tail if self.footer else "}")
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.path)
        spent = time.perf_counter() - start
        self._next_write = time.perf_counter() + (10 * spent if len(text) > self.THROTTLE_BYTES else 0.0)

    def close(self, **footer: Any) -> None:
        """Final write, with ``footer`` entries added after the records (``header`` may be updated first too)."""
        self.footer.update(footer)
        self.write()


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
