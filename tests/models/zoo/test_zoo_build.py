"""Every MMPose 1.3.2 COCO top-down config stem builds (on the meta device) with MMPose's parameter count and exact
state_dict layout (names and shapes, from MMPose's own build in ``tests/data/golden/zoo.json.gz``), its codec,
input size, test_cfg and data preprocessor."""

from __future__ import annotations

import pytest
import torch

from posekit.models import TopdownPoseEstimator, build_model, list_models
from posekit.models.zoo import get_model_info
from tests.conftest import load_zoo_golden

STEMS = sorted(load_zoo_golden())


def _codec_types(codec) -> list[str]:
    return [type(c).__name__ for c in (codec if isinstance(codec, (list, tuple)) else [codec])]


@pytest.mark.parametrize("stem", STEMS)
def test_stem_builds_with_mmpose_layout(stem):
    golden = load_zoo_golden()[stem]
    with torch.device("meta"):
        model = build_model(stem)
    assert isinstance(model, TopdownPoseEstimator)
    assert type(model.backbone).__name__ == golden["backbone"].rsplit(".", 1)[-1]
    assert type(model.head).__name__ == golden["head"]
    assert (type(model.neck).__name__ if getattr(model, "neck", None) is not None else None) == golden["neck"]

    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: list(v) for k, v in golden["state_dict_shapes"].items()}
    missing = sorted(set(theirs) - set(ours))
    extra = sorted(set(ours) - set(theirs))
    assert not missing and not extra, (
        f"{stem}: missing {missing[:5]} (+{len(missing)}), extra {extra[:5]} (+{len(extra)})"
    )
    wrong = {k: (ours[k], theirs[k]) for k in theirs if ours[k] != theirs[k]}
    assert not wrong, f"{stem}: shapes differ (ours, MMPose): {dict(list(wrong.items())[:5])}"
    assert sum(p.numel() for p in model.parameters()) == golden["params"]

    # the codec MMPose's head decodes with, and the input size of the config (the registry also covers the
    # multi-level MSPN/RSN codecs, which the layout golden leaves out)
    info = get_model_info(stem)
    decoder = model.head.decoder if hasattr(model.head, "decoder") else model.head.pose_head.decoder
    assert info.codec in _codec_types(decoder)
    assert tuple(decoder.input_size) == info.input_size


def test_list_models_shows_short_names_and_stems():
    names = list_models()
    assert {"hrnet_w32", "rtmpose_m", "tiny"} <= set(names)
    assert set(STEMS) <= set(names)


def test_build_model_accepts_config_paths_and_names_the_fix():
    golden = load_zoo_golden()["td-hm_res50_8xb64-210e_coco-256x192"]
    with torch.device("meta"):
        model = build_model(golden["config"], num_keypoints=14)  # MMPose's config path works as the name
    assert model.head.final_layer.out_channels == 14
    assert model.test_cfg == {"flip_test": True, "flip_mode": "heatmap", "shift_heatmap": True}
    assert model.data_preprocessor._channel_conversion  # bgr_to_rgb
    with pytest.raises(ValueError, match="closest"):
        build_model("td-hm_res50_8xb64-210e_coco-256x191")


def test_udp_and_dark_codecs_follow_the_config():
    with torch.device("meta"):
        dark = build_model("td-hm_res152_dark-8xb32-210e_coco-384x288")
        vit = build_model("td-hm_ViTPose-base_8xb64-210e_coco-256x192")
    assert dark.head.decoder.unbiased and tuple(dark.head.decoder.heatmap_size) == (72, 96)
    assert dark.head.decoder.blur_kernel_size == 17
    assert type(vit.head.decoder).__name__ == "UDPHeatmap" and vit.test_cfg["shift_heatmap"] is False


def test_train_config_composes_with_a_stem():
    """``posekit-train model=mmpose/<stem>``: the stem's YAML sets the global ``codec`` the data pipeline reads."""
    from hydra import compose, initialize_config_dir

    from posekit import conf_dir

    stem = "td-hm_hrnet-w32_8xb64-210e_coco-384x288"
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        cfg = compose(config_name="train", overrides=[f"model=mmpose/{stem}", "data=coco"])
    assert cfg.model.backbone._target_ == "posekit.models.backbones.HRNet"
    assert list(cfg.codec.input_size) == [288, 384] and cfg.codec.sigma == 3
    assert cfg.model.head.out_channels == cfg.num_keypoints == 17
