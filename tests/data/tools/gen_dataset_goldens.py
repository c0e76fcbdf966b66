"""Expected values for posekit's 2D dataset configs, computed by MMPose 1.3.2 itself on its own sample data.

For every data config in ``SAMPLES`` this reads ``conf/data/<name>.yaml`` (its val dataset class, extra dataset
arguments and evaluators, with posekit's class names = MMPose's), builds MMPose's dataset on the sample annotation
in ``tests/data/mmpose_testdata`` (test mode, MMPose's val pipeline: LoadImage, GetBBoxCenterScale, TopdownAffine,
PackPoseInputs), draws predictions (ground truth + Gaussian noise of 0.5-10 % of the box per keypoint, scores in
[0.3, 1)), and runs MMPose's metrics on them. It writes

* ``tests/data/golden/datasets_2d.npz``: per dataset ``<name>/ids``, ``img_ids``, ``bboxes`` (N, 4) xyxy,
  ``keypoints`` (N, K, 2), ``keypoints_visible`` (N, K), the predictions ``pred_keypoints`` (N, K, 2) and
  ``pred_scores`` (N, K) (float32, the exact arrays MMPose's metrics saw), plus extra item fields;
* ``tests/data/golden/datasets_2d.json``: per dataset the sample spec, MMPose's train/test lengths and metric
  results.

Run (PoseTrack18Metric needs poseval: ``git archive`` of github.com/leonid-pishchulin/poseval on PYTHONPATH)::

    PYTHONPATH=/tmp/poseval /opt/mmref/bin/python tests/data/tools/gen_dataset_goldens.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[3]
TESTDATA = REPO / "tests" / "data" / "mmpose_testdata"
OUT = REPO / "tests" / "data" / "golden"

# data config -> MMPose sample: folder, annotation file, image folder (default: the sample folder), links to create
# in a temporary image root ({link: target folder}), extra dataset arguments for the sample files.
SAMPLES: dict[str, dict] = {
    "aic": dict(root="aic", ann="test_aic.json"),
    "ochuman": dict(root="ochuman", ann="test_ochuman.json"),
    "halpe": dict(root="halpe", ann="test_halpe.json", img="coco"),
    "humanart": dict(root="humanart", ann="test_humanart.json", links={"HumanArt/images": "humanart"}),
    "jhmdb": dict(root="jhmdb", ann="test_jhmdb_sub1.json"),
    "mhp": dict(root="mhp", ann="test_mhp.json"),
    "posetrack18": dict(root="posetrack18", ann="annotations/test_posetrack18_val.json"),
    "exlpose": dict(root="exlpose", ann="test_exlpose.json"),
    "onehand10k": dict(root="onehand10k", ann="test_onehand10k.json"),
    "rhd": dict(root="rhd", ann="test_rhd.json"),
    "freihand": dict(root="freihand", ann="test_freihand.json"),
    "coco_wholebody_hand": dict(root="coco", ann="test_coco_wholebody.json"),
    "interhand2d": dict(
        root="interhand2.6m",
        ann="test_interhand2.6m_data.json",
        extra=dict(camera_param_file="test_interhand2.6m_camera.json", joint_file="test_interhand2.6m_joint_3d.json"),
    ),
    "wflw": dict(root="wflw", ann="test_wflw.json"),
    "300w": dict(root="300w", ann="test_300w.json"),
    "aflw": dict(root="aflw", ann="test_aflw.json"),
    "cofw": dict(root="cofw", ann="test_cofw.json"),
    "lapa": dict(root="lapa", ann="test_lapa.json"),
    "coco_wholebody_face": dict(root="coco", ann="test_coco_wholebody.json"),
    "ap10k": dict(root="ap10k", ann="test_ap10k.json"),
    "animalpose": dict(root="animalpose", ann="test_animalpose.json"),
    "animalkingdom": dict(root="ak", ann="test_animalkingdom.json"),
    "atrw": dict(root="atrw", ann="test_atrw.json"),
    "horse10": dict(root="horse10", ann="test_horse10.json"),
    "macaque": dict(root="macaque", ann="test_macaque.json"),
    "locust": dict(root="locust", ann="test_locust.json"),
    "zebra": dict(root="zebra", ann="test_zebra.json"),
    "fly": dict(root="fly", ann="test_fly.json"),
    "deepfashion2": dict(root="deepfasion2", ann="deepfasion2.json"),
    "fld": dict(root="fld", ann="test_fld.json"),
}
# extra metric variants checked besides the data config's evaluators (issue 16: each NME normalisation)
EXTRA_METRICS: dict[str, list[dict]] = {
    "aflw": [dict(type="NME", norm_mode="use_norm_item", norm_item="box_size")],
    "horse10": [dict(type="NME", norm_mode="keypoint_distance", keypoint_indices=[0, 1])],
}
SKIP_KEYS = (
    "_target_", "ann_file", "data_root", "data_prefix", "pipeline", "bbox_file", "camera_param_file", "joint_file",
)  # fmt: skip


def image_root(spec: dict, tmp: Path) -> str:
    if spec.get("links"):
        for link, target in spec["links"].items():
            path = tmp / link
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                os.symlink(TESTDATA / target, path)
        return str(tmp) + "/"
    return str(TESTDATA / spec.get("img", spec["root"])) + "/"


def mmpose_metric_cfg(ev: dict, spec: dict) -> dict:
    cfg = {k: v for k, v in ev.items() if k != "_target_"}
    cfg["type"] = ev["_target_"].split(".")[-1]
    if "ann_file" in cfg:
        cfg["ann_file"] = str(TESTDATA / spec["root"] / spec["ann"])
    return cfg


def main() -> None:
    import mmpose.datasets  # noqa: F401  (registers)
    import mmpose.evaluation  # noqa: F401
    from mmengine.registry import init_default_scope
    from mmengine.structures import InstanceData
    from mmpose.registry import DATASETS, METRICS

    init_default_scope("mmpose")
    arrays: dict[str, np.ndarray] = {}
    index: dict[str, dict] = {}
    only = set(sys.argv[1:])
    with tempfile.TemporaryDirectory() as tmpdir:
        for name, spec in SAMPLES.items():
            if only and name not in only:
                continue
            cfg = yaml.safe_load((REPO / "conf" / "data" / f"{name}.yaml").read_text())
            val = cfg["val"]
            cls = val["_target_"].split(".")[-1]
            kwargs = {k: v for k, v in val.items() if k not in SKIP_KEYS}
            kwargs.update(spec.get("extra", {}))
            root = TESTDATA / spec["root"]
            img = image_root(spec, Path(tmpdir) / name)
            pipeline = [
                dict(type="LoadImage"),
                dict(type="GetBBoxCenterScale"),
                dict(type="TopdownAffine", input_size=(192, 256)),
                dict(type="PackPoseInputs"),
            ]
            common = dict(type=cls, ann_file=spec["ann"], data_root=str(root), data_prefix=dict(img=img), **kwargs)
            train_len = len(DATASETS.build(dict(common, test_mode=False)))
            ds = DATASETS.build(dict(common, test_mode=True, pipeline=pipeline))
            meta = ds.metainfo
            rng = np.random.RandomState(0)
            samples, preds, scores = [], [], []
            for i in range(len(ds)):
                data_sample = ds[i]["data_samples"]
                gt = data_sample.gt_instances
                kpts = np.asarray(gt.keypoints, dtype=np.float32)  # (1, K, 2)
                box = np.asarray(gt.bboxes, dtype=np.float32).reshape(4)
                side = float(max(box[2] - box[0], box[3] - box[1], 1.0))
                sigma = 0.05 * side * rng.uniform(0.1, 2.0, (1, kpts.shape[1], 1))  # per keypoint: some far off
                pred = (kpts + rng.normal(0, 1, kpts.shape) * sigma).astype(np.float32)
                score = rng.uniform(0.3, 1.0, kpts.shape[:2]).astype(np.float32)
                data_sample.pred_instances = InstanceData(keypoints=pred, keypoint_scores=score)
                samples.append(data_sample)
                preds.append(pred[0])
                scores.append(score[0])
            items = [ds.get_data_info(i) for i in range(len(ds))]
            for data_sample, item in zip(samples, items):
                if "box_size" in item:  # MMPose's PackPoseInputs does not pack it; its NME tests put it here
                    data_sample.gt_instances.box_size = np.asarray(item["box_size"], np.float32).reshape(1)
            arrays[f"{name}/ids"] = np.array([int(d["id"]) for d in items])
            arrays[f"{name}/img_ids"] = np.array([int(d["img_id"]) for d in items])
            arrays[f"{name}/bboxes"] = np.concatenate([d["bbox"] for d in items]).astype(np.float32)
            arrays[f"{name}/keypoints"] = np.concatenate([d["keypoints"] for d in items]).astype(np.float32)
            arrays[f"{name}/keypoints_visible"] = np.concatenate([d["keypoints_visible"] for d in items]).astype(
                np.float32
            )
            for key in ("box_size", "hand_type"):
                if key in items[0]:
                    arrays[f"{name}/{key}"] = np.array([np.asarray(d[key]).reshape(-1) for d in items], np.float32)
            arrays[f"{name}/meta_flip_indices"] = np.asarray(meta["flip_indices"])
            arrays[f"{name}/meta_sigmas"] = np.asarray(meta["sigmas"], np.float32)
            arrays[f"{name}/meta_joint_weights"] = np.asarray(meta["dataset_keypoint_weights"], np.float32)
            arrays[f"{name}/meta_skeleton_links"] = np.asarray(meta["skeleton_links"]).reshape(-1, 2)
            arrays[f"{name}/pred_keypoints"] = np.stack(preds)
            arrays[f"{name}/pred_scores"] = np.stack(scores)

            results = {}
            for ev in list(cfg["evaluators"]) + [
                dict(_target_=m["type"], **{k: v for k, v in m.items() if k != "type"})
                for m in EXTRA_METRICS.get(name, [])
            ]:
                mcfg = mmpose_metric_cfg(ev, spec)
                metric = METRICS.build(mcfg)
                metric.dataset_meta = meta
                with tempfile.TemporaryDirectory() as out_dir:
                    if hasattr(metric, "outfile_prefix"):
                        metric.outfile_prefix = os.path.join(out_dir, "results")
                    metric.process(None, [s.to_dict() for s in samples])
                    res = metric.evaluate(len(samples))
                key = json.dumps({k: v for k, v in mcfg.items() if k != "ann_file"}, sort_keys=True)
                results[key] = {k: float(v) for k, v in res.items()}
            index[name] = dict(
                sample=spec,
                mmpose_class=cls,
                dataset_kwargs=kwargs,
                dataset_name=meta["dataset_name"],
                num_keypoints=int(meta["num_keypoints"]),
                train_len=train_len,
                test_len=len(ds),
                metrics=results,
            )
            print(name, cls, train_len, len(ds), results, flush=True)
    if only:
        old = json.loads((OUT / "datasets_2d.json").read_text())
        old_arrays = dict(np.load(OUT / "datasets_2d.npz"))
        old.update(index)
        old_arrays.update(arrays)
        index, arrays = old, old_arrays
    np.savez_compressed(OUT / "datasets_2d.npz", **arrays)
    (OUT / "datasets_2d.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
