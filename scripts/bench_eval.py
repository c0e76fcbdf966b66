"""COCO keypoint evaluation time (CocoMetric) for 10k predictions, and the cost of OKS-NMS.

1. A synthetic COCO ground truth (``--images`` images, ``--persons`` person annotations with 17 keypoints) is
   written to a temporary folder; the predictions are the ground truth plus Gaussian noise (``--noise`` px), with
   detector-like scores, fed to :class:`posekit.evaluation.CocoMetric` batch by batch as validation does
   (``update(metas, keypoints, scores)``, batches of 64). The table splits the time into ``update`` (all batches),
   grouping + rescoring + OKS-NMS, writing the results JSON, and COCOeval (``evaluate/accumulate/summarize``),
   and gives ``compute()`` end to end.
2. OKS-NMS of one image with 20-100 candidates (a few people, each detected several times with jitter): posekit's
   ``oks_nms`` (OKS matrix by broadcasting, greedy pass over rows) against MMPose 1.3.2's ``oks_nms`` /
   ``oks_iou``, re-implemented below, whose OKS is a Python loop over candidate pairs. Same kept indices asserted.

    python scripts/bench_eval.py
    python scripts/bench_eval.py --images 5000 --persons 25000 --candidates 20 50 100 200
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import add_common_args, apply_threads, fmt_ratio, markdown_table, print_header, timeit  # noqa: E402

from posekit.evaluation import CocoMetric  # noqa: E402
from posekit.evaluation.nms import COCO_SIGMAS, oks_nms  # noqa: E402

NUM_KPTS = 17


# -------------------------------------------------------------------------------------------- synthetic COCO
def make_coco(num_images: int, num_persons: int, rng: np.random.Generator) -> dict:
    """A COCO person-keypoints dataset with random people (boxes inside 640x480 images)."""
    images = [{"id": i + 1, "file_name": f"{i + 1:012d}.jpg", "width": 640, "height": 480} for i in range(num_images)]
    owner = np.sort(rng.integers(0, num_images, num_persons))
    owner[:num_images] = np.arange(min(num_images, num_persons))  # every image has a person
    annotations = []
    for a, img in enumerate(owner):
        w, h = rng.uniform(40, 300), rng.uniform(80, 400)
        x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
        kx = x + rng.uniform(0, w, NUM_KPTS)
        ky = y + rng.uniform(0, h, NUM_KPTS)
        v = rng.choice([0, 1, 2], NUM_KPTS, p=[0.2, 0.2, 0.6])
        kx, ky = np.where(v > 0, kx, 0), np.where(v > 0, ky, 0)
        keypoints = np.stack([kx, ky, v], axis=1).round(2).reshape(-1).tolist()
        annotations.append(
            {
                "id": a + 1,
                "image_id": int(img) + 1,
                "category_id": 1,
                "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
                "area": round(w * h * 0.6, 2),
                "iscrowd": 0,
                "num_keypoints": int((v > 0).sum()),
                "keypoints": keypoints,
            }
        )
    categories = [{"id": 1, "name": "person", "keypoints": [f"k{i}" for i in range(NUM_KPTS)], "skeleton": []}]
    return {"images": images, "annotations": annotations, "categories": categories}


def make_predictions(coco: dict, noise: float, rng: np.random.Generator, batch: int):
    """Batches of (metas, keypoints (B, 1, K, 2), scores (B, 1, K)) as a top-down validation epoch yields them."""
    anns = coco["annotations"]
    out = []
    for start in range(0, len(anns), batch):
        chunk = anns[start : start + batch]
        kpts = np.array([np.array(a["keypoints"]).reshape(NUM_KPTS, 3)[:, :2] for a in chunk], dtype=np.float32)
        kpts += rng.normal(0, noise, kpts.shape).astype(np.float32)
        scores = rng.uniform(0.2, 1.0, (len(chunk), NUM_KPTS)).astype(np.float32)
        metas = []
        for a in chunk:
            x, y, w, h = a["bbox"]
            metas.append(
                {
                    "id": a["id"],
                    "img_id": a["image_id"],
                    "category_id": 1,
                    "bbox_score": np.ones(1, dtype=np.float32),
                    "bbox_scale": np.array([[w * 1.25, h * 1.25]], dtype=np.float32),
                }
            )
        out.append((metas, kpts[:, None], scores[:, None]))
    return out


# ---------------------------------------------------------------------------------------- MMPose 1.3.2 OKS-NMS
def mmpose_oks_iou(g, d, a_g, a_d, sigmas=None, vis_thr=None):
    """MMPose 1.3.2 ``mmpose/evaluation/functional/nms.py::oks_iou`` (a Python loop over the other instances)."""
    if sigmas is None:
        sigmas = np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87,
                           0.89, 0.89]) / 10.0  # fmt: skip
    vars = (sigmas * 2) ** 2
    xg = g[0::3]
    yg = g[1::3]
    vg = g[2::3]
    ious = np.zeros(len(d), dtype=np.float32)
    for n_d in range(0, len(d)):
        xd = d[n_d, 0::3]
        yd = d[n_d, 1::3]
        vd = d[n_d, 2::3]
        dx = xd - xg
        dy = yd - yg
        e = (dx**2 + dy**2) / vars / ((a_g + a_d[n_d]) / 2 + np.spacing(1)) / 2
        if vis_thr is not None:
            ind = list((vg > vis_thr) & (vd > vis_thr))
            e = e[ind]
        ious[n_d] = np.sum(np.exp(-e)) / len(e) if len(e) != 0 else 0.0
    return ious


def mmpose_oks_nms(kpts_db, thr, sigmas=None, vis_thr=None, score_per_joint=False):
    """MMPose 1.3.2 ``oks_nms``."""
    if len(kpts_db) == 0:
        return []
    if score_per_joint:
        scores = np.array([k["score"].mean() for k in kpts_db])
    else:
        scores = np.array([k["score"] for k in kpts_db])
    kpts = np.array([k["keypoints"].flatten() for k in kpts_db])
    areas = np.array([k["area"] for k in kpts_db])
    order = scores.argsort()[::-1]
    keep = []
    while len(order) > 0:
        i = order[0]
        keep.append(i)
        oks_ovr = mmpose_oks_iou(kpts[i], kpts[order[1:]], areas[i], areas[order[1:]], sigmas, vis_thr)
        inds = np.where(oks_ovr <= thr)[0]
        order = order[inds + 1]
    return np.array(keep)


def make_candidates(n: int, rng: np.random.Generator) -> list[dict]:
    """``n`` pose candidates of one image: ~n/5 people, each detected several times with a few px of jitter."""
    people = max(1, n // 5)
    centres = rng.uniform(100, 500, (people, 2))
    base = centres[:, None] + rng.normal(0, 40, (people, NUM_KPTS, 2))
    out = []
    for i in range(n):
        p = i % people
        kpts = base[p] + rng.normal(0, rng.choice([1.0, 4.0, 15.0]), (NUM_KPTS, 2))
        scores = rng.uniform(0.3, 1.0, NUM_KPTS)
        span = kpts.max(0) - kpts.min(0)
        out.append(
            {
                "keypoints": np.concatenate([kpts, scores[:, None]], axis=1),
                "score": float(rng.uniform(0.3, 1.0)),
                "area": float(span[0] * span[1]),
            }
        )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000, help="images in the synthetic ground truth")
    parser.add_argument("--persons", type=int, default=10000, help="person annotations = predictions")
    parser.add_argument("--noise", type=float, default=4.0, help="std of the keypoint noise of the predictions (px)")
    parser.add_argument("--batch", type=int, default=64, help="predictions per update() call")
    parser.add_argument("--candidates", type=int, nargs="+", default=[20, 50, 100], help="OKS-NMS candidates/image")
    parser.add_argument("--nms-thr", type=float, default=0.9, help="OKS threshold (CocoMetric's default 0.9)")
    parser.add_argument("--seed", type=int, default=0)
    add_common_args(parser, device=False)
    parser.set_defaults(repeat=3, warmup=1)
    args = parser.parse_args(argv)
    apply_threads(args.threads)
    rng = np.random.default_rng(args.seed)

    print_header(
        f"CocoMetric on {args.persons} predictions / {args.images} images, and OKS-NMS",
        extra={"predictions": f"ground truth + N(0, {args.noise} px)"},
    )
    with tempfile.TemporaryDirectory() as tmp:
        coco = make_coco(args.images, args.persons, rng)
        ann_file = os.path.join(tmp, "person_keypoints_synthetic.json")
        with open(ann_file, "w") as f:
            json.dump(coco, f)
        batches = make_predictions(coco, args.noise, rng, args.batch)

        parts: dict[str, list[float]] = {k: [] for k in ("update", "group+rescore+nms", "json", "cocoeval", "total")}
        results = None
        for r in range(args.warmup + args.repeat):
            metric = CocoMetric(ann_file=ann_file, metainfo="coco", outfile_prefix=os.path.join(tmp, "res"))
            t0 = time.perf_counter()
            for metas, kpts, scores in batches:
                metric.update(metas, kpts, scores)
            t1 = time.perf_counter()
            preds = [p for p, _ in metric.results]
            valid = metric._score_and_nms(metric._group_by_image(preds))
            t2 = time.perf_counter()
            cat_results = metric._results_to_coco(valid)
            with open(os.path.join(tmp, "res.keypoints.json"), "w") as f:
                json.dump(cat_results, f)
            t3 = time.perf_counter()
            stats = dict(metric._do_python_keypoint_eval(metric.coco, cat_results))
            t4 = time.perf_counter()
            # compute() end to end on the same buffered predictions
            results = metric.compute()
            t5 = time.perf_counter()
            if r >= args.warmup:
                for key, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                    parts[key].append(dt)
        assert abs(results["coco/AP"] - stats["AP"]) < 1e-9, (results, stats)

    med = {k: float(np.median(v)) for k, v in parts.items()}
    n = args.persons
    rows = [
        [f"update() x {len(batches)} batches", f"{med['update']:.3f}", f"{1e6 * med['update'] / n:.1f}"],
        [
            "group by image + rescore + OKS-NMS",
            f"{med['group+rescore+nms']:.3f}",
            f"{1e6 * med['group+rescore+nms'] / n:.1f}",
        ],
        ["results JSON", f"{med['json']:.3f}", f"{1e6 * med['json'] / n:.1f}"],
        ["COCOeval evaluate + accumulate + summarize", f"{med['cocoeval']:.3f}", f"{1e6 * med['cocoeval'] / n:.1f}"],
        ["compute() end to end", f"{med['total']:.3f}", f"{1e6 * med['total'] / n:.1f}"],
    ]
    print(markdown_table(["CocoMetric part", "s", "us/prediction"], rows))
    print(f"\nAP = {results['coco/AP']:.4f}; median of {args.repeat} runs.\n")

    rows = []
    for n_cand in args.candidates:
        cands = make_candidates(n_cand, rng)
        keep = oks_nms(cands, args.nms_thr, sigmas=COCO_SIGMAS)
        ref = mmpose_oks_nms(cands, args.nms_thr, sigmas=COCO_SIGMAS)
        np.testing.assert_array_equal(keep, ref)
        reps = max(args.repeat * 5, 10)
        t_pk = timeit(lambda cands=cands: oks_nms(cands, args.nms_thr, sigmas=COCO_SIGMAS), reps, args.warmup)
        t_mm = timeit(lambda cands=cands: mmpose_oks_nms(cands, args.nms_thr, sigmas=COCO_SIGMAS), reps, args.warmup)
        rows.append(
            [
                str(n_cand),
                str(len(keep)),
                f"{t_mm.median * 1e3:.2f}",
                f"{t_pk.median * 1e3:.3f}",
                fmt_ratio(t_mm.median / t_pk.median),
            ]
        )
    print(
        markdown_table(
            [
                "candidates / image",
                "kept",
                "MMPose 1.3.2 oks_nms, per-pair loop (ms)",
                "posekit oks_nms (ms)",
                "speed-up",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
