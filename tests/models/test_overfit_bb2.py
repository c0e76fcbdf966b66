"""Every bb2 family trains: a tiny-width model of each (HRFormer, PVT, PVTv2, Swin, ShuffleNetV1, ShuffleNetV2,
ViPNAS MobileNetV3 / ResNet, ViTPose and ViTPose-simple, VisPredictHead) overfits the 12 annotated people of
MMPose's four real COCO test images (``tests/data/mmpose_testdata/coco``): the heatmap loss falls and the
flip-test PCK@0.05 (bbox) of the image-space predictions rises (same data path as ``test_overfit_real.py``)."""

from __future__ import annotations

import pytest
import torch

from posekit.codecs import MSRAHeatmap
from posekit.datasets import CocoStyleDataset
from posekit.datasets.transforms import GenerateTarget, GetBBoxCenterScale, LoadImage, PackPoseInputs, TopdownAffine
from posekit.evaluation import PCKAccuracy
from posekit.models import TopdownPoseEstimator
from posekit.models.backbones import (
    HRFormer,
    PyramidVisionTransformer,
    PyramidVisionTransformerV2,
    ShuffleNetV1,
    ShuffleNetV2,
    SwinTransformer,
    ViPNAS_MobileNetV3,
    ViPNAS_ResNet,
    VisionTransformer,
)
from posekit.models.heads import HeatmapHead, ViPNASHead, VisPredictHead
from posekit.models.necks import FeatureMapProcessor
from posekit.models.preprocessor import PoseDataPreprocessor
from posekit.structures import collate_pose_samples

CODEC = dict(input_size=(96, 128), heatmap_size=(24, 32), sigma=2)
DECONV3 = dict(deconv_out_channels=(32, 32, 32), deconv_kernel_sizes=(4, 4, 4))


def _hm_head(in_channels: int, **kw) -> HeatmapHead:
    return HeatmapHead(in_channels=in_channels, out_channels=17, decoder=MSRAHeatmap(**CODEC), **kw)


def _hrformer():
    stage = lambda n, ch: dict(  # noqa: E731
        num_modules=1, num_branches=n, block="HRFORMERBLOCK", num_blocks=(1,) * n, num_channels=ch,
        num_heads=[1, 2, 2, 4][:n], mlp_ratios=[2] * n, window_sizes=[7] * n)  # fmt: skip
    extra = dict(
        drop_path_rate=0.0,
        stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(1,), num_channels=(16,)),
        stage2=stage(2, (16, 32)),
        stage3=stage(3, (16, 32, 64)),
        stage4=stage(4, (16, 32, 64, 128)),
    )
    return HRFormer(extra), None, _hm_head(16, deconv_out_channels=None)


def _vit(simple: bool):
    arch = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)
    vit = VisionTransformer(arch=arch, img_size=(128, 96), patch_size=16, qkv_bias=True, with_cls_token=False,
                            out_type="featmap", patch_cfg=dict(padding=2))  # fmt: skip
    if simple:
        head = _hm_head(64, deconv_out_channels=[], deconv_kernel_sizes=[], final_layer=dict(kernel_size=3, padding=1))
        return vit, FeatureMapProcessor(scale_factor=4.0, apply_relu=True), head
    return vit, None, _hm_head(64, deconv_out_channels=(32, 32), deconv_kernel_sizes=(4, 4))


