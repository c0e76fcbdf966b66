"""VisPredictHead against MMPose 1.3.2 (``bb2_vis_head_{sigmoid,logits}.npz``): forward (heatmaps and
visibility), loss (``loss_vis``, ``acc_vis``, the pose head's ``loss_kpt`` / ``acc_pose``) and predict (flip test
with the sigmoid variant; keypoints, scores and ``keypoints_visible``)."""

from __future__ import annotations

import pytest
import torch

from posekit.models.heads import HeatmapHead, VisPredictHead
from posekit.structures import PoseBatch


def _batch(ref, with_vis_weights: bool = True) -> PoseBatch:
    a = ref.arrays
    b = a["feats"].shape[0]
    targets = {
        "heatmaps": torch.from_numpy(a["heatmaps"]),
        "keypoint_weights": torch.from_numpy(a["keypoint_weights"]),
    }
    if with_vis_weights:
        targets["keypoints_visible_weights"] = torch.from_numpy(a["keypoints_visible_weights"])
    return PoseBatch(
        inputs=torch.zeros(b, 3, 32, 32, dtype=torch.uint8),
        targets=targets,
        centers=torch.zeros(b, 2),
        scales=torch.ones(b, 2),
        metas=[{"flip_indices": ref.meta["flip_indices"], "input_size": (32, 32)} for _ in range(b)],
    )


def _head(ref) -> VisPredictHead:
    head = VisPredictHead(pose_cfg=ref.meta["pose_cfg"], loss=ref.meta["loss"])
    head.load_state_dict(ref.state_dict(), strict=True)
    return head.eval()


@pytest.mark.parametrize("name", ["vis_head_sigmoid", "vis_head_logits"])
def test_forward_loss_predict_match_mmpose(name, mmpose_ref, rel_close):
    ref = mmpose_ref(name)
    a = ref.arrays
    head = _head(ref)
    assert isinstance(head.pose_head, HeatmapHead)
    assert isinstance(head.vis_head[-1], torch.nn.Sigmoid) == ref.meta["loss"]["use_sigmoid"]
    feats = (torch.from_numpy(a["feats"]),)
    batch = _batch(ref)
    with torch.no_grad():
        heatmaps, vis = head(feats)
        rel_close(heatmaps, a["out_heatmaps"], what="heatmaps")
        rel_close(vis, a["out_vis"], what="visibility")

        losses = head.loss(feats, batch)
        expected = {k[len("loss::") :]: float(v) for k, v in a.items() if k.startswith("loss::")}
        assert set(losses) == set(expected) == {"loss_vis", "acc_vis", "loss_kpt", "acc_pose"}
        for key, value in expected.items():
            assert float(losses[key]) == pytest.approx(value, rel=1e-4, abs=1e-7), key

        test_cfg = ref.meta["test_cfg"]
        feats_in = [feats, (torch.from_numpy(a["feats_flip"]),)] if test_cfg["flip_test"] else feats
        keypoints, scores, extras = head.predict(feats_in, batch, test_cfg)
    rel_close(keypoints, a["keypoints"], what="keypoints")
    rel_close(scores, a["keypoint_scores"], what="scores")
    rel_close(extras["keypoints_visible"], a["keypoints_visible"], what="keypoints_visible")


def test_missing_visibility_weights_default_to_ones(mmpose_ref):
    ref = mmpose_ref("vis_head_sigmoid")
    head = _head(ref)
    feats = (torch.from_numpy(ref.arrays["feats"]),)
    with torch.no_grad():
        weighted = head.loss(feats, _batch(ref))["loss_vis"]
        plain = head.loss(feats, _batch(ref, with_vis_weights=False))["loss_vis"]
        probs = head.vis_forward(feats)
        labels = torch.from_numpy(ref.arrays["keypoint_weights"])
    expected = torch.nn.functional.binary_cross_entropy(probs, labels) * ref.meta["loss"]["loss_weight"]
    assert float(plain) == pytest.approx(float(expected), rel=1e-5)
    assert float(weighted) != pytest.approx(float(plain))


def test_pose_cfg_without_channels_is_rejected():
    with pytest.raises(ValueError, match="out_channels"):
        VisPredictHead(pose_cfg={"type": "HeatmapHead", "in_channels": 8})


def test_estimator_flip_predict_returns_visibility():
    """Through ``TopdownPoseEstimator.predict`` (flip test): image-space keypoints plus ``keypoints_visible``."""
    from posekit.codecs import MSRAHeatmap
    from posekit.models import TopdownPoseEstimator
    from posekit.models.backbones import ShuffleNetV2

    codec = MSRAHeatmap(input_size=(32, 64), heatmap_size=(8, 16), sigma=2)
    head = VisPredictHead(
        pose_cfg=dict(
            type="HeatmapHead",
            in_channels=1024,
            out_channels=5,
            deconv_out_channels=(8, 8),
            deconv_kernel_sizes=(4, 4),
            decoder=codec,
        ),  # fmt: skip
        loss=dict(type="BCELoss", use_target_weight=True, use_sigmoid=True, loss_weight=1e-3),
    )
    model = TopdownPoseEstimator(backbone=ShuffleNetV2(widen_factor=0.5), head=head, test_cfg=dict(flip_test=True))
    model.eval()
    batch = PoseBatch(
        inputs=torch.zeros(2, 3, 64, 32, dtype=torch.uint8),
        targets={},
        centers=torch.tensor([[50.0, 60.0], [10.0, 20.0]]),
        scales=torch.tensor([[40.0, 80.0], [20.0, 40.0]]),
        metas=[{"flip_indices": [0, 2, 1, 4, 3], "input_size": (32, 64)} for _ in range(2)],
    )
    with torch.no_grad():
        preds = model.predict(torch.randn(2, 3, 64, 32), batch)
    assert preds["keypoints"].shape == (2, 1, 5, 2) and preds["keypoint_scores"].shape == (2, 1, 5)
    vis = preds["keypoints_visible"]
    assert vis.shape == (2, 1, 5) and bool(((vis > 0) & (vis < 1)).all())
