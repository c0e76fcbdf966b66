"""Training throughput, posekit vs MMPose 1.3.2 on the same machine: samples/s of the same model, data, pipeline,
batch size, threads and DataLoader workers.

Each measurement is one fresh process (so the two frameworks never share a process or a cache):

* **MMPose**: ``mmengine.runner.Runner`` from MMPose's own config (``td-hm_res50_8xb64-210e_coco-256x192.py``,
  ``rtmpose-m_8xb256-420e_coco-256x192.py``) run by the MMPose interpreter (``--mmpose-python``, default
  ``/opt/mmref/bin/python``), with an ``IterBasedTrainLoop``;
* **posekit**: what ``posekit-train`` builds (``posekit.engine.runner.build_datamodule / build_lit_module /
  build_trainer`` from ``experiment=coco_res50`` / ``coco_rtmpose_m``), run by ``Trainer.fit``.

Both read the 4 COCO images of ``tests/data/mmpose_testdata/coco`` (``test_coco.json``, its person instances
repeated ``--repeat-data`` times so that an epoch boundary does not fall inside the timed steps) through their
training pipelines (RTMPose's without its ``Albumentation`` and colour-jitter steps on both sides: MMPose's
environment here has neither albumentations nor the mmcv ops that mmdet's ``YOLOXHSVRandomAug`` imports), the
configs' optimizers (MMPose's LR schedulers removed; posekit's per-step LambdaLR kept, a negligible cost), RTMPose
with its EMA hook / callback, no validation, no checkpoints. A hook / callback records the time at the end of
every step; the first ``--warmup`` steps are not counted:
``samples/s = batch * steps / (t[warmup + steps] - t[warmup])`` (data loading, forward, backward, optimizer, EMA,
hooks).

Runs are interleaved (MMPose, posekit, MMPose, posekit, ... per model, ``--rounds`` times); the table gives the
median samples/s and the ratio.

    python scripts/bench_vs_mmpose_train.py                                   # res50 and rtmpose_m, batch 8
    python scripts/bench_vs_mmpose_train.py --models res50 --batch-size 16 --workers 2 --threads 2 --steps 10
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COCO = ROOT / "tests" / "data" / "mmpose_testdata" / "coco"
MMPOSE_CONFIGS = {
    "res50": "body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py",
    "rtmpose_m": "body_2d_keypoint/rtmpose/coco/rtmpose-m_8xb256-420e_coco-256x192.py",
    "hrnet_w32": "body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py",
}
POSEKIT_EXPERIMENTS = {"res50": "coco_res50", "rtmpose_m": "coco_rtmpose_m", "hrnet_w32": "coco_hrnet"}


def mmpose_config(name: str):
    """MMPose's config ``name`` with RTMPose's ``mmdet.CSPNeXt`` backbone pointed at MMPose's own ``CSPNeXt``
    (mmdet's import pulls mmcv's compiled ops, absent from mmcv-lite) and no pretrained backbone download."""
    import mmpose
    from mmengine.config import Config

    cfg = Config.fromfile(str(Path(mmpose.__file__).parent / ".mim" / "configs" / name))
    backbone = cfg.model.backbone
    backbone.pop("_scope_", None)
    backbone.type = backbone.type.replace("mmdet.", "")
    backbone.pop("init_cfg", None)
    return cfg


_DROPPED = ("Albumentation", "YOLOXHSVRandomAug", "PhotometricDistortion")


def _drop_albumentation(pipeline: list) -> list:
    """The pipeline without Albumentation (not installed in MMPose's environment here) and the colour jitter
    (MMPose's RTMPose config uses mmdet's YOLOXHSVRandomAug, whose import needs mmcv's compiled ops; posekit's
    config has PhotometricDistortion): dropped on both sides so that both do the same work."""
    return [t for t in pipeline if not any(d in str(t.get("type", t.get("_target_", ""))) for d in _DROPPED)]


# ------------------------------------------------------------------------------------------------ MMPose worker
def run_mmpose(args: argparse.Namespace) -> dict:
    import torch
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS
    from mmengine.runner import Runner

    torch.set_num_threads(args.threads)
    stamps: list[float] = []

    @HOOKS.register_module(force=True)
    class _StepTimer(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            stamps.append(time.perf_counter())

    cfg = mmpose_config(MMPOSE_CONFIGS[args.model])
    ds = cfg.train_dataloader.dataset
    ds.data_root = str(COCO)
    ds.ann_file = "test_coco.json"
    ds.data_prefix = dict(img="")
    ds.pipeline = _drop_albumentation(ds.pipeline)
    cfg.train_dataloader.dataset = dict(type="RepeatDataset", times=args.repeat_data, dataset=ds)
    cfg.train_dataloader.batch_size = args.batch_size
    cfg.train_dataloader.num_workers = args.workers
    cfg.train_dataloader.persistent_workers = args.workers > 0
    cfg.train_dataloader.pin_memory = False
    cfg.train_cfg = dict(by_epoch=False, max_iters=args.warmup + args.steps, val_interval=10**9)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type="CheckpointHook", interval=10**9, by_epoch=False, save_last=False)
    hooks = [h for h in cfg.get("custom_hooks", []) if h.get("type") == "EMAHook"]
    cfg.custom_hooks = hooks + [dict(type="_StepTimer")]
    cfg.work_dir = tempfile.mkdtemp(prefix="bench_mmpose_")
    cfg.log_level = "WARNING"
    cfg.env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method="fork"), dist_cfg=dict(backend="gloo"))
    cfg.randomness = dict(seed=0)
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=args.batch_size)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return _result(stamps, args)


# ----------------------------------------------------------------------------------------------- posekit worker
def run_posekit(args: argparse.Namespace) -> dict:
    import lightning.pytorch as pl
    import torch
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf
    from torch.utils.data import Dataset

    from posekit.engine.runner import build_datamodule, build_lit_module, build_trainer

    torch.set_num_threads(args.threads)
    stamps: list[float] = []

    class StepTimer(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            stamps.append(time.perf_counter())

    class Repeat(Dataset):
        def __init__(self, base, times):
            self.base, self.times = base, times

        def __len__(self):
            return len(self.base) * self.times

        def __getitem__(self, i):
            return self.base[i % len(self.base)]

    out = tempfile.mkdtemp(prefix="bench_posekit_")
    overrides = [
        f"experiment={POSEKIT_EXPERIMENTS[args.model]}",
        f"data.data_root={COCO}",
        "data.train.ann_file=test_coco.json",
        "data.train.data_prefix.img=''",
        f"data.batch_size={args.batch_size}",
        f"data.num_workers={args.workers}",
        "data.pin_memory=false",
        "logger=none",
        f"paths.output_dir={out}",
        "auto_scale_lr.enable=false",
        "scheduler.policy=constant" if False else "scheduler.warmup_iters=0",
    ]
    with initialize_config_module("posekit.conf", version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    OmegaConf.set_struct(cfg, False)
    cfg.data.train_pipeline = _drop_albumentation(OmegaConf.to_container(cfg.data.train_pipeline, resolve=False))
    cfg.data.val = None
    cfg.data.evaluators = []
    keep = {"ema"}
    cfg.callbacks = {k: v for k, v in cfg.callbacks.items() if k in keep}
    dm = build_datamodule(cfg)
    dm.setup("fit")
    dm.train_dataset = Repeat(dm.train_dataset, args.repeat_data)
    dm.setup = lambda stage=None: None
    lit = build_lit_module(cfg, dm)
    trainer = build_trainer(
        cfg,
        max_steps=args.warmup + args.steps,
        max_epochs=-1,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=50,
        accelerator="cpu",
        callbacks=[StepTimer()] + [c for c in build_trainer(cfg).callbacks if type(c).__name__ == "ExpMomentumEMA"],
    )
    trainer.fit(lit, datamodule=dm)
    return _result(stamps, args)


def _result(stamps: list[float], args: argparse.Namespace) -> dict:
    need = args.warmup + args.steps
    if len(stamps) < need:
        raise SystemExit(f"only {len(stamps)} steps were timed, expected {need}")
    span = stamps[need - 1] - stamps[args.warmup - 1]
    return {"samples_per_s": args.batch_size * args.steps / span, "step_s": span / args.steps}


# ----------------------------------------------------------------------------------------------------- driver
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["res50", "rtmpose_m"], choices=sorted(MMPOSE_CONFIGS))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="DataLoader workers (both)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (both)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat-data", type=int, default=50)
    parser.add_argument("--mmpose-python", default="/opt/mmref/bin/python")
    parser.add_argument("--worker", choices=["mmpose", "posekit"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = (run_mmpose if args.worker == "mmpose" else run_posekit)(args)
        print("RESULT " + json.dumps(result), flush=True)
        return

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_common import markdown_table, print_header

    print_header(
        "Training throughput: posekit vs MMPose 1.3.2",
        extra={
            "batch": args.batch_size,
            "workers": args.workers,
            "threads": args.threads,
            "warmup": args.warmup,
            "steps": args.steps,
            "rounds": args.rounds,
        },
    )
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONWARNINGS="ignore")
    common = [
        f"--{k.replace('_', '-')}={getattr(args, k)}"
        for k in ("batch_size", "workers", "threads", "warmup", "steps", "repeat_data")
    ]
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for model in args.models:
            for fw, python in (("mmpose", args.mmpose_python), ("posekit", sys.executable)):
                cmd = [python, __file__, f"--worker={fw}", f"--model={model}", *common]
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
                line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
                if proc.returncode or not line:
                    raise SystemExit(f"{fw} {model} failed:\n{proc.stderr[-3000:]}")
                res = json.loads(line[-1][7:])
                results.setdefault((model, fw), []).append(res["samples_per_s"])
                print(f"<!-- {model} {fw}: {res['samples_per_s']:.2f} samples/s -->", flush=True)
    rows = []
    for model in args.models:
        mm = statistics.median(results[(model, "mmpose")])
        pk = statistics.median(results[(model, "posekit")])
        rows.append([model, f"{mm:.2f}", f"{pk:.2f}", f"{pk / mm:.2f}x"])
    print(markdown_table(["model (256x192)", "MMPose samples/s", "posekit samples/s", "posekit / MMPose"], rows))
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
