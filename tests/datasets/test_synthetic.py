"""The synthetic COCO-keypoint dataset: valid, deterministic, labelled like COCO, loadable, cached atomically."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from posekit.datasets import CocoDataset, ensure_synthetic_dataset, generate_synthetic_coco, synthetic_paths
from posekit.datasets import synthetic as synthetic_module
from posekit.datasets.synthetic import COCO_KEYPOINT_NAMES, COCO_SKELETON, SYNTHETIC_VERSION, _render_image

SMALL = dict(num_train=8, num_val=4, image_size=(160, 128), seed=3)


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory) -> dict:
    return generate_synthetic_coco(tmp_path_factory.mktemp("syn") / "data", **SMALL)


def _load(path: str):
    return json.loads(Path(path).read_text())


def test_layout_and_coco_fields(small_dataset):
    p = small_dataset
    for split, n, w, h in (("train", 8, 160, 128), ("val", 4, 160, 128)):
        coco = _load(p[f"{split}_ann_file"])
        assert len(coco["images"]) == n
        (cat,) = coco["categories"]
        assert cat["id"] == 1 and cat["name"] == "person"
        assert cat["keypoints"] == COCO_KEYPOINT_NAMES and cat["skeleton"] == COCO_SKELETON
        image_ids = {im["id"] for im in coco["images"]}
        for im in coco["images"]:
            img = cv2.imread(str(Path(p[f"{split}_img_dir"]) / im["file_name"]))
            assert img is not None and img.shape == (h, w, 3) and (im["width"], im["height"]) == (w, h)
        ann_ids = [a["id"] for a in coco["annotations"]]
        assert len(set(ann_ids)) == len(ann_ids)
        for a in coco["annotations"]:
            assert a["image_id"] in image_ids and a["category_id"] == 1 and a["iscrowd"] == 0
            k = np.array(a["keypoints"], dtype=np.float64).reshape(17, 3)
            assert set(np.unique(k[:, 2])) <= {0, 1, 2}
            assert a["num_keypoints"] == int((k[:, 2] > 0).sum())
            x, y, bw, bh = a["bbox"]
            assert 0 <= x and 0 <= y and x + bw <= w and y + bh <= h and bw > 0 and bh > 0
            assert 0 < a["area"] <= bw * bh
            lab = k[k[:, 2] > 0]
            assert ((lab[:, 0] >= 0) & (lab[:, 0] < w) & (lab[:, 1] >= 0) & (lab[:, 1] < h)).all()
            assert (k[k[:, 2] == 0, :2] == 0).all()  # unlabelled keypoints are (0, 0, 0) as in COCO


def test_deterministic(tmp_path, small_dataset):
    again = generate_synthetic_coco(tmp_path / "again", **SMALL)
    for key in ("train_ann_file", "val_ann_file", "val_bbox_file"):
        assert Path(again[key]).read_bytes() == Path(small_dataset[key]).read_bytes(), key
    first = sorted(Path(small_dataset["train_img_dir"]).iterdir())[0]
    assert (Path(again["train_img_dir"]) / first.name).read_bytes() == first.read_bytes()
    other = generate_synthetic_coco(tmp_path / "other", **{**SMALL, "seed": 4})
    assert Path(other["train_ann_file"]).read_bytes() != Path(small_dataset["train_ann_file"]).read_bytes()


def test_labels_are_coco_like(small_dataset):
    anns = _load(small_dataset["train_ann_file"])["annotations"] + _load(small_dataset["val_ann_file"])["annotations"]
    vis = np.concatenate([np.array(a["keypoints"]).reshape(17, 3)[:, 2] for a in anns])
    counts = np.bincount(vis.astype(int), minlength=3)
    assert counts[2] > 0.4 * len(vis)  # mostly visible ...
    assert counts[1] > 0  # ... some labelled but hidden
    assert counts[0] > 0  # ... some unlabelled (outside the image / back of the head)
    per_image: dict[int, int] = {}
    for a in anns:
        per_image[a["image_id"]] = per_image.get(a["image_id"], 0) + 1
    assert max(per_image.values()) >= 2 and np.mean(list(per_image.values())) > 1.5


def test_out_of_image_and_hidden_keypoints():
    """Over a few images: keypoints that fall outside the image are unlabelled, occluded ones are v=1."""
    outside = hidden = 0
    for i in range(30):
        rng = np.random.default_rng([7, 0, i])
        _, persons = _render_image(rng, 96, 96, min_persons=1, max_persons=4, occluder_prob=0.8)
        for p in persons:
            k = np.array(p["keypoints"]).reshape(17, 3)
            hidden += int((k[:, 2] == 1).sum())
            outside += int(((k[:, 2] == 0) & (k[:, 0] == 0) & (k[:, 1] == 0)).sum())
    assert outside > 0 and hidden > 0


def test_visible_keypoints_lie_on_drawn_figures():
    """The same image drawn without its figures differs around visible keypoints; masks contain them."""
    from pycocotools import mask as mask_utils

    near = []
    for i in range(12):
        with_figs, persons = _render_image(np.random.default_rng([1, 0, i]), 128, 128, 1, 4, 0.5)
        without, persons2 = _render_image(np.random.default_rng([1, 0, i]), 128, 128, 1, 4, 0.5, draw_figures=False)
        assert persons == persons2
        diff = np.abs(with_figs.astype(int) - without.astype(int)).sum(axis=-1)
        for p in persons:
            mask = mask_utils.decode(p["segmentation"])
            k = np.array(p["keypoints"]).reshape(17, 3)
            for x, y, _ in k[k[:, 2] == 2]:
                xi, yi = int(round(x)), int(round(y))
                assert mask[max(yi - 1, 0) : yi + 2, max(xi - 1, 0) : xi + 2].any()
                near.append(diff[max(yi - 1, 0) : yi + 2, max(xi - 1, 0) : xi + 2].mean())
    near = np.array(near)
    assert len(near) > 50
    assert np.mean(near > 15) > 0.97, np.percentile(near, [1, 5, 50])


def test_left_right_convention():
    """COCO's convention: in a face-on view the person's left eye is on the image's right."""
    votes = []
    for i in range(60):
        _, persons = _render_image(np.random.default_rng([2, 0, i]), 128, 128, 1, 3, 0.0)
        for p in persons:
            k = np.array(p["keypoints"]).reshape(17, 3)
            if k[0, 2] == 2 and k[1, 2] == 2 and k[2, 2] == 2:  # nose and both eyes visible
                votes.append(k[1, 0] > k[2, 0])
    assert len(votes) > 20 and np.mean(votes) > 0.85


