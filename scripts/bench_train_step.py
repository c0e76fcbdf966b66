"""HRNet-W32 training step: Lightning (PoseLitModule + Trainer.fit) vs a raw PyTorch loop, and the speed switches.

Both run the same model (``build_model('hrnet_w32')``, same initial weights), the same optimizer (Adam, lr 5e-4,
posekit's ``build_param_groups`` / ``build_optimizer``, the per-step LambdaLR schedule) on the same fixed
in-memory batches (synthetic ``PoseBatch`` es: uint8 256x192 crops, MSRA 64x48 heatmap targets):

* **raw PyTorch**: ``preprocess -> model.loss -> backward -> optimizer.step -> scheduler.step``;
* **Lightning**: ``Trainer(limit_train_batches=warmup + steps).fit(PoseLitModule(model), loader)`` (no logger,
  checkpointing, progress bar or validation), the loader yielding the same ``PoseBatch`` objects;
* **switches** (Lightning): ``PoseLitModule(channels_last=True)``, ``Trainer(precision='bf16-mixed')`` or
  ``'16-mixed'`` (``fp16``: float16 AMP, meant for GPUs),
  ``PoseLitModule(compile=True)`` (``torch.compile``; its compilation is reported separately and the step time
  is measured after it; a failure is reported by its error class).

A step's time is the interval between the ends of two consecutive steps (data fetch, hooks, logging and the
optimizer included); the first ``--warmup`` steps of every block are not counted. Variants run in interleaved
blocks (raw, Lightning, switches, raw, Lightning, ...); the table reports the median step.

    python scripts/bench_train_step.py                                   # batch 4, 3 steps, no compile
    python scripts/bench_train_step.py --batch 8 --steps 3 --variants raw lightning channels_last bf16
    python scripts/bench_train_step.py --variants lightning compile      # compiling HRNet takes minutes on CPU
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import logging
import os
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import add_common_args, apply_threads, fmt_ratio, markdown_table, print_header, resolve_device  # noqa: E402

from posekit.engine.lit_module import PoseLitModule  # noqa: E402
from posekit.engine.optim import ScheduleConfig, build_optimizer, build_param_groups, lr_factor  # noqa: E402
from posekit.models import build_model  # noqa: E402
from posekit.structures import PoseBatch  # noqa: E402

VARIANTS = ("raw", "lightning", "channels_last", "bf16", "fp16", "compile")
OPTIM = {"name": "Adam", "lr": 5e-4, "weight_decay": 0.0}
SCHEDULE = {"policy": "multistep", "warmup_iters": 500, "warmup_ratio": 0.001, "milestones": [170, 200]}
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


def make_batches(n: int, batch: int, seed: int, input_size=(192, 256), heatmap_size=(48, 64)) -> list[PoseBatch]:
    """``n`` synthetic top-down batches: uint8 crops, heatmap targets with one Gaussian per keypoint."""
    g = torch.Generator().manual_seed(seed)
    out = []
    (w, h), (hw, hh) = input_size, heatmap_size
    ys, xs = torch.meshgrid(torch.arange(float(hh)), torch.arange(float(hw)), indexing="ij")
    for _ in range(n):
        inputs = torch.randint(0, 256, (batch, 3, h, w), dtype=torch.uint8, generator=g)
        centre = torch.rand(batch, 17, 2, generator=g) * torch.tensor([float(hw), float(hh)])
        heatmaps = torch.exp(
            -((xs - centre[..., 0, None, None]) ** 2 + (ys - centre[..., 1, None, None]) ** 2) / (2 * 2.0**2)
        )
        metas = [{"flip_indices": COCO_FLIP, "input_size": (w, h), "id": i} for i in range(batch)]
        out.append(
            PoseBatch(
                inputs=inputs,
                targets={"heatmaps": heatmaps.float(), "keypoint_weights": torch.ones(batch, 17)},
                centers=torch.zeros(batch, 2),
                scales=torch.ones(batch, 2),
                metas=metas,
            )
        )
    return out


class BatchList(Dataset):
    """Hands out ready ``PoseBatch`` es (DataLoader with ``batch_size=None``)."""

    def __init__(self, batches: list[PoseBatch]) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, idx: int) -> PoseBatch:
        return self.batches[idx]


def fresh_model(name: str, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(name)


# ---------------------------------------------------------------------------------------------------------- raw
class RawLoop:
    """The plain PyTorch training loop (same optimizer and schedule as PoseLitModule.configure_optimizers)."""

    def __init__(self, model: torch.nn.Module, device: torch.device) -> None:
        self.model = model.to(device).train()
        self.device = device

    def run(self, batches: list[PoseBatch]) -> list[float]:
        groups = build_param_groups(self.model, OPTIM["lr"], OPTIM["weight_decay"], None)
        optimizer = build_optimizer(OPTIM["name"], groups, lr=OPTIM["lr"], weight_decay=OPTIM["weight_decay"])
        cfg = ScheduleConfig(**SCHEDULE)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, functools.partial(lr_factor, iters_per_epoch=len(batches), cfg=cfg)
        )
        ends = [time.perf_counter()]
        for batch in batches:
            batch = batch.to(self.device, non_blocking=True)
            inputs = self.model.data_preprocessor(batch.inputs)
            losses = self.model.loss(inputs, batch)
            loss = sum(v for k, v in losses.items() if k.startswith("loss"))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            ends.append(time.perf_counter())
        return list(np.diff(ends))


# ---------------------------------------------------------------------------------------------------- lightning
def _lightning_imports():
    import lightning.pytorch as pl

    class StepTimer(pl.Callback):
        """Timestamps of the end of every training step (and of the start of the first)."""

        def __init__(self) -> None:
            self.ends: list[float] = []

        def on_train_epoch_start(self, trainer, pl_module) -> None:
            self.ends = [time.perf_counter()]

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            if pl_module.device.type == "cuda":
                torch.cuda.synchronize(pl_module.device)
            self.ends.append(time.perf_counter())

    return pl, StepTimer


class LightningRun:
    def __init__(self, model: torch.nn.Module, device: torch.device, variant: str) -> None:
        self.variant = variant
        self.device = device
        self.module = PoseLitModule(
            model,
            optim=OPTIM,
            scheduler=SCHEDULE,
            channels_last=variant == "channels_last",
            compile=variant == "compile",
        )
        self.precision = {"bf16": "bf16-mixed", "fp16": "16-mixed"}.get(variant, "32-true")

    def run(self, batches: list[PoseBatch]) -> list[float]:
        pl, StepTimer = _lightning_imports()
        timer = StepTimer()
        trainer = pl.Trainer(
            accelerator="gpu" if self.device.type == "cuda" else "cpu",
            devices=[self.device.index or 0] if self.device.type == "cuda" else 1,
            max_epochs=1,
            limit_train_batches=len(batches),
            limit_val_batches=0,
            num_sanity_val_steps=0,
            precision=self.precision,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            callbacks=[timer],
        )
        loader = DataLoader(BatchList(batches), batch_size=None, shuffle=False, num_workers=0)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer.fit(self.module, loader)
        return list(np.diff(timer.ends))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=4, help="batch size (default 4; the brief's setting is 8)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per block (default 3)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved blocks per variant (default 1)")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["raw", "lightning", "channels_last", "bf16"],
        choices=VARIANTS,
        help="what to run (default: all but compile, which takes minutes to compile HRNet on a CPU)",
    )
    parser.add_argument(
        "--model",
        default="hrnet_w32",
        help="posekit model config (default hrnet_w32; 'tiny' makes the fixed per-step costs visible)",
    )
    parser.add_argument("--seed", type=int, default=0)
    add_common_args(parser)
    parser.set_defaults(warmup=1)
    args = parser.parse_args(argv)
    apply_threads(args.threads)
    device = resolve_device(args.device)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    logging.getLogger("lightning.fabric").setLevel(logging.ERROR)

    probe = fresh_model(args.model, args.seed)
    codec = probe.head.decoder
    batches = make_batches(args.warmup + args.steps, args.batch, args.seed, codec.input_size, codec.heatmap_size)
    runners = {}
    for v in args.variants:
        model = fresh_model(args.model, args.seed)
        runners[v] = RawLoop(model, device) if v == "raw" else LightningRun(model, device, v)

    w, h = codec.input_size
    print_header(
        f"{args.model} training step, batch {args.batch}, {h}x{w}: Lightning vs raw PyTorch, and switches",
        device,
    )
    steps: dict[str, list[float]] = {v: [] for v in args.variants}
    first_block: dict[str, float] = {}
    errors: dict[str, str] = {}
    for r in range(args.rounds):
        for v, runner in runners.items():
            if v in errors:
                continue
            start = time.perf_counter()
            try:
                times = runner.run(batches)
            except Exception as e:  # e.g. torch.compile without a C++ compiler
                errors[v] = f"{type(e).__module__}.{type(e).__name__}"
                print(f"{v}: failed with {errors[v]}: {str(e).splitlines()[0][:200]}", file=sys.stderr)
                continue
            if r == 0:
                first_block[v] = time.perf_counter() - start
            steps[v] += times[args.warmup :]

    med = {v: statistics.median(t) for v, t in steps.items() if t}
    best = {v: min(t) for v, t in steps.items() if t}
    names = {
        "raw": "raw PyTorch loop",
        "lightning": "Lightning (PoseLitModule + Trainer.fit)",
        "channels_last": "Lightning + channels_last",
        "bf16": "Lightning + precision='bf16-mixed'",
        "fp16": "Lightning + precision='16-mixed' (AMP with a gradient scaler)",
        "compile": "Lightning + torch.compile",
    }
    rows = []
    for v in args.variants:
        if v in errors:
            rows.append([names[v], f"failed: {errors[v]}", "", "", "", ""])
            continue
        vs_raw = fmt_ratio(med[v] / med["raw"]) if "raw" in med else ""
        vs_pl = fmt_ratio(med[v] / med["lightning"]) if "lightning" in med and v not in ("raw", "lightning") else ""
        rows.append([names[v], f"{med[v]:.3f}", f"{best[v]:.3f}", f"{args.batch / med[v]:.2f}", vs_raw, vs_pl])
    headers = ["variant", "s/step (median)", "s/step (min)", "images/s", "time vs raw", "time vs Lightning fp32"]
    print(markdown_table(headers, rows))
    if "raw" in med and "lightning" in med:
        print(
            f"\nLightning overhead per step: {100 * (med['lightning'] / med['raw'] - 1):+.1f}% "
            f"({1e3 * (med['lightning'] - med['raw']):+.1f} ms) by the median step, "
            f"{100 * (best['lightning'] / best['raw'] - 1):+.1f}% ({1e3 * (best['lightning'] - best['raw']):+.1f} ms) "
            "by the fastest step."
        )
    if "compile" in first_block and "compile" not in errors:
        print(
            f"torch.compile: first block (compilation + {args.warmup + args.steps} steps) took "
            f"{first_block['compile']:.0f} s."
        )
    print(
        f"Median of {args.rounds} x {args.steps} steps per variant (after {args.warmup} warm-up step(s) per block). "
        "The 'first block' of Lightning includes Trainer setup."
    )


if __name__ == "__main__":
    main()