PVT_KW = dict(embed_dims=16, num_layers=[1, 1, 1, 1], num_heads=[1, 2, 4, 4], drop_path_rate=0.0)
FAMILIES = {
    "hrformer": _hrformer,
    "pvt": lambda: (
        PyramidVisionTransformer(pretrain_img_size=128, **PVT_KW),
        FeatureMapProcessor(select_index=3),
        _hm_head(64, **DECONV3),
    ),
    "pvtv2": lambda: (
        PyramidVisionTransformerV2(**PVT_KW),
        FeatureMapProcessor(select_index=3),
        _hm_head(64, **DECONV3),
    ),
    "swin": lambda: (
        SwinTransformer(
            embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 4], out_indices=(3,), drop_path_rate=0.0
        ),
        None,
        _hm_head(128, **DECONV3),
    ),
    "shufflenetv1": lambda: (ShuffleNetV1(groups=2, widen_factor=0.5), None, _hm_head(400, **DECONV3)),
    "shufflenetv2": lambda: (ShuffleNetV2(widen_factor=0.5), None, _hm_head(1024, **DECONV3)),
    "vipnas_mbv3": lambda: (
        ViPNAS_MobileNetV3(
            wid=[8, 8, 16, 16, 32, 32, 48],
            expan=[None, 1, 2, 2, 2, 2, 2],
            dep=[None, 1, 1, 1, 1, 1, 1],
            ks=[3, 3, 5, 5, 3, 5, 3],
            group=[None, 8, 16, 16, 32, 32, 48],
        ),
        None,
        ViPNASHead(
            48, 17, deconv_out_channels=(32, 32, 32), deconv_num_groups=(16, 16, 16), decoder=MSRAHeatmap(**CODEC)
        ),
    ),
    "vipnas_res50": lambda: (
        ViPNAS_ResNet(depth=50, wid=[16, 16, 32, 64, 128], dep=[None, 1, 1, 1, 1], group=[None, 4, 4, 4, 4]),
        None,
        ViPNASHead(
            128, 17, deconv_out_channels=(32, 32, 32), deconv_num_groups=(16, 16, 16), decoder=MSRAHeatmap(**CODEC)
        ),
    ),
    "vitpose": lambda: _vit(simple=False),
    "vitpose_simple": lambda: _vit(simple=True),
    "vis_head": lambda: (
        ShuffleNetV2(widen_factor=0.5),
        None,
        VisPredictHead(
            pose_cfg=dict(
                type="HeatmapHead", in_channels=1024, out_channels=17, decoder=MSRAHeatmap(**CODEC), **DECONV3
            ),
            loss=dict(type="BCELoss", use_target_weight=True, use_sigmoid=True, loss_weight=1e-3),
        ),
    ),
}
FAST = {"vitpose_simple"}  # the others take 5-60 s on one CPU core


@pytest.fixture(scope="module")
def coco_batch(testdata_dir):
    root = testdata_dir / "coco"
    codec = MSRAHeatmap(**CODEC)
    pipeline = [LoadImage(), GetBBoxCenterScale(padding=1.25), TopdownAffine(input_size=codec.input_size),
                GenerateTarget(codec), PackPoseInputs()]  # fmt: skip
    dataset = CocoStyleDataset(ann_file=str(root / "test_coco.json"), data_prefix={"img": str(root)}, pipeline=pipeline)
    return collate_pose_samples([dataset[i] for i in range(len(dataset))])


def _pck(model, inputs, batch) -> float:
    model.eval()
    with torch.no_grad():
        preds = model.predict(inputs, batch)
    model.train()
    metric = PCKAccuracy(thr=0.05, norm_item="bbox")
    metric.update(batch.metas, preds["keypoints"], preds["keypoint_scores"])
    return float(metric.compute()["PCK"])


def _overfit(name: str, batch, steps: int = 120, lr: float = 3e-3) -> None:
    torch.manual_seed(0)
    backbone, neck, head = FAMILIES[name]()
    model = TopdownPoseEstimator(
        backbone=backbone,
        neck=neck,
        head=head,
        data_preprocessor=PoseDataPreprocessor(
            mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True
        ),  # fmt: skip
        test_cfg=dict(flip_test=True, flip_mode="heatmap", shift_heatmap=False),
    )
    inputs = model.data_preprocessor(batch.inputs)
    before = _pck(model, inputs, batch)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.15)
    first = last = None
    for _ in range(steps):
        losses = model.loss(inputs, batch)
        total = sum(v for k, v in losses.items() if k.startswith("loss"))
        first = float(losses["loss_kpt"].detach()) if first is None else first
        last = float(losses["loss_kpt"].detach())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        schedule.step()
    after = _pck(model, inputs, batch)
    print(f"{name}: loss {first:.5f} -> {last:.5f}, PCK {before:.3f} -> {after:.3f}")
    assert last < 0.5 * first, f"{name}: loss {first:.5f} -> {last:.5f}"
    assert after > before + 0.3 and after > 0.5, f"{name}: PCK@0.05 {before:.3f} -> {after:.3f}"
    if name == "vis_head":
        assert float(losses["acc_vis"]) > 0.8


@pytest.mark.parametrize("name", sorted(FAST))
def test_family_overfits_real_coco_people(name, coco_batch):
    _overfit(name, coco_batch)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(FAMILIES) - FAST))
def test_family_overfits_real_coco_people_slow(name, coco_batch):
    _overfit(name, coco_batch)
