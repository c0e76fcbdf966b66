"""CocoMetric: parity with MMPose 1.3.2 (goldens + MMPose's own test cases), both APIs, JSON output."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from posekit.evaluation import CocoMetric
from posekit.evaluation.cocoeval import KeypointCOCOeval, load_keypoint_results

REPO_ROOT = Path(__file__).resolve().parents[2]
GOLDEN_DIR = REPO_ROOT / "tests" / "data" / "golden"
TESTDATA_DIR = REPO_ROOT / "tests" / "data" / "mmpose_testdata"

try:
    from posekit.datasets import load_metainfo
except ImportError:  # pragma: no cover - fallback while the datasets package is absent
    load_metainfo = None

# Fallback only (used when posekit.datasets.load_metainfo is missing): MMPose's configs/_base_/datasets sigmas.
_FALLBACK_SIGMAS = {
    "coco": [.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089],
    "ochuman": [.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089],
    "crowdpose": [.079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089, .079, .079],
    "ap10k": [.025, .025, .026, .035, .035, .079, .072, .062, .079, .072, .062, .107, .087, .089, .107, .087, .089],
}  # fmt: skip


def metainfo(name: str) -> dict:
    if load_metainfo is not None:
        return load_metainfo(name)
    sigmas = np.array(_FALLBACK_SIGMAS[name], dtype=np.float32)
    return {"dataset_name": name, "num_keypoints": len(sigmas), "sigmas": sigmas}


def _golden_cases() -> list[str]:
    index = GOLDEN_DIR / "index.json"
    if not index.exists():
        return []
    return sorted(k for k, v in json.loads(index.read_text()).items() if v.get("kind") == "metric")


@pytest.fixture(scope="module")
def golden_index() -> dict:
    path = GOLDEN_DIR / "index.json"
    if not path.exists():
        pytest.fail(f"vendored goldens missing at {GOLDEN_DIR}")
    return json.loads(path.read_text())


def _golden_inputs(case: dict, name: str):
    z = np.load(GOLDEN_DIR / f"{name}.npz")
    ann_file = str(TESTDATA_DIR / case["ann_file"])
    with open(ann_file) as f:
        cat_of = {a["id"]: a["category_id"] for a in json.load(f)["annotations"]}
    kwargs = dict(case["kwargs"], ann_file=ann_file)
    return z, kwargs, cat_of, case["metainfo"].removesuffix(".py")


# --------------------------------------------------------------------------------------------- goldens
@pytest.mark.parametrize("name", _golden_cases())
def test_golden_parity_update_compute(golden_index, name):
    case = golden_index[name]
    z, kwargs, cat_of, dataset = _golden_inputs(case, name)
    metric = CocoMetric(**kwargs, metainfo=metainfo(dataset))
    metas = [
        {
            "id": int(i),
            "img_id": int(im),
            "category_id": cat_of[int(i)],
            "bbox_score": np.ones(1, np.float32),
            "bbox_scale": s[None],
        }
        for i, im, s in zip(z["ids"], z["img_ids"], z["bbox_scales"])
    ]
    # two batches, tensors in (as the Lightning module passes them)
    half = len(metas) // 2 + 1
    kpts, scores = torch.from_numpy(z["keypoints"])[:, None], torch.from_numpy(z["keypoint_scores"])[:, None]
    metric.update(metas[:half], kpts[:half], scores[:half])
    metric.update(metas[half:], kpts[half:], scores[half:])
    results = metric.compute()
    expected = case["results"]
    assert set(results) == set(expected)
    for key, value in expected.items():
        assert results[key] == pytest.approx(value, abs=1e-4), key


@pytest.mark.parametrize("name", [n for n in _golden_cases() if "noise2" in n])
def test_golden_parity_process_evaluate(golden_index, name):
    """MMPose's API on the same inputs gives the same numbers."""
    case = golden_index[name]
    z, kwargs, cat_of, dataset = _golden_inputs(case, name)
    metric = CocoMetric(**kwargs)
    metric.dataset_meta = metainfo(dataset)
    for i, im, k, s, sc in zip(z["ids"], z["img_ids"], z["keypoints"], z["keypoint_scores"], z["bbox_scales"]):
        sample = {
            "id": int(i),
            "img_id": int(im),
            "category_id": cat_of[int(i)],
            "gt_instances": {"bbox_scales": sc[None], "bbox_scores": np.ones(1, np.float32)},
            "pred_instances": {"keypoints": k[None], "keypoint_scores": s[None]},
        }
        metric.process([{"inputs": None}], [sample])
    results = metric.evaluate(size=len(z["ids"]))
    for key, value in case["results"].items():
        assert results[key] == pytest.approx(value, abs=1e-4), key
    assert metric.results == []


