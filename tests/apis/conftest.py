"""Fixtures: the tiny model (random weights, fixed seed), a posekit checkpoint of it, the real COCO test images."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

VAL_PIPELINE = [
    {"_target_": "posekit.datasets.transforms.LoadImage"},
    {"_target_": "posekit.datasets.transforms.GetBBoxCenterScale", "padding": 1.25},
    {"_target_": "posekit.datasets.transforms.TopdownAffine", "input_size": [96, 128]},
    {"_target_": "posekit.datasets.transforms.PackPoseInputs"},
]


@pytest.fixture(scope="session")
def tiny_model():
    from posekit.apis import init_model

    torch.manual_seed(0)
    return init_model("tiny")


def write_posekit_ckpt(path: Path, pipeline: list | None = None, seed: int = 1) -> dict:
    """A checkpoint in posekit-train's format (``model.``-prefixed state_dict + ``posekit_cfg``) of the tiny model."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from posekit import conf_dir
    from posekit.models import build_model_from_cfg

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        cfg = compose(config_name="model_only", overrides=["model=tiny"])
    torch.manual_seed(seed)
    model = build_model_from_cfg(cfg)
    plain = OmegaConf.to_container(cfg, resolve=True)
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    posekit_cfg = {
        "model": plain["model"],
        "codec": plain["codec"],
        "num_keypoints": 17,
        "data": {"metainfo": "coco", "val": {"pipeline": pipeline or VAL_PIPELINE}},
    }
    torch.save({"state_dict": state, "posekit_cfg": posekit_cfg, "epoch": 0}, path)
    return state


class _CkptFactory:
    write = staticmethod(write_posekit_ckpt)

    @staticmethod
    def pipeline() -> list:
        return copy.deepcopy(VAL_PIPELINE)


@pytest.fixture(scope="session")
def ckpt_factory() -> _CkptFactory:
    """``ckpt_factory.write(path, pipeline=...)`` writes a tiny posekit checkpoint; ``.pipeline()`` the default."""
    return _CkptFactory()


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("ckpt") / "tiny.ckpt"
    return path, write_posekit_ckpt(path)


@pytest.fixture(scope="session")
def coco_images(testdata_dir) -> dict:
    """``{file_name: (path, boxes (N, 4) xywh)}`` of the real COCO samples and their annotated boxes."""
    root = testdata_dir / "coco"
    ann = json.loads((root / "test_coco.json").read_text())
    out = {}
    for img in ann["images"]:
        boxes = np.array([a["bbox"] for a in ann["annotations"] if a["image_id"] == img["id"]], np.float32)
        out[img["file_name"]] = (root / img["file_name"], boxes.reshape(-1, 4))
    return out
