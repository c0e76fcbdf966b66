"""CocoStyleDataset and MMPose's dataset classes on the real MMPose sample annotations (and small tmp files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posekit.datasets import (
    AicDataset,
    AP10KDataset,
    CocoDataset,
    CocoStyleDataset,
    CocoWholeBodyDataset,
    CrowdPoseDataset,
    MpiiDataset,
    MpiiTrbDataset,
    OCHumanDataset,
    OneHand10KDataset,
    WFLWDataset,
    load_metainfo,
)

# folder, annotation file, class, metainfo name, K, number of items (MMPose 1.3.2's counts where its tests have them)
SAMPLE_SETS = [
    ("coco", "test_coco.json", CocoDataset, "coco", 17, 12),
    ("mpii", "test_mpii.json", MpiiDataset, "mpii", 16, 5),
    ("crowdpose", "test_crowdpose.json", CrowdPoseDataset, "crowdpose", 14, 4),
    ("aic", "test_aic.json", AicDataset, "aic", 14, 9),
    ("onehand10k", "test_onehand10k.json", OneHand10KDataset, "onehand10k", 21, 4),
    ("wflw", "test_wflw.json", WFLWDataset, "wflw", 98, 4),
    ("ap10k", "test_ap10k.json", AP10KDataset, "ap10k", 17, 2),
    ("ochuman", "test_ochuman.json", OCHumanDataset, "ochuman", 17, 5),
    ("coco", "test_coco_wholebody.json", CocoWholeBodyDataset, "coco_wholebody", 133, 12),
    ("mpii", "test_mpii_trb.json", MpiiTrbDataset, "mpii_trb", 40, 5),
]

METAINFO_ITEM_KEYS = (
    "dataset_name",
    "flip_indices",
    "flip_pairs",
    "upper_body_ids",
    "lower_body_ids",
    "dataset_keypoint_weights",
    "skeleton_links",
    "sigmas",
)


def check_item(item: dict, k: int, metainfo: dict, gt: bool = True) -> None:
    for key in ("img_path", "img_id", "id", "category_id", "bbox", "bbox_score", "keypoints", "keypoints_visible"):
        assert key in item, key
    assert isinstance(item["img_path"], str) and Path(item["img_path"]).is_file(), item["img_path"]
    assert item["bbox"].shape == (1, 4) and item["bbox"].dtype == np.float32
    x1, y1, x2, y2 = item["bbox"][0]
    assert x2 > x1 and y2 > y1
    assert item["bbox_score"].shape == (1,) and item["bbox_score"].dtype == np.float32
    assert item["keypoints"].shape == (1, k, 2) and item["keypoints"].dtype == np.float32
    assert item["keypoints_visible"].shape == (1, k) and item["keypoints_visible"].dtype == np.float32
    assert set(np.unique(item["keypoints_visible"])) <= {0.0, 1.0}
    if gt:  # detection items carry no annotation (as MMPose)
        assert "raw_ann_info" in item
    for key in METAINFO_ITEM_KEYS:
        assert key in item, key
    assert item["dataset_name"] == metainfo["dataset_name"]
    assert len(item["flip_indices"]) == k
    assert item["dataset_keypoint_weights"].shape == (k,)
    assert item["sigmas"].shape in ((k,), (0,))  # MMPose's hand / face metainfos have no sigmas
    if "area" in item:
        assert item["area"].shape == (1,) and item["area"].dtype == np.float32


@pytest.mark.parametrize("folder,ann,cls,name,k,n", SAMPLE_SETS, ids=[s[0] for s in SAMPLE_SETS])
@pytest.mark.parametrize("test_mode", [False, True])
def test_sample_sets_load(testdata_dir, folder, ann, cls, name, k, n, test_mode):
    root = testdata_dir / folder
    ds = cls(ann_file=ann, data_root=str(root), test_mode=test_mode)
    assert ds.metainfo["dataset_name"] == name and ds.metainfo["num_keypoints"] == k
    assert ds.ann_file == str(root / ann)
    assert len(ds) == n
    for i in range(len(ds)):
        check_item(ds[i], k, ds.metainfo)
    ids = [ds[i]["id"] for i in range(len(ds))]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "folder,ann,cls,name,k,n",
    [s for s in SAMPLE_SETS if s[2] is not CocoWholeBodyDataset],  # its parts need the subclass
    ids=[s[0] for s in SAMPLE_SETS if s[2] is not CocoWholeBodyDataset],
)
def test_base_class_with_named_metainfo(testdata_dir, folder, ann, cls, name, k, n):
    """The base class reads every sample file too (MPII's list format is recognised) given the metainfo name."""
    ds = CocoStyleDataset(ann, data_root=str(testdata_dir / folder), metainfo=name)
    assert len(ds) == n
    assert ds[0]["keypoints"].shape == (1, k, 2)


def test_coco_item_values(testdata_dir):
    raw = json.loads((testdata_dir / "coco" / "test_coco.json").read_text())
    ds = CocoStyleDataset("test_coco.json", data_root=str(testdata_dir / "coco"))
    item = ds[0]
    ann = raw["annotations"][0]
    assert item["id"] == ann["id"] == 442619 and item["img_id"] == 785
    np.testing.assert_allclose(item["bbox"], [[280.79, 44.73, 499.49, 391.41]], rtol=1e-6)
    kpts = np.array(ann["keypoints"], dtype=np.float32).reshape(-1, 3)
    np.testing.assert_array_equal(item["keypoints"][0], kpts[:, :2])
    np.testing.assert_array_equal(item["keypoints_visible"][0], np.minimum(1, kpts[:, 2]))
    assert item["num_keypoints"] == 17 and item["iscrowd"] == 0 and item["category_id"] == 1
    np.testing.assert_allclose(item["area"], [ann["area"]], rtol=1e-6)
    assert item["img_shape"] == item["ori_shape"] == (425, 640)
    assert item["img_path"] == str(testdata_dir / "coco" / "000000000785.jpg")
    assert item["raw_ann_info"] == ann
    assert item["segmentation"] == ann["segmentation"]
    # the two annotations with num_keypoints == 0 (ids 1202706, 508900) are gone, in test mode too (as MMPose)
    all_ids = {ds[i]["id"] for i in range(len(ds))}
    assert 1202706 not in all_ids and 508900 not in all_ids


def test_mpii_center_scale(testdata_dir):
    """MMPose's MPII conversion: scale x 200 px, centre moved down by 15 px at scale 1, 1-based -> 0-based."""
    ds = MpiiDataset("test_mpii.json", data_root=str(testdata_dir / "mpii"))
    item = ds[0]
    s = 4.718488 * 200
    center = np.array([966.0 - 1, 340.0 + 15.0 / 200 * s - 1])
    np.testing.assert_allclose(item["bbox_center"], [center], rtol=1e-5)
    np.testing.assert_allclose(item["bbox_scale"], [[s, s]], rtol=1e-5)
    np.testing.assert_allclose(item["bbox"], [np.concatenate([center - s / 2, center + s / 2])], rtol=1e-5)
    assert item["img_id"] == 5808361 and item["id"] == 0


def test_wflw_box_from_center_scale(testdata_dir):
    item = WFLWDataset("test_wflw.json", data_root=str(testdata_dir / "wflw"))[0]
    np.testing.assert_allclose(item["bbox"], [[440.0, 122.0, 525.0, 207.0]], rtol=1e-6)
    np.testing.assert_allclose(item["bbox_scale"], [[85.0, 85.0]], rtol=1e-6)


def test_crowdpose_crowd_index(testdata_dir):
    ds = CrowdPoseDataset("test_crowdpose.json", data_root=str(testdata_dir / "crowdpose"))
    assert all("crowd_index" in ds[i] for i in range(len(ds)))


def test_coco_wholebody_concatenates_the_parts(testdata_dir):
    root = testdata_dir / "coco"
    ds = CocoWholeBodyDataset("test_coco_wholebody.json", data_root=str(root))
    raw = json.loads((root / "test_coco_wholebody.json").read_text())
    by_id = {a["id"]: a for a in raw["annotations"]}
    item = ds[0]
    ann = by_id[item["id"]]
    parts = ann["keypoints"] + ann["foot_kpts"] + ann["face_kpts"] + ann["lefthand_kpts"] + ann["righthand_kpts"]
    want = np.asarray(parts, dtype=np.float32).reshape(1, 133, 3)
    np.testing.assert_array_equal(item["keypoints"], want[..., :2])
    np.testing.assert_array_equal(item["keypoints_visible"], (want[..., 2] > 0).astype(np.float32))
    # elsewhere in the file some hand v are confidences in (0, 1): visibility is still 0 / 1
    raw_v = np.concatenate([np.asarray(a["righthand_kpts"][2::3]) for a in by_id.values()])
    assert ((raw_v > 0) & (raw_v < 1)).any()
    assert set(np.unique(np.concatenate([ds[i]["keypoints_visible"].ravel() for i in range(len(ds))]))) == {0, 1}
    assert item["raw_ann_info"]["keypoints"] == parts and "foot_kpts" in item["raw_ann_info"]
    assert len(ann["keypoints"]) == 17 * 3  # the file itself is not modified
    assert item["dataset_name"] == "coco_wholebody" and len(item["flip_indices"]) == 133
    # a file holding all 133 keypoints in `keypoints` reads as is
    flat = CocoWholeBodyDataset("test_keypoint_partition_metric.json", data_root=str(root))
    assert flat[0]["keypoints"].shape == (1, 133, 2)


def test_mpii_trb(testdata_dir):
    ds = MpiiTrbDataset("test_mpii_trb.json", data_root=str(testdata_dir / "mpii"))
    assert len(ds) == 5 and ds[0]["keypoints"].shape == (1, 40, 2)
    assert [ds[i]["id"] for i in range(len(ds))] == sorted(ds[i]["id"] for i in range(len(ds)))
    item = ds[0]  # id 2736: center (966, 340), scale 0.1756068552 x 200 px, 38 labelled joints
    assert item["id"] == 2736 and item["num_keypoints"] == 38 and item["dataset_name"] == "mpii_trb"
    np.testing.assert_allclose(item["bbox_center"], [[966.0, 340.0]])
    np.testing.assert_allclose(item["bbox_scale"], [[35.12137, 35.12137]], rtol=1e-6)
    assert item["flip_indices"][14:16] == [15, 14] and item["flip_indices"][16] == 22


# ---------------------------------------------------------------------------------------------------------------------
# detections


@pytest.mark.parametrize(
    "kwargs,n",
    [({}, 118), ({"det_bbox_thr": 0.3}, 33), ({"filter_cfg": {"bbox_score_thr": 0.3}}, 33)],
)
def test_bbox_file(testdata_dir, kwargs, n):
    det_file = testdata_dir / "coco" / "test_coco_det_AP_H_56.json"
    dets = json.loads(det_file.read_text())
    ds = CocoDataset(
        "test_coco.json", data_root=str(testdata_dir / "coco"), bbox_file=str(det_file), test_mode=True, **kwargs
    )
    assert len(ds) == n
    thr = kwargs.get("det_bbox_thr", kwargs.get("filter_cfg", {}).get("bbox_score_thr", 0.0))
    kept = [d for d in dets if d["category_id"] == 1 and d["score"] >= thr]
    for i in range(len(ds)):
        item = ds[i]
        det = kept[i]
        x, y, w, h = det["bbox"]
        np.testing.assert_allclose(item["bbox"], [[x, y, x + w, y + h]], rtol=1e-5)
        np.testing.assert_allclose(item["bbox_score"], [det["score"]], rtol=1e-6)
        assert item["bbox_score"][0] >= thr
        assert item["img_id"] == det["image_id"] and Path(item["img_path"]).is_file()
        assert item["keypoints"].shape == (1, 17, 2) and not item["keypoints"].any()
        assert item["keypoints_visible"].shape == (1, 17)
        check_item(item, 17, ds.metainfo, gt=False)
    if "det_bbox_thr" in kwargs:
        assert [ds[i]["id"] for i in range(len(ds))] == list(range(len(ds)))


def test_crowdpose_bbox_file(testdata_dir):
    root = testdata_dir / "crowdpose"
    det = str(root / "test_crowdpose_det_AP_40.json")
    assert len(CrowdPoseDataset("test_crowdpose.json", data_root=str(root), bbox_file=det, test_mode=True)) == 6
    ds = CrowdPoseDataset(
        "test_crowdpose.json", data_root=str(root), bbox_file=det, test_mode=True, filter_cfg={"bbox_score_thr": 0.97}
    )
    assert len(ds) == 5


def test_relative_bbox_file_under_data_root(testdata_dir):
    root = testdata_dir / "crowdpose"
    ds = CrowdPoseDataset(
        "test_crowdpose.json", data_root=str(root), bbox_file="test_crowdpose_det_AP_40.json", test_mode=True
    )
    assert ds.bbox_file == str(root / "test_crowdpose_det_AP_40.json") and len(ds) == 6


def test_bbox_file_needs_test_mode(testdata_dir):
    det = str(testdata_dir / "coco" / "test_coco_det_AP_H_56.json")
    with pytest.raises(ValueError, match="test_mode=True"):
        CocoDataset("test_coco.json", data_root=str(testdata_dir / "coco"), bbox_file=det)


# ---------------------------------------------------------------------------------------------------------------------
# filtering, on a small hand-made file


def _write_coco(tmp_path: Path, anns: list[dict], name: str = "ann.json", k: int = 17, **extra) -> Path:
    images = [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}]
    full = []
    for i, a in enumerate(anns):
        base = {
            "id": i + 1,
            "image_id": 1,
            "category_id": 1,
            "bbox": [10, 10, 30, 40],
            "iscrowd": 0,
            "keypoints": [20, 20, 2] * k,
            "num_keypoints": k,
        }
        base.update(a)
        full.append(base)
    data = {"images": images, "annotations": full, "categories": [{"id": 1, "name": "person"}], **extra}
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("test_mode", [False, True])
def test_filtering(tmp_path, test_mode):
    path = _write_coco(
        tmp_path,
        [
            {},  # 1: valid
            {"iscrowd": 1},  # 2: crowd
            {"num_keypoints": 0, "keypoints": [0, 0, 0] * 17},  # 3: no labelled keypoints
            {"bbox": [50, 50, 0, 10]},  # 4: zero-width box
            {"bbox": [-5, 70, 200, 40], "keypoints": [20, 20, 1] * 17},  # 5: box clipped to the image, v=1
            {"bbox": [150, 10, 10, 10]},  # 6: box entirely right of the image -> zero width after clipping
        ],
    )
    ds = CocoStyleDataset(str(path), test_mode=test_mode)
    assert [ds[i]["id"] for i in range(len(ds))] == [1, 5]
    np.testing.assert_array_equal(ds[1]["bbox"], [[0, 70, 99, 79]])  # clipped to (w - 1, h - 1) as MMPose
    assert (ds[1]["keypoints_visible"] == 1).all()
    # area falls back to 0.53 x box area when the annotation has none (MMPose)
    np.testing.assert_allclose(ds[0]["area"], [30 * 40 * 0.53])

    keep_empty = CocoStyleDataset(str(path), test_mode=test_mode, filter_cfg={"filter_empty_gt": False})
    assert [keep_empty[i]["id"] for i in range(len(keep_empty))] == [1, 3, 5]
    big = CocoStyleDataset(str(path), test_mode=test_mode, filter_cfg={"min_size": 20})
    assert [big[i]["id"] for i in range(len(big))] == [1]  # item 5 is 99 x 9 after clipping
    big = CocoStyleDataset(str(path), test_mode=test_mode, filter_cfg={"min_size": 9})
    assert [big[i]["id"] for i in range(len(big))] == [1, 5]