# -------------------------------------------------------------------------------------- MMPose's tests
def _coco(path: str) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(path)


def _meta_with_classes(dataset: str, ann_file: str) -> dict:
    meta = metainfo(dataset)
    coco = _coco(ann_file)
    meta["CLASSES"] = coco.loadCats(coco.getCatIds())
    return meta


def _batches(samples: list[dict]) -> list:
    """MMPose's tests feed one sample per batch."""
    return [([{"inputs": None}], [sample]) for sample in samples]


def _with_pseudo_keypoints(n: int):
    """Annotations' keypoints plus ``n`` copies of the first one (CrowdPose's 14 + pseudo keypoints)."""

    def keypoints_of(ann: dict) -> list:
        return list(ann["keypoints"]) + list(ann["keypoints"][:3]) * n

    return keypoints_of


TARGET_COCO = {
    f"coco/{k}": 1.0 for k in ["AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)"]
}
TARGET_CROWDPOSE = {
    "crowdpose/AP": 1.0,
    "crowdpose/AP .5": 1.0,
    "crowdpose/AP .75": 1.0,
    "crowdpose/AR": 1.0,
    "crowdpose/AR .5": 1.0,
    "crowdpose/AR .75": 1.0,
    "crowdpose/AP(E)": -1.0,
    "crowdpose/AP(M)": 1.0,
    "crowdpose/AP(H)": -1.0,
}
TARGET_AP10K = dict(TARGET_COCO, **{"coco/AP (M)": -1.0, "coco/AR (M)": -1.0})


@pytest.fixture(scope="module")
def data(testdata_dir, coco_samples):
    d = {
        "coco_ann": str(testdata_dir / "coco" / "test_coco.json"),
        "crowdpose_ann": str(testdata_dir / "crowdpose" / "test_crowdpose.json"),
        "ap10k_ann": str(testdata_dir / "ap10k" / "test_ap10k.json"),
    }
    d["coco_meta"] = _meta_with_classes("coco", d["coco_ann"])
    d["crowdpose_meta"] = _meta_with_classes("crowdpose", d["crowdpose_ann"])
    d["ap10k_meta"] = _meta_with_classes("ap10k", d["ap10k_ann"])
    d["coco_td"] = _batches(coco_samples.topdown(d["coco_ann"]))
    d["coco_bu"] = _batches(coco_samples.bottomup(d["coco_ann"]))
    d["crowdpose_td"] = _batches(coco_samples.topdown(d["crowdpose_ann"]))
    d["crowdpose_pseudo"] = _batches(coco_samples.topdown(d["crowdpose_ann"], _with_pseudo_keypoints(3)))
    d["ap10k_td"] = _batches(coco_samples.topdown(d["ap10k_ann"]))
    assert len(d["coco_td"]) == 14 and len(d["coco_bu"]) == 4
    assert len(d["crowdpose_td"]) == 5 and len(d["ap10k_td"]) == 2
    return d


def _run(metric, batches, size=None):
    for data_batch, data_samples in batches:
        metric.process(data_batch, data_samples)
    return metric.evaluate(size=len(batches) if size is None else size)


def test_init_errors(data):
    with pytest.raises(ValueError, match="`score_mode` should be one of"):
        CocoMetric(ann_file=data["coco_ann"], score_mode="invalid")
    with pytest.raises(ValueError, match="`nms_mode` should be one of"):
        CocoMetric(ann_file=data["coco_ann"], nms_mode="invalid")
    with pytest.raises(AssertionError, match="`outfile_prefix` can not be None when `format_only` is True"):
        CocoMetric(ann_file=data["coco_ann"], format_only=True, outfile_prefix=None)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        CocoMetric(ann_file="/nonexistent/ann.json")


