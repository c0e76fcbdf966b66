"""Every MMPose 2D family's data config on MMPose's own sample: it loads as MMPose loads it, trains a step, and its
metrics give MMPose's numbers on the same predictions.

Expected values: ``tests/data/golden/datasets_2d.{json,npz}``, written by MMPose 1.3.2 itself with
``PYTHONPATH=<poseval checkout> /opt/mmref/bin/python tests/data/tools/gen_dataset_goldens.py`` (the predictions
MMPose's metrics saw are in the npz; posekit's metrics get the same arrays through posekit's val pipeline).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_module
from hydra.utils import instantiate
from omegaconf import OmegaConf

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
NAMES = sorted(json.loads((GOLDEN / "datasets_2d.json").read_text()))
METRIC_ATOL = 1e-6


@pytest.fixture(scope="module")
def golden(golden_dir):
    index = json.loads((golden_dir / "datasets_2d.json").read_text())
    arrays = dict(np.load(golden_dir / "datasets_2d.npz"))
    return index, arrays


def sample_paths(spec: dict, testdata_dir: Path, tmp_path: Path) -> tuple[Path, str]:
    """The sample's folder and its image folder (links made in ``tmp_path`` where MMPose's file names need them)."""
    root = testdata_dir / spec["root"]
    if spec.get("links"):
        for link, target in spec["links"].items():
            path = tmp_path / link
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                os.symlink(testdata_dir / target, path)
        return root, str(tmp_path) + "/"
    return root, str(testdata_dir / spec.get("img", spec["root"])) + "/"


def compose_on_sample(name: str, entry: dict, testdata_dir: Path, tmp_path: Path):
    """``posekit-train data=<name> model=tiny`` with both splits pointed at MMPose's sample."""
    with initialize_config_module(config_module="posekit.conf", version_base=None):
        cfg = compose(
            "train",
            overrides=[
                f"data={name}",
                "model=tiny",
                f"paths.data_dir={tmp_path}",
                "data.num_workers=0",
                "data.pin_memory=false",
            ],
        )
    spec = entry["sample"]
    root, img = sample_paths(spec, testdata_dir, tmp_path)
    OmegaConf.update(cfg, "data.data_root", str(root))
    OmegaConf.update(cfg, "data.batch_size", 2)
    OmegaConf.update(cfg, "data.val_batch_size", 4)
    for split in ("train", "val"):
        OmegaConf.update(cfg, f"data.{split}.ann_file", spec["ann"])
        OmegaConf.update(cfg, f"data.{split}.data_prefix", {"img": img})
        for key, value in spec.get("extra", {}).items():
            OmegaConf.update(cfg, f"data.{split}.{key}", value)
        if "bbox_file" in cfg.data[split]:
            OmegaConf.update(cfg, f"data.{split}.bbox_file", None)
    return cfg


def metric_key(ev_cfg: dict) -> str:
    """The golden's key of an evaluator: MMPose's type and arguments (without ann_file)."""
    cfg = {k: v for k, v in ev_cfg.items() if k not in ("_target_", "ann_file")}
    cfg["type"] = ev_cfg["_target_"].split(".")[-1]
    return json.dumps(cfg, sort_keys=True)


@pytest.mark.parametrize("name", NAMES)
def test_data_config_loads_trains_and_evaluates_like_mmpose(name, golden, testdata_dir, tmp_path):
    index, arrays = golden
    entry = index[name]
    cfg = compose_on_sample(name, entry, testdata_dir, tmp_path)
    assert cfg.data.val._target_.split(".")[-1] == entry["mmpose_class"]
    assert cfg.monitor == cfg.data.monitor and cfg.monitor_mode == ("min" if cfg.monitor == "NME" else "max")
    dm = instantiate(cfg.data, _recursive_=False)
    dm.setup("fit")

    # loads: MMPose's lengths, ids, boxes, keypoints and visibility
    assert dm.metainfo["num_keypoints"] == entry["num_keypoints"] == cfg.num_keypoints
    assert dm.metainfo["dataset_name"] == entry["dataset_name"]
    np.testing.assert_array_equal(dm.metainfo["flip_indices"], arrays[f"{name}/meta_flip_indices"])
    np.testing.assert_array_equal(dm.metainfo["sigmas"], arrays[f"{name}/meta_sigmas"])
    np.testing.assert_array_equal(dm.metainfo["dataset_keypoint_weights"], arrays[f"{name}/meta_joint_weights"])
    np.testing.assert_array_equal(
        np.asarray(dm.metainfo["skeleton_links"]).reshape(-1, 2), arrays[f"{name}/meta_skeleton_links"]
    )
    assert len(dm.train_dataset) == entry["train_len"]
    val = dm.val_dataset
    assert len(val) == entry["test_len"]
    items = [val.get_data_info(i) for i in range(len(val))]
    np.testing.assert_array_equal([int(d["id"]) for d in items], arrays[f"{name}/ids"])
    np.testing.assert_array_equal([int(d["img_id"]) for d in items], arrays[f"{name}/img_ids"])
    np.testing.assert_allclose(np.concatenate([d["bbox"] for d in items]), arrays[f"{name}/bboxes"], atol=1e-3)
    np.testing.assert_allclose(np.concatenate([d["keypoints"] for d in items]), arrays[f"{name}/keypoints"], atol=1e-3)
    np.testing.assert_array_equal(
        np.concatenate([d["keypoints_visible"] for d in items]), arrays[f"{name}/keypoints_visible"]
    )
    for key in ("box_size", "hand_type"):
        if f"{name}/{key}" in arrays:
            np.testing.assert_allclose([np.ravel(d[key]) for d in items], arrays[f"{name}/{key}"])

    # trains: one batch through the tiny model, finite loss and gradients
    torch.manual_seed(0)
    model = instantiate(cfg.model)
    batch = next(iter(dm.train_dataloader()))
    assert batch.targets["heatmaps"].shape[1] == entry["num_keypoints"]
    losses = model.loss(model.data_preprocessor(batch.inputs), batch)
    loss = sum(v for k, v in losses.items() if k.startswith("loss"))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)

    # evaluates: MMPose's numbers for the same predictions, through posekit's val pipeline metas
    evaluators = dm.build_evaluators()
    ev_cfgs = [OmegaConf.to_container(c, resolve=True) for c in cfg.data.evaluators]
    preds = torch.from_numpy(arrays[f"{name}/pred_keypoints"])[:, None]
    scores = torch.from_numpy(arrays[f"{name}/pred_scores"])[:, None]
    start = 0
    for batch in dm.val_dataloader():
        n = len(batch.metas)
        for ev in evaluators:
            ev.update(batch.metas, preds[start : start + n], scores[start : start + n])
        start += n
    assert start == len(preds)
    expected_all = entry["metrics"]
    for ev, ev_cfg in zip(evaluators, ev_cfgs):
        expected = expected_all[metric_key(ev_cfg)]
        got = ev.compute()
        assert set(got) == set(expected), (name, sorted(got), sorted(expected))
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, rel=1e-6, abs=METRIC_ATOL, nan_ok=True), (name, key)
    assert cfg.data.monitor in {k for ev in evaluators for k in ev.compute()}
