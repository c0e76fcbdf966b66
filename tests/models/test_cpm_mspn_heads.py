"""CPMHead / MSPNHead argument checks, loss wiring and predict shapes (their numbers against MMPose are in
``tests/models/backbones/test_forward_refs_bb1.py``)."""

from __future__ import annotations

import pytest
import torch

from posekit.codecs import MSRAHeatmap
from posekit.models.heads import CPMHead, MSPNHead
from posekit.models.losses import KeypointMSELoss
from posekit.structures import PoseBatch


def _batch(targets: dict, b: int = 2, k: int = 3) -> PoseBatch:
    metas = [{"flip_indices": list(range(k)), "input_size": (24, 32)} for _ in range(b)]
    return PoseBatch(
        inputs=torch.zeros(b, 3, 32, 24),
        targets=targets,
        centers=torch.zeros(b, 2),
        scales=torch.ones(b, 2),
        metas=metas,
    )


def test_cpm_head_sums_the_stage_losses_and_decodes_the_last_stage():
    torch.manual_seed(0)
    codec = MSRAHeatmap(input_size=(24, 32), heatmap_size=(12, 16), sigma=2)
    head = CPMHead(in_channels=4, out_channels=3, num_stages=2, decoder=codec)
    feats = [torch.rand(2, 4, 16, 12), torch.rand(2, 4, 16, 12)]
    gt, weights = torch.rand(2, 3, 16, 12), torch.ones(2, 3)
    losses = head.loss(feats, _batch({"heatmaps": gt, "keypoint_weights": weights}))
    preds = head(feats)
    mse = KeypointMSELoss(use_target_weight=True)
    torch.testing.assert_close(losses["loss_kpt"], mse(preds[0], gt, weights) + mse(preds[1], gt, weights))
    keypoints, scores = head.predict([feats, feats], _batch({}), test_cfg=dict(flip_test=True))
    assert keypoints.shape == (2, 1, 3, 2) and scores.shape == (2, 1, 3)
    with pytest.raises(ValueError, match="num_stages"):
        head(feats[:1])


def test_head_arguments_are_checked():
    with pytest.raises(ValueError, match="num_stages"):
        CPMHead(in_channels=4, out_channels=3, num_stages=2, loss=[dict(type="KeypointMSELoss")])
    with pytest.raises(ValueError, match="level_indices"):
        MSPNHead(num_stages=1, num_units=2, level_indices=[0])
    with pytest.raises(ValueError, match="loss_module"):
        MSPNHead(num_stages=1, num_units=2, level_indices=[0, 1], loss=[dict(type="KeypointMSELoss")] * 3)


def test_mspn_head_needs_multilevel_targets():
    head = MSPNHead(
        num_stages=1, num_units=2, out_shape=(16, 12), unit_channels=8, out_channels=3, level_indices=[0, 1]
    )
    feats = [[torch.rand(2, 8, 4, 3), torch.rand(2, 8, 8, 6)]]
    single = _batch({"heatmaps": torch.rand(2, 3, 16, 12), "keypoint_weights": torch.ones(2, 3)})
    with pytest.raises(ValueError, match="multilevel"):
        head.loss(feats, single)
    multi = _batch({"heatmaps": torch.rand(2, 2, 3, 16, 12), "keypoint_weights": torch.ones(2, 2, 3)})
    losses = head.loss(feats, multi)
    assert losses["loss_kpt"].ndim == 0 and losses["loss_kpt"] > 0
    assert [tuple(o.shape) for o in head(feats)] == [(2, 3, 16, 12)] * 2
