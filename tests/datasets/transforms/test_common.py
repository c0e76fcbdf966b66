"""GetBBoxCenterScale, RandomFlip, RandomHalfBody, RandomBBoxTransform, Albumentation, PhotometricDistortion."""

from __future__ import annotations

import copy

import albumentations as A
import cv2
import numpy as np
import pytest

from posekit.datasets.transforms import (
    Albumentation,
    GetBBoxCenterScale,
    PhotometricDistortion,
    RandomBBoxTransform,
    RandomFlip,
    RandomHalfBody,
    TopdownAffine,
)

# ---------------------------------------------------------------------------------------------- GetBBoxCenterScale


def test_get_bbox_center_scale(make_sample):
    results = make_sample(with_cs=False)
    bbox = results["bbox"].copy()
    out = GetBBoxCenterScale(padding=1.25)(results)
    np.testing.assert_allclose(out["bbox_center"], (bbox[:, :2] + bbox[:, 2:]) * 0.5)
    np.testing.assert_allclose(out["bbox_scale"], (bbox[:, 2:] - bbox[:, :2]) * 1.25)
    assert out["bbox_center"].shape == (1, 2) and out["bbox_center"].dtype == np.float32
    assert repr(GetBBoxCenterScale(padding=1.25)) == "GetBBoxCenterScale(padding=1.25)"


def test_get_bbox_center_scale_keeps_existing(make_sample):
    results = make_sample()
    center = np.array([[10.0, 20.0]], dtype=np.float32)
    scale = np.array([[30.0, 40.0]], dtype=np.float32)
    results.update(bbox_center=center, bbox_scale=scale)
    with pytest.warns(UserWarning, match="existing"):
        out = GetBBoxCenterScale(padding=2.0)(results)
    np.testing.assert_allclose(out["bbox_center"], [[10.0, 20.0]])
    np.testing.assert_allclose(out["bbox_scale"], [[60.0, 80.0]])  # padding still applied, in place (as MMPose)


def test_get_bbox_center_scale_missing_bbox():
    with pytest.raises(KeyError, match="bbox"):
        GetBBoxCenterScale()({"img": np.zeros((4, 4, 3), np.uint8)})


# ------------------------------------------------------------------------------------------------------ RandomFlip


@pytest.mark.parametrize("direction", ["horizontal", "vertical", "diagonal"])
def test_random_flip_mmpose_semantics(make_sample, direction):
    data = make_sample(img_shape=(480, 640), random_visible=True)
    data["img_mask"] = np.random.RandomState(1).randint(0, 2, (480, 640)).astype(np.uint8)
    out = RandomFlip(prob=1.0, direction=direction)(copy.deepcopy(data))
    assert out["flip"] is True and out["flip_direction"] == direction
    sl = {"horizontal": np.s_[:, ::-1], "vertical": np.s_[::-1], "diagonal": np.s_[::-1, ::-1]}[direction]
    np.testing.assert_array_equal(out["img"], data["img"][sl])
    np.testing.assert_array_equal(out["img_mask"], data["img_mask"][sl])
    assert out["img"].flags.c_contiguous

    idx = data["flip_indices"] if direction != "diagonal" else list(range(17))
    kp_in, kp_out = data["keypoints"][:, idx], out["keypoints"]
    center_in, center_out = data["bbox_center"], out["bbox_center"]
    for axis, size, flipped in ((0, 640, direction != "vertical"), (1, 480, direction != "horizontal")):
        if flipped:
            np.testing.assert_allclose(kp_out[..., axis], size - 1 - kp_in[..., axis], atol=1e-4)
            np.testing.assert_allclose(center_out[..., axis], size - 1 - center_in[..., axis], atol=1e-4)
        else:
            np.testing.assert_allclose(kp_out[..., axis], kp_in[..., axis])
            np.testing.assert_allclose(center_out[..., axis], center_in[..., axis])
    np.testing.assert_array_equal(out["keypoints_visible"], data["keypoints_visible"][:, idx])
    # the flipped box is still a valid xyxy box around the flipped centre
    bbox = out["bbox"]
    assert (bbox[:, 2:] >= bbox[:, :2]).all()
    np.testing.assert_allclose((bbox[:, :2] + bbox[:, 2:]) / 2, center_out, atol=1e-3)


@pytest.mark.parametrize("direction", ["horizontal", "vertical", "diagonal"])
def test_random_flip_twice_is_identity(make_sample, direction):
    data = make_sample(random_visible=True)
    flip = RandomFlip(prob=1.0, direction=direction)
    out = flip(flip(copy.deepcopy(data)))
    for key in ("img", "bbox", "bbox_center", "keypoints", "keypoints_visible"):
        np.testing.assert_allclose(out[key], data[key], atol=1e-4, err_msg=key)


