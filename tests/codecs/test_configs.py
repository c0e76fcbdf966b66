"""Every codec config in ``conf/codec`` instantiates with Hydra into a working codec."""

from __future__ import annotations

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

import posekit
from posekit.codecs import BaseKeypointCodec, MSRAHeatmap, SimCCLabel

CODEC_DIR = posekit.conf_dir() / "codec"
REQUIRED = {
    "msra_256x192",
    "msra_dark_256x192",
    "msra_128x96",
    "udp_256x192",
    "simcc_256x192",
    "simcc_res50_256x192",
    "regression_256x192",
    "integral_256x192",
}


def test_required_configs_exist():
    assert REQUIRED <= {p.stem for p in CODEC_DIR.glob("*.yaml")}


@pytest.mark.parametrize("path", sorted(CODEC_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_config_instantiates_and_encodes(path):
    codec = instantiate(OmegaConf.load(path))
    assert isinstance(codec, BaseKeypointCodec)
    assert isinstance(codec.input_size, tuple)  # plain tuples, not ListConfig (pickled into data workers)
    w, h = codec.input_size
    keypoints = np.array([[[w / 2, h / 2], [w / 3, h / 4]]], np.float32)
    encoded = codec.encode(keypoints)
    assert encoded["keypoint_weights"].shape == (1, 2)


def test_config_values():
    msra = instantiate(OmegaConf.load(CODEC_DIR / "msra_128x96.yaml"))
    assert isinstance(msra, MSRAHeatmap) and msra.heatmap_size == (24, 32) and msra.input_size == (96, 128)
    rtm = instantiate(OmegaConf.load(CODEC_DIR / "simcc_256x192.yaml"))
    assert isinstance(rtm, SimCCLabel) and not rtm.normalize and not rtm.use_dark
    np.testing.assert_array_equal(rtm.sigma, [4.9, 5.66])
    assert instantiate(OmegaConf.load(CODEC_DIR / "msra_dark_256x192.yaml")).unbiased
