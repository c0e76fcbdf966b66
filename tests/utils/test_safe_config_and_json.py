"""posekit.utils.safe_config.check_targets and posekit.utils.json_io."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from posekit import conf_dir
from posekit.utils import UnsafeConfigError, check_targets, write_json_atomic
from posekit.utils.json_io import dump_json_strict


def test_every_packaged_config_passes():
    files = sorted(conf_dir().glob("**/*.yaml"))
    assert len(files) > 20
    for f in files:
        check_targets(OmegaConf.load(f), source=str(f))


@pytest.mark.parametrize(
    ("cfg", "where"),
    [
        ({"data": {"_target_": "os.system", "_args_": ["id"]}}, "data._target_='os.system'"),
        ({"model": {"head": {"loss": {"_target_": "torch.load"}}}}, "model.head.loss._target_='torch.load'"),
        ({"data": {"train_pipeline": [{"_target_": "subprocess.Popen"}]}}, "data.train_pipeline[0]._target_"),
        ({"x": {"_target_": "posekit.models.build_model"}}, "not a class"),
        ({"x": {"_target_": "posekit.no_such.Thing"}}, "does not exist"),
        ({"x": {"_target_": "torch.nnx.Linear"}}, "is not allowed"),
        ({"model": {"init_cfg": {"trust_checkpoint": True}}}, "model.init_cfg.trust_checkpoint=True"),
    ],
)
def test_refused_targets_name_the_key(cfg, where):
    with pytest.raises(UnsafeConfigError, match="stored.ckpt: ") as info:
        check_targets(OmegaConf.create(cfg), source="stored.ckpt")
    assert where in str(info.value) and "\n" not in str(info.value)


def test_allowed_targets():
    callback = {"_target_": "lightning.pytorch.callbacks.ModelCheckpoint"}
    check_targets({"a": {"_target_": "torch.nn.Linear"}, "b": [callback]})


def test_strict_json_replaces_non_finite_with_null_and_notes_it(tmp_path):
    obj = {"val": {"coco/AP": float("nan"), "PCK": np.float32(0.5)}, "loss": torch.tensor(float("inf")), "n": 3}
    path = tmp_path / "m.json"
    write_json_atomic(obj, path)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert data["val"] == {"coco/AP": None, "PCK": 0.5} and data["loss"] is None and data["n"] == 3
    assert data["non_finite"] == ["loss=inf", "val.coco/AP=nan"]
    assert not list(tmp_path.glob(".*tmp"))


def test_strict_json_keeps_finite_values_exact():
    assert json.loads(dump_json_strict({"x": 0.1 + 0.2, "y": [1, 2.5]})) == {"x": 0.1 + 0.2, "y": [1, 2.5]}
    assert "NaN" not in dump_json_strict([float("nan")])
