"""Dataset metainfo: packaged YAMLs hold MMPose 1.x's dataset configs; the loader parses them as MMPose does."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

from posekit.datasets import list_metainfos, load_metainfo
from posekit.datasets.metainfo import METAINFO_DIR, parse_pose_metainfo

NUM_KEYPOINTS = {
    "coco": 17,
    "coco_wholebody": 133,
    "mpii": 16,
    "mpii_trb": 40,
    "crowdpose": 14,
    "aic": 14,
    "onehand10k": 21,
    "wflw": 98,
    "ap10k": 17,
    "ochuman": 17,
    "halpe": 136,
}
PARSED_KEYS = {
    "dataset_name",
    "num_keypoints",
    "keypoint_id2name",
    "keypoint_name2id",
    "upper_body_ids",
    "lower_body_ids",
    "flip_indices",
    "flip_pairs",
    "keypoint_colors",
    "num_skeleton_links",
    "skeleton_links",
    "skeleton_link_colors",
    "dataset_keypoint_weights",
    "sigmas",
}
COCO_SIGMAS = [
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
    0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
]  # fmt: skip


def assert_same_metainfo(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            assert a[key].dtype == b[key].dtype, key
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert a[key] == b[key], key


def to_mmpose_dataset_info(path: Path) -> dict:
    """Write a packaged YAML the way MMPose's configs spell it (dataset_info = dict(keypoint_info=..., ...))."""
    raw = yaml.safe_load(path.read_text())
    return dict(
        dataset_name=raw["dataset_name"],
        paper_info=raw["paper_info"],
        keypoint_info={
            i: dict(name=name, id=i, color=color, type=kpt_type, swap=swap)
            for i, (name, color, kpt_type, swap) in enumerate(raw["keypoints"])
        },
        skeleton_info={i: dict(link=(a, b), id=i, color=color) for i, (a, b, color) in enumerate(raw["skeleton"])},
        joint_weights=raw["joint_weights"],
        sigmas=raw["sigmas"],
    )


# ----------------------------------------------------------------------------------------------------------------------
# packaged files


def test_list_metainfos_has_every_dataset():
    assert set(NUM_KEYPOINTS) <= set(list_metainfos())


@pytest.mark.parametrize("name", sorted(NUM_KEYPOINTS))
def test_packaged_metainfo_is_consistent(name):
    m = load_metainfo(name)
    k = NUM_KEYPOINTS[name]
    assert set(m) == PARSED_KEYS
    assert m["dataset_name"] == name
    assert m["num_keypoints"] == k == len(m["keypoint_id2name"]) == len(m["keypoint_name2id"])
    assert list(m["keypoint_id2name"]) == list(range(k))
    assert all(m["keypoint_name2id"][n] == i for i, n in m["keypoint_id2name"].items())
    # flip is an involution and flip_pairs holds both orders of every swapped pair (as MMPose's parser)
    flip = m["flip_indices"]
    assert sorted(set(flip)) == list(range(k)) and len(flip) == k
    assert all(flip[flip[i]] == i for i in range(k))
    assert sorted(m["flip_pairs"]) == sorted((flip[i], i) for i in range(k) if flip[i] != i)
    # flip partners are left/right of each other wherever the names say so
    for i, j in enumerate(flip):
        a, b = m["keypoint_id2name"][i], m["keypoint_id2name"][j]
        if a.lower().startswith(("left_", "l_")) and i != j:
            assert b.lower().startswith(("right_", "r_")), (a, b)
    assert m["keypoint_colors"].shape == (k, 3) and m["keypoint_colors"].dtype == np.uint8
    assert m["skeleton_link_colors"].shape == (m["num_skeleton_links"], 3)
    assert m["skeleton_link_colors"].dtype == np.uint8
    assert len(m["skeleton_links"]) == m["num_skeleton_links"]
    assert all(isinstance(link, tuple) and 0 <= min(link) and max(link) < k for link in m["skeleton_links"])
    assert m["dataset_keypoint_weights"].shape == (k,) and m["dataset_keypoint_weights"].dtype == np.float32
    assert m["sigmas"].dtype == np.float32
    # MMPose leaves sigmas empty for the hand and face sets that are not scored with OKS
    assert m["sigmas"].shape == ((0,) if name in ("onehand10k", "wflw", "mpii_trb") else (k,))
    assert not set(m["upper_body_ids"]) & set(m["lower_body_ids"])


