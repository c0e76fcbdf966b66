from __future__ import annotations

import pytest
import torch
import torchvision

from posekit.hub import WeightsDownloadError
from posekit.models.backbones import TorchvisionBackbone


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setenv("POSEKIT_WEIGHTS_MIRROR", "http://127.0.0.1:9")  # no network in tests: downloads fail here
    return tmp_path / "torch_home" / "hub" / "checkpoints"


@pytest.mark.parametrize(
    ("name", "out_indices", "channels", "strides"),
    [
        ("resnet18", (0, 1, 2, 3, 4), [64, 64, 128, 256, 512], [2, 4, 8, 16, 32]),
        ("mobilenet_v3_small", (-1,), [576], [32]),
        ("shufflenet_v2_x0_5", (2, -1), [48, 1024], [8, 32]),
        ("swin_t", (-2, -1), [384, 768], [16, 32]),
    ],
)
def test_feature_maps(name, out_indices, channels, strides):
    model = TorchvisionBackbone(name, out_indices=out_indices).eval()
    assert model.out_channels == channels and model.out_strides == strides
    outs = model(torch.rand(1, 3, 64, 64))
    assert isinstance(outs, tuple) and len(outs) == len(out_indices)
    assert [o.shape[1] for o in outs] == channels
    assert [64 // o.shape[2] for o in outs] == strides


def test_keeps_torchvision_names_drops_classifier_and_unused_stages():
    keys = TorchvisionBackbone("resnet18", out_indices=(3,)).state_dict()
    assert "layer3.1.bn2.running_var" in keys
    assert not any(k.startswith(("layer4", "fc")) for k in keys)
    keys = TorchvisionBackbone("mobilenet_v3_small").state_dict()
    assert "features.12.0.weight" in keys and not any(k.startswith("classifier") for k in keys)


def test_loads_a_local_torchvision_state_dict(tmp_path):
    torch.manual_seed(0)
    tv = torchvision.models.resnet18().eval()
    path = tmp_path / "resnet18.pth"
    torch.save(tv.state_dict(), path)
    model = TorchvisionBackbone("resnet18", out_indices=(-1,), weights=path).eval()
    x = torch.rand(1, 3, 64, 48)
    ref = tv.layer4(tv.layer3(tv.layer2(tv.layer1(tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))))))
    torch.testing.assert_close(model(x)[0], ref)


def test_named_weights_never_download(empty_hub):
    with pytest.raises(WeightsDownloadError, match="shufflenetv2_x0.5-"):  # downloaded through posekit.hub
        TorchvisionBackbone("shufflenet_v2_x0_5", weights="IMAGENET1K_V1")
    with pytest.raises(ValueError, match="weights name"):
        TorchvisionBackbone("shufflenet_v2_x0_5", weights="NOT_A_WEIGHT")


def test_named_weights_from_the_hub_cache(empty_hub):
    url = torchvision.models.ShuffleNet_V2_X0_5_Weights.IMAGENET1K_V1.url
    empty_hub.mkdir(parents=True)
    src = torchvision.models.shufflenet_v2_x0_5()
    torch.save(src.state_dict(), empty_hub / url.rsplit("/", 1)[1])
    model = TorchvisionBackbone("shufflenet_v2_x0_5", weights="IMAGENET1K_V1")
    torch.testing.assert_close(model.conv5[0].weight, src.conv5[0].weight)


def test_frozen_stages_and_errors():
    model = TorchvisionBackbone("resnet18", out_indices=(4,), frozen_stages=1).train()
    assert all(not p.requires_grad for m in (model.conv1, model.layer1) for p in m.parameters())
    assert not model.bn1.training and model.layer2[0].bn1.training
    with pytest.raises(ValueError, match="unknown torchvision"):
        TorchvisionBackbone("resnet19")
    with pytest.raises(ValueError, match="stages"):
        TorchvisionBackbone("resnet18", out_indices=(5,))
