"""Scale-out paths: 2-process DDP (gloo on CPU) gathers the same metrics as one process; Hydra multirun sweeps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import lightning.pytorch as pl
import pytest
from hydra import compose, initialize_config_dir

import posekit
from posekit.engine.runner import build_datamodule, build_lit_module


def _cfg(tmp_path: Path, overrides: list[str]):
    with initialize_config_dir(str(posekit.conf_dir()), version_base=None):
        return compose(
            "train",
            overrides=[
                f"paths.cache_dir={tmp_path}/cache",
                f"paths.output_dir={tmp_path}/out",
                "data.synthetic.num_train=4",
                "data.synthetic.num_val=7",
                "data.num_workers=0",
                "data.val_batch_size=4",
                *overrides,
            ],
        )


def test_ddp_two_cpu_processes_gather_the_same_metrics(tmp_path):
    cfg = _cfg(tmp_path, [])
    pl.seed_everything(0)
    dm = build_datamodule(cfg)
    dm.prepare_data()
    lit = build_lit_module(cfg, dm)
    single = pl.Trainer(
        accelerator="cpu", devices=1, logger=False, enable_progress_bar=False, enable_model_summary=False
    ).validate(lit, datamodule=dm, verbose=False)[0]

    dm2 = build_datamodule(cfg)
    lit2 = build_lit_module(cfg, dm2)
    lit2.load_state_dict(lit.state_dict())
    ddp = pl.Trainer(
        accelerator="cpu",
        devices=2,
        strategy="ddp_spawn",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    ).validate(lit2, datamodule=dm2, verbose=False)[0]
    assert set(single) == set(ddp) and "coco/AP" in single
    for key, value in single.items():
        assert ddp[key] == pytest.approx(value, abs=1e-6), key


def test_multirun_sweep_two_lrs_two_losses(tmp_path):
    env = dict(os.environ, POSEKIT_CACHE=str(tmp_path / "cache"), PYTHONWARNINGS="ignore")
    args = [
        sys.executable,
        "-m",
        "posekit.cli.train",
        "-m",
        "optim.lr=1e-3,3e-3",
        "model.head.loss._target_=posekit.models.losses.KeypointMSELoss,posekit.models.losses.KeypointOHKMMSELoss",
        "data.synthetic.num_train=4",
        "data.synthetic.num_val=2",
        "data.batch_size=4",
        "data.num_workers=0",
        "trainer.max_epochs=1",
        "trainer.check_val_every_n_epoch=1",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "scheduler.warmup_iters=1",
        f"hydra.sweep.dir={tmp_path}/sweep",
    ]
    proc = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = sorted((tmp_path / "sweep").glob("*/metrics.json"))
    assert len(runs) == 4
    seen = set()
    for path in runs:
        overrides = (path.parent / ".hydra" / "overrides.yaml").read_text()
        seen.add(overrides)
        summary = json.loads(path.read_text())
        assert "coco/AP" in summary["val"]
        stored = json.loads(json.dumps(summary))
        assert stored["epochs"] == 1
    assert len(seen) == 4  # each combination ran in its own directory