def test_random_flip_probabilities(make_sample):
    np.random.seed(0)
    flip = RandomFlip(prob=[0.3, 0.3], direction=["horizontal", "vertical"])
    dirs = [flip(make_sample(img_shape=(8, 8)))["flip_direction"] for _ in range(600)]
    counts = {d: dirs.count(d) for d in ("horizontal", "vertical", None)}
    assert 140 < counts["horizontal"] < 220 and 140 < counts["vertical"] < 220 and 200 < counts[None] < 290
    out = RandomFlip(prob=0.0)(make_sample())
    assert out["flip"] is False and out["flip_direction"] is None
    RandomFlip(prob=0.5, direction=["horizontal", "vertical"])  # float prob split over a list of directions


def test_random_flip_errors_and_repr(make_sample):
    with pytest.raises(ValueError, match="probs must be float or list of float"):
        RandomFlip(prob=None)
    with pytest.raises(ValueError, match="direction must be either str or list of str"):
        RandomFlip(direction=None)
    with pytest.raises(AssertionError):
        RandomFlip(prob=2.0)
    with pytest.raises(AssertionError):
        RandomFlip(direction="invalid_direction")
    assert repr(RandomFlip(prob=0.5, direction="horizontal")) == "RandomFlip(prob=0.5, direction=horizontal)"
    data = make_sample()
    del data["flip_indices"]
    with pytest.raises(KeyError, match="flip_indices"):
        RandomFlip(prob=1.0)(data)


# -------------------------------------------------------------------------------------------------- RandomHalfBody


def _half_box(kpts, padding=1.5):
    return kpts.mean(axis=1), (kpts.max(axis=1) - kpts.min(axis=1)) * padding


@pytest.mark.parametrize("upper_prob, part", [(1.0, "upper"), (0.0, "lower")])
def test_random_half_body_picks_sub_box(make_sample, upper_prob, part):
    data = make_sample()
    t = RandomHalfBody(prob=1.0, upper_prioritized_prob=upper_prob)
    out = t(copy.deepcopy(data))
    ids = data["upper_body_ids"] if part == "upper" else data["lower_body_ids"]
    kpts = data["keypoints"][:, ids]
    center, scale = _half_box(kpts)
    np.testing.assert_allclose(out["bbox_center"], center, rtol=1e-5)
    np.testing.assert_allclose(out["bbox_scale"], scale, rtol=1e-5)
    # a sub-box: it holds the chosen keypoints and is smaller than the full box
    lo, hi = out["bbox_center"] - out["bbox_scale"] / 2, out["bbox_center"] + out["bbox_scale"] / 2
    assert (kpts >= lo[:, None] - 1e-4).all() and (kpts <= hi[:, None] + 1e-4).all()
    assert (out["bbox_scale"] / 1.5 <= data["bbox_scale"] / 1.25 + 1e-3).all()


def test_random_half_body_falls_back_to_the_valid_half(make_sample):
    data = make_sample()
    data["keypoints_visible"][:, data["lower_body_ids"]] = 0  # only the upper half is valid
    t = RandomHalfBody(prob=1.0, min_total_keypoints=8, min_upper_keypoints=2, min_lower_keypoints=2)
    t.upper_prioritized_prob = 0.0  # would prefer the lower half, which has too few keypoints
    out = t(copy.deepcopy(data))
    center, scale = _half_box(data["keypoints"][:, data["upper_body_ids"]])
    np.testing.assert_allclose(out["bbox_center"], center, rtol=1e-5)
    np.testing.assert_allclose(out["bbox_scale"], scale, rtol=1e-5)

    # only visible keypoints of the chosen half count
    data = make_sample()
    data["keypoints_visible"][:, [0, 1, 2]] = 0
    out = RandomHalfBody(prob=1.0, upper_prioritized_prob=1.0)(copy.deepcopy(data))
    center, _ = _half_box(data["keypoints"][:, list(range(3, 11))])
    np.testing.assert_allclose(out["bbox_center"], center, rtol=1e-5)


@pytest.mark.parametrize(
    "setup, kwargs",
    [
        ("none", dict(prob=0.0)),
        ("all_hidden", dict(prob=1.0, min_total_keypoints=8)),
        ("few_half", dict(prob=1.0, min_total_keypoints=4, min_upper_keypoints=3, min_lower_keypoints=3)),
    ],
)
def test_random_half_body_no_change(make_sample, setup, kwargs):
    data = make_sample()
    if setup == "all_hidden":
        data["keypoints_visible"][:] = 0
    elif setup == "few_half":
        data["keypoints_visible"][:, data["upper_body_ids"][2:]] = 0
        data["keypoints_visible"][:, data["lower_body_ids"][2:]] = 0
    out = RandomHalfBody(**kwargs)(copy.deepcopy(data))
    np.testing.assert_allclose(out["bbox_center"], data["bbox_center"])
    np.testing.assert_allclose(out["bbox_scale"], data["bbox_scale"])


