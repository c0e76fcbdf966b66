"""posekit's AlexNet, VGG, CPM + CPMHead, HourglassNet + CPMHead, MSPN / RSN + MSPNHead, SCNet, ResNeSt, ResNeXt,
SEResNet and ResNetV1d-101 compute MMPose 1.3.2's outputs.

``tests/data/golden/backbones/<case>.npz`` (``tests/data/tools/gen_backbone_refs_bb1.py``, run with MMPose) holds
the MMPose constructor arguments, its state_dict layout and its eval-mode outputs for seeded weights (random BN
statistics included) and a seeded input; here the posekit module is built from the same arguments, must take the
same weights with ``strict=True`` and must give the same outputs (relative error < 1e-4); with a head and a
decoder, also MMPose's flip-test keypoints (< 1e-3 px) and scores.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.models.builder import build_object
from posekit.structures import PoseBatch

sys.path.insert(0, str(Path(__file__).parent))
from seeded_weights import seeded_input, seeded_state  # noqa: E402

CASES = [
    "alexnet",
    "vgg11_bn",
    "vgg13_plain_nolastpool",
    "cpm",
    "hourglass",
    "mspn",
    "rsn_prm",
    "scnet50",
    "resnest50",
    "resnest50_groups",
    "resnext50",
    "seresnet50",
    "resnetv1d101",
    "litehrnet_30_narrow",
]


def _flatten(x) -> list[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        return [x]
    return [t for item in x for t in _flatten(item)]


def _assert_close(ours: list[torch.Tensor], ref: dict, prefix: str) -> None:
    names = sorted((k for k in ref if k.startswith(prefix)), key=lambda k: int(k.rsplit("_", 1)[1]))
    assert len(ours) == len(names), f"{prefix}: {len(ours)} outputs, MMPose has {len(names)}"
    for out, name in zip(ours, names):
        expected = torch.from_numpy(ref[name])
        assert tuple(out.shape) == tuple(expected.shape), name
        scale = float(expected.abs().max())
        assert scale > 0, f"{name}: degenerate reference"
        err = float((out - expected).abs().max()) / scale
        assert err < 1e-4, f"{name}: relative error {err:.2e}"


@pytest.mark.parametrize("case", CASES)
def test_outputs_match_mmpose(case, golden_dir):
    ref = dict(np.load(golden_dir / "backbones" / f"{case}.npz"))
    meta = json.loads(str(ref.pop("meta")))
    modules = {"backbone": build_object(dict(meta["backbone"]), what="backbone")}
    if meta["head"] is not None:
        modules["head"] = build_object(dict(meta["head"]), what="head")
    for part, module in modules.items():
        layout = [(k, tuple(s)) for k, s in meta["layout"][part]]
        assert [(k, tuple(v.shape)) for k, v in module.state_dict().items()] == layout, f"{part}: state_dict layout"
        state = seeded_state(layout, seed=meta["weight_seeds"][part])
        module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
        module.eval()

    x = torch.from_numpy(seeded_input(meta["input_shape"], seed=meta["input_seed"]))
    with torch.no_grad():
        feats = modules["backbone"](x)
        _assert_close(_flatten(feats), ref, "backbone_out_")
        if "head" in modules:
            _assert_close(_flatten(modules["head"](feats)), ref, "head_out_")
        if meta.get("predict"):  # MMPose's flip-test keypoints (crop pixels) and scores
            batch = PoseBatch(
                inputs=x,
                targets={},
                centers=torch.zeros(1, 2),
                scales=torch.ones(1, 2),
                metas=[{"flip_indices": meta["flip_indices"]}],
            )
            feats_flip = modules["backbone"](x.flip(-1))
            keypoints, scores = modules["head"].predict([feats, feats_flip], batch, test_cfg=dict(meta["predict"]))
            assert keypoints.shape == (1, 1, *ref["pred_keypoints"].shape[1:])
            np.testing.assert_allclose(keypoints[:, 0].numpy(), ref["pred_keypoints"], atol=1e-3)
            np.testing.assert_allclose(scores[:, 0].numpy(), ref["pred_scores"], rtol=1e-4, atol=1e-6)


def test_mspn_head_loss_matches_mmpose(golden_dir):
    """Per-output losses (MSE x0.25 / OHKM) against each output's target level, summed, as MMPose's MSPNHead."""
    ref = dict(np.load(golden_dir / "backbones" / "mspn_head_loss.npz"))
    meta = json.loads(str(ref["meta"]))
    head = build_object(dict(meta["head"]), what="head")
    layout = [(k, tuple(v.shape)) for k, v in head.state_dict().items()]
    head.load_state_dict({k: torch.from_numpy(v) for k, v in seeded_state(layout, seed=meta["weight_seed"]).items()})
    head.eval()
    b = meta["batch"]
    feats = [
        [torch.from_numpy(seeded_input((b, *shape), seed=100 * s + u)) for u, shape in enumerate(meta["feat_shapes"])]
        for s in range(2)
    ]
    targets = {
        "heatmaps": torch.from_numpy(ref["heatmaps"]),
        "keypoint_weights": torch.from_numpy(ref["keypoint_weights"]),
    }
    batch = PoseBatch(
        inputs=torch.zeros(b, 3, 32, 24),
        targets=targets,
        centers=torch.zeros(b, 2),
        scales=torch.ones(b, 2),
        metas=[{}] * b,
    )
    with torch.no_grad():
        losses = head.loss(feats, batch)
    torch.testing.assert_close(losses["loss_kpt"], torch.tensor(float(ref["loss_kpt"])), rtol=1e-5, atol=1e-7)
    assert float(losses["acc_pose"]) == pytest.approx(float(ref["acc_pose"]), abs=1e-6)
