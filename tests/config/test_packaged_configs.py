"""Every packaged experiment, data and model config composes and instantiates (models on the meta device; datasets
without their files: the data module, its pipelines with the codec, the metrics, the callbacks and loggers)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from posekit import conf_dir
from posekit.config import compose, list_configs

EXPERIMENTS = list_configs("experiment")
DATA = list_configs("data")
MODELS = list_configs("model")


def test_the_lists_are_not_empty():
    assert {"synthetic", "coco_hrnet"} <= set(EXPERIMENTS) and {"coco", "synthetic"} <= set(DATA)
    assert {"tiny", "hrnet_w32"} <= set(MODELS)
    assert len(MODELS) == len(list((conf_dir() / "model").glob("*.yaml")))


def _check_model(cfg) -> None:
    with torch.device("meta"):
        model = instantiate(cfg.model, _convert_="all")
    assert type(model).__name__ == cfg.model._target_.rsplit(".", 1)[-1]
    k = int(cfg.num_keypoints)
    out = getattr(model.head, "out_channels", None)
    assert out is None or out == k
    assert getattr(model.head, "decoder", None) is not None  # the head owns its codec


def _check_data(cfg) -> None:
    from posekit.datasets.transforms import Compose

    dm = instantiate(cfg.data, _recursive_=False)  # lazy: no file is read here
    for key in ("train_pipeline", "val_pipeline"):
        if key in cfg.data:
            pipeline = Compose(cfg.data[key])
            assert len(pipeline.transforms) == len(cfg.data[key]) > 0
    for split in ("train", "val", "test"):
        node = cfg.data.get(split)
        if node is not None and "pipeline" in node:
            assert len(Compose(node.pipeline).transforms) > 0
    metrics = []
    for node in cfg.data.evaluators:
        missing = "ann_file" in node and node.ann_file is not None and not Path(node.ann_file).exists()
        # without the file a COCO-style metric builds its ground truth from the samples, as MMPose's does
        metrics.append(instantiate(node, **({"ann_file": None} if missing else {}), _convert_="all"))
    assert metrics and all(hasattr(m, "compute") for m in metrics)
    assert dm.metainfo["num_keypoints"] == cfg.num_keypoints
    assert cfg.monitor == cfg.data.monitor


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_and_instantiates(name, tmp_path):
    paths = [f"paths.output_dir={tmp_path}", f"paths.data_dir={tmp_path}", f"paths.cache_dir={tmp_path}"]
    cfg = compose("train", [f"experiment={name}", *paths])
    _check_model(cfg)
    _check_data(cfg)
    for node in (cfg.get("callbacks") or {}).values():
        if node is not None and "_target_" in node:
            assert instantiate(node) is not None
    for node in (cfg.get("logger") or {}).values():
        if node is not None and "_target_" in node:
            assert instantiate(node) is not None
    assert cfg.trainer._target_ == "lightning.pytorch.Trainer"


@pytest.mark.parametrize("name", DATA)
def test_data_config_composes_and_instantiates(name, tmp_path):
    paths = [f"paths.output_dir={tmp_path}", f"paths.data_dir={tmp_path}", f"paths.cache_dir={tmp_path}"]
    # data=custom has mandatory fields (??? in conf/data/custom.yaml): the annotation file and the keypoint names
    required = {"custom": [f"data.ann_file={tmp_path}/train.json", "data.metainfo.keypoints=[nose,left_eye,right_eye]"]}
    if name == "posetrack18":  # its metric reads the per-video ground truth next to the annotation file at once
        import shutil

        src = Path(__file__).resolve().parents[1] / "data" / "mmpose_testdata" / "posetrack18" / "annotations"
        dst = tmp_path / "posetrack18" / "annotations"
        shutil.copytree(src / "val", dst / "val")
        shutil.copy(src / "test_posetrack18_val.json", dst / "posetrack18_val.json")
    cfg = compose("train", ["~experiment", f"data={name}", *paths, *required.get(name, [])])
    assert cfg.num_keypoints == cfg.data.num_keypoints
    _check_data(cfg)


@pytest.mark.parametrize("name", MODELS)
def test_model_config_composes_and_instantiates_on_meta(name):
    cfg = compose("model_only", [f"model={name}", "num_keypoints=17"])
    _check_model(cfg)