def test_sort_and_unique(data, tmp_path):
    metric = CocoMetric(ann_file=data["coco_ann"], score_mode="bbox", nms_mode="none")
    metric.dataset_meta = data["coco_meta"]
    batches = data["coco_td"] + [data["coco_td"][0]]  # one sample twice
    assert _run(metric, batches) == TARGET_COCO


def test_format_only(data, tmp_path):
    metric = CocoMetric(
        ann_file=data["coco_ann"], format_only=True, outfile_prefix=f"{tmp_path}/test", score_mode="bbox_keypoint"
    )
    metric.dataset_meta = data["coco_meta"]
    assert _run(metric, data["coco_td"]) == {}
    res_file = tmp_path / "test.keypoints.json"
    assert res_file.is_file()
    results = json.loads(res_file.read_text())
    assert len(results) == 14  # one per annotation: distinct people, OKS NMS keeps them all
    for r in results:
        assert set(r) == {"image_id", "category_id", "keypoints", "score"}
        assert len(r["keypoints"]) == 17 * 3 and isinstance(r["score"], float)
    assert not list(tmp_path.glob("*.tmp"))  # written atomically, nothing left behind
    # a valid COCO results file: pycocotools loads it
    with contextlib.redirect_stdout(io.StringIO()):
        _coco(data["coco_ann"]).loadRes(str(res_file))
    # annotation files without annotations can only be used with format_only
    db = json.loads(Path(data["coco_ann"]).read_text())
    del db["annotations"]
    (tmp_path / "noann.json").write_text(json.dumps(db))
    with pytest.raises(AssertionError, match="Ground truth annotations are required for evaluation"):
        CocoMetric(ann_file=str(tmp_path / "noann.json"), format_only=False)


def test_bottomup(data, tmp_path):
    metric = CocoMetric(
        ann_file=data["coco_ann"], outfile_prefix=f"{tmp_path}/test", score_mode="bbox", nms_mode="none"
    )
    metric.dataset_meta = data["coco_meta"]
    assert _run(metric, data["coco_bu"]) == TARGET_COCO
    assert (tmp_path / "test.keypoints.json").is_file()


def _alignment_batches(ann_file):
    with open(ann_file) as f:
        db = json.load(f)
    out = []
    for ann in db["annotations"]:
        w, h = ann["bbox"][2], ann["bbox"][3]
        keypoints = np.array(ann["keypoints"], dtype=np.float32).reshape(1, -1, 3)
        keypoints[..., 0] *= 0.98
        keypoints[..., 1] *= 1.02
        keypoints[..., 2] *= 0.8
        sample = {
            "id": ann["id"],
            "img_id": ann["image_id"],
            "gt_instances": {
                "bbox_scales": np.array([w * 1.25, h * 1.25]).reshape(-1, 2),
                "bbox_scores": np.ones((1,), dtype=np.float32) * 0.98,
                "bboxes": np.array(ann["bbox"], dtype=np.float32).reshape(-1, 4),
            },
            "pred_instances": {"keypoints": keypoints[..., :2], "keypoint_scores": keypoints[..., -1]},
        }
        out.append(([{"inputs": None}], [sample]))
    return out, db


