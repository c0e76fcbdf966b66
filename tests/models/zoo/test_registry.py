"""The model-zoo registry: metafile parsing, the 142 COCO top-down configs, checkpoint file name -> config stem."""

from __future__ import annotations

import pytest

from posekit.models.zoo import (
    find_stem_for_checkpoint,
    get_model_info,
    list_configs,
    parse_metafile,
    parse_weights_name,
)
from tests.conftest import load_zoo_golden

SNIPPET = """\
Collections:
- Name: HRNet
  Paper:
    Title: Deep high-resolution representation learning for human pose estimation
Models:
- Config: configs/body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py
  In Collection: HRNet
  Metadata:
    Architecture: &id001
    - HRNet
    Training Data: COCO
  Name: td-hm_hrnet-w32_8xb64-210e_coco-256x192
  Results:
  - Dataset: COCO
    Metrics:
      AP: 0.746
      AR: 0.799
    Task: Body 2D Keypoint
  Weights: https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth
- Config: configs/body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_dark-8xb64-210e_coco-256x192.py
  In Collection: DarkPose
  Metadata:
    Architecture: *id001
    Training Data: COCO
  Name: td-hm_hrnet-w32_dark-8xb64-210e_coco-256x192
  Results:
  - Dataset: COCO
    Metrics:
      AP: 0.757
    Task: Body 2D Keypoint
  Weights: https://x/td-hm_hrnet-w32_dark-8xb64-210e_coco-256x192-0e00bf12_20220914.pth
"""


def test_parse_metafile_snippet():
    entries = parse_metafile(SNIPPET, source="hrnet_coco.yml")
    assert [e["stem"] for e in entries] == [
        "td-hm_hrnet-w32_8xb64-210e_coco-256x192",
        "td-hm_hrnet-w32_dark-8xb64-210e_coco-256x192",
    ]
    first, second = entries
    assert first["sha256_prefix"] == "81c58e40" and first["date"] == "20220909"
    assert first["task"] == "body_2d_keypoint" and first["algorithm"] == "topdown_heatmap"
    assert first["results"] == [{"dataset": "COCO", "task": "Body 2D Keypoint", "metrics": {"AP": 0.746, "AR": 0.799}}]
    assert second["architecture"] == ["HRNet"]  # the YAML alias resolves
    assert second["collection"] == "DarkPose" and second["metafile"] == "hrnet_coco.yml"


def test_parse_metafile_errors_name_the_file():
    with pytest.raises(ValueError, match="bad.yml.*Config"):
        parse_metafile("Models:\n- Name: x\n", source="bad.yml")
    with pytest.raises(ValueError, match="bad.yml.*list"):
        parse_metafile("Models: 3\n", source="bad.yml")
    assert parse_metafile("") == []


def test_parse_weights_name():
    p = parse_weights_name("https://a/b/rtmpose-m_simcc-aic-coco_pt-aic-coco_420e-256x192-63eb25f7_20230126.pth")
    assert p == {
        "file": "rtmpose-m_simcc-aic-coco_pt-aic-coco_420e-256x192-63eb25f7_20230126.pth",
        "name": "rtmpose-m_simcc-aic-coco_pt-aic-coco_420e-256x192",
        "sha256_prefix": "63eb25f7",
        "date": "20230126",
    }
    assert parse_weights_name("/tmp/my_model.pth")["sha256_prefix"] is None


def test_registry_covers_the_142_coco_configs():
    golden = load_zoo_golden()
    coco = list_configs(coco_topdown=True)
    assert coco == sorted(golden)
    assert len(list_configs()) > 300  # every 2D top-down metafile entry
    for stem in coco:
        info = get_model_info(stem)
        assert info.params == golden[stem]["params"]
        assert info.config == golden[stem]["config"]
    # all but the one unpublished config have a published checkpoint
    unpublished = [s for s in coco if get_model_info(s).weights is None]
    assert unpublished == ["td-hm-vis_res50_8xb64-210e_coco-aic-256x192-merge"]


def test_get_model_info_fields():
    info = get_model_info("td-hm_hrnet-w32_8xb64-210e_coco-256x192")
    assert info.config == "configs/body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py"
    assert info.weights.endswith("td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth")
    assert info.sha256_prefix == "81c58e40"
    assert (info.coco_ap, info.coco_ar) == (0.746, 0.799)
    assert info.params == 28536113 and info.input_size == (192, 256)
    assert get_model_info(info.config) is info  # a config path works too
    # the debias metafile misspells its config ("--"); the registry points at the shipped one
    assert get_model_info("ipr_res50_debias-8xb64-210e_coco-256x256").coco_ap == 0.675
    with pytest.raises(KeyError, match="did you mean"):
        get_model_info("td-hm_hrnet-w32_8xb64-210e_coco-256x193")


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        # published file named unlike its config
        ("cspnext-m_udp-aic-coco_210e-256x192-f2f7d6f6_20230130.pth", "cspnext-m_udp_8xb256-210e_aic-coco-256x192"),
        (
            "https://download.openmmlab.com/mmpose/v1/projects/rtmposev1/"
            "rtmpose-m_simcc-aic-coco_pt-aic-coco_420e-256x192-63eb25f7_20230126.pth",
            "rtmpose-m_8xb256-420e_aic-coco-256x192",
        ),
        # named after the config: published, re-hashed, or bare
        ("scnet50_coco_384x288-9cacd0ea_20200709.pth", "td-hm_scnet50_8xb32-210e_coco-384x288"),
        (
            "/ckpts/td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth",
            "td-hm_hrnet-w32_8xb64-210e_coco-256x192",
        ),
        ("td-hm_hrnet-w32_8xb64-210e_coco-256x192-deadbeef_20990101.pth", "td-hm_hrnet-w32_8xb64-210e_coco-256x192"),
        ("td-hm_res50_8xb64-210e_coco-256x192.pth", "td-hm_res50_8xb64-210e_coco-256x192"),
        # MMPose lists the res101 256x192 file under two configs: the one it is named after wins
        ("td-hm_res101_8xb64-210e_coco-256x192-065d3625_20220926.pth", "td-hm_res101_8xb64-210e_coco-256x192"),
        ("my_finetuned_model.pth", None),
    ],
)
def test_find_stem_for_checkpoint(name, stem):
    assert find_stem_for_checkpoint(name) == stem


def test_every_published_coco_checkpoint_maps_back():
    for stem in list_configs(coco_topdown=True):
        info = get_model_info(stem)
        if info.weights:
            found = find_stem_for_checkpoint(info.weights)
            # the duplicated res101 file resolves to the config it is named after
            assert found == stem or (found, stem) == (
                "td-hm_res101_8xb64-210e_coco-256x192",
                "td-hm_res101_8xb32-210e_coco-384x288",
            ), (stem, found)