def test_random_half_body_repr_and_errors(make_sample):
    t = RandomHalfBody(min_total_keypoints=8, min_upper_keypoints=2, min_lower_keypoints=2, padding=1.5, prob=0.3)
    assert repr(t) == (
        "RandomHalfBody(min_total_keypoints=8, min_upper_keypoints=2, min_lower_keypoints=2, padding=1.5, "
        "prob=0.3, upper_prioritized_prob=0.7)"
    )
    data = make_sample()
    del data["upper_body_ids"]
    with pytest.raises(KeyError, match="upper_body_ids"):
        RandomHalfBody(prob=1.0)(data)


# --------------------------------------------------------------------------------------------- RandomBBoxTransform


def test_random_bbox_transform_ranges(make_sample):
    data = make_sample()
    center, scale = data["bbox_center"], data["bbox_scale"]
    np.random.seed(0)
    for _ in range(20):
        out = RandomBBoxTransform(shift_prob=1.0, scale_prob=0.0, rotate_prob=0.0)(copy.deepcopy(data))
        assert not np.allclose(out["bbox_center"], center)
        assert (np.abs(out["bbox_center"] - center) < scale * 0.16).all()
        np.testing.assert_allclose(out["bbox_scale"], scale)
        np.testing.assert_allclose(out["bbox_rotation"], 0)

        out = RandomBBoxTransform(shift_prob=0.0, scale_prob=1.0, rotate_prob=0.0)(copy.deepcopy(data))
        np.testing.assert_allclose(out["bbox_center"], center)
        ratio = out["bbox_scale"] / scale
        assert np.allclose(ratio[:, 0], ratio[:, 1]) and (0.5 < ratio).all() and (ratio < 1.5).all()

        out = RandomBBoxTransform(rotate_factor=90.0, shift_prob=0.0, scale_prob=0.0, rotate_prob=1.0)(
            copy.deepcopy(data)
        )
        assert out["bbox_rotation"].shape == (1,) and out["bbox_rotation"].dtype == np.float32
        assert 0 < abs(out["bbox_rotation"][0]) < 90


def test_random_bbox_transform_is_truncated_normal(make_sample):
    np.random.seed(1)
    t = RandomBBoxTransform(shift_prob=0.0, scale_prob=0.0, rotate_factor=10.0, rotate_prob=1.0)
    rot = np.array([t(make_sample())["bbox_rotation"][0] for _ in range(2000)])
    assert np.abs(rot).max() <= 10.0
    assert 5.0 < rot.std() < 6.0  # the std of N(0, 1) truncated to [-1, 1] is 0.54
    legacy = RandomBBoxTransform(scale_factor=0.25, shift_prob=0.0, rotate_prob=0.0)  # MMPose 1.0's float form
    ratio = legacy(make_sample())["bbox_scale"] / make_sample()["bbox_scale"]
    assert (0.75 <= ratio).all() and (ratio <= 1.25).all()
    assert repr(RandomBBoxTransform(scale_factor=0.5, rotate_factor=40.0)) == (
        "RandomBBoxTransform(shift_prob=0.3, shift_factor=0.16, scale_prob=1.0, scale_factor=0.5, "
        "rotate_prob=0.6, rotate_factor=40.0)"
    )


def test_random_bbox_transform_needs_center_scale(make_sample):
    with pytest.raises(KeyError, match="GetBBoxCenterScale"):
        RandomBBoxTransform()(make_sample(with_cs=False))


# ---------------------------------------------------------------------------------------------------- Albumentation


def _textured(seed=0, shape=(64, 48, 3)):
    return np.random.RandomState(seed).randint(0, 256, shape, dtype=np.uint8)


def test_albumentation_blur_changes_pixels_not_keypoints(make_sample):
    data = TopdownAffine(input_size=(48, 64))(make_sample())
    before = copy.deepcopy(data)
    out = Albumentation(transforms=[dict(type="Blur", blur_limit=(5, 5), p=1.0)])(data)
    assert out["img"].shape == before["img"].shape and out["img"].dtype == np.uint8
    assert np.abs(out["img"].astype(int) - before["img"].astype(int)).mean() > 5
    np.testing.assert_array_equal(out["img"], cv2.blur(before["img"], (5, 5)))
    for key in ("keypoints", "transformed_keypoints", "keypoints_visible", "bbox_center", "bbox_scale"):
        np.testing.assert_array_equal(out[key], before[key])