def test_unknown_filter_key(tmp_path):
    with pytest.raises(ValueError, match="filter_cfg"):
        CocoStyleDataset(str(_write_coco(tmp_path, [{}])), filter_cfg={"bbox_thr": 0.5})


def test_indices_lazy_and_serialization(tmp_path):
    path = _write_coco(tmp_path, [{}, {}, {}, {}])
    lazy = CocoStyleDataset(str(path), lazy_init=True)
    assert not lazy._fully_initialized
    assert len(lazy) == 4 and lazy._fully_initialized
    assert [d["id"] for d in CocoStyleDataset(str(path), indices=2)] == [1, 2]
    assert [d["id"] for d in CocoStyleDataset(str(path), indices=-1)] == [4]
    assert [d["id"] for d in CocoStyleDataset(str(path), indices=[3, 0])] == [4, 1]
    a, b = CocoStyleDataset(str(path)), CocoStyleDataset(str(path), serialize_data=False)
    for i in range(4):
        ia, ib = a[i], b[i]
        assert ia.keys() == ib.keys()
        for key in ia:
            np.testing.assert_equal(ia[key], ib[key])


def test_items_are_copies_and_paths(tmp_path):
    path = _write_coco(tmp_path, [{}])
    ds = CocoStyleDataset("ann.json", data_root=str(tmp_path), data_prefix={"img": "imgs"}, serialize_data=False)
    assert ds.ann_file == str(path)
    item = ds[0]
    assert item["img_path"] == str(tmp_path / "imgs" / "a.jpg")
    item["keypoints"][:] = -1
    item["flip_indices"].append(99)
    again = ds[0]
    assert (again["keypoints"] == 20).all() and 99 not in again["flip_indices"]
    # absolute prefixes are not joined with data_root
    ds = CocoStyleDataset("ann.json", data_root=str(tmp_path), data_prefix={"img": "/elsewhere"})
    assert ds[0]["img_path"] == "/elsewhere/a.jpg"


