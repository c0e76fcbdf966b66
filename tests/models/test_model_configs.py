"""Packaged model configs: each builds through Hydra and matches MMPose 1.3.2's parameter count and state-dict
entries (names and shapes) exactly (``tests/data/golden/model_<name>_256x192.json``)."""

from __future__ import annotations

import json

import pytest
import torch

from posekit import conf_dir
from posekit.models import TopdownPoseEstimator, build_model, build_model_from_cfg, list_models

GOLDEN_MODELS = ["res50", "hrnet_w32", "hrnet_w48", "litehrnet_18", "mobilenetv2", "simcc_res50", "res50_rle"]
MY_MODELS = ["tiny", *GOLDEN_MODELS]


def _codec_of(name: str) -> str:
    text = (conf_dir() / "model" / f"{name}.yaml").read_text()
    line = next(ln for ln in text.splitlines() if "/codec@_global_.codec:" in ln)
    return line.split(":", 1)[1].strip()


def _require_codec(name: str) -> None:
    codec = _codec_of(name)
    if not (conf_dir() / "codec" / f"{codec}.yaml").exists():
        pytest.fail(f"conf/codec/{codec}.yaml (used by model {name}) does not exist")


@pytest.mark.parametrize("name", GOLDEN_MODELS)
def test_matches_mmpose_golden(name, golden_dir):
    _require_codec(name)
    golden = json.loads((golden_dir / f"model_{name}_256x192.json").read_text())
    model = build_model(name)
    assert isinstance(model, TopdownPoseEstimator)
    assert sum(p.numel() for p in model.parameters()) == golden["params"]
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    expected = golden["state_dict_shapes"]
    assert sorted(shapes) == sorted(expected), set(shapes) ^ set(expected)
    mismatched = {k: (shapes[k], expected[k]) for k in expected if shapes[k] != expected[k]}
    assert not mismatched
    assert model.test_cfg["flip_test"] is True
    assert model.head.decoder is not None and tuple(model.head.decoder.input_size) == (192, 256)


def test_tiny_config_and_overrides():
    _require_codec("tiny")
    model = build_model("tiny", num_keypoints=3, overrides=["model.test_cfg.flip_test=false"])
    assert model.head.out_channels == 3 and model.test_cfg["flip_test"] is False
    assert model.test_cfg == {"flip_test": False, "flip_mode": "heatmap", "shift_heatmap": True}
    assert model.data_preprocessor.mean.flatten().tolist() == pytest.approx([123.675, 116.28, 103.53])
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, 3, 128, 96))
    assert feats[-1].shape == (1, 64, 8, 6)  # three stages of the narrow ResNet-18: stride 16, 64 channels
    assert sum(p.numel() for p in model.parameters()) < 2_000_000  # the CPU default stays small


def test_configs_are_listed_and_errors():
    assert set(MY_MODELS) <= set(list_models())
    with pytest.raises(ValueError, match="unknown model config"):
        build_model("no_such_model")
    with pytest.raises(ValueError, match="_target_"):
        build_model_from_cfg({"model": {"backbone": {}}})


def test_config_layout():
    """Each config picks its codec at the root and shares it with the head."""
    for name in MY_MODELS:
        text = (conf_dir() / "model" / f"{name}.yaml").read_text()
        assert text.startswith("# @package model"), name
        assert "_target_: posekit.models.TopdownPoseEstimator" in text, name
        assert "decoder: ${codec}" in text, name
        assert "${num_keypoints}" in text, name
    assert (conf_dir() / "model_only.yaml").exists()


def test_build_model_inside_a_hydra_context():
    _require_codec("tiny")
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    with initialize_config_dir(str(conf_dir()), version_base=None):
        build_model("tiny")
        assert GlobalHydra.instance().is_initialized()
        assert compose("model_only").model.backbone.depth == 18  # the caller's context still works
    assert not GlobalHydra.instance().is_initialized()
