"""Interrupts and resume: SIGTERM/SIGINT save the current step, `last.ckpt` is the latest epoch, and a resumed run
reproduces the uninterrupted run's losses to the bit (CPU)."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from hydra import compose, initialize_config_dir

import posekit
from posekit.engine.callbacks import NonFiniteGuard, NonFiniteLossError, TrainingInterrupted
from posekit.engine.lit_module import PoseLitModule
from posekit.engine.resume import ResumeError
from posekit.engine.runner import train

TINY = [
    "data.synthetic.num_train=16",
    "data.synthetic.num_val=6",
    "data.batch_size=8",
    "data.val_batch_size=8",
    "data.num_workers=0",
    "trainer.max_epochs=2",
    "trainer.check_val_every_n_epoch=2",
    "trainer.log_every_n_steps=1",
    "trainer.accelerator=cpu",
    "trainer.enable_model_summary=false",
    "trainer.enable_progress_bar=false",
    "scheduler.warmup_iters=2",
    "callbacks.progress_bar=null",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    """One generated synthetic dataset for the whole module."""
    return tmp_path_factory.mktemp("synthetic_cache")


@pytest.fixture(autouse=True)
def _shared_cache(cache_dir, monkeypatch):
    monkeypatch.setenv("POSEKIT_CACHE", str(cache_dir))


def _cfg(tmp_path: Path, name: str, *extra: str):
    with initialize_config_dir(str(posekit.conf_dir()), version_base=None):
        return compose(
            "train",
            overrides=[
                *TINY,
                f"paths.log_dir={tmp_path}/outputs",
                f"paths.output_dir={tmp_path}/outputs/train/runs/{name}",
                *extra,
            ],
        )


def _losses(run_dir: Path) -> dict[int, str]:
    """step -> train/loss as written (the float's repr: equal strings are equal bits)."""
    path = next(run_dir.glob("**/metrics.csv"))
    out = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            if row.get("train/loss"):
                out[int(row["step"])] = row["train/loss"]
    return out


@pytest.fixture
def signal_at_step(monkeypatch):
    """Send ``signum`` to this process inside the training step at global step ``step``."""

    def arm(step: int, signum: int = signal.SIGTERM):
        real = PoseLitModule.training_step

        def step_fn(self, batch, batch_idx):
            if self.trainer.global_step == step:
                os.kill(os.getpid(), signum)
            return real(self, batch, batch_idx)

        monkeypatch.setattr(PoseLitModule, "training_step", step_fn)

    return arm


def test_interrupt_and_resume_reproduce_the_uninterrupted_run(tmp_path, signal_at_step):
    full = train(_cfg(tmp_path, "full"))
    total = full["global_step"]
    per_epoch = total // 2
    assert full["status"] == "completed" and per_epoch > 2
    reference = _losses(Path(full["output_dir"]))
    assert len(reference) == total

    cut = per_epoch + 2  # mid epoch 1
    signal_at_step(cut - 1)
    with pytest.raises(TrainingInterrupted) as info:
        train(_cfg(tmp_path, "cut"))
    stop = info.value
    assert stop.exit_code == 143 and stop.global_step == cut
    cut_dir = tmp_path / "outputs/train/runs/cut"
    summary = json.loads((cut_dir / "metrics.json").read_text())
    assert summary["status"] == "interrupted" and summary["global_step"] == cut
    assert summary["last_model_path"] == stop.ckpt_path == str(cut_dir / "checkpoints/last.ckpt")
    assert torch.load(stop.ckpt_path, weights_only=True)["global_step"] == cut

    resumed = train(_cfg(tmp_path, "resumed", f"ckpt_path={stop.ckpt_path}"))
    assert resumed["status"] == "completed" and resumed["global_step"] == total
    before, after = _losses(cut_dir), _losses(Path(resumed["output_dir"]))
    # CSV steps are 0-based; the interrupted step's own row is not logged (the stop comes at that batch's end)
    assert set(before) >= set(range(cut - 1)) and set(after) == set(range(cut, total))
    assert {s: reference[s] for s in before} == before
    assert {s: reference[s] for s in after} == after  # bit for bit


def test_sigint_saves_and_exits_130(tmp_path, signal_at_step):
    signal_at_step(1, signal.SIGINT)
    with pytest.raises(TrainingInterrupted) as info:
        train(_cfg(tmp_path, "int", "trainer.max_epochs=1"))
    assert info.value.exit_code == 130 and Path(info.value.ckpt_path).is_file()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers put back


def test_last_ckpt_is_written_every_epoch_without_validation(tmp_path):
    summary = train(_cfg(tmp_path, "noval", "trainer.check_val_every_n_epoch=17"))
    last = torch.load(summary["last_model_path"], weights_only=True)
    assert last["global_step"] == summary["global_step"] and last["epoch"] == 1  # the end of epoch index 1
    assert not list((tmp_path / "outputs/train/runs/noval/checkpoints").glob("best*"))


def test_resume_refuses_overrides_it_cannot_apply_and_other_runs(tmp_path):
    first = train(_cfg(tmp_path, "a", "trainer.max_epochs=1"))
    last = first["last_model_path"]
    with pytest.raises(ResumeError, match=r"cannot apply optim\.lr=0\.5 .*checkpoint's run has 0\.005"):
        train(_cfg(tmp_path, "b", f"ckpt_path={last}", "optim.lr=0.5"))
    with pytest.raises(ResumeError, match=r"cannot apply data\.batch_size=4"):
        train(_cfg(tmp_path, "b", "ckpt_path=last", "data.batch_size=4"))
    with pytest.raises(ResumeError, match=r"no run of this model and data .* differs: data\.synthetic\.seed=1"):
        train(_cfg(tmp_path, "c", "ckpt_path=last", "data.synthetic.seed=1"))


def test_sigterm_in_a_subprocess_exits_143_with_a_resumable_checkpoint(tmp_path, cache_dir):
    train(_cfg(tmp_path / "warm", "warm", "train=false"))  # the dataset exists before the clock starts
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    args = [sys.executable, "-m", "posekit.cli.train", *TINY, "trainer.max_epochs=500", "data.num_workers=1"]
    with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as errf:
        proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=out, stderr=errf)
        deadline = time.time() + 120
        while not list(tmp_path.glob("outputs/train/runs/*/checkpoints/last.ckpt")) and time.time() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    err = (tmp_path / "err.txt").read_text()
    assert proc.returncode == 143, err[-2000:]
    (run_dir,) = tmp_path.glob("outputs/train/runs/*")
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["status"] == "interrupted"
    ckpt = torch.load(run_dir / "checkpoints/last.ckpt", weights_only=True)
    assert ckpt["global_step"] == summary["global_step"] > 0
    hint = f"resume with: posekit-train {' '.join(args[3:])} ckpt_path={run_dir / 'checkpoints/last.ckpt'}"
    assert hint in err, err[-1000:]


