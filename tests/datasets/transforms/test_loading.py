"""LoadImage: decoding, the in-memory image path and clear errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from posekit.datasets.transforms import LoadImage


def test_load_real_image(testdata_dir):
    path = testdata_dir / "coco" / "000000000785.jpg"
    out = LoadImage()({"img_path": str(path)})
    assert out["img"].dtype == np.uint8 and out["img"].shape == (425, 640, 3)
    assert out["img_shape"] == (425, 640) and out["ori_shape"] == (425, 640)
    np.testing.assert_array_equal(out["img"], cv2.imread(str(path)))  # BGR, as cv2 decodes it

    gray = LoadImage(color_type="grayscale")({"img_path": path})
    assert gray["img"].shape == (425, 640)
    as_float = LoadImage(to_float32=True)({"img_path": str(path)})
    assert as_float["img"].dtype == np.float32


def test_load_png_both_backends(tmp_path):
    img = np.random.RandomState(0).randint(0, 256, (20, 30, 3), dtype=np.uint8)
    path = tmp_path / "x.png"
    assert cv2.imwrite(str(path), img)
    for backend in ("cv2", "pillow"):
        out = LoadImage(imdecode_backend=backend)({"img_path": str(path)})
        np.testing.assert_array_equal(out["img"], img)


def test_in_memory_image():
    img = np.zeros((10, 12, 3), dtype=np.uint8)
    out = LoadImage(to_float32=True)({"img": img})
    assert out["img"].dtype == np.float32 and out["img_shape"] == (10, 12) and out["ori_shape"] == (10, 12)
    assert out["img_path"] is None
    with pytest.raises(TypeError, match="numpy array"):
        LoadImage()({"img": [[1, 2]], "img_path": "a.jpg"})


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.jpg"
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        LoadImage()({"img_path": str(missing)})
    assert LoadImage(ignore_empty=True)({"img_path": str(missing)}) is None
    with pytest.raises(KeyError, match="img_path"):
        LoadImage()({})


@pytest.mark.parametrize("backend", ["cv2", "pillow"])
def test_corrupt_file(tmp_path, backend):
    bad = tmp_path / "corrupt.jpg"
    bad.write_bytes(b"this is not a jpeg" * 10)
    with pytest.raises(OSError, match="corrupt.jpg"):
        LoadImage(imdecode_backend=backend)({"img_path": str(bad)})
    assert LoadImage(imdecode_backend=backend, ignore_empty=True)({"img_path": str(bad)}) is None


def test_bad_arguments():
    with pytest.raises(ValueError, match="color_type"):
        LoadImage(color_type="rgb")
    with pytest.raises(ValueError, match="imdecode_backend"):
        LoadImage(imdecode_backend="turbojpeg")
    with pytest.raises(ValueError, match="backend_args"):
        LoadImage(backend_args={"backend": "petrel"})
