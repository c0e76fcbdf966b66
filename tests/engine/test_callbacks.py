"""EMA (ExpMomentumEMA on Lightning's WeightAveraging) and the stage-2 PipelineSwitch in a real tiny fit."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from hydra import compose, initialize_config_dir, initialize_config_module

import posekit
from posekit.engine.callbacks import ExpMomentumEMA, PipelineSwitch, exp_momentum
from posekit.engine.checkpoint_io import AtomicCheckpointIO
from posekit.engine.runner import build_datamodule, build_lit_module


def test_exp_momentum_schedule():
    assert exp_momentum(0, 0.0002, 2000) == pytest.approx(0.9998 * torch.exp(torch.tensor(-1 / 2000)).item() + 0.0002)
    assert exp_momentum(10**7, 0.0002, 2000) == pytest.approx(0.0002)
    assert exp_momentum(10, 0.0002, 2000) > exp_momentum(1000, 0.0002, 2000)
    with pytest.raises(ValueError, match="momentum"):
        ExpMomentumEMA(momentum=1.5)


class _Recorder(pl.Callback):
    def __init__(self):
        self.pipelines = []

    def on_train_epoch_start(self, trainer, pl_module):
        names = [type(t).__name__ for t in trainer.datamodule.train_dataset.pipeline.transforms]
        self.pipelines.append(names)


def test_ema_and_pipeline_switch_in_a_fit(tmp_path: Path):
    with initialize_config_dir(str(posekit.conf_dir()), version_base=None):
        cfg = compose(
            "train",
            overrides=[
                f"paths.cache_dir={tmp_path}/cache",
                f"paths.output_dir={tmp_path}/out",
                "data.synthetic.num_train=4",
                "data.synthetic.num_val=2",
                "data.batch_size=4",
                "data.num_workers=0",
                "scheduler.warmup_iters=1",
            ],
        )
    pl.seed_everything(0)
    dm = build_datamodule(cfg)
    dm.prepare_data()
    lit = build_lit_module(cfg, dm)
    stage2 = [
        {"_target_": "posekit.datasets.transforms.LoadImage"},
        {"_target_": "posekit.datasets.transforms.GetBBoxCenterScale"},
        {"_target_": "posekit.datasets.transforms.TopdownAffine", "input_size": list(cfg.codec.input_size)},
        {"_target_": "posekit.datasets.transforms.GenerateTarget", "encoder": dict(cfg.codec)},
        {"_target_": "posekit.datasets.transforms.PackPoseInputs"},
    ]
    recorder = _Recorder()
    ema = ExpMomentumEMA(momentum=0.01, gamma=10)
    ckpt_cb = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=3,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        check_val_every_n_epoch=1,
        callbacks=[PipelineSwitch(switch_epoch=2, switch_pipeline=stage2), recorder, ema, ckpt_cb],
        plugins=[AtomicCheckpointIO()],
    )
    trainer.fit(lit, datamodule=dm)
    assert "RandomFlip" in recorder.pipelines[0] and "RandomFlip" in recorder.pipelines[1]
    assert "RandomFlip" not in recorder.pipelines[2] and len(recorder.pipelines[2]) == 5
    ckpt = torch.load(tmp_path / "ckpt" / "last.ckpt", map_location="cpu", weights_only=False)
    # the EMA weights are the checkpoint's state_dict; the live ones are kept for an exact resume
    assert "current_model_state" in ckpt
    key = next(k for k in ckpt["state_dict"] if k.endswith("final_layer.weight"))
    assert not torch.equal(ckpt["state_dict"][key], ckpt["current_model_state"][key])
    assert ckpt["posekit_cfg"]["model"]["_target_"] == "posekit.models.TopdownPoseEstimator"
    assert not list((tmp_path / "ckpt").glob("*.tmp"))  # atomic writes leave no temporary files


@pytest.mark.parametrize(
    "data, monitor",
    [
        ("synthetic", "coco/AP"),
        ("coco", "coco/AP"),
        ("coco_wholebody", "coco-wholebody/AP"),
        ("crowdpose", "crowdpose/AP"),
        ("mpii", "PCK"),
    ],
)
def test_checkpoint_monitor_follows_the_data_config(data, monitor):
    """`data=X` alone selects checkpoints by a metric X's evaluators produce (no 'coco/AP' for MPII)."""
    with initialize_config_module(config_module="posekit.conf", version_base=None):
        cfg = compose("train", overrides=[f"data={data}"])
    assert cfg.monitor == monitor == cfg.callbacks.model_checkpoint.monitor
