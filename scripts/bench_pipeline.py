"""Samples/s of the top-down training pipeline against its floor (image decode + affine warp).

Runs the HRNet-W32 256x192 training pipeline of ``conf/data/pipeline/topdown_train.yaml`` on the real COCO images
of ``mmpose_testdata/coco`` (``test_coco.json`` instances), single process, in three variants, interleaved
(one block of ``--samples`` samples of each, repeated ``--repeat`` times; the median block is reported):

* **floor**: only ``cv2.imread`` of the instance's image and one ``cv2.warpAffine`` to 192x256, the two steps
  no top-down pipeline can skip;
* **posekit**: ``LoadImage -> GetBBoxCenterScale -> RandomFlip -> RandomHalfBody -> RandomBBoxTransform ->
  TopdownAffine -> GenerateTarget(MSRAHeatmap 64x48, sigma 2) -> PackPoseInputs``, through
  ``CocoStyleDataset.__getitem__`` (item copy included);
* **MMPose-style targets**: the same pipeline with MMPose 1.3.2's ``generate_gaussian_heatmaps`` (a Python loop
  over keypoints pasting one Gaussian patch each), re-implemented below; its heatmaps are asserted equal to
  posekit's.

A second table splits the posekit pipeline by transform (mean ms per sample), and a third times the target
generation alone (posekit's vectorized encode vs the per-keypoint loop).

    python scripts/bench_pipeline.py
    python scripts/bench_pipeline.py --samples 480 --repeat 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import add_common_args, apply_threads, fmt_ratio, markdown_table, print_header  # noqa: E402

from posekit.codecs import MSRAHeatmap  # noqa: E402
from posekit.datasets import CocoStyleDataset  # noqa: E402
from posekit.datasets.transforms import (  # noqa: E402
    GenerateTarget,
    GetBBoxCenterScale,
    LoadImage,
    PackPoseInputs,
    RandomBBoxTransform,
    RandomFlip,
    RandomHalfBody,
    TopdownAffine,
)
from posekit.structures import bbox_xyxy2cs, fix_aspect_ratio, get_warp_matrix  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "mmpose_testdata" / "coco"
INPUT_SIZE = (192, 256)
HEATMAP_SIZE = (48, 64)


# ------------------------------------------------------------------------------ MMPose 1.3.2's target generator
def mmpose_generate_gaussian_heatmaps(heatmap_size, keypoints, keypoints_visible, sigma):
    """MMPose 1.3.2 ``mmpose/codecs/utils/gaussian_heatmap.py::generate_gaussian_heatmaps``, loop for loop."""
    N, K, _ = keypoints.shape
    W, H = heatmap_size
    heatmaps = np.zeros((K, H, W), dtype=np.float32)
    keypoint_weights = keypoints_visible.copy()
    if isinstance(sigma, (int, float)):
        sigma = (sigma,) * N
    for n in range(N):
        # 3-sigma rule
        radius = sigma[n] * 3
        # xy grid
        gaussian_size = 2 * radius + 1
        x = np.arange(0, gaussian_size, 1, dtype=np.float32)
        y = x[:, None]
        x0 = y0 = gaussian_size // 2
        for k in range(K):
            # skip unlabled keypoints
            if keypoints_visible[n, k] < 0.5:
                continue
            # get gaussian center coordinates
            mu = (keypoints[n, k] + 0.5).astype(np.int64)
            # check that the gaussian has in-bounds part
            left, top = (mu - radius).astype(np.int64)
            right, bottom = (mu + radius + 1).astype(np.int64)
            if left >= W or top >= H or right < 0 or bottom < 0:
                keypoint_weights[n, k] = 0
                continue
            # The gaussian is not normalized, we want the center value to equal 1
            gaussian = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma[n] ** 2))
            # valid range in gaussian
            g_x1 = max(0, -left)
            g_x2 = min(W, right) - left
            g_y1 = max(0, -top)
            g_y2 = min(H, bottom) - top
            # valid range in heatmap
            h_x1 = max(0, left)
            h_x2 = min(W, right)
            h_y1 = max(0, top)
            h_y2 = min(H, bottom)
            heatmap_region = heatmaps[k, h_y1:h_y2, h_x1:h_x2]
            gaussian_regsion = gaussian[g_y1:g_y2, g_x1:g_x2]
            _ = np.maximum(heatmap_region, gaussian_regsion, out=heatmap_region)
    return heatmaps, keypoint_weights


class MMPoseLoopMSRAHeatmap(MSRAHeatmap):
    """MSRAHeatmap whose ``encode`` is MMPose 1.3.2's (the per-keypoint loop above)."""

    def encode(self, keypoints, keypoints_visible=None):
        if keypoints_visible is None:
            keypoints_visible = np.ones(keypoints.shape[:2], dtype=np.float32)
        heatmaps, keypoint_weights = mmpose_generate_gaussian_heatmaps(
            self.heatmap_size, keypoints / self.scale_factor, keypoints_visible, self.sigma
        )
        return dict(heatmaps=heatmaps, keypoint_weights=keypoint_weights)