def test_albumentation_entry_forms():
    img = _textured()
    blur = dict(type="Blur", blur_limit=(3, 3), p=1.0)
    expected = cv2.blur(img, (3, 3))
    for entry in (blur, {"_target_": "albumentations.Blur", "blur_limit": (3, 3), "p": 1.0}, A.Blur((3, 3), p=1.0)):
        out = Albumentation(transforms=[entry])({"img": img.copy()})
        np.testing.assert_array_equal(out["img"], expected)
    # nested compositions and the MMPose test's ToFloat
    t = Albumentation(
        transforms=[dict(type="OneOf", transforms=[blur, dict(type="MedianBlur", blur_limit=3, p=1.0)], p=1.0)]
    )
    assert t({"img": img.copy()})["img"].shape == img.shape
    out = Albumentation(transforms=[dict(type="RandomBrightnessContrast", p=0.2), dict(type="ToFloat")])({"img": img})
    assert out["img"].dtype == np.float32
    transforms = [dict(type="RandomBrightnessContrast", p=0.2), dict(type="ToFloat")]
    t = Albumentation(transforms=transforms, keymap={"img": "image"})
    assert repr(t) == f"Albumentation(transforms={transforms})"


def test_albumentation_errors():
    with pytest.raises(ValueError, match="no transform named 'NotATransform'"):
        Albumentation(transforms=[dict(type="NotATransform")])
    with pytest.raises(ValueError, match=r"Blur.*max_holes"):  # unknown argument: an error, not a silent warning
        Albumentation(transforms=[dict(type="Blur", max_holes=3)])
    with pytest.raises(ValueError, match="Blur"):  # albumentations' own validation error names the transform
        Albumentation(transforms=[dict(type="Blur", blur_limit="x")])
    with pytest.raises(ValueError, match="geometric"):
        Albumentation(transforms=[dict(type="HorizontalFlip", p=1.0)])
    with pytest.raises(KeyError, match="img"):
        Albumentation(transforms=[dict(type="Blur")])({"image": _textured()})


def test_albumentation_coarse_dropout_legacy_args():
    # MMPose's RTMPose configs (albumentations 1.x names)
    t = Albumentation(
        transforms=[
            dict(
                type="CoarseDropout",
                max_holes=1,
                max_height=0.4,
                max_width=0.4,
                min_holes=1,
                min_height=0.2,
                min_width=0.2,
                p=1.0,
            )
        ]
    )
    cd = t.aug.transforms[0]
    assert cd.num_holes_range == (1, 1)
    assert cd.hole_height_range == (0.2, 0.4) and cd.hole_width_range == (0.2, 0.4)
    img = np.full((256, 192, 3), 200, np.uint8)
    out = t({"img": img})["img"]
    dropped = (out == 0).all(axis=2).mean()
    assert 0.2 * 0.2 - 0.01 <= dropped <= 0.4 * 0.4 + 0.01
    assert t.transforms[0]["max_holes"] == 1  # the user's config is not modified


def test_albumentation_follows_numpy_seed():
    t = Albumentation(transforms=[dict(type="RandomBrightnessContrast", p=1.0)])
    img = _textured()
    runs = []
    for seed in (0, 0, 1):
        np.random.seed(seed)
        runs.append(t({"img": img.copy()})["img"])
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


# -------------------------------------------------------------------------------------------- PhotometricDistortion


def _reference_photometric(img, flags):
    """Step-by-step float implementation of the documented semantics."""
    (mode, b_flag, c_flag, hsv_mode, swap_flag, beta, alpha, sat, hue, order) = flags

    def convert(x, a=1.0, b=0.0):
        return np.clip(x.astype(np.float32) * np.float32(a) + np.float32(b), 0, 255).astype(np.uint8)

    if b_flag:
        img = convert(img, b=beta)
    if c_flag and mode == 0:
        img = convert(img, a=alpha)
    if hsv_mode:
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        if hsv_mode in (1, 3):
            hsv[..., 1] = convert(hsv[..., 1], a=sat)
        if hsv_mode in (2, 3):
            hsv[..., 0] = (hsv[..., 0].astype(int) + hue) % 180
        img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    if c_flag and mode == 1:
        img = convert(img, a=alpha)
    if swap_flag:
        img = img[..., order]
    return img


def test_photometric_distortion_matches_reference():
    t = PhotometricDistortion()
    img = _textured(shape=(32, 40, 3))
    changed = 0
    for seed in range(40):
        np.random.seed(seed)
        flags = t._random_flags()
        np.random.seed(seed)
        out = t({"img": img.copy()})["img"]
        assert out.dtype == np.uint8 and out.shape == img.shape
        np.testing.assert_array_equal(out, _reference_photometric(img, flags), err_msg=f"seed {seed}")
        changed += not np.array_equal(out, img)
    assert changed > 30
    assert repr(t) == (
        "PhotometricDistortion(brightness_delta=32, contrast_range=(0.5, 1.5), saturation_range=(0.5, 1.5), "
        "hue_delta=18)"
    )
    with pytest.raises(ValueError, match="uint8"):
        t({"img": img.astype(np.float32)})
