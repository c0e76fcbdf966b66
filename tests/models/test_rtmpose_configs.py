"""The packaged RTMPose-t/s/m/l and ViTPose-B model configs: MMPose 1.3.2's state_dict layout and parameter
counts (goldens), the MMPose config values, and one real loss / flip-test predict pass of RTMPose-t."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from posekit import conf_dir
from posekit.models import TopdownPoseEstimator, build_model
from posekit.models.backbones import CSPNeXt, VisionTransformer
from posekit.models.heads import HeatmapHead, RTMCCHead
from posekit.structures import PoseBatch

# deepen_factor, widen_factor, head in_channels (MMPose configs rtmpose-{t,s,m,l}_8xb256-420e_coco-256x192.py)
RTMPOSE = {"t": (0.167, 0.375, 384), "s": (0.33, 0.5, 512), "m": (0.67, 0.75, 768), "l": (1.0, 1.0, 1024)}
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


@pytest.mark.parametrize("size", list(RTMPOSE))
def test_rtmpose_matches_mmpose_golden(size, golden_dir):
    golden = json.loads((golden_dir / f"model_rtmpose_{size}_256x192.json").read_text())
    model = build_model(f"rtmpose_{size}")
    assert isinstance(model, TopdownPoseEstimator)
    assert sum(p.numel() for p in model.parameters()) == golden["params"]
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert shapes == golden["state_dict_shapes"]

    deepen, widen, in_channels = RTMPOSE[size]
    assert isinstance(model.backbone, CSPNeXt) and model.backbone.out_indices == (4,)
    assert isinstance(model.backbone.stem[0].bn, torch.nn.SyncBatchNorm)
    head = model.head
    assert isinstance(head, RTMCCHead)
    assert (head.in_channels, head.out_channels, head.input_size, head.in_featuremap_size) == (
        in_channels,
        17,
        (192, 256),
        (6, 8),
    )
    assert head.final_layer.kernel_size == (7, 7) and isinstance(head.gau.act_fn, torch.nn.SiLU)
    assert head.loss_module.beta == 10.0 and head.loss_module.label_softmax and head.loss_module.use_target_weight
    assert head.decoder.simcc_split_ratio == 2.0 and list(head.decoder.sigma) == pytest.approx([4.9, 5.66])
    assert model.test_cfg["flip_test"] is True


def test_rtmpose_yaml_values():
    for size, (deepen, widen, in_channels) in RTMPOSE.items():
        cfg = OmegaConf.load(conf_dir() / "model" / f"rtmpose_{size}.yaml")
        bb, head = cfg.backbone, cfg.head
        assert (bb.deepen_factor, bb.widen_factor, bb.expand_ratio, list(bb.out_indices)) == (deepen, widen, 0.5, [4])
        assert bb.norm_cfg.type == "SyncBN" and bb.act_cfg.type == "SiLU" and bb.channel_attention
        assert head.in_channels == in_channels and head.final_layer_kernel_size == 7
        assert dict(head.gau_cfg) == {
            "hidden_dims": 256,
            "s": 128,
            "expansion_factor": 2,
            "dropout_rate": 0.0,
            "drop_path": 0.0,
            "act_fn": "SiLU",
            "use_rel_bias": False,
            "pos_enc": False,
        }
        assert list(cfg.data_preprocessor.mean) == [123.675, 116.28, 103.53]
        assert list(cfg.data_preprocessor.std) == [58.395, 57.12, 57.375] and cfg.data_preprocessor.bgr_to_rgb


def test_rtmpose_t_loss_and_flip_predict():
    torch.manual_seed(0)
    # a 128x96 variant (Hydra overrides) keeps the CPU pass short
    model = build_model("rtmpose_t", overrides=["codec.input_size=[96,128]", "model.head.in_featuremap_size=[3,4]"])
    codec = model.head.decoder
    assert model.head.cls_x.out_features == 192 and model.head.cls_y.out_features == 256
    rng = np.random.default_rng(0)
    b = 2
    kpts = rng.uniform([5, 5], [90, 122], size=(b, 17, 2)).astype(np.float32)
    enc = [codec.encode(kpts[i : i + 1], np.ones((1, 17), np.float32)) for i in range(b)]
    targets = {
        k: torch.from_numpy(np.concatenate([e[k] for e in enc]))
        for k in ("keypoint_x_labels", "keypoint_y_labels", "keypoint_weights")
    }
    batch = PoseBatch(
        inputs=torch.randint(0, 256, (b, 3, 128, 96), dtype=torch.uint8),
        targets=targets,
        centers=torch.tensor([[48.0, 64.0]] * b),
        scales=torch.tensor([[96.0, 128.0]] * b),
        metas=[{"flip_indices": COCO_FLIP, "input_size": (96, 128)} for _ in range(b)],
    )
    inputs = model.data_preprocessor(batch.inputs)
    model.train()
    losses = model.loss(inputs, batch)
    assert torch.isfinite(losses["loss_kpt"]) and 0 <= float(losses["acc_pose"]) <= 1
    losses["loss_kpt"].backward()
    assert model.backbone.stem[0].conv.weight.grad is not None and model.head.cls_x.weight.grad is not None

    model.eval()
    out = model.predict(inputs, batch)
    assert out["keypoints"].shape == (b, 1, 17, 2) and out["keypoint_scores"].shape == (b, 1, 17)
    assert torch.isfinite(out["keypoints"]).all()
    # center = half the crop and scale = crop size: image space == crop space, inside the crop
    assert (out["keypoints"][..., 0] >= 0).all() and (out["keypoints"][..., 0] < 96).all()


def test_vitpose_b_config():
    model = build_model("vitpose_b")
    assert isinstance(model.backbone, VisionTransformer) and isinstance(model.head, HeatmapHead)
    assert sum(p.numel() for p in model.backbone.parameters()) == 85_794_048
    # + two 4x4 deconvs (768->256->256, BN) and the 1x1 final layer: ViTPose-B's 90.0M
    assert sum(p.numel() for p in model.parameters()) == 89_993_745
    bb = model.backbone
    assert bb.patch_resolution == (16, 12) and bb.out_type == "featmap" and not bb.with_cls_token
    assert bb.layers[-1].attn.out_drop.drop_prob == pytest.approx(0.3)
    assert type(model.head.decoder).__name__ == "UDPHeatmap" and model.head.decoder.heatmap_size == (48, 64)
    assert model.test_cfg == {"flip_test": True, "flip_mode": "heatmap", "shift_heatmap": False}
    assert model.data_preprocessor is not None