def test_dataloader_workers_die_with_their_parent(tmp_path):
    """A worker that called die_with_parent() (the loaders' worker_init_fn) ends when its parent is SIGKILLed."""
    module = Path(posekit.__file__).parent / "utils" / "process.py"  # loaded alone: no torch import, a fast test
    code = (
        "import importlib.util, os, sys, time\n"
        f"spec = importlib.util.spec_from_file_location('process', {str(module)!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "die_with_parent = mod.die_with_parent\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    die_with_parent()\n"
        "    print(os.getpid(), flush=True)\n"  # only once armed: killing the parent earlier tests nothing
        "    time.sleep(120)\n"
        "    os._exit(0)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.time() + 10
    while time.time() < deadline:
        status = Path(f"/proc/{child}/status")
        if not status.exists() or "zombie" in status.read_text():
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the worker outlived its parent")


def test_non_finite_loss_stops_with_step_loss_and_lr(tmp_path):
    with pytest.raises(NonFiniteLossError) as info:
        train(_cfg(tmp_path, "nan", "optim.lr=1e6", "trainer.max_epochs=3"))
    msg = str(info.value)
    pattern = r"non-finite (loss|weights) at step \d+ \(epoch \d+, batch \d+\): loss=\S+, lr=\S+; lower optim\.lr"
    assert re.search(pattern, msg), msg
    assert "\n" not in msg
    ckpts = tmp_path / "outputs/train/runs/nan/checkpoints"
    for path in ckpts.glob("*.ckpt") if ckpts.exists() else []:  # whatever was saved before is finite
        state = torch.load(path, weights_only=True)["state_dict"]
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()), path


def test_non_finite_weights_are_never_saved():
    guard = NonFiniteGuard()
    module = torch.nn.Linear(2, 2)
    trainer = SimpleNamespace(global_step=7)
    guard.on_save_checkpoint(trainer, module, {})  # finite: fine
    with torch.no_grad():
        module.weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteLossError, match="refusing to save a checkpoint at step 7"):
        guard.on_save_checkpoint(trainer, module, {})