# ---------------------------------------------------------------------------------------------------- pipeline
def train_pipeline(codec) -> list:
    """``conf/data/pipeline/topdown_train.yaml`` with the HRNet-W32 256x192 codec."""
    return [
        LoadImage(),
        GetBBoxCenterScale(padding=1.25),
        RandomFlip(direction="horizontal"),
        RandomHalfBody(),
        RandomBBoxTransform(),
        TopdownAffine(input_size=INPUT_SIZE),
        GenerateTarget(encoder=codec),
        PackPoseInputs(),
    ]


def build_dataset(data_root: Path, codec) -> CocoStyleDataset:
    ann = data_root / "test_coco.json"
    if not ann.is_file():
        raise SystemExit(f"--data-root {data_root}: no test_coco.json there (MMPose's tests/data/coco)")
    return CocoStyleDataset(
        ann_file=str(ann), data_prefix={"img": str(data_root) + "/"}, pipeline=train_pipeline(codec)
    )


def floor_inputs(ds: CocoStyleDataset) -> list[tuple[str, np.ndarray]]:
    """(image path, warp matrix of the un-augmented crop) per item."""
    out = []
    w, h = INPUT_SIZE
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        center, scale = bbox_xyxy2cs(info["bbox"][0], padding=1.25)
        scale = fix_aspect_ratio(scale, aspect_ratio=w / h)
        out.append((info["img_path"], get_warp_matrix(center, scale, 0.0, output_size=(w, h))))
    return out