def test_topdown_alignment(data, tmp_path):
    """MMPose's numbers for perturbed predictions (its test_topdown_alignment)."""
    batches, db = _alignment_batches(data["coco_ann"])
    metric = CocoMetric(ann_file=data["coco_ann"], outfile_prefix=f"{tmp_path}/a1", score_mode="bbox_keypoint")
    metric.dataset_meta = data["coco_meta"]
    target = {
        "coco/AP": 0.5287458745874587,
        "coco/AP .5": 0.9042904290429042,
        "coco/AP .75": 0.5009900990099009,
        "coco/AP (M)": 0.42475247524752474,
        "coco/AP (L)": 0.6219554455445544,
        "coco/AR": 0.5833333333333333,
        "coco/AR .5": 0.9166666666666666,
        "coco/AR .75": 0.5833333333333334,
        "coco/AR (M)": 0.44000000000000006,
        "coco/AR (L)": 0.6857142857142857,
    }
    results = _run(metric, batches)
    assert results == pytest.approx(target, abs=1e-7)

    metric = CocoMetric(ann_file=data["coco_ann"], outfile_prefix=f"{tmp_path}/a2", score_mode="bbox_rle")
    metric.dataset_meta = data["coco_meta"]
    target.update({"coco/AP": 0.5004950495049505, "coco/AP .5": 0.8836633663366337, "coco/AP .75": 0.4679867986798679})
    target["coco/AP (L)"] = 0.5814108910891089
    assert _run(metric, batches) == pytest.approx(target, abs=1e-7)

    # batch of two overlapping predictions per annotation, soft OKS NMS
    batches = []
    for i, ann in enumerate(db["annotations"]):
        w, h = ann["bbox"][2], ann["bbox"][3]
        scales = np.array([w * 1.25, h * 1.25]).reshape(-1, 2)
        samples = []
        for j, (fx, fy, fs, bs) in enumerate(
            [(1 - i / 100, 1 + i / 100, 1 - i / 100, 1.0), (1 + i / 100, 1 - i / 100, 1 - 2 * i / 100, 1 - 2 * i / 100)]
        ):
            kp = np.array(ann["keypoints"], dtype=np.float32).reshape(1, -1, 3)
            kp[..., 0] *= fx
            kp[..., 1] *= fy
            kp[..., 2] *= fs
            samples.append(
                {
                    "id": ann["id"] + j,
                    "img_id": ann["image_id"],
                    "gt_instances": {"bbox_scales": scales, "bbox_scores": np.ones((1,), dtype=np.float32) * bs},
                    "pred_instances": {"keypoints": kp[..., :2], "keypoint_scores": kp[..., -1]},
                }
            )
        batches.append(([{"inputs": None}] * 2, samples))
    metric = CocoMetric(
        ann_file=data["coco_ann"],
        outfile_prefix=f"{tmp_path}/a3",
        keypoint_score_thr=0.2,
        nms_thr=0.9,
        nms_mode="soft_oks_nms",
    )
    metric.dataset_meta = data["coco_meta"]
    target = {
        "coco/AP": 0.17073707370737073,
        "coco/AP .5": 0.25055005500550054,
        "coco/AP .75": 0.10671067106710669,
        "coco/AP (M)": 0.0,
        "coco/AP (L)": 0.29315181518151806,
        "coco/AR": 0.2416666666666666,
        "coco/AR .5": 0.3333333333333333,
        "coco/AR .75": 0.16666666666666666,
        "coco/AR (M)": 0.0,
        "coco/AR (L)": 0.41428571428571426,
    }
    assert _run(metric, batches, size=len(batches) * 2) == pytest.approx(target, abs=1e-7)


@pytest.mark.parametrize(
    ("score_mode", "nms_mode"), [("bbox", "none"), ("bbox_keypoint", "oks_nms"), ("bbox_rle", "soft_oks_nms")]
)
def test_topdown_coco(data, tmp_path, score_mode, nms_mode):
    metric = CocoMetric(
        ann_file=data["coco_ann"], outfile_prefix=f"{tmp_path}/t", score_mode=score_mode, nms_mode=nms_mode
    )
    metric.dataset_meta = data["coco_meta"]
    assert _run(metric, data["coco_td"]) == TARGET_COCO
    assert (tmp_path / "t.keypoints.json").is_file()


def test_topdown_without_ann_file(data, tmp_path):
    metric = CocoMetric(outfile_prefix=f"{tmp_path}/t4")
    metric.dataset_meta = data["coco_meta"]
    assert _run(metric, data["coco_td"]) == TARGET_COCO
    assert (tmp_path / "t4.gt.json").is_file() and (tmp_path / "t4.keypoints.json").is_file()
    # categories are synthesised when the metainfo has no CLASSES
    metric = CocoMetric(outfile_prefix=f"{tmp_path}/t4b", metainfo="coco" if load_metainfo else data["coco_meta"])
    assert _run(metric, data["coco_td"]) == TARGET_COCO
    gt = json.loads((tmp_path / "t4b.gt.json").read_text())
    assert gt["categories"][0]["id"] == 1 and len(gt["annotations"]) == 14


