"""Every codec variant of the 142 MMPose COCO top-down configs (sizes, sigmas, DARK/UDP flags, the Megvii kernels of
the multi-level MSPN/RSN lists) encodes and decodes as MMPose 1.3.2 does, and GenerateTarget packs the multi-level
heatmaps and the integral-regression heatmap + keypoint-label targets as MMPose does
(``tests/data/golden/zoo_codecs.*``, from ``tests/data/tools/gen_zoo_codec_golden.py``)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import posekit.codecs as codecs
from posekit.datasets.transforms import GenerateTarget
from tests.conftest import load_zoo_golden

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "golden"
TOOL = Path(__file__).resolve().parents[2] / "data" / "tools" / "gen_zoo_codec_golden.py"
_spec = importlib.util.spec_from_file_location("gen_zoo_codec_golden", TOOL)
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)
INDEX = json.loads((GOLDEN / "zoo_codecs.json").read_text())
DATA = dict(np.load(GOLDEN / "zoo_codecs.npz"))


def _build(cfg: dict):
    kwargs = {k: v for k, v in cfg.items() if k != "type"}
    return getattr(codecs, cfg["type"])(**kwargs)


def test_every_config_codec_is_covered():
    covered = {stem for case in INDEX["codecs"] for stem in case["configs"]}
    assert covered == set(load_zoo_golden())


@pytest.mark.parametrize("case", INDEX["codecs"], ids=lambda c: f"{c['id']}-{c['codec']['type']}")
def test_codec_variant_matches_mmpose(case):
    codec = _build(case["codec"])
    kpts, vis = gen.case_keypoints(case["codec"]["input_size"])
    enc = codec.encode(kpts.copy(), vis.copy())
    prefix = f"{case['id']}/enc_"
    expected = {k[len(prefix) :]: v for k, v in DATA.items() if k.startswith(prefix)}
    assert set(enc) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(np.asarray(enc[key]), value, rtol=0, atol=1e-5, err_msg=key)
    keypoints, scores = codec.decode(*gen._decode_args(case["codec"]["type"], enc))
    np.testing.assert_allclose(keypoints, DATA[f"{case['id']}/dec_keypoints"], atol=1e-3, equal_nan=True)
    np.testing.assert_allclose(scores, DATA[f"{case['id']}/dec_scores"], atol=1e-4, equal_nan=True)


@pytest.mark.parametrize("case", INDEX["targets"], ids=lambda c: c["name"])
def test_generate_target_matches_mmpose(case):
    transform = GenerateTarget(encoder=case["encoder"], multilevel=case["multilevel"])
    first = case["encoder"][0] if isinstance(case["encoder"], list) else case["encoder"]
    kpts, vis = gen.case_keypoints(first["input_size"])
    results = transform({"keypoints": kpts.copy(), "keypoints_visible": vis.copy()})
    for key in case["keys"]:
        np.testing.assert_allclose(np.asarray(results[key]), DATA[f"{case['id']}/{key}"], atol=1e-5, err_msg=key)
