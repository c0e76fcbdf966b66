"""End to end through the real console scripts: train on a tiny synthetic set, evaluate, resume, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

TINY = [
    "data.synthetic.num_train=24",
    "data.synthetic.num_val=6",
    "data.batch_size=8",
    "data.val_batch_size=8",
    "data.num_workers=0",
    "trainer.max_epochs=2",
    "trainer.check_val_every_n_epoch=1",
    "trainer.log_every_n_steps=1",
    "trainer.accelerator=cpu",
    "scheduler.warmup_iters=2",
    "callbacks.progress_bar.refresh_rate=0",
]


def _run(args: list[str], cwd: Path, env_extra: dict | None = None, check: bool = True):
    env = dict(os.environ, POSEKIT_CACHE=str(cwd / "cache"), PYTHONWARNINGS="ignore")
    env.update(env_extra or {})
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def _cli(name: str) -> list[str]:
    return [sys.executable, "-m", f"posekit.cli.{name}"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("e2e")
    proc = _run([*_cli("train"), *TINY], work)
    run_dir = Path(proc.stdout.split("run directory ")[1].split()[0])
    return work, (work / run_dir) if not run_dir.is_absolute() else run_dir, proc


def test_train_writes_metrics_and_checkpoints(trained_run):
    work, run_dir, proc = trained_run
    assert run_dir.parent == work / "outputs" / "train" / "runs"
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["epochs"] == 2
    assert "coco/AP" in summary["val"] and 0.0 <= summary["val"]["coco/AP"] <= 1.0
    assert summary["global_step"] == 2 * (24 // 8) or summary["global_step"] > 0
    ckpts = sorted(p.name for p in (run_dir / "checkpoints").glob("*.ckpt"))
    assert "last.ckpt" in ckpts and any(n.startswith("best") for n in ckpts)
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["posekit_cfg"]["model"]["_target_"] == "posekit.models.TopdownPoseEstimator"
    assert (work / "cache").exists()  # the synthetic dataset was generated into POSEKIT_CACHE


def test_eval_from_checkpoint_reproduces_val_metrics(trained_run):
    work, run_dir, _ = trained_run
    out = work / "eval_out"
    proc = _run(
        [*_cli("eval"), f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}", f"output_dir={out}", "accelerator=cpu"], work
    )
    assert "coco/AP" in proc.stdout
    evaluated = json.loads((out / "metrics.json").read_text())["val"]
    trained = json.loads((run_dir / "metrics.json").read_text())["val"]
    assert evaluated["coco/AP"] == pytest.approx(trained["coco/AP"], abs=1e-6)


def test_eval_with_detected_boxes_override(trained_run):
    work, run_dir, _ = trained_run
    dets = next((work / "cache").glob("**/person_detections_val.json"))
    out = work / "eval_det"
    _run(
        [
            *_cli("eval"),
            f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}",
            f"data.val.bbox_file={dets}",
            f"output_dir={out}",
            "accelerator=cpu",
        ],
        work,
    )
    metrics = json.loads((out / "metrics.json").read_text())["val"]
    assert 0.0 <= metrics["coco/AP"] <= 1.0


def test_resume_from_last_continues(trained_run):
    work, run_dir, _ = trained_run
    proc = _run(
        [
            *_cli("train"),
            *[a for a in TINY if not a.startswith("trainer.max_epochs")],
            "trainer.max_epochs=3",
            "ckpt_path=last",
        ],
        work,
    )
    run2 = work / proc.stdout.split("run directory ")[1].split()[0]
    assert run2 != run_dir
    summary = json.loads((run2 / "metrics.json").read_text())
    assert summary["resumed_from"].endswith("last.ckpt")
    assert summary["epochs"] == 3
    first = json.loads((run_dir / "metrics.json").read_text())
    assert summary["global_step"] == first["global_step"] * 3 // 2
    assert proc.returncode == 0


def test_missing_dataset_fails_fast_with_path(tmp_path):
    proc = _run([*_cli("train"), "experiment=coco_hrnet", f"paths.data_dir={tmp_path}/nowhere"], tmp_path, check=False)
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()[-1]
    assert "person_keypoints_train2017.json" in err and "paths.data_dir" in err


def test_wrong_config_key_is_one_line_error(tmp_path):
    proc = _run([*_cli("train"), "optim.lrr=0.1"], tmp_path, check=False)
    assert proc.returncode != 0
    assert "lrr" in proc.stderr


def test_eval_rejects_checkpoint_of_another_model(trained_run, tmp_path):
    work, run_dir, _ = trained_run
    proc = _run(
        [*_cli("eval"), f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}", "model=res50", f"output_dir={tmp_path}"],
        work,
        check=False,
    )
    assert proc.returncode == 2
    assert "does not fit" in proc.stderr


def test_eval_data_paths_follow_a_paths_override(trained_run, tmp_path):
    work, run_dir, _ = trained_run
    proc = _run(
        [
            *_cli("eval"),
            f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}",
            f"paths.cache_dir={tmp_path}/moved",
            f"output_dir={tmp_path}/out",
            "accelerator=cpu",
        ],
        work,
        check=False,
    )
    assert proc.returncode == 2
    assert f"{tmp_path}/moved" in proc.stderr  # the synthetic data root interpolates paths.cache_dir


def test_train_on_real_coco_wholebody_sample(tmp_path, testdata_dir):
    """data=coco_wholebody end to end on MMPose's 12-person COCO-WholeBody sample: the dataset class joins the
    keypoint parts, the model gets 133 outputs, CocoWholeBodyMetric scores the validation against the file."""
    root = testdata_dir / "coco"
    args = [
        "data=coco_wholebody",
        "model=tiny",
        f"data.data_root={root}",
        "data.train.ann_file=test_coco_wholebody.json",
        "data.train.data_prefix.img=",
        "data.val.ann_file=test_coco_wholebody.json",
        "data.val.data_prefix.img=",
        "data.val.bbox_file=null",
        "data.batch_size=4",
        "data.val_batch_size=4",
        "data.num_workers=0",
        "data.pin_memory=false",
        "trainer.max_epochs=1",
        "trainer.check_val_every_n_epoch=1",
        "trainer.log_every_n_steps=1",
        "trainer.accelerator=cpu",
        "scheduler.warmup_iters=1",
        "callbacks.progress_bar.refresh_rate=0",
    ]
    proc = _run([*_cli("train"), *args], tmp_path)
    run_dir = Path(proc.stdout.split("run directory ")[1].split()[0])
    run_dir = run_dir if run_dir.is_absolute() else tmp_path / run_dir
    val = json.loads((run_dir / "metrics.json").read_text())["val"]
    assert "coco-wholebody/AP" in val and 0.0 <= val["coco-wholebody/AP"] <= 1.0
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["state_dict"]["model.head.final_layer.weight"].shape[0] == 133
