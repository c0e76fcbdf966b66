import math

import pytest
import torch
from torch import nn

from posekit.engine.optim import ScheduleConfig, build_optimizer, build_param_groups, lr_factor, scaled_lr


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Linear(4, 2)


def test_param_groups_norm_and_bias_decay():
    net = _Net()
    groups = build_param_groups(
        net, lr=0.1, weight_decay=0.05, paramwise_cfg={"norm_decay_mult": 0.0, "bias_decay_mult": 0.0}
    )
    by_param = {id(p): g for g in groups for p in g["params"]}
    assert by_param[id(net.conv.weight)]["weight_decay"] == pytest.approx(0.05)
    assert by_param[id(net.conv.bias)]["weight_decay"] == 0.0
    assert by_param[id(net.bn.weight)]["weight_decay"] == 0.0
    assert by_param[id(net.bn.bias)]["weight_decay"] == 0.0
    assert sum(len(g["params"]) for g in groups) == len(list(net.parameters()))


def test_param_groups_custom_keys_longest_match():
    net = _Net()
    groups = build_param_groups(
        net, 1.0, 0.1, {"custom_keys": {"head": {"lr_mult": 10.0}, "head.bias": {"lr_mult": 2.0, "decay_mult": 0.0}}}
    )
    by_param = {id(p): g for g in groups for p in g["params"]}
    assert by_param[id(net.head.weight)]["lr"] == pytest.approx(10.0)
    assert by_param[id(net.head.bias)]["lr"] == pytest.approx(2.0)
    assert by_param[id(net.head.bias)]["weight_decay"] == 0.0
    assert by_param[id(net.conv.weight)]["lr"] == pytest.approx(1.0)


def test_build_optimizer_and_errors():
    net = _Net()
    opt = build_optimizer("adamw", build_param_groups(net, 1e-3, 0.0), lr=1e-3)
    assert isinstance(opt, torch.optim.AdamW)
    with pytest.raises(ValueError, match="optim.name"):
        build_optimizer("lamb", build_param_groups(net, 1e-3, 0.0), lr=1e-3)


def test_scaled_lr():
    assert scaled_lr(1e-3, 64, {"enable": True, "base_batch_size": 512}) == pytest.approx(1.25e-4)
    assert scaled_lr(1e-3, 64, {"enable": False, "base_batch_size": 512}) == 1e-3


def test_warmup_and_multistep():
    cfg = ScheduleConfig(policy="multistep", warmup_iters=10, warmup_ratio=0.001, milestones=[2, 4], gamma=0.1)
    assert lr_factor(0, 100, cfg) == pytest.approx(0.001)
    assert lr_factor(5, 100, cfg) == pytest.approx(0.001 + 0.999 * 0.5)
    assert lr_factor(10, 100, cfg) == 1.0
    assert lr_factor(199, 100, cfg) == 1.0
    assert lr_factor(200, 100, cfg) == pytest.approx(0.1)
    assert lr_factor(450, 100, cfg) == pytest.approx(0.01)


def test_cosine_and_flat_cosine():
    cfg = ScheduleConfig(policy="cosine", warmup_iters=0, max_epochs=10, min_lr_ratio=0.05)
    assert lr_factor(0, 10, cfg) == pytest.approx(1.0)
    assert lr_factor(50, 10, cfg) == pytest.approx(0.05 + 0.95 * 0.5)
    assert lr_factor(100, 10, cfg) == pytest.approx(0.05)
    flat = ScheduleConfig(policy="flat_cosine", warmup_iters=0, max_epochs=10, flat_epochs=6, min_lr_ratio=0.0)
    assert lr_factor(59, 10, flat) == 1.0
    assert lr_factor(80, 10, flat) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    with pytest.raises(ValueError, match="policy"):
        lr_factor(0, 10, ScheduleConfig(policy="poly"))