def test_crowdpose(data, tmp_path):
    kw = {"use_area": False, "iou_type": "keypoints_crowd", "prefix": "crowdpose"}
    metric = CocoMetric(ann_file=data["crowdpose_ann"], outfile_prefix=f"{tmp_path}/t5", **kw)
    metric.dataset_meta = data["crowdpose_meta"]
    assert _run(metric, data["crowdpose_td"]) == TARGET_CROWDPOSE
    metric = CocoMetric(outfile_prefix=f"{tmp_path}/t6", **kw)
    metric.dataset_meta = data["crowdpose_meta"]
    assert _run(metric, data["crowdpose_td"]) == TARGET_CROWDPOSE
    assert (tmp_path / "t6.gt.json").is_file()
    assert all("crowdIndex" in img for img in json.loads((tmp_path / "t6.gt.json").read_text())["images"])


def test_ap10k(data, tmp_path):
    for i, ann_file in enumerate([data["ap10k_ann"], None]):
        metric = CocoMetric(ann_file=ann_file, outfile_prefix=f"{tmp_path}/t{7 + i}")
        metric.dataset_meta = data["ap10k_meta"]
        results = _run(metric, data["ap10k_td"])
        assert results == pytest.approx(TARGET_AP10K, abs=1e-7)


def test_gt_converter(data, tmp_path):
    converter = {"type": "KeypointConverter", "num_keypoints": 17, "mapping": [(i, i + 5) for i in range(12)]}
    metric = CocoMetric(
        ann_file=data["crowdpose_ann"],
        outfile_prefix=f"{tmp_path}/conv",
        use_area=False,
        gt_converter=converter,
        iou_type="keypoints_crowd",
        prefix="crowdpose",
    )
    metric.dataset_meta = data["crowdpose_meta"]
    assert metric.dataset_meta["num_keypoints"] == 17 and len(metric.dataset_meta["sigmas"]) == 17
    assert len(data["crowdpose_meta"]["sigmas"]) == 14  # the caller's dict is left alone
    results = _run(metric, data["crowdpose_pseudo"])
    assert set(results) == set(TARGET_CROWDPOSE)
    assert (tmp_path / "conv.keypoints.json").is_file()
    # the original annotations are not converted in place: a second evaluation gives the same numbers
    assert _run(metric, data["crowdpose_pseudo"]) == results


# ----------------------------------------------------------------------------------------- posekit API
def _metas_from_samples(batches):
    metas, kpts, scores = [], [], []
    for _, samples in batches:
        for s in samples:
            metas.append(
                {
                    "id": s["id"],
                    "img_id": s["img_id"],
                    "category_id": s.get("category_id", 1),
                    "bbox_score": s["gt_instances"]["bbox_scores"],
                    "bbox_scale": s["gt_instances"]["bbox_scales"],
                    "ori_shape": tuple(s.get("ori_shape", (640, 480))),
                    "raw_ann_info": s.get("raw_ann_info"),
                    "crowd_index": s.get("crowd_index"),
                }
            )
            kpts.append(s["pred_instances"]["keypoints"])
            scores.append(s["pred_instances"]["keypoint_scores"])
    return metas, np.stack(kpts).astype(np.float32), np.stack(scores).astype(np.float32)


def test_update_equals_process(data, tmp_path):
    batches, _ = _alignment_batches(data["coco_ann"])
    for ann_file in (data["coco_ann"], None):
        for nms_mode in ("oks_nms", "soft_oks_nms", "none"):
            a = CocoMetric(ann_file=ann_file, nms_mode=nms_mode, metainfo=data["coco_meta"])
            b = CocoMetric(ann_file=ann_file, nms_mode=nms_mode, metainfo=data["coco_meta"])
            samples = [
                (db, [dict(s[0], ori_shape=(480, 640), raw_ann_info=r[1][0]["raw_ann_info"])])
                for (db, s), r in zip(batches, data["coco_td"])
            ]
            ra = _run(a, samples)
            metas, kpts, scores = _metas_from_samples(samples)
            for i in range(0, len(metas), 4):  # batches of 4, torch tensors
                b.update(metas[i : i + 4], torch.from_numpy(kpts[i : i + 4]), torch.from_numpy(scores[i : i + 4]))
            assert b.compute() == ra
            assert b.compute() == ra  # compute() keeps the records
            b.reset()
            assert b.results == []


