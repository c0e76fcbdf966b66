"""Training switches of bb2's backbones, as MMPose: ``frozen_stages`` stops gradients (and keeps the frozen
part in eval mode), ``norm_eval`` keeps BatchNorms in eval mode, ``with_cp`` (gradient checkpointing) gives the
same outputs and gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from posekit.models.backbones import (
    HRFormer,
    PyramidVisionTransformerV2,
    ShuffleNetV1,
    ShuffleNetV2,
    SwinTransformer,
    ViPNAS_MobileNetV3,
    ViPNAS_ResNet,
)

TINY_VIPNAS_MBV3 = dict(
    wid=[8, 8, 16, 16, 32, 32, 48],
    expan=[None, 1, 2, 2, 2, 2, 2],
    dep=[None, 1, 2, 1, 1, 1, 1],
    ks=[3, 3, 5, 5, 3, 5, 3],
    group=[None, 8, 16, 16, 32, 32, 48],
)
TINY_VIPNAS_RES = dict(depth=50, wid=[16, 16, 32, 64, 128], dep=[None, 2, 1, 1, 1], group=[None, 4, 4, 4, 4])
TINY_SWIN = dict(embed_dims=16, depths=[2, 2, 2, 2], num_heads=[1, 2, 2, 4], window_size=4, out_indices=(3,))


def _hrformer_extra() -> dict:
    def stage(n, ch):
        return dict(num_modules=1, num_branches=n, block="HRFORMERBLOCK", num_blocks=(1,) * n, num_channels=ch,
                    num_heads=[1] * n, mlp_ratios=[2] * n, window_sizes=[4] * n)  # fmt: skip

    return dict(
        drop_path_rate=0.0,
        stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(1,), num_channels=(8,)),
        stage2=stage(2, (8, 16)),
        stage3=stage(3, (8, 16, 32)),
        stage4=stage(4, (8, 16, 32, 64)),
    )


# (builder, first frozen part, a part that stays trainable) for frozen_stages=1
FROZEN = {
    "shufflenetv1": (lambda **kw: ShuffleNetV1(groups=2, widen_factor=0.5, **kw), "layers.0", "layers.1"),
    "shufflenetv2": (lambda **kw: ShuffleNetV2(widen_factor=0.5, **kw), "layers.0", "layers.1"),
    "vipnas_mbv3": (lambda **kw: ViPNAS_MobileNetV3(**TINY_VIPNAS_MBV3, **kw), "layer1", "layer2"),
    "vipnas_res50": (lambda **kw: ViPNAS_ResNet(**TINY_VIPNAS_RES, **kw), "layer1", "layer2"),
    "swin": (lambda **kw: SwinTransformer(**TINY_SWIN, **kw), "stages.0", "stages.1"),
    "hrformer": (lambda **kw: HRFormer(_hrformer_extra(), **kw), "layer1", "stage2"),
}


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_frozen_stages(name):
    build, frozen, trainable = FROZEN[name]
    model = build(frozen_stages=1).train()
    modules = dict(model.named_modules())
    assert not any(p.requires_grad for p in modules[frozen].parameters())
    assert not any(m.training for m in modules[frozen].modules())
    assert all(p.requires_grad for p in modules[trainable].parameters())
    assert modules[trainable].training


@pytest.mark.parametrize("name", ["shufflenetv2", "vipnas_res50", "hrformer"])
def test_norm_eval(name):
    model = FROZEN[name][0](norm_eval=True).train()
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert norms and not any(m.training for m in norms)


@pytest.mark.parametrize(
    "build",
    [
        lambda **kw: ShuffleNetV1(groups=2, widen_factor=0.5, **kw),
        lambda **kw: ShuffleNetV2(widen_factor=0.5, **kw),
        lambda **kw: ViPNAS_MobileNetV3(**TINY_VIPNAS_MBV3, **kw),
        lambda **kw: ViPNAS_ResNet(**TINY_VIPNAS_RES, **kw),
        lambda **kw: SwinTransformer(**TINY_SWIN, **kw),
    ],
    ids=["shufflenetv1", "shufflenetv2", "vipnas_mbv3", "vipnas_res50", "swin"],
)
def test_with_cp_same_outputs_and_gradients(build):
    torch.manual_seed(0)
    plain = build().eval()
    checkpointed = build(with_cp=True).eval()
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(1, 3, 64, 48)
    out_a = plain(x.clone().requires_grad_())[-1]
    out_b = checkpointed(x.clone().requires_grad_())[-1]
    torch.testing.assert_close(out_a, out_b)
    out_a.square().sum().backward()
    out_b.square().sum().backward()
    for (name, pa), pb in zip(plain.named_parameters(), checkpointed.parameters()):
        if pa.grad is not None:
            torch.testing.assert_close(pa.grad, pb.grad, msg=name)


def test_pvtv2_fixes_its_architecture_arguments():
    with pytest.raises(TypeError, match="patch_sizes"):
        PyramidVisionTransformerV2(patch_sizes=(4, 2, 2, 2))
