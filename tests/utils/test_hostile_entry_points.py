"""Every entry point that reads a checkpoint (posekit-eval, init_model, init_cfg Pretrained, the MMPose converter)
runs no code from the file and instantiates nothing outside the allowlist from its stored config."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from posekit.apis import init_model
from posekit.engine.runner import PosekitError, evaluate
from posekit.models import build_model
from posekit.models.convert import convert_mmpose_checkpoint
from posekit.utils import UnsafeConfigError, check_targets


def _eval_cli(ckpt, cwd, *extra):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run(
        [sys.executable, "-m", "posekit.cli.eval", f"ckpt={ckpt}", f"output_dir={cwd / 'out'}", *extra],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _stored_cfg(marker, target="os.system"):
    """A posekit_cfg whose data node calls ``target`` when instantiated."""
    return {
        "paths": {"output_dir": "x", "data_dir": "."},
        "data": {"_target_": target, "_args_": [f"touch {marker}"]},
        "model": {"_target_": "posekit.models.TopdownPoseEstimator"},
    }


@pytest.mark.slow  # a CLI start (~5 s); the same file through evaluate() is in the default run below
def test_eval_cli_runs_no_pickled_code(tmp_path, hostile):
    marker = tmp_path / "pwned"
    ckpt = hostile.save_hostile(tmp_path / "evil.ckpt", {"state_dict": {"model.w": torch.ones(1)}}, marker)
    proc = _eval_cli(ckpt, tmp_path, "accelerator=cpu")
    assert not marker.exists()
    assert proc.returncode == 2 and "no stored posekit configuration" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_eval_cli_refuses_stored_config_target(tmp_path):
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "cfg.ckpt"
    torch.save({"state_dict": {}, "posekit_cfg": _stored_cfg(marker)}, ckpt)
    proc = _eval_cli(ckpt, tmp_path)
    assert not marker.exists()
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1 and "data._target_='os.system' is not allowed" in line, line


@pytest.mark.parametrize("kind", ["eval", "exec"])
def test_evaluate_runs_no_pickled_code(tmp_path, hostile, kind):
    marker = tmp_path / "pwned"
    ckpt = hostile.save_hostile(tmp_path / "evil.ckpt", {"state_dict": {}}, marker, kind)
    with pytest.raises((PosekitError, ValueError), match="no stored posekit configuration"):  # ConfigError
        evaluate(str(ckpt), output_dir=tmp_path / "out")
    assert not marker.exists()


@pytest.mark.parametrize("target", ["torch.load", "builtins.eval", "posekit.utils.load_checkpoint_file"])
def test_evaluate_refuses_stored_config_target(tmp_path, target):
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "cfg.ckpt"
    torch.save({"state_dict": {}, "posekit_cfg": _stored_cfg(marker, target)}, ckpt)
    with pytest.raises(UnsafeConfigError, match=rf"data\._target_='{target}'"):
        evaluate(str(ckpt), output_dir=tmp_path / "out")
    assert not marker.exists()


def test_init_model_runs_no_pickled_code(tmp_path, hostile):
    marker = tmp_path / "pwned"
    ckpt = hostile.save_hostile(tmp_path / "evil.ckpt", {"state_dict": {}}, marker, "eval")
    with pytest.raises(ValueError, match="no stored posekit configuration"):
        init_model(ckpt)
    weights = hostile.save_hostile(tmp_path / "w.pth", {"state_dict": build_model("tiny").state_dict()}, marker)
    model = init_model("tiny", checkpoint=weights)  # the weights load, the payload does not run
    assert model.dataset_meta["num_keypoints"] == 17
    assert not marker.exists()


@pytest.mark.parametrize("target", ["os.system", "torch.load"])
def test_init_model_refuses_stored_model_target(tmp_path, target):
    marker = tmp_path / "pwned"
    cfg = {"model": {"_target_": target, "_args_": [f"touch {marker}"]}}
    ckpt = tmp_path / "cfg.ckpt"
    torch.save({"state_dict": {}, "posekit_cfg": cfg}, ckpt)
    with pytest.raises(UnsafeConfigError, match=rf"model\._target_='{target}' is not allowed"):
        init_model(ckpt)
    assert not marker.exists()


def test_pretrained_init_cfg_runs_no_pickled_code(tmp_path, hostile):
    marker = tmp_path / "pwned"
    source = build_model("tiny")
    with torch.no_grad():
        for p in source.parameters():
            p.uniform_(-1, 1)
    path = hostile.save_hostile(tmp_path / "pre.pth", {"state_dict": source.state_dict()}, marker, "exec")
    model = build_model("tiny")
    model.init_cfg = {"type": "Pretrained", "checkpoint": str(path)}
    with pytest.warns(UserWarning, match="nothing was executed"):
        model.init_weights()
    assert not marker.exists()
    for k, v in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v)


def test_convert_runs_no_pickled_code_and_reads_mmengine_meta(tmp_path, hostile):
    marker = tmp_path / "pwned"
    sd = build_model("tiny").state_dict()
    evil = hostile.save_hostile(tmp_path / "evil.pth", {"state_dict": sd}, marker, "os.system")
    ckpt = convert_mmpose_checkpoint(evil, "tiny")
    assert not marker.exists() and set(ckpt["state_dict"]) == {f"model.{k}" for k in sd}
    mm = hostile.save_mmengine_like(tmp_path / "mm.pth", sd, module_name="posekit_test_gone_mmengine2")
    ckpt = convert_mmpose_checkpoint(mm, "tiny")
    assert ckpt["posekit_conversion"]["mmpose_meta"]["epoch"] == 210
    check_targets(ckpt["posekit_cfg"])  # what posekit writes passes its own check