def test_update_crowdpose_without_ann_file(data):
    metric = CocoMetric(use_area=False, iou_type="keypoints_crowd", prefix="crowdpose", metainfo=data["crowdpose_meta"])
    metas, kpts, scores = _metas_from_samples(data["crowdpose_td"])
    metric.update(metas, kpts, scores)
    assert metric.compute() == TARGET_CROWDPOSE
    metric.reset()
    for m in metas:
        m.pop("crowd_index")
    with pytest.raises(AssertionError, match="crowd_index"):
        metric.update(metas, kpts, scores)


def test_update_uses_input_scale_and_defaults(data):
    """Metas without bbox_score / bbox_scale / category_id (input_scale gives the area) still evaluate."""
    metas, kpts, scores = _metas_from_samples(data["coco_td"])
    for m in metas:
        m["input_scale"] = m.pop("bbox_scale")[0]
        del m["bbox_score"], m["category_id"]
    metric = CocoMetric(ann_file=data["coco_ann"], metainfo=data["coco_meta"])
    metric.update(metas, kpts[:, 0], scores[:, 0])  # (B, K, 2) is accepted too
    assert metric.compute() == TARGET_COCO


def test_errors(data):
    metric = CocoMetric(ann_file=data["coco_ann"])
    metas, kpts, scores = _metas_from_samples(data["coco_td"])
    metric.update(metas, kpts, scores)
    with pytest.raises(RuntimeError, match="dataset meta information"):
        metric.compute()
    with pytest.raises(ValueError, match="metas"):
        metric.update(metas[:2], kpts, scores)
    with pytest.warns(UserWarning, match="without any results"):
        assert CocoMetric(ann_file=data["coco_ann"], metainfo=data["coco_meta"]).compute() == {}


# -------------------------------------------------------------------------------------------- COCOeval
def test_keypoint_cocoeval_matches_pycocotools(data):
    """Where xtcocotools and pycocotools agree (COCO, use_area, positive scores), the vectorised OKS gives
    pycocotools' exact statistics."""
    gt = _coco(data["coco_ann"])
    rng = np.random.default_rng(0)
    dets = []
    for ann in gt.dataset["annotations"]:
        if ann["num_keypoints"] == 0:
            continue
        for _ in range(3):
            kp = np.array(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
            kp[:, :2] += rng.normal(0, 6, size=(17, 2))
            kp[:, 2] = rng.uniform(0.1, 1, size=17)
            dets.append(
                {
                    "image_id": ann["image_id"],
                    "category_id": 1,
                    "keypoints": kp.reshape(-1).tolist(),
                    "score": float(rng.uniform()),
                }
            )
    sigmas = np.array(_FALLBACK_SIGMAS["coco"])
    with contextlib.redirect_stdout(io.StringIO()):
        ref = COCOeval(gt, gt.loadRes(copy.deepcopy(dets)), "keypoints")
        ref.params.kpt_oks_sigmas = sigmas
        ref.evaluate()
        ref.accumulate()
        ref.summarize()
        gt2 = _coco(data["coco_ann"])
        ours = KeypointCOCOeval(gt2, load_keypoint_results(gt2, copy.deepcopy(dets)), "keypoints", sigmas)
        ours.evaluate()
        ours.accumulate()
        ours.summarize()
    np.testing.assert_allclose(ours.stats, ref.stats, atol=1e-12)
    assert 0.1 < ours.stats[0] < 0.99
    # the ground truth COCO object is not modified by the evaluation
    assert all("_ignore" not in a and "ignore" not in a for a in gt2.dataset["annotations"])
