"""The per-family experiments (hand, face, animal, whole body) compose with MMPose's schedule and build their model."""

from __future__ import annotations

import pytest
import torch
from hydra import compose, initialize_config_module
from hydra.utils import instantiate

# experiment -> (data, K, model input (w, h), monitor, monitor_mode, epochs, lr, milestones)
EXPERIMENTS = {
    "onehand10k_hrnet": ("onehand10k", 21, (256, 256), "AUC", "max", 210, 5e-4, [170, 200]),
    "wflw_hrnet": ("wflw", 98, (256, 256), "NME", "min", 60, 2e-3, [40, 55]),
    "ap10k_hrnet": ("ap10k", 17, (256, 256), "coco/AP", "max", 210, 5e-4, [170, 200]),
    "coco_wholebody_hrnet": ("coco_wholebody", 133, (192, 256), "coco-wholebody/AP", "max", 210, 5e-4, [170, 200]),
}


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_family_experiment_composes_and_builds(name, tmp_path):
    data, k, input_size, monitor, mode, epochs, lr, milestones = EXPERIMENTS[name]
    with initialize_config_module(config_module="posekit.conf", version_base=None):
        cfg = compose("train", overrides=[f"experiment={name}", f"paths.data_dir={tmp_path}"])
    assert cfg.data.name == data and cfg.num_keypoints == k
    assert tuple(cfg.codec.input_size) == input_size
    assert cfg.monitor == cfg.data.monitor == monitor and cfg.monitor_mode == mode
    assert cfg.trainer.max_epochs == epochs and cfg.optim.lr == lr and list(cfg.scheduler.milestones) == milestones
    model = instantiate(cfg.model)
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, input_size[1], input_size[0]))
    assert out.shape == (1, k, input_size[1] // 4, input_size[0] // 4)
