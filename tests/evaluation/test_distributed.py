"""compute() across 2 CPU (gloo) ranks: records are gathered in sampler order, padding is dropped, the result is
identical on every rank and equal to the single-process one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from posekit.evaluation import PCKAccuracy
from posekit.evaluation.coco import CocoMetric

REPO_ROOT = Path(__file__).resolve().parents[2]
ANN = REPO_ROOT / "tests" / "data" / "mmpose_testdata" / "coco" / "test_coco.json"
SIGMAS = (
    np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89])
    / 10
)
META = {"dataset_name": "coco", "num_keypoints": 17, "sigmas": SIGMAS.astype(np.float32)}


def _inputs():
    anns = json.loads(ANN.read_text())["annotations"]
    rng = np.random.default_rng(0)
    metas, kpts, scores = [], [], []
    for a in anns:
        kp = np.array(a["keypoints"], dtype=np.float32).reshape(17, 3)
        w, h = a["bbox"][2:]
        metas.append(
            {
                "id": a["id"],
                "img_id": a["image_id"],
                "bbox_score": np.ones(1, np.float32),
                "bbox_scale": np.array([[w * 1.25, h * 1.25]]),
                "keypoints": kp[None, :, :2],
                "keypoints_visible": (kp[None, :, 2] > 0).astype(np.float32),
                "bbox": np.array([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + w, a["bbox"][1] + h]], np.float32),
            }
        )
        kpts.append(kp[None, :, :2] + rng.normal(0, 3, size=(1, 17, 2)).astype(np.float32))
        scores.append(rng.uniform(0.3, 1, size=(1, 17)).astype(np.float32))
    return metas, np.stack(kpts), np.stack(scores)


def _metrics():
    return [CocoMetric(ann_file=str(ANN), metainfo=META), PCKAccuracy(thr=0.02)]


def _worker(rank: int, world_size: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        metas, kpts, scores = _inputs()
        n = len(metas)
        # DistributedSampler without shuffle: rank r gets r, r + W, ...; padded with the first samples
        padded = list(range(n)) + list(range((-n) % world_size))
        idx = padded[rank::world_size]
        out = {}
        for metric in _metrics():
            for i in range(0, len(idx), 3):
                b = idx[i : i + 3]
                metric.update([metas[j] for j in b], torch.from_numpy(kpts[b]), torch.from_numpy(scores[b]))
            out.update(metric.compute(size=n))
            assert metric.compute() == {k: v for k, v in out.items() if k in metric.compute()}  # dedup without size
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(out))
    finally:
        dist.destroy_process_group()


def test_compute_gathers_across_ranks(tmp_path):
    metas, kpts, scores = _inputs()
    expected = {}
    for metric in _metrics():
        metric.update(metas, kpts, scores)
        expected.update(metric.compute())
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    for rank in range(2):
        got = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert got == pytest.approx(expected, abs=1e-12)
    assert 0 < expected["coco/AP"] < 1 and 0 < expected["PCK"] < 1