def test_pycocotools_is_quiet(tmp_path, capsys):
    CocoStyleDataset(str(_write_coco(tmp_path, [{}])))
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------------------------------------------------------------
# pipeline


def test_pipeline_runs_in_order(tmp_path):
    path = _write_coco(tmp_path, [{}, {}])

    def add_a(d):
        d["trace"] = ["a"]
        return d

    def add_b(d):
        d["trace"].append("b")
        return d

    ds = CocoStyleDataset(str(path), pipeline=[add_a, add_b])
    assert ds[0]["trace"] == ["a", "b"]
    ds.pipeline = [add_a]  # replaceable (pipeline switch)
    assert ds[1]["trace"] == ["a"]
    ds.pipeline = add_a  # a single callable (e.g. a Compose)
    assert ds[1]["trace"] == ["a"]


def test_pipeline_none_refetches_in_training(tmp_path):
    path = _write_coco(tmp_path, [{}, {}, {}])
    calls = []

    def drop_first(d):
        calls.append(d["id"])
        return None if d["id"] == 1 else d

    ds = CocoStyleDataset(str(path), pipeline=[drop_first])
    np.random.seed(0)
    out = ds[0]
    assert out["id"] != 1 and calls[0] == 1 and len(calls) >= 2

    with pytest.raises(RuntimeError, match="returned None"):
        CocoStyleDataset(str(path), pipeline=[lambda d: None], max_refetch=3)[0]
    test_ds = CocoStyleDataset(str(path), pipeline=[drop_first], test_mode=True)
    with pytest.raises(RuntimeError, match="test pipeline returned None"):
        test_ds[0]


