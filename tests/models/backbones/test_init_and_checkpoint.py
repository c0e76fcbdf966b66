"""BaseBackbone.init_weights (init_cfg) and posekit.models.utils.load_checkpoint."""

from __future__ import annotations

import logging
import sys
import types

import pytest
import torch

from posekit.hub import WeightsDownloadError
from posekit.models.backbones import ResNet
from posekit.models.utils import RemoteCheckpointError, load_checkpoint, load_state_dict


def _tiny(**kwargs) -> ResNet:
    return ResNet(depth=18, stem_channels=8, base_channels=8, **kwargs)


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setenv("POSEKIT_HOME", str(tmp_path / "posekit_home"))
    monkeypatch.setenv("POSEKIT_WEIGHTS_MIRROR", "http://127.0.0.1:9")  # no network in tests: downloads fail here
    return tmp_path / "torch_home" / "hub" / "checkpoints"


def _randomize(model: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.uniform_(0.5, 1.5)
    return model


def _assert_same(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], msg=k)


def test_pretrained_init_cfg_with_prefix_loads_exactly(tmp_path):
    source = _randomize(_tiny())
    full = {f"backbone.{k}": v for k, v in source.state_dict().items()}
    full["head.final_layer.weight"] = torch.zeros(17, 8, 1, 1)
    path = tmp_path / "full_model.pth"
    torch.save({"state_dict": full, "meta": {"epoch": 3}}, path)

    model = _tiny(init_cfg=dict(type="Pretrained", checkpoint=str(path), prefix="backbone."))
    model.init_weights()
    _assert_same(model, source)  # zero_init_residual is not applied over pretrained weights


def test_pretrained_without_prefix_strips_module_and_reports_keys(tmp_path, caplog):
    source = _randomize(_tiny())
    state = {f"module.{k}": v for k, v in source.state_dict().items() if not k.startswith("layer4.1.")}
    state["module.fc.weight"] = torch.zeros(10, 64)
    path = tmp_path / "dp.pth"
    torch.save(state, path)

    model = _tiny()
    with caplog.at_level(logging.WARNING):
        missing, unexpected = load_checkpoint(model, path)
    assert unexpected == ["fc.weight"]
    # (BatchNorm fills in a missing num_batches_tracked itself)
    expected_missing = {k for k in model.state_dict() if k.startswith("layer4.1.") and "num_batches" not in k}
    assert set(missing) == expected_missing
    assert "fc.weight" in caplog.text and "layer4.1.conv1.weight" in caplog.text
    torch.testing.assert_close(model.conv1.weight, source.conv1.weight)


def test_shape_mismatch_is_skipped_or_raises_when_strict():
    model = _tiny()
    state = model.state_dict()
    before = model.conv1.weight.clone()
    state["conv1.weight"] = torch.ones(8, 3, 3, 3)
    missing, unexpected = load_state_dict(model, state)
    assert missing == ["conv1.weight"] and unexpected == []
    torch.testing.assert_close(model.conv1.weight, before)
    with pytest.raises(RuntimeError, match="size mismatch"):
        load_state_dict(model, state, strict=True)


def test_prefix_not_found(tmp_path):
    path = tmp_path / "x.pth"
    torch.save(_tiny().state_dict(), path)
    with pytest.raises(KeyError, match="prefix 'backbone.'"):
        load_checkpoint(_tiny(), path, prefix="backbone")


def test_url_raises_a_clear_error(empty_hub):
    url = "https://download.openmmlab.com/mmpose/pretrain_models/hrnet_w32-36af842e.pth"
    model = _tiny(init_cfg=dict(type="Pretrained", checkpoint=url))
    with pytest.raises(WeightsDownloadError) as err:  # downloads go through posekit.hub
        model.init_weights()
    message = str(err.value)
    assert "could not download" in message and "hrnet_w32-36af842e.pth" in message and "posekit_home" in message
    with pytest.raises(WeightsDownloadError, match="resnet50-"):
        load_checkpoint(_tiny(), "torchvision://resnet50")
    with pytest.raises(RemoteCheckpointError, match="does not resolve"):
        load_checkpoint(_tiny(), "mmcls://mobilenet_v2")
    with pytest.raises(FileNotFoundError, match="not found"):
        load_checkpoint(_tiny(), "/nonexistent/file.pth")


def test_torchvision_scheme_uses_the_hub_cache(empty_hub):
    source = _randomize(ResNet(depth=18))
    empty_hub.mkdir(parents=True)
    torch.save(source.state_dict(), empty_hub / "resnet18-f37072fd.pth")  # torchvision's IMAGENET1K_V1 file
    model = ResNet(depth=18, init_cfg=dict(type="Pretrained", checkpoint="torchvision://resnet18"))
    model.init_weights()
    _assert_same(model, source)


def test_checkpoint_with_unimportable_metadata(tmp_path):
    fake = types.ModuleType("posekit_test_fake_mmengine")
    exec("class MessageHub:\n    def __init__(self):\n        self.log = {'loss': [1.0, 2.0]}\n", fake.__dict__)
    MessageHub = fake.MessageHub
    sys.modules[fake.__name__] = fake
    try:
        source = _randomize(_tiny())
        path = tmp_path / "mmengine_style.pth"
        torch.save({"state_dict": source.state_dict(), "message_hub": MessageHub()}, path)
    finally:
        del sys.modules[fake.__name__]
    model = _tiny()
    assert load_checkpoint(model, path) == ([], [])
    _assert_same(model, source)


def test_default_and_custom_init_cfg():
    model = _tiny()
    assert float(model.bn1.weight.min()) == 1.0
    model = _tiny(
        init_cfg=[dict(type="Constant", val=0.5, layer="Conv2d"), dict(type="Constant", val=2, layer="_BatchNorm")]
    )
    assert torch.all(model.conv1.weight == 0.5) and torch.all(model.bn1.weight == 2)
    assert torch.all(model.layer1[0].bn2.weight == 0)  # zero_init_residual after init_cfg