def test_coco_values_match_mmpose():
    m = load_metainfo("coco")
    np.testing.assert_array_equal(m["sigmas"], np.array(COCO_SIGMAS, dtype=np.float32))
    assert m["flip_indices"] == [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    assert m["flip_pairs"][:4] == [(2, 1), (1, 2), (4, 3), (3, 4)]
    np.testing.assert_array_equal(
        m["dataset_keypoint_weights"],
        np.array([1, 1, 1, 1, 1, 1, 1, 1.2, 1.2, 1.5, 1.5, 1, 1, 1.2, 1.2, 1.5, 1.5], dtype=np.float32),
    )
    assert m["upper_body_ids"] == list(range(11))
    assert m["lower_body_ids"] == list(range(11, 17))
    assert m["skeleton_links"][:3] == [(15, 13), (13, 11), (16, 14)]
    assert m["num_skeleton_links"] == 19
    assert m["keypoint_colors"][0].tolist() == [51, 153, 255]
    assert m["keypoint_colors"][5].tolist() == [0, 255, 0]
    assert m["keypoint_colors"][6].tolist() == [255, 128, 0]
    assert m["keypoint_id2name"][0] == "nose" and m["keypoint_name2id"]["right_ankle"] == 16


def test_ochuman_is_coco_with_its_own_name():
    coco, och = load_metainfo("coco"), load_metainfo("ochuman")
    och["dataset_name"] = "coco"
    assert_same_metainfo(coco, och)


def test_spot_values_other_datasets():
    crowdpose = load_metainfo("crowdpose")
    np.testing.assert_allclose(
        crowdpose["sigmas"],
        [0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089, 0.079, 0.079],
    )
    np.testing.assert_allclose(
        crowdpose["dataset_keypoint_weights"], [0.2, 0.2, 0.2, 1.3, 1.5, 0.2, 1.3, 1.5, 0.2, 0.2, 0.5, 0.2, 0.2, 0.5]
    )
    assert crowdpose["flip_indices"] == [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12, 13]

    mpii = load_metainfo("mpii")
    np.testing.assert_allclose(
        mpii["sigmas"],
        [
            0.089,
            0.083,
            0.107,
            0.107,
            0.083,
            0.089,
            0.026,
            0.026,
            0.026,
            0.026,
            0.062,
            0.072,
            0.179,
            0.179,
            0.072,
            0.062,
        ],
    )
    assert mpii["flip_indices"] == [5, 4, 3, 2, 1, 0, 6, 7, 8, 9, 15, 14, 13, 12, 11, 10]
    assert mpii["upper_body_ids"] == [7, 8, 9, 10, 11, 12, 13, 14, 15]

    ap10k = load_metainfo("ap10k")
    np.testing.assert_allclose(
        ap10k["sigmas"],
        # MMPose's configs/_base_/datasets/ap10k.py order (not COCO's: AP-10K lists the limbs per leg)
        [0.025, 0.025, 0.026, 0.035, 0.035, 0.079, 0.072, 0.062, 0.079, 0.072, 0.062, 0.107, 0.087, 0.089, 0.107]
        + [0.087, 0.089],
    )
    assert ap10k["flip_indices"] == [1, 0, 2, 3, 4, 8, 9, 10, 5, 6, 7, 14, 15, 16, 11, 12, 13]
    assert ap10k["keypoint_id2name"][4] == "Root of tail"

    aic = load_metainfo("aic")
    assert aic["sigmas"][0] == np.float32(0.01388152) and aic["sigmas"][-1] == np.float32(0.01236173)
    assert aic["flip_indices"] == [3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8, 12, 13]

    wb = load_metainfo("coco_wholebody")
    np.testing.assert_array_equal(wb["sigmas"][:17], np.array(COCO_SIGMAS, dtype=np.float32))
    assert wb["sigmas"][17:23].tolist() == pytest.approx([0.068, 0.066, 0.066, 0.092, 0.094, 0.094])
    assert wb["sigmas"][-1] == np.float32(0.031)
    assert wb["flip_indices"][23] == 39 and wb["flip_indices"][31] == 31  # face-0 <-> face-16, face-8 is central
    assert wb["flip_indices"][91] == 112  # left_hand_root <-> right_hand_root
    assert wb["num_skeleton_links"] == 65
    assert (wb["keypoint_name2id"]["left_hand_root"], wb["keypoint_name2id"]["left_thumb1"]) in wb["skeleton_links"]

    halpe = load_metainfo("halpe")
    assert halpe["sigmas"][17:26].tolist() == pytest.approx([0.08] * 3 + [0.089] * 6)
    assert np.all(halpe["sigmas"][26:] == np.float32(0.015))
    assert halpe["num_skeleton_links"] == 67
    assert [halpe["keypoint_id2name"][i] for i in (17, 18, 19, 20, 21)] == [
        "head", "neck", "hip", "left_big_toe", "right_big_toe",
    ]  # fmt: skip

    wflw = load_metainfo("wflw")
    assert wflw["flip_indices"][0] == 32 and wflw["flip_indices"][96] == 97 and wflw["flip_indices"][57] == 57
    assert wflw["num_skeleton_links"] == 0

    onehand = load_metainfo("onehand10k")
    assert onehand["flip_indices"] == list(range(21))
    assert onehand["num_skeleton_links"] == 20


def test_cached_result_cannot_be_corrupted_by_callers():
    m = load_metainfo("coco")
    m["sigmas"][:] = 0
    m["flip_indices"].reverse()
    m["keypoint_name2id"]["nose"] = 99
    again = load_metainfo("coco")
    np.testing.assert_array_equal(again["sigmas"], np.array(COCO_SIGMAS, dtype=np.float32))
    assert again["flip_indices"][:3] == [0, 2, 1]
    assert again["keypoint_name2id"]["nose"] == 0


# ----------------------------------------------------------------------------------------------------------------------
# other inputs: paths, MMPose dicts, MMPose .py configs


@pytest.mark.parametrize("name", sorted(NUM_KEYPOINTS))
def test_mmpose_dict_gives_the_same_result(name):
    info = to_mmpose_dataset_info(METAINFO_DIR / f"{name}.yaml")
    assert_same_metainfo(load_metainfo(info), load_metainfo(name))


def test_yaml_path_and_mmpose_py_config(tmp_path):
    src = METAINFO_DIR / "crowdpose.yaml"
    copy = tmp_path / "my_dataset.yaml"
    copy.write_text(src.read_text())
    assert_same_metainfo(load_metainfo(copy), load_metainfo("crowdpose"))
    assert_same_metainfo(load_metainfo(str(copy)), load_metainfo("crowdpose"))

    # an MMPose dataset config is read as literals (list * int included), never executed
    info = to_mmpose_dataset_info(METAINFO_DIR / "onehand10k.yaml")
    info["joint_weights"] = "@JW@"
    py = tmp_path / "onehand10k_cfg.py"
    py.write_text(f"# comment\ndataset_info = dict(**{{}})\ndataset_info = {info!r}\n".replace("'@JW@'", "[1.] * 21"))
    with pytest.raises(ValueError, match="only contain literals"):
        load_metainfo(py)  # the first assignment uses dict(**...), which is not a literal
    py.write_text(f"dataset_info = {info!r}\n".replace("'@JW@'", "[1.] * 21"))
    assert_same_metainfo(load_metainfo(py), load_metainfo("onehand10k"))


def test_from_file_key_falls_back_to_packaged(tmp_path):
    assert_same_metainfo(load_metainfo(dict(from_file="configs/_base_/datasets/mpii.py")), load_metainfo("mpii"))
    with pytest.raises(FileNotFoundError, match="not a packaged dataset"):
        load_metainfo(dict(from_file=str(tmp_path / "nope.py")))


def test_omegaconf_input():
    omegaconf = pytest.importorskip("omegaconf")
    raw = yaml.safe_load((METAINFO_DIR / "aic.yaml").read_text())
    assert_same_metainfo(load_metainfo(omegaconf.OmegaConf.create(raw)), load_metainfo("aic"))


# ----------------------------------------------------------------------------------------------------------------------
# errors


def test_unknown_name_lists_available():
    with pytest.raises(ValueError, match=r"unknown dataset metainfo 'cocoo'.*coco_wholebody"):
        load_metainfo("cocoo")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_metainfo("/does/not/exist.yaml")
    with pytest.raises(TypeError):
        load_metainfo(17)


GOOD_YAML = """\
dataset_name: tiny
keypoints:
  - [head, [255, 0, 0], upper, '']
  - [left_hand, [0, 255, 0], upper, right_hand]
  - [right_hand, [0, 0, 255], upper, left_hand]
skeleton:
  - [head, left_hand, [1, 2, 3]]
  - [head, right_hand, [4, 5, 6]]
joint_weights: [1.0, 1.5, 1.5]
sigmas: [0.1, 0.2, 0.2]
"""


def test_user_yaml_loads(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(GOOD_YAML)
    m = load_metainfo(path)
    assert m["num_keypoints"] == 3
    assert m["flip_indices"] == [0, 2, 1]
    assert m["flip_pairs"] == [(2, 1), (1, 2)]
    assert m["skeleton_links"] == [(0, 1), (0, 2)]
    assert m["skeleton_link_colors"].tolist() == [[1, 2, 3], [4, 5, 6]]
    assert "paper_info" not in m


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("dataset_name: tiny\n", "", r"missing field\(s\) 'dataset_name'"),
        ("sigmas: [0.1, 0.2, 0.2]\n", "", r"missing field\(s\) 'sigmas'"),
        ("sigmas: [0.1, 0.2, 0.2]", "sigmas: [0.1, 0.2]", r"field 'sigmas' has 2 values but there are 3 keypoints"),
        ("joint_weights: [1.0, 1.5, 1.5]", "joint_weights: [1.0]", r"field 'joint_weights' has 1 values"),
        ("upper, right_hand]", "upper, right_hnd]", r"field 'keypoints'.*unknown swap partner 'right_hnd'"),
        (
            "upper, left_hand]",
            "upper, head]",
            r"'left_hand' swaps with 'right_hand' but 'right_hand' swaps with 'head'",
        ),
        ("[head, right_hand, [4", "[head, rigth_hand, [4", r"field 'skeleton' link 1.*unknown keypoint 'rigth_hand'"),
        ("[head, [255, 0, 0], upper", "[head, [256, 0, 0], upper", r"field 'keypoints' entry 0 \(head\): colour"),
        ("[head, [255, 0, 0], upper", "[head, [255, 0, 0], uper", r"type must be 'upper', 'lower' or ''"),
        ("[right_hand, [0, 0, 255]", "[head, [0, 0, 255]", r"duplicate name 'head'"),
        ("  - [head, [255, 0, 0], upper, '']", "  - [head, [255, 0, 0], upper]", r"field 'keypoints' row 0 must be"),
    ],
)
def test_broken_user_yaml_names_file_and_field(tmp_path, old, new, message):
    assert old in GOOD_YAML
    path = tmp_path / "broken.yaml"
    path.write_text(GOOD_YAML.replace(old, new))
    with pytest.raises(ValueError, match=message) as err:
        load_metainfo(path)
    assert str(path) in str(err.value)


