"""Samples/s of the training DataLoader (PoseDataModule's loader + collate_pose_samples) with 0, 1, 2 workers.

The dataset is the real COCO sample of ``mmpose_testdata/coco`` (``test_coco.json``) with the HRNet-W32 256x192
training pipeline (see ``bench_pipeline.py``), repeated to ``--samples`` items; the loader is built by
``PoseDataModule._loader`` (the one ``posekit-train`` uses: shuffle, ``collate_pose_samples``, persistent workers,
``drop_last``). The first ``--warmup-batches`` batches of every run (worker start-up) are not timed.

A second table times ``collate_pose_samples`` alone on B ready ``PoseSample`` s and, with ``--device cuda``, the
cost of ``pin_memory`` and of the host-to-device copy of a batch.

    python scripts/bench_dataloader.py
    python scripts/bench_dataloader.py --workers 0 2 4 --batch 64 --samples 1024
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (  # noqa: E402
    add_common_args,
    apply_threads,
    fmt_ms,
    fmt_ratio,
    markdown_table,
    print_header,
    resolve_device,
    timeit,
)
from bench_pipeline import DEFAULT_DATA, HEATMAP_SIZE, INPUT_SIZE, build_dataset  # noqa: E402

from posekit.codecs import MSRAHeatmap  # noqa: E402
from posekit.datasets import PoseDataModule  # noqa: E402
from posekit.structures import collate_pose_samples  # noqa: E402


class RepeatDataset(Dataset):
    """``length`` items cycling over ``dataset`` (a stand-in for a large annotation file)."""

    def __init__(self, dataset: Dataset, length: int) -> None:
        self.dataset = dataset
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, idx: int):
        return self.dataset[idx % len(self.dataset)]


def loader_rate(dm: PoseDataModule, dataset: Dataset, batch: int, warmup_batches: int) -> tuple[float, float]:
    """(samples/s after the warm-up batches, seconds to the first batch) of one pass over ``dataset``."""
    loader = dm._loader(dataset, batch, shuffle=True, drop_last=True)
    start = time.perf_counter()
    first = None
    t0, counted = None, 0
    for i, b in enumerate(loader):
        if i == 0:
            first = time.perf_counter() - start
        if i == warmup_batches - 1 or (warmup_batches == 0 and t0 is None):
            t0 = time.perf_counter()
            continue
        if i >= warmup_batches:
            counted += len(b)
    elapsed = time.perf_counter() - t0
    del loader  # stops persistent workers
    return counted / elapsed, first


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA, help="folder with test_coco.json + images")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2], help="num_workers values to run")
    parser.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--samples", type=int, default=640, help="items per pass (default 640)")
    parser.add_argument("--warmup-batches", type=int, default=2, help="untimed batches at the start of a pass")
    parser.add_argument("--seed", type=int, default=0)
    add_common_args(parser)
    parser.set_defaults(repeat=3, warmup=1)
    args = parser.parse_args(argv)
    apply_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    codec = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0)
    base = build_dataset(args.data_root, codec)
    dataset = RepeatDataset(base, args.samples)
    pin = device.type == "cuda"
    print_header(
        f"Training DataLoader: PoseDataModule loader + collate_pose_samples, batch {args.batch}",
        device,
        extra={"data": f"{len(base)} COCO instances repeated to {args.samples}", "pin_memory": pin},
    )

    rows = []
    rates: dict[int, list[float]] = {w: [] for w in args.workers}
    firsts: dict[int, list[float]] = {w: [] for w in args.workers}
    for _ in range(args.repeat):  # interleaved: 0, 1, 2 workers, 0, 1, 2 ...
        for w in args.workers:
            dm = PoseDataModule(num_workers=w, persistent_workers=True, pin_memory=pin, batch_size=args.batch)
            rate, first = loader_rate(dm, dataset, args.batch, args.warmup_batches)
            rates[w].append(rate)
            firsts[w].append(first)
    base_rate = statistics.median(rates[args.workers[0]])
    for w in args.workers:
        rate = statistics.median(rates[w])
        rows.append(
            [
                str(w),
                f"{rate:.0f}",
                f"{1e3 / rate:.2f}",
                fmt_ratio(rate / base_rate),
                f"{statistics.median(firsts[w]):.2f}",
            ]
        )
    print(
        markdown_table(
            ["num_workers", "samples/s", "ms/sample", f"vs {args.workers[0]} workers", "s to first batch"], rows
        )
    )
    print(f"\nMedian of {args.repeat} interleaved passes of {args.samples} items.\n")

    # collate alone (and pinning / transfer with CUDA)
    np.random.seed(args.seed)
    samples = [dataset[i] for i in range(args.batch)]
    t_collate = timeit(lambda: collate_pose_samples(samples), max(args.repeat * 10, 20), args.warmup)
    t_pipeline = timeit(lambda: [dataset[i] for i in range(args.batch)], args.repeat, args.warmup)
    rows = [
        [
            f"collate_pose_samples ({args.batch} samples)",
            fmt_ms(t_collate.median, 3),
            f"{100 * t_collate.median / t_pipeline.median:.1f}%",
        ]
    ]
    if pin:
        batch = collate_pose_samples(samples)
        t_pin = timeit(lambda: batch.pin_memory(), max(args.repeat * 10, 20), args.warmup)
        pinned = batch.pin_memory()
        t_copy = timeit(lambda: pinned.to(device, non_blocking=True), 20, args.warmup, device)
        t_copy_pageable = timeit(lambda: batch.to(device), 20, args.warmup, device)
        rows.append(
            ["PoseBatch.pin_memory()", fmt_ms(t_pin.median, 3), f"{100 * t_pin.median / t_pipeline.median:.1f}%"]
        )
        rows.append(["host-to-device copy, pinned", fmt_ms(t_copy.median, 3), "(main process)"])
        rows.append(["host-to-device copy, pageable", fmt_ms(t_copy_pageable.median, 3), "(main process)"])
    else:
        rows.append(["PoseBatch.pin_memory()", "n/a (no CUDA device: run with --device cuda)", ""])
    print(markdown_table(["per batch", "ms", f"vs producing the batch ({fmt_ms(t_pipeline.median, 1)} ms)"], rows))


if __name__ == "__main__":
    main()
