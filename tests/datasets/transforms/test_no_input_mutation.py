"""No packaged transform writes into the arrays it receives (a cached dataset item, a user's array).

Every array of the input results dict is made read-only (numpy raises on any in-place write) and compared with
a copy afterwards; the transforms run with every random branch forced on. A transform added to
``posekit.datasets.transforms`` without a case here fails ``test_every_transform_is_covered``.
"""

from __future__ import annotations

import copy
import inspect

import numpy as np
import pytest

import posekit.datasets.transforms as T
from posekit.codecs import MSRAHeatmap, SimCCLabel, UDPHeatmap
from posekit.testing import get_coco_sample


def _freeze(obj):
    """Make every ndarray inside ``obj`` (dicts / lists / tuples) read-only."""
    if isinstance(obj, np.ndarray):
        obj.flags.writeable = False
    elif isinstance(obj, dict):
        for v in obj.values():
            _freeze(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _freeze(v)
    return obj


def _assert_same(before, after, path="results"):
    if isinstance(before, np.ndarray):
        assert isinstance(after, np.ndarray), path
        assert before.dtype == after.dtype and np.array_equal(before, after, equal_nan=True), f"{path} was modified"
    elif isinstance(before, dict):
        for k, v in before.items():
            _assert_same(v, after[k], f"{path}[{k!r}]")
    elif isinstance(before, (list, tuple)):
        for i, (a, b) in enumerate(zip(before, after)):
            _assert_same(a, b, f"{path}[{i}]")
    else:
        assert before == after, f"{path} was modified"


def _sample(num_instances: int = 2, **kw) -> dict:
    results = get_coco_sample(img_shape=(120, 160), num_instances=num_instances, **kw)
    results["ori_shape"] = results["img_shape"]
    results["bbox_score"] = np.ones(num_instances, dtype=np.float32)
    return results


def _one() -> dict:
    return _sample(num_instances=1)


def _affine_sample() -> dict:
    """A single-person sample after TopdownAffine (what the later transforms receive)."""
    return T.TopdownAffine(input_size=(96, 128))(_one())


def _cases():
    """(name, transform, results factory) for every packaged transform."""
    return [
        ("GetBBoxCenterScale", T.GetBBoxCenterScale(), lambda: _sample(with_bbox_cs=False)),
        ("GetBBoxCenterScale(existing cs)", T.GetBBoxCenterScale(padding=1.25), _sample),
        ("RandomFlip(horizontal)", T.RandomFlip(prob=1.0, direction="horizontal"), _sample),
        ("RandomFlip(vertical)", T.RandomFlip(prob=1.0, direction="vertical"), lambda: _sample(with_img_mask=True)),
        ("RandomFlip(diagonal)", T.RandomFlip(prob=1.0, direction="diagonal"), _sample),
        ("RandomHalfBody", T.RandomHalfBody(min_total_keypoints=1, min_upper_keypoints=1, prob=1.0), _sample),
        (
            "RandomBBoxTransform",
            T.RandomBBoxTransform(shift_prob=1.0, scale_prob=1.0, rotate_prob=1.0),
            _sample,
        ),
        ("TopdownAffine", T.TopdownAffine(input_size=(96, 128)), _one),
        ("TopdownAffine(udp)", T.TopdownAffine(input_size=(96, 128), use_udp=True), _one),
        ("PhotometricDistortion", T.PhotometricDistortion(), _affine_sample),
        (
            "Albumentation",
            T.Albumentation(transforms=[dict(type="CoarseDropout", max_holes=1, max_height=0.4, max_width=0.4,
                                             min_holes=1, min_height=0.2, min_width=0.2, p=1.0),
                                        dict(type="Blur", p=1.0)]),
            _affine_sample,
        ),
        (
            "GenerateTarget(MSRA)",
            T.GenerateTarget(MSRAHeatmap(input_size=(96, 128), heatmap_size=(24, 32), sigma=2.0),
                             use_dataset_keypoint_weights=True),
            _affine_sample,
        ),
        (
            "GenerateTarget(UDP+SimCC)",
            T.GenerateTarget([UDPHeatmap(input_size=(96, 128), heatmap_size=(24, 32), sigma=2.0),
                              SimCCLabel(input_size=(96, 128), sigma=(4.9, 5.66), simcc_split_ratio=2.0)]),
            _affine_sample,
        ),
        (
            "GenerateTarget(multilevel)",
            T.GenerateTarget([MSRAHeatmap(input_size=(96, 128), heatmap_size=(24, 32), sigma=s) for s in (2, 3)],
                             multilevel=True),
            _affine_sample,
        ),
        ("KeypointConverter", T.KeypointConverter(num_keypoints=5, mapping=[(0, 0), (1, 1), (2, 4)]), _sample),
        ("KeypointConverter(midpoints)", T.KeypointConverter(num_keypoints=3, mapping=[((5, 6), 0), (0, 2)]), _sample),
        (
            "PackPoseInputs",
            T.PackPoseInputs(),
            lambda: T.GenerateTarget(MSRAHeatmap(input_size=(96, 128), heatmap_size=(24, 32), sigma=2.0))(
                _affine_sample()
            ),
        ),
        ("FilterAnnotations", T.FilterAnnotations(by_box=True, by_area=True, min_kpt_vis=20, keep_empty=False),
         lambda: {**_sample(), "area": np.array([50.0, 5000.0]), "category_id": [1, 1]}),
        ("LoadImage(array)", T.LoadImage(), lambda: {"img": np.zeros((8, 8, 3), np.uint8), "img_path": None}),
        ("LoadImage(to_float32)", T.LoadImage(to_float32=True), lambda: {"img": np.zeros((8, 8, 3), np.uint8)}),
    ]


CASES = _cases()


@pytest.mark.parametrize("name,transform,make", CASES, ids=[c[0] for c in CASES])
def test_transform_does_not_write_into_its_inputs(name, transform, make):
    np.random.seed(0)
    results = make()
    inputs = dict(results)  # the caller's references to the arrays
    before = copy.deepcopy(inputs)
    _freeze(inputs)
    out = transform(results)
    assert out is not None, name
    _assert_same(before, inputs)


def test_every_transform_is_covered():
    covered = {name.split("(")[0] for name, _, _ in CASES}
    packaged = {
        n
        for n, obj in vars(T).items()
        if inspect.isclass(obj) and callable(obj) and n not in {"BaseTransform", "Compose"}
    }
    assert packaged <= covered, f"transforms without an immutability case: {sorted(packaged - covered)}"


def test_random_bbox_transform_returns_new_arrays_of_the_same_dtype():
    results = _sample()
    center, scale = results["bbox_center"], results["bbox_scale"]
    out = T.RandomBBoxTransform(shift_prob=1.0, scale_prob=1.0, rotate_prob=1.0)(dict(results))
    assert out["bbox_center"] is not center and out["bbox_scale"] is not scale
    assert out["bbox_center"].dtype == center.dtype and out["bbox_scale"].dtype == scale.dtype


def test_get_bbox_center_scale_existing_scale_gives_a_new_array():
    results = _sample()
    scale = results["bbox_scale"]
    original = scale.copy()
    with pytest.warns(UserWarning, match="existing"):
        out = T.GetBBoxCenterScale(padding=1.25)(results)
    np.testing.assert_array_equal(scale, original)
    np.testing.assert_allclose(out["bbox_scale"], original * 1.25)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keypoint_converter_keeps_the_input_dtype(dtype):
    """MMPose's test compares the mapped keypoints exactly with the source's."""
    results = _sample()
    results["keypoints"] = results["keypoints"].astype(dtype)
    results["keypoints_visible"] = results["keypoints_visible"].astype(dtype)
    src = results["keypoints"].copy()
    out = T.KeypointConverter(num_keypoints=3, mapping=[(4, 0), (2, 2)])(results)
    assert out["keypoints"].dtype == dtype and out["keypoints_visible"].dtype == dtype
    np.testing.assert_array_equal(out["keypoints"][:, 0], src[:, 4])
    np.testing.assert_array_equal(out["keypoints"][:, 2], src[:, 2])
    np.testing.assert_array_equal(out["keypoints_visible"][..., 1], [[1, 0, 1], [1, 0, 1]])


def test_codecs_do_not_write_into_their_inputs():
    import posekit.codecs as C

    kpts = _one()["keypoints"].astype(np.float32) * 0.5
    vis = np.ones(kpts.shape[:2], dtype=np.float32)
    codecs = [
        C.MSRAHeatmap(input_size=(96, 128), heatmap_size=(24, 32), sigma=2.0),
        C.UDPHeatmap(input_size=(96, 128), heatmap_size=(24, 32), sigma=2.0),
        C.MegviiHeatmap(input_size=(96, 128), heatmap_size=(24, 32), kernel_size=11),
        C.RegressionLabel(input_size=(96, 128)),
        C.IntegralRegressionLabel(input_size=(96, 128), heatmap_size=(24, 32), sigma=2.0),
        C.SimCCLabel(input_size=(96, 128), sigma=(4.9, 5.66), simcc_split_ratio=2.0),
    ]
    for codec in codecs:
        k, v = _freeze(kpts.copy()), _freeze(vis.copy())
        codec.encode(k, v)
        np.testing.assert_array_equal(k, kpts)
        np.testing.assert_array_equal(v, vis)