def test_broken_mmpose_dict():
    info = to_mmpose_dataset_info(METAINFO_DIR / "coco.yaml")
    del info["skeleton_info"]
    with pytest.raises(ValueError, match=r"<dict>: missing field\(s\) 'skeleton_info'"):
        load_metainfo(info)
    info = to_mmpose_dataset_info(METAINFO_DIR / "coco.yaml")
    info["keypoint_info"][20] = info["keypoint_info"].pop(16)
    with pytest.raises(ValueError, match="ids must be 0..16"):
        load_metainfo(info)
    info = to_mmpose_dataset_info(METAINFO_DIR / "coco.yaml")
    info["skeleton_info"][0]["link"] = ("left_ankle", "left_toe")
    with pytest.raises(ValueError, match="unknown keypoint 'left_toe'"):
        parse_pose_metainfo(info, source="my_config.py")


def test_invalid_yaml_syntax(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent("dataset_name: [unclosed\n"))
    with pytest.raises(ValueError, match="not valid YAML"):
        load_metainfo(path)


# ----------------------------------------------------------------------------------------------------------------------
# agreement with the real annotation files


ANNOTATIONS = {
    "coco": "coco/test_coco.json",
    "ochuman": "ochuman/test_ochuman.json",
    "crowdpose": "crowdpose/test_crowdpose.json",
    "aic": "aic/test_aic.json",
    "ap10k": "ap10k/test_ap10k.json",
    "onehand10k": "onehand10k/test_onehand10k.json",
    "wflw": "wflw/test_wflw.json",
    "coco_wholebody": "coco/test_keypoint_partition_metric.json",
}