def test_gt_as_results_scores_ap_one(small_dataset):
    """The annotation file is valid for COCO keypoint evaluation: the ground truth scores AP 1."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(small_dataset["val_ann_file"])
        results = [
            dict(image_id=a["image_id"], category_id=1, keypoints=a["keypoints"], score=1.0)
            for a in gt.dataset["annotations"]
            if a["num_keypoints"] > 0
        ]
        ev = COCOeval(gt, gt.loadRes(results), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_detection_file(small_dataset):
    dets = _load(small_dataset["val_bbox_file"])
    coco = _load(small_dataset["val_ann_file"])
    ids = {im["id"] for im in coco["images"]}
    assert isinstance(dets, list) and dets
    for d in dets:
        assert d["image_id"] in ids and d["category_id"] == 1 and 0 < d["score"] <= 1 and len(d["bbox"]) == 4
        assert d["bbox"][2] > 0 and d["bbox"][3] > 0
    assert len({tuple(d["bbox"]) for d in dets}) == len(dets)
    assert not {tuple(d["bbox"]) for d in dets} & {tuple(a["bbox"]) for a in coco["annotations"]}  # jittered


def test_loads_through_coco_style_dataset(small_dataset):
    p = small_dataset
    train = CocoDataset(p["train_ann"], data_root=p["root"], data_prefix={"img": p["train_img_prefix"]})
    assert len(train) > 8
    item = train[0]
    assert item["keypoints"].shape == (1, 17, 2) and Path(item["img_path"]).is_file()
    val = CocoDataset(p["val_ann"], data_root=p["root"], data_prefix={"img": p["val_img_prefix"]}, test_mode=True)
    assert len(val) > 0
    det = CocoDataset(
        p["val_ann"],
        data_root=p["root"],
        data_prefix={"img": p["val_img_prefix"]},
        bbox_file=p["val_bbox_file"],
        test_mode=True,
        det_bbox_thr=0.3,
    )
    assert len(det) > 0 and all(det[i]["bbox_score"][0] >= 0.3 for i in range(len(det)))


def test_ensure_is_cached_and_atomic(tmp_path, monkeypatch):
    root = tmp_path / "synthetic"
    kwargs = dict(num_train=3, num_val=2, image_size=(64, 64))
    paths = ensure_synthetic_dataset(root, **kwargs)
    assert paths == synthetic_paths(root)
    marker = json.loads((root / "synthetic_dataset.json").read_text())
    assert marker["num_train"] == 3 and marker["version"] == SYNTHETIC_VERSION
    stamp = Path(paths["train_ann_file"]).stat().st_mtime_ns

    def fail(*args, **kwargs):
        raise AssertionError("regenerated although the parameters did not change")

    monkeypatch.setattr(synthetic_module, "generate_synthetic_coco", fail)
    assert ensure_synthetic_dataset(root, **kwargs) == paths
    assert Path(paths["train_ann_file"]).stat().st_mtime_ns == stamp
    monkeypatch.undo()

    # different parameters: regenerated in place
    ensure_synthetic_dataset(root, **{**kwargs, "num_train": 4})
    assert len(_load(paths["train_ann_file"])["images"]) == 4

    # a crash while generating leaves the previous dataset intact and no temporary folders behind
    def crash(out_dir, **kw):
        (Path(out_dir) / "images").mkdir(parents=True)
        raise RuntimeError("boom")

    monkeypatch.setattr(synthetic_module, "generate_synthetic_coco", crash)
    with pytest.raises(RuntimeError, match="boom"):
        ensure_synthetic_dataset(root, **{**kwargs, "num_train": 5})
    assert len(_load(paths["train_ann_file"])["images"]) == 4
    assert sorted(x.name for x in tmp_path.iterdir()) == ["synthetic"]
    with pytest.raises(RuntimeError, match="boom"):
        ensure_synthetic_dataset(tmp_path / "fresh", **kwargs)
    assert not (tmp_path / "fresh").exists()

    with pytest.raises(TypeError, match="unknown parameter"):
        ensure_synthetic_dataset(root, num_images=3)

    # a folder that is not a synthetic dataset is never replaced
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep")
    monkeypatch.undo()
    with pytest.raises(FileExistsError, match="not a posekit synthetic dataset"):
        ensure_synthetic_dataset(foreign, **kwargs)
    assert (foreign / "precious.txt").read_text() == "keep"


def test_cli(tmp_path, capsys):
    synthetic_module.main([str(tmp_path / "cli"), "--num-train", "2", "--num-val", "1", "--image-size", "48", "64"])
    out = json.loads(capsys.readouterr().out)
    assert Path(out["val_bbox_file"]).is_file()
    img = cv2.imread(str(next(Path(out["train_img_dir"]).iterdir())))
    assert img.shape == (64, 48, 3)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="image_size"):
        generate_synthetic_coco(tmp_path / "x", num_train=1, num_val=0, image_size=(8, 8))
    with pytest.raises(ValueError, match="min_persons"):
        generate_synthetic_coco(tmp_path / "x", num_train=1, num_val=0, min_persons=3, max_persons=2)
