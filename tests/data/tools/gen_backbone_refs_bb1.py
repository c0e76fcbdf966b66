"""Reference outputs of MMPose 1.3.2's AlexNet, VGG, CPM(+CPMHead), HourglassNet(+CPMHead),
MSPN / RSN (+MSPNHead), SCNet, ResNeSt, ResNeXt, SEResNet and ResNetV1d-101,
for ``tests/models/backbones/test_forward_refs_bb1.py``.

Run with MMPose's own Python (from the repository root)::

    /opt/mmref/bin/python tests/data/tools/gen_backbone_refs_bb1.py

Each case builds the MMPose module(s) from the constructor arguments below (small widths where the arguments
allow), fills the state_dict with ``tests/models/backbones/seeded_weights.py`` (non-trivial BN statistics), runs an
eval-mode forward on a seeded input and writes ``tests/data/golden/backbones/<case>.npz``: ``meta`` (JSON: the
MMPose configs, seeds, input shape, state_dict layout), ``backbone_out_<i>`` (nested outputs flattened in order) and
``head_out_<i>``. The weights and the input are regenerated from their seeds, not stored, so the files stay small.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "models" / "backbones"))
from seeded_weights import seeded_input, seeded_state  # noqa: E402

OUT = ROOT / "tests" / "data" / "golden" / "backbones"

FLIP_INDICES = [0, 2, 1, 4, 3]  # the 5 keypoints of the cases with a head: nose, left/right eye, left/right ear

CASES = {
    "alexnet": dict(backbone=dict(type="AlexNet", num_classes=-1), input=(1, 3, 96, 96)),
    "vgg11_bn": dict(
        backbone=dict(
            type="VGG", depth=11, num_stages=3, dilations=(1, 1, 1), norm_cfg=dict(type="BN"), out_indices=(0, 2)
        ),
        input=(1, 3, 16, 16),
    ),
    "vgg13_plain_nolastpool": dict(
        backbone=dict(
            type="VGG", depth=13, num_stages=2, dilations=(1, 2), out_indices=(1,), with_last_pool=False, ceil_mode=True
        ),
        input=(1, 3, 14, 14),
    ),
    "cpm": dict(
        backbone=dict(type="CPM", in_channels=3, out_channels=5, feat_channels=16, middle_channels=8, num_stages=3),
        head=dict(
            type="CPMHead", in_channels=5, out_channels=5, num_stages=3, deconv_out_channels=None, final_layer=None
        ),
        input=(1, 3, 64, 48),
    ),
    "hourglass": dict(
        backbone=dict(
            type="HourglassNet",
            downsample_times=2,
            num_stacks=2,
            stage_channels=(256, 32, 48),
            stage_blocks=(1, 1, 2),
            feat_channel=16,
        ),
        head=dict(
            type="CPMHead",
            in_channels=16,
            out_channels=5,
            num_stages=2,
            deconv_out_channels=(8,),
            deconv_kernel_sizes=(4,),
            decoder=dict(type="MSRAHeatmap", input_size=(32, 32), heatmap_size=(16, 16), sigma=2),
        ),
        input=(1, 3, 32, 32),
        predict=dict(flip_test=True, flip_mode="heatmap", shift_heatmap=True),
    ),
    "mspn": dict(
        backbone=dict(type="MSPN", unit_channels=16, num_stages=2, num_units=3, num_blocks=[1, 2, 1]),
        head=dict(
            type="MSPNHead",
            num_stages=2,
            num_units=3,
            out_shape=(8, 6),
            unit_channels=16,
            out_channels=5,
            level_indices=[0, 1, 2, 1, 2, 3],
            decoder=dict(type="MegviiHeatmap", input_size=(24, 32), heatmap_size=(6, 8), kernel_size=5),
        ),
        input=(1, 3, 32, 24),
        predict=dict(flip_test=True, flip_mode="heatmap", shift_heatmap=False),
    ),
    "rsn_prm": dict(
        backbone=dict(
            type="RSN", unit_channels=16, num_stages=2, num_units=2, num_blocks=[2, 1], num_steps=3, expand_times=8
        ),
        head=dict(
            type="MSPNHead",
            num_stages=2,
            num_units=2,
            out_shape=(8, 6),
            unit_channels=16,
            out_channels=5,
            use_prm=True,
            level_indices=[0, 1, 1, 2],
        ),
        input=(1, 3, 32, 24),
    ),
    "scnet50": dict(
        backbone=dict(type="SCNet", depth=50, stem_channels=16, base_channels=16, out_indices=(3,)),
        input=(1, 3, 128, 128),  # the calibration path pools 4x4: every layer-4 map must be >= 4x4
    ),
    "resnest50": dict(
        backbone=dict(type="ResNeSt", depth=50, stem_channels=16, base_channels=16, out_indices=(1, 3)),
        input=(1, 3, 32, 32),
    ),
    "resnest50_groups": dict(
        backbone=dict(
            type="ResNeSt",
            depth=50,
            stem_channels=16,
            base_channels=16,
            groups=2,
            width_per_group=8,
            radix=2,
            reduction_factor=2,
            out_indices=(3,),
        ),
        input=(1, 3, 32, 32),
    ),
    "resnext50": dict(
        backbone=dict(
            type="ResNeXt",
            depth=50,
            stem_channels=16,
            base_channels=16,
            groups=4,
            width_per_group=4,
            out_indices=(1, 3),
        ),
        input=(1, 3, 32, 32),
    ),
    "seresnet50": dict(
        backbone=dict(type="SEResNet", depth=50, stem_channels=16, base_channels=16, se_ratio=4, out_indices=(1, 3)),
        input=(1, 3, 32, 32),
    ),
    "litehrnet_30_narrow": dict(  # LiteHRNet-30's module counts (3, 8, 3) at a quarter of its widths
        backbone=dict(
            type="LiteHRNet",
            in_channels=3,
            extra=dict(
                stem=dict(stem_channels=16, out_channels=16, expand_ratio=1),
                num_stages=3,
                stages_spec=dict(
                    num_modules=(3, 8, 3),
                    num_branches=(2, 3, 4),
                    num_blocks=(2, 2, 2),
                    module_type=("LITE", "LITE", "LITE"),
                    with_fuse=(True, True, True),
                    reduce_ratios=(8, 8, 8),
                    num_channels=((10, 20), (10, 20, 40), (10, 20, 40, 80)),
                ),
                with_head=True,
            ),
        ),
        input=(1, 3, 64, 64),
    ),
    "resnetv1d101": dict(
        backbone=dict(type="ResNetV1d", depth=101, stem_channels=16, base_channels=8, out_indices=(0, 3)),
        input=(1, 3, 32, 32),
    ),
}


# MSPNHead.loss: per-output losses (MSE x0.25 on coarse units, OHKM on the finest) against multilevel targets
HEAD_LOSS = dict(
    head=dict(
        type="MSPNHead",
        num_stages=2,
        num_units=2,
        out_shape=(8, 6),
        unit_channels=8,
        out_channels=9,
        level_indices=[0, 1, 1, 2],
        loss=[
            dict(type="KeypointMSELoss", use_target_weight=True, loss_weight=0.25),
            dict(type="KeypointOHKMMSELoss", use_target_weight=True, loss_weight=1.0),
        ]
        * 2,
    ),
    batch=2,
    levels=4,  # one more than level_indices uses: acc_pose masks with the last level's weights, as MMPose
    feat_shapes=[(8, 2, 2), (8, 4, 3)],
)


def gen_head_loss() -> None:
    """``mspn_head_loss.npz``: ``meta``, ``heatmaps`` (B, L, K, H, W), ``keypoint_weights`` (B, L, K), ``loss_kpt``,
    ``acc_pose``; the features are ``seeded_input`` of ``feat_shapes`` (seeds in meta)."""
    from mmengine.structures import InstanceData
    from mmpose.registry import MODELS
    from mmpose.structures import MultilevelPixelData, PoseDataSample

    cfg = HEAD_LOSS
    head = MODELS.build(dict(cfg["head"])).eval()
    keys = [(k, list(v.shape)) for k, v in head.state_dict().items()]
    head.load_state_dict({k: torch.from_numpy(v) for k, v in seeded_state(keys, seed=77).items()}, strict=True)
    b, levels, k = cfg["batch"], cfg["levels"], cfg["head"]["out_channels"]
    feats = [
        [torch.from_numpy(seeded_input((b, *shape), seed=100 * s + u)) for u, shape in enumerate(cfg["feat_shapes"])]
        for s in range(2)
    ]
    rng = np.random.RandomState(5)
    heatmaps = rng.uniform(0, 1, (b, levels, k, 8, 6)).astype(np.float32) ** 4
    weights = (rng.uniform(0, 1, (b, levels, k)) > 0.2).astype(np.float32)
    samples = []
    for i in range(b):
        d = PoseDataSample()
        d.gt_fields = MultilevelPixelData()
        d.gt_fields.heatmaps = [torch.from_numpy(heatmaps[i, lv]) for lv in range(levels)]
        d.gt_instance_labels = InstanceData(keypoint_weights=torch.from_numpy(weights[i][:, None]))  # (L, N=1, K)
        samples.append(d)
    with torch.no_grad():
        losses = head.loss(feats, samples)
    meta = dict(
        head=cfg["head"], weight_seed=77, feat_shapes=cfg["feat_shapes"], batch=b, feat_seeds="100 * stage + unit"
    )
    path = OUT / "mspn_head_loss.npz"
    np.savez_compressed(
        path,
        meta=np.array(json.dumps(meta)),
        heatmaps=heatmaps,
        keypoint_weights=weights,
        loss_kpt=losses["loss_kpt"].numpy(),
        acc_pose=np.asarray(float(losses["acc_pose"])),
    )
    print(f"{path.name}: loss_kpt {float(losses['loss_kpt']):.6f}, acc_pose {float(losses['acc_pose']):.4f}")


def _flatten(x) -> list[np.ndarray]:
    if isinstance(x, torch.Tensor):
        return [x.detach().numpy()]
    return [a for item in x for a in _flatten(item)]


def main() -> None:
    import mmpose.models  # noqa: F401  (registers the modules)
    from mmpose.registry import MODELS

    OUT.mkdir(parents=True, exist_ok=True)
    for seed, (name, case) in enumerate(CASES.items()):
        torch.manual_seed(0)
        parts = {"backbone": MODELS.build(dict(case["backbone"]))}
        if "head" in case:
            parts["head"] = MODELS.build(dict(case["head"]))
        layout = {}
        for i, (part, module) in enumerate(parts.items()):
            module.eval()
            keys = [(k, list(v.shape)) for k, v in module.state_dict().items()]
            state = seeded_state(keys, seed=1000 * seed + i)
            module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
            layout[part] = keys
        x = torch.from_numpy(seeded_input(case["input"], seed=1000 * seed + 7))
        arrays = {}
        with torch.no_grad():
            feats = parts["backbone"](x)
            for j, a in enumerate(_flatten(feats)):
                arrays[f"backbone_out_{j}"] = a
            if "head" in parts:
                for j, a in enumerate(_flatten(parts["head"](feats))):
                    arrays[f"head_out_{j}"] = a
            if "predict" in case:  # flip test: keypoints (1, K, 2) in crop pixels and scores (1, K)
                from mmpose.structures import PoseDataSample

                sample = PoseDataSample(metainfo=dict(flip_indices=FLIP_INDICES))
                feats_flip = parts["backbone"](x.flip(-1))
                (pred,) = parts["head"].predict([feats, feats_flip], [sample], test_cfg=dict(case["predict"]))
                arrays["pred_keypoints"] = np.asarray(pred.keypoints, dtype=np.float32)
                arrays["pred_scores"] = np.asarray(pred.keypoint_scores, dtype=np.float32)
        meta = dict(
            backbone=case["backbone"],
            head=case.get("head"),
            weight_seeds={part: 1000 * seed + i for i, part in enumerate(parts)},
            input_seed=1000 * seed + 7,
            input_shape=list(case["input"]),
            predict=case.get("predict"),
            flip_indices=FLIP_INDICES,
            layout=layout,
        )
        path = OUT / f"{name}.npz"
        np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)
        print(f"{path.name}: {path.stat().st_size / 1024:.1f} KB, outputs {[tuple(v.shape) for v in arrays.values()]}")
    gen_head_loss()


if __name__ == "__main__":
    main()