@pytest.mark.parametrize("name", sorted(ANNOTATIONS))
def test_keypoint_count_matches_annotations(testdata_dir, name):
    data = json.loads((testdata_dir / ANNOTATIONS[name]).read_text())
    counts = {len(ann["keypoints"]) // 3 for ann in data["annotations"] if "keypoints" in ann}
    assert counts == {load_metainfo(name)["num_keypoints"]}


def test_mpii_count_matches_annotations(testdata_dir):
    data = json.loads((testdata_dir / "mpii" / "test_mpii.json").read_text())  # MMPose's converted MPII: a list
    assert {len(item["joints"]) for item in data} == {load_metainfo("mpii")["num_keypoints"]}


def test_wholebody_parts_match_annotations(testdata_dir):
    """COCO-WholeBody stores body / foot / face / hands separately; their concatenation is the 133-keypoint order."""
    ann = json.loads((testdata_dir / "coco" / "test_coco_wholebody.json").read_text())["annotations"][0]
    parts = ["keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts"]
    sizes = [len(ann[p]) // 3 for p in parts]
    assert sizes == [17, 6, 68, 21, 21]
    names = load_metainfo("coco_wholebody")["keypoint_id2name"]
    starts = np.cumsum([0] + sizes)[:-1]
    assert [names[int(s)] for s in starts] == ["nose", "left_big_toe", "face-0", "left_hand_root", "right_hand_root"]


@pytest.mark.parametrize("name", ["coco", "ochuman", "onehand10k"])
def test_keypoint_names_match_annotation_categories(testdata_dir, name):
    category = json.loads((testdata_dir / ANNOTATIONS[name]).read_text())["categories"][0]
    m = load_metainfo(name)
    assert category["keypoints"] == [m["keypoint_id2name"][i] for i in range(m["num_keypoints"])]
