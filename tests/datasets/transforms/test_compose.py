"""Compose: order, dropping samples, configs (YAML ``_target_`` and MMPose ``type``) and repr."""

from __future__ import annotations

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from posekit.datasets.transforms import Compose, GetBBoxCenterScale, PackPoseInputs, TopdownAffine
from posekit.structures import PoseSample

PIPELINE_YAML = """
pipeline:
  - _target_: posekit.datasets.transforms.GetBBoxCenterScale
    padding: 1.25
  - _target_: posekit.datasets.transforms.RandomFlip
    prob: 0.0
  - _target_: posekit.datasets.transforms.TopdownAffine
    input_size: [192, 256]
    use_udp: true
  - _target_: posekit.datasets.transforms.PackPoseInputs
"""


def test_compose_runs_in_order_and_stops_on_none():
    calls = []

    def add(name):
        def t(results):
            calls.append(name)
            results[name] = True
            return results

        return t

    out = Compose([add("a"), add("b")])({})
    assert out == {"a": True, "b": True} and calls == ["a", "b"]
    calls.clear()
    assert Compose([add("a"), lambda r: None, add("c")])({}) is None
    assert calls == ["a"]  # nothing after the transform that dropped the sample
    assert Compose([])({"x": 1}) == {"x": 1}


def test_compose_from_yaml_list(make_sample):
    cfg = OmegaConf.create(PIPELINE_YAML)
    for pipeline in (
        Compose(cfg.pipeline),
        instantiate({"_target_": "posekit.datasets.transforms.Compose", "transforms": cfg.pipeline}),
    ):
        assert [type(t).__name__ for t in pipeline] == [
            "GetBBoxCenterScale",
            "RandomFlip",
            "TopdownAffine",
            "PackPoseInputs",
        ]
        assert pipeline[2].input_size == (192, 256) and pipeline[2].use_udp is True
        sample = pipeline(make_sample(with_cs=False))
        assert isinstance(sample, PoseSample) and sample.inputs.shape == (3, 256, 192)
        assert sample.meta["flip"] is False


def test_compose_mmpose_type_dicts(make_sample):
    pipeline = Compose([dict(type="GetBBoxCenterScale"), dict(type="TopdownAffine", input_size=(48, 64))])
    out = pipeline(make_sample(with_cs=False))
    assert out["img"].shape == (64, 48, 3)
    with pytest.raises(ValueError, match="unknown transform type 'NoSuchTransform'"):
        Compose([dict(type="NoSuchTransform")])
    with pytest.raises(ValueError, match="neither '_target_' nor 'type'"):
        Compose([dict(padding=1.0)])
    with pytest.raises(TypeError, match="transforms\\[0\\]"):
        Compose([42])
    with pytest.raises(TypeError, match="must be a list"):
        Compose("GetBBoxCenterScale")


def test_compose_repr():
    pipeline = Compose([GetBBoxCenterScale(padding=1.25), TopdownAffine(input_size=(192, 256))])
    assert repr(pipeline) == (
        "Compose(\n    GetBBoxCenterScale(padding=1.25)\n    TopdownAffine(input_size=(192, 256), use_udp=False)\n)"
    )
    assert len(pipeline) == 2


def test_topdown_affine_checks(make_sample):
    with pytest.raises(AssertionError, match="input_size"):
        TopdownAffine(input_size=(192.5, 256))
    with pytest.raises(AssertionError, match="input_size"):
        TopdownAffine(input_size=(192,))
    data = make_sample()
    data["bbox_center"] = np.concatenate([data["bbox_center"]] * 2)
    data["bbox_scale"] = np.concatenate([data["bbox_scale"]] * 2)
    with pytest.raises(ValueError, match="one instance"):
        TopdownAffine(input_size=(192, 256))(data)
    with pytest.raises(KeyError, match="GetBBoxCenterScale"):
        TopdownAffine(input_size=(192, 256))(make_sample(with_cs=False))
    # aspect ratio fixed to the input's, crop box reported in image space
    out = TopdownAffine(input_size=(192, 256))(make_sample())
    w, h = out["bbox_scale"][0]
    assert abs(w / h - 0.75) < 1e-5 and np.array_equal(out["input_scale"], out["bbox_scale"][0])
    assert repr(TopdownAffine(input_size=(192, 256))) == "TopdownAffine(input_size=(192, 256), use_udp=False)"
    # keypoints with extra columns keep them
    data = make_sample()
    data["keypoints"] = np.concatenate([data["keypoints"], np.full((1, 17, 1), 7.0, np.float32)], axis=-1)
    out = TopdownAffine(input_size=(192, 256))(data)
    assert out["transformed_keypoints"].shape == (1, 17, 3) and (out["transformed_keypoints"][..., 2] == 7).all()
    assert PackPoseInputs()(out).inputs.shape == (3, 256, 192)


def test_pipeline_pickles_for_spawned_workers(make_sample):
    import pickle

    from posekit.datasets.transforms import Albumentation, RandomFlip

    pipeline = Compose(
        [
            GetBBoxCenterScale(),
            RandomFlip(prob=1.0),
            TopdownAffine(input_size=(48, 64)),
            Albumentation([dict(type="Blur")]),
        ]
    )
    clone = pickle.loads(pickle.dumps(pipeline))
    assert repr(clone) == repr(pipeline)
    np.random.seed(3)
    a = pipeline(make_sample(with_cs=False))
    np.random.seed(3)
    b = clone(make_sample(with_cs=False))
    np.testing.assert_array_equal(a["img"], b["img"])