def run_floor(items: list[tuple[str, np.ndarray]], n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        path, warp = items[i % len(items)]
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        cv2.warpAffine(img, warp, INPUT_SIZE, flags=cv2.INTER_LINEAR)
    return time.perf_counter() - start


def run_dataset(ds: CocoStyleDataset, n: int, seed: int) -> float:
    np.random.seed(seed)
    start = time.perf_counter()
    for i in range(n):
        ds[i % len(ds)]
    return time.perf_counter() - start


def stage_breakdown(ds: CocoStyleDataset, n: int, seed: int) -> dict[str, float]:
    """Mean seconds per sample of the item copy and of each transform."""
    np.random.seed(seed)
    acc: dict[str, float] = defaultdict(float)
    for i in range(n):
        start = time.perf_counter()
        data = ds.get_data_info(i % len(ds))
        acc["dataset item copy (get_data_info)"] += time.perf_counter() - start
        for t in ds.pipeline:
            start = time.perf_counter()
            data = t(data)
            acc[type(t).__name__] += time.perf_counter() - start
    return {k: v / n for k, v in acc.items()}


def check_equal_targets(ds_posekit: CocoStyleDataset, ds_mmpose: CocoStyleDataset, seed: int) -> None:
    for i in range(len(ds_posekit)):
        np.random.seed(seed + i)
        a = ds_posekit[i]
        np.random.seed(seed + i)
        b = ds_mmpose[i]
        for key in ("heatmaps", "keypoint_weights"):
            np.testing.assert_array_equal(a.targets[key].numpy(), b.targets[key].numpy(), err_msg=f"item {i} {key}")


def time_encode(codec, keypoints: list[np.ndarray], repeat: int) -> float:
    """Median seconds per encode over the given keypoint sets."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for kpts in keypoints:
            codec.encode(kpts, np.ones(kpts.shape[:2], np.float32))
        times.append((time.perf_counter() - start) / len(keypoints))
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA, help="folder with test_coco.json + images")
    parser.add_argument("--samples", type=int, default=240, help="samples per timed block (default 240)")
    parser.add_argument("--seed", type=int, default=0)
    add_common_args(parser, device=False)
    parser.set_defaults(repeat=5, warmup=1)
    args = parser.parse_args(argv)
    apply_threads(args.threads)
    cv2.setNumThreads(1)  # a data worker's setting (posekit and MMPose workers run OpenCV single-threaded)

    codec = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0)
    ds = build_dataset(args.data_root, codec)
    ds_mmpose = build_dataset(args.data_root, MMPoseLoopMSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0))
    check_equal_targets(ds, ds_mmpose, args.seed)
    items = floor_inputs(ds)
    n = args.samples

    print_header(
        "Top-down training pipeline, single process (HRNet-W32 256x192, MSRAHeatmap 64x48)",
        extra={"data": f"{len(ds)} instances of {len({p for p, _ in items})} COCO images", "OpenCV threads": 1},
    )
    for _ in range(args.warmup):
        run_floor(items, len(items))
        run_dataset(ds, len(ds), args.seed)
        run_dataset(ds_mmpose, len(ds), args.seed)
    blocks: dict[str, list[float]] = defaultdict(list)
    for r in range(args.repeat):
        blocks["floor"].append(run_floor(items, n))
        blocks["posekit"].append(run_dataset(ds, n, args.seed + r))
        blocks["mmpose"].append(run_dataset(ds_mmpose, n, args.seed + r))
    per_sample = {k: statistics.median(v) / n for k, v in blocks.items()}
    floor = per_sample["floor"]
    names = {
        "floor": "floor: cv2.imread + cv2.warpAffine",
        "posekit": "posekit train pipeline",
        "mmpose": "same, MMPose-style per-keypoint target loop",
    }
    rows = [[names[k], f"{1.0 / v:.0f}", f"{v * 1e3:.2f}", fmt_ratio(v / floor)] for k, v in per_sample.items()]
    print(markdown_table(["pipeline", "samples/s", "ms/sample", "time vs floor"], rows))
    print(f"\nMedian of {args.repeat} interleaved blocks of {n} samples each.\n")

    stages = stage_breakdown(ds, n, args.seed)
    total = sum(stages.values())
    rows = [[k, f"{v * 1e3:.3f}", f"{100 * v / total:.0f}%"] for k, v in stages.items()]
    rows.append(["total", f"{total * 1e3:.3f}", "100%"])
    print(markdown_table(["posekit stage", "ms/sample", "share"], rows))

    rng = np.random.default_rng(args.seed)
    keypoints = [((0.1 + 0.8 * rng.random((1, 17, 2))) * INPUT_SIZE).astype(np.float32) for _ in range(200)]
    t_pk = time_encode(codec, keypoints, args.repeat)
    t_mm = time_encode(MMPoseLoopMSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0), keypoints, args.repeat)
    print()
    print(
        markdown_table(
            ["target generation (17 keypoints, 64x48)", "us/sample", "speed-up"],
            [
                ["MMPose 1.3.2 per-keypoint loop", f"{t_mm * 1e6:.0f}", "1.00x"],
                ["posekit MSRAHeatmap.encode (vectorized)", f"{t_pk * 1e6:.0f}", fmt_ratio(t_mm / t_pk)],
            ],
        )
    )


if __name__ == "__main__":
    main()