def test_pipeline_must_be_callables(tmp_path):
    path = _write_coco(tmp_path, [{}])
    with pytest.raises(TypeError, match="_target_"):
        CocoStyleDataset(str(path), pipeline=[{"type": "LoadImage"}])


# ---------------------------------------------------------------------------------------------------------------------
# errors


def test_missing_ann_file(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        CocoStyleDataset("nope/person_keypoints_val2017.json", data_root=str(tmp_path))
    msg = str(e.value)
    assert str(tmp_path / "nope" / "person_keypoints_val2017.json") in msg
    assert "data_root" in msg and "paths.data_dir" in msg


def test_missing_bbox_file(testdata_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="bbox_file"):
        CocoDataset(
            "test_coco.json",
            data_root=str(testdata_dir / "coco"),
            bbox_file=str(tmp_path / "dets.json"),
            test_mode=True,
        )


def test_wrong_keypoint_count(tmp_path):
    path = _write_coco(tmp_path, [{}, {"id": 7, "keypoints": [1, 1, 2] * 14, "num_keypoints": 14}])
    with pytest.raises(ValueError) as e:
        CocoStyleDataset(str(path), metainfo="coco")
    msg = str(e.value)
    assert str(path) in msg and "annotation id 7" in msg and "14 keypoints" in msg and "17" in msg


def test_wrong_keypoint_count_mpii_format(testdata_dir):
    with pytest.raises(ValueError, match="has 16 keypoints but the metainfo 'coco' has 17"):
        CocoStyleDataset("test_mpii.json", data_root=str(testdata_dir / "mpii"), metainfo="coco")


@pytest.mark.parametrize(
    "ann,extra,match",
    [
        ({"bbox": [1, 2, 3]}, {}, "field 'bbox'"),
        ({"keypoints": [1, 2, 3, 4]}, {}, "field 'keypoints'"),
        ({"keypoints": ["a"] * 51}, {}, "field 'keypoints'"),
        ({"image_id": 42}, {}, "image_id 42"),
    ],
)
def test_malformed_fields(tmp_path, ann, extra, match):
    path = _write_coco(tmp_path, [ann], **extra)
    with pytest.raises(ValueError, match=match) as e:
        CocoStyleDataset(str(path))
    assert str(path) in str(e.value)


def test_malformed_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        CocoStyleDataset(str(bad))
    bad.write_text(json.dumps({"annotations": []}))
    with pytest.raises(ValueError, match="'images'"):
        CocoStyleDataset(str(bad))
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": []}))
    with pytest.raises(ValueError, match="width"):
        CocoStyleDataset(str(bad))
    bad.write_text(json.dumps([{"image": "1.jpg", "center": [1, 2]}]))
    with pytest.raises(ValueError, match="joints"):
        CocoStyleDataset(str(bad), metainfo="mpii")
    with pytest.raises(ValueError, match="MPII format"):
        MpiiDataset(str(_write_coco(tmp_path, [{}], k=16)))


def test_nothing_left_is_an_error_in_training(tmp_path):
    path = _write_coco(tmp_path, [{"iscrowd": 1}])
    with pytest.raises(ValueError, match="no instances left"):
        CocoStyleDataset(str(path))
    with pytest.warns(UserWarning, match="no instances left"):
        assert len(CocoStyleDataset(str(path), test_mode=True)) == 0


def test_bottomup_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="top-down"):
        CocoStyleDataset(str(_write_coco(tmp_path, [{}])), data_mode="bottomup")


def test_metainfo_arguments(tmp_path, testdata_dir):
    path = _write_coco(tmp_path, [{}], k=14)
    ds = CocoStyleDataset(str(path), metainfo=load_metainfo("crowdpose"))
    assert ds.metainfo["num_keypoints"] == 14
    meta = ds.metainfo
    meta["num_keypoints"] = 0  # a copy
    assert ds.metainfo["num_keypoints"] == 14
    assert CocoStyleDataset(str(_write_coco(tmp_path, [{}], name="b.json"))).metainfo["dataset_name"] == "coco"
