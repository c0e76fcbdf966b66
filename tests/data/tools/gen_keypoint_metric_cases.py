"""MMPose 1.3.2's keypoint-distance metrics on seeded random inputs: expected values for posekit's.

Cases: ``MpiiPCKAccuracy`` (PCKh, 16 keypoints, head sizes), ``JhmdbPCKAccuracy`` (bbox and torso, 15), and ``NME``
with each dataset's normalisation: AFLW (``use_norm_item`` with ``bbox_size`` and with ``box_size``), 300W, COFW,
WFLW, LaPa, COCO-WholeBody-Face and Horse-10 (``keypoint_distance`` with the dataset's default pair), plus an
explicit ``keypoint_indices``. Inputs go to ``tests/data/golden/keypoint_metric_cases.npz`` and MMPose's results to
``keypoint_metric_cases.json``. Run::

    /opt/mmref/bin/python tests/data/tools/gen_keypoint_metric_cases.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "golden"
# name -> (num_keypoints, dataset_name, metric config)
CASES = {
    "mpii_pckh": (16, "mpii", dict(type="MpiiPCKAccuracy", norm_item="head")),
    "mpii_pckh_thr03": (16, "mpii", dict(type="MpiiPCKAccuracy", thr=0.3, norm_item="head")),
    "jhmdb_bbox_torso": (15, "jhmdb", dict(type="JhmdbPCKAccuracy", thr=0.2, norm_item=["bbox", "torso"])),
    "pck_bbox_head": (17, "coco", dict(type="PCKAccuracy", thr=0.1, norm_item=["bbox", "head"])),
    "nme_aflw_bbox_size": (19, "aflw", dict(type="NME", norm_mode="use_norm_item", norm_item="bbox_size")),
    "nme_aflw_box_size": (19, "aflw", dict(type="NME", norm_mode="use_norm_item", norm_item="box_size")),
    "nme_300w": (68, "300w", dict(type="NME", norm_mode="keypoint_distance")),
    "nme_cofw": (29, "cofw", dict(type="NME", norm_mode="keypoint_distance")),
    "nme_wflw": (98, "wflw", dict(type="NME", norm_mode="keypoint_distance")),
    "nme_lapa": (106, "lapa", dict(type="NME", norm_mode="keypoint_distance")),
    "nme_coco_wholebody_face": (68, "coco_wholebody_face", dict(type="NME", norm_mode="keypoint_distance")),
    "nme_horse10": (22, "horse10", dict(type="NME", norm_mode="keypoint_distance")),
    "nme_indices": (22, "horse10", dict(type="NME", norm_mode="keypoint_distance", keypoint_indices=[2, 7])),
}
NUM_SAMPLES = 12


def make_inputs(name: str, k: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.RandomState(seed)
    gt = rng.uniform(20, 200, (NUM_SAMPLES, 1, k, 2)).astype(np.float32)
    sigma = rng.uniform(0.5, 25, (NUM_SAMPLES, 1, k, 1))
    pred = (gt + rng.normal(0, 1, gt.shape) * sigma).astype(np.float32)
    visible = (rng.uniform(0, 1, (NUM_SAMPLES, 1, k)) > 0.15).astype(np.float32)
    lo = gt.min(axis=2) - rng.uniform(0, 20, (NUM_SAMPLES, 1, 2))
    hi = gt.max(axis=2) + rng.uniform(0, 20, (NUM_SAMPLES, 1, 2))
    return dict(
        gt=gt,
        pred=pred,
        visible=visible,
        bboxes=np.concatenate([lo, hi], axis=-1).astype(np.float32),  # (N, 1, 4) xyxy
        head_size=rng.uniform(15, 60, (NUM_SAMPLES, 1)).astype(np.float32),
        box_size=rng.uniform(80, 250, (NUM_SAMPLES, 1)).astype(np.float32),
    )


def main() -> None:
    import mmpose.evaluation  # noqa: F401
    from mmengine.registry import init_default_scope
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.registry import METRICS

    init_default_scope("mmpose")
    arrays, index = {}, {}
    for seed, (name, (k, dataset, cfg)) in enumerate(CASES.items()):
        inputs = make_inputs(name, k, seed)
        metric = METRICS.build(dict(cfg))
        metric.dataset_meta = parse_pose_metainfo(dict(from_file=f"configs/_base_/datasets/{dataset}.py"))
        samples = []
        for i in range(NUM_SAMPLES):
            samples.append(
                dict(
                    pred_instances=dict(keypoints=inputs["pred"][i]),
                    gt_instances=dict(
                        keypoints=inputs["gt"][i],
                        keypoints_visible=inputs["visible"][i],
                        bboxes=inputs["bboxes"][i],
                        head_size=inputs["head_size"][i],
                        box_size=inputs["box_size"][i],
                    ),
                )
            )
        metric.process(None, samples)
        results = {key: float(v) for key, v in metric.evaluate(NUM_SAMPLES).items()}
        for key, value in inputs.items():
            arrays[f"{name}/{key}"] = value
        index[name] = dict(metric=cfg, dataset_name=dataset, num_keypoints=k, results=results)
        print(name, results)
    np.savez_compressed(OUT / "keypoint_metric_cases.npz", **arrays)
    (OUT / "keypoint_metric_cases.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
