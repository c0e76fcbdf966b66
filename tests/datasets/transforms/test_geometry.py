"""The keypoint transforms agree with the pixel transforms: a bright dot drawn at a keypoint ends up where the
transformed keypoint says it is, through flips, random box shift/scale/rotation and the (UDP) affine crop."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from posekit.datasets.transforms import (
    Compose,
    GetBBoxCenterScale,
    RandomBBoxTransform,
    RandomFlip,
    TopdownAffine,
)

H, W = 360, 480
FLIP_INDICES = [0, 2, 1, 4, 3, 6, 5]
# sub-pixel keypoints inside the box (120, 60)-(330, 300)
KEYPOINTS = np.array(
    [[[225.3, 90.7], [180.6, 120.2], [270.1, 118.9], [150.4, 200.5], [300.8, 190.3], [200.2, 270.6], [255.9, 280.4]]],
    dtype=np.float32,
)
SIGMA = 2.5


def _dot_image() -> np.ndarray:
    """Gaussian dots at KEYPOINTS: green = 250 at every dot, red = a tag 30 * (k + 1) naming the keypoint k."""
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    img = np.zeros((H, W, 3), dtype=np.float32)
    for k, (x, y) in enumerate(KEYPOINTS[0]):
        blob = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * SIGMA**2))
        img[..., 1] += 250 * blob
        img[..., 2] += 30 * (k + 1) * blob
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _results() -> dict:
    return {
        "img": _dot_image(),
        "img_shape": (H, W),
        "bbox": np.array([[120, 60, 330, 300]], dtype=np.float32),
        "keypoints": KEYPOINTS.copy(),
        "keypoints_visible": np.ones((1, len(FLIP_INDICES)), dtype=np.float32),
        "flip_indices": FLIP_INDICES,
    }


def _dot_at(img: np.ndarray, xy: np.ndarray, radius: int = 7) -> tuple[np.ndarray, float, float]:
    """Intensity centroid (x, y) of the green channel around ``xy``, its peak and the red/green tag ratio."""
    x0, y0 = int(round(float(xy[0]))), int(round(float(xy[1])))
    ys, xs = np.mgrid[y0 - radius : y0 + radius + 1, x0 - radius : x0 + radius + 1]
    green = img[y0 - radius : y0 + radius + 1, x0 - radius : x0 + radius + 1, 1].astype(np.float64)
    red = img[y0 - radius : y0 + radius + 1, x0 - radius : x0 + radius + 1, 2].astype(np.float64)
    weights = np.clip(green - 10, 0, None)  # drop the faint tails (and interpolation noise)
    centroid = np.array([(weights * xs).sum(), (weights * ys).sum()]) / max(weights.sum(), 1e-9)
    peak = green.max()
    tag = red[green == peak].mean() / peak
    return centroid, peak, tag


def _check_dots(results: dict, expect_tags: list[int], margin: int = 10) -> int:
    img = results["img"]
    h, w = img.shape[:2]
    checked = 0
    for k, xy in enumerate(results["transformed_keypoints"][0]):
        if not (margin <= xy[0] < w - margin and margin <= xy[1] < h - margin):
            continue
        centroid, peak, tag = _dot_at(img, xy)
        assert peak > 60, f"no dot near transformed keypoint {k} at {xy}"
        assert np.abs(centroid - xy).max() < 1.0, f"keypoint {k}: dot at {centroid}, transformed keypoint at {xy}"
        assert round(tag * 250 / 30) - 1 == expect_tags[k], (
            f"keypoint {k} sits on the dot of {round(tag * 250 / 30) - 1}"
        )
        checked += 1
    return checked


@pytest.mark.parametrize("use_udp", [False, True])
def test_affine_crop_keypoints_follow_pixels(use_udp):
    out = Compose([GetBBoxCenterScale(), TopdownAffine(input_size=(192, 256), use_udp=use_udp)])(_results())
    assert out["img"].shape == (256, 192, 3)
    assert _check_dots(out, list(range(7))) == 7


@pytest.mark.parametrize("use_udp", [False, True])
@pytest.mark.parametrize("direction", ["horizontal", "vertical", "diagonal"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flip_and_random_box_keypoints_follow_pixels(use_udp, direction, seed):
    pipeline = Compose(
        [
            GetBBoxCenterScale(),
            RandomFlip(prob=1.0, direction=direction),
            RandomBBoxTransform(shift_prob=1.0, scale_factor=(0.8, 1.2), scale_prob=1.0, rotate_prob=1.0),
            TopdownAffine(input_size=(192, 256), use_udp=use_udp),
        ]
    )
    np.random.seed(seed)
    out = pipeline(_results())
    assert out["flip"] and out["flip_direction"] == direction
    assert out["bbox_rotation"].shape == (1,) and out["bbox_rotation"][0] != 0
    # after a left/right flip keypoint k sits on the mirrored dot of its partner; a vertical flip swaps too (MMPose)
    expect = FLIP_INDICES if direction in ("horizontal", "vertical") else list(range(7))
    assert _check_dots(out, expect) >= 4


def test_flip_moves_dots_with_keypoints():
    results = _results()
    out = RandomFlip(prob=1.0, direction="horizontal")(copy.deepcopy(results))
    for k, xy in enumerate(out["keypoints"][0]):
        centroid, peak, tag = _dot_at(out["img"], xy)
        assert peak > 200 and np.abs(centroid - xy).max() < 0.5
        assert round(tag * 250 / 30) - 1 == FLIP_INDICES[k]


@pytest.mark.parametrize("shift", [(1.2, 0.0), (0.0, -1.2)])
def test_dot_check_detects_a_one_pixel_error(shift):
    out = Compose([GetBBoxCenterScale(), TopdownAffine(input_size=(192, 256))])(_results())
    out["transformed_keypoints"] = out["transformed_keypoints"] + np.asarray(shift, dtype=np.float32)
    with pytest.raises(AssertionError, match="dot at"):
        _check_dots(out, list(range(7)))
