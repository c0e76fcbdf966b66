"""Losses against hand-computed values and MMPose 1.3.2's own test values."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from posekit.models import build_object
from posekit.models.losses import (
    AdaptiveWingLoss,
    BCELoss,
    CombinedTargetMSELoss,
    FocalHeatmapLoss,
    InfoNCELoss,
    JSDiscretLoss,
    KeypointMSELoss,
    KeypointOHKMMSELoss,
    KLDiscretLoss,
    L1Loss,
    MLECCLoss,
    MPJPELoss,
    MSELoss,
    MultipleLossWrapper,
    RealNVP,
    RLELoss,
    SmoothL1Loss,
    SoftWeightSmoothL1Loss,
    SoftWingLoss,
    WingLoss,
)


def _close(a, b, atol=1e-5):
    return torch.allclose(torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32), atol=atol)


# ---------------------------------------------------------------------------------------------------- heatmap
class TestKeypointMSELoss:
    def test_plain_mean(self):
        out = torch.zeros(1, 2, 2, 2)
        tgt = torch.ones(1, 2, 2, 2)
        assert _close(KeypointMSELoss()(out, tgt), 1.0)
        assert _close(KeypointMSELoss(loss_weight=0.5)(out, tgt), 0.5)

    def test_target_weights(self):
        out = torch.zeros(2, 3, 4, 4)
        tgt = torch.ones(2, 3, 4, 4) * 2.0  # squared error 4 everywhere
        w = torch.tensor([[1.0, 0.0, 1.0], [0.5, 0.0, 0.0]])
        # mean over B*K*H*W of 4 * w: 4 * (1 + 0 + 1 + 0.5) * 16 / (2 * 3 * 16)
        expected = 4 * 2.5 / 6
        assert _close(KeypointMSELoss(use_target_weight=True)(out, tgt, w), expected)
        # pixel-wise weights (B, K, H, W)
        wp = torch.zeros(2, 3, 4, 4)
        wp[0, 0, 0, 0] = 1.0
        assert _close(KeypointMSELoss(use_target_weight=True)(out, tgt, wp), 4 / (2 * 3 * 16))

    def test_skip_empty_channel_and_mask(self):
        out = torch.ones(1, 2, 2, 2)
        tgt = torch.zeros(1, 2, 2, 2)
        tgt[0, 0, 0, 0] = 1.0  # channel 0 non-empty, channel 1 empty
        loss = KeypointMSELoss(skip_empty_channel=True)(out, tgt)
        # channel 0: errors 0,1,1,1 -> sum 3; channel 1 masked; mean over 8 elements
        assert _close(loss, 3 / 8)
        mask = torch.zeros(1, 1, 2, 2)
        mask[..., 1, 1] = 1
        assert _close(KeypointMSELoss()(out, tgt, None, mask), (1 + 1) / 8)

    def test_shape_check(self):
        with pytest.raises(AssertionError):
            KeypointMSELoss(use_target_weight=True)(torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2), torch.ones(1, 3))


def test_ohkm_matches_per_sample_loop():
    torch.manual_seed(0)
    out, tgt = torch.rand(3, 10, 4, 4), torch.rand(3, 10, 4, 4)
    w = torch.rand(3, 10)
    loss = KeypointOHKMMSELoss(use_target_weight=True, topk=4)(out, tgt, w)
    per_kpt = ((out - tgt) * w[..., None, None]).pow(2).mean(dim=(2, 3))
    expected = sum(per_kpt[i].topk(4).values.sum() / 4 for i in range(3)) / 3
    assert _close(loss, expected)
    with pytest.raises(ValueError, match="topk"):
        KeypointOHKMMSELoss(topk=11)(out, tgt, w)


def test_combined_target_mse_zero_and_value():
    loss = CombinedTargetMSELoss(use_target_weight=True)
    x = torch.rand(2, 6, 3, 3)
    assert _close(loss(x, x, torch.ones(2, 2)), 0.0)
    out = torch.zeros(2, 3, 2, 2)
    tgt = torch.zeros(2, 3, 2, 2)
    tgt[:, 0] = 1.0  # heatmap channel only; offsets zero
    # 0.5 * mse(heatmap) = 0.5 * 1 ; offsets contribute 0; one joint
    assert _close(loss(out, tgt, torch.ones(2, 1)), 0.5)


def test_adaptive_wing_mmpose_values():
    loss = AdaptiveWingLoss(use_target_weight=False)
    assert _close(loss(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)), 0.0)
    assert _close(loss(torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)), 8.4959, atol=1e-4)
    loss = AdaptiveWingLoss(use_target_weight=True)
    w = torch.tensor([1, 0, 1]).reshape(1, 3).float()
    assert _close(loss(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2), w), 0.0)


def test_focal_heatmap_mmpose_values():
    loss = FocalHeatmapLoss(use_target_weight=False)
    assert _close(loss(torch.zeros(1, 3, 5, 5), torch.zeros(1, 3, 5, 5)), 0.0)
    pred, label = torch.ones(1, 3, 5, 5) * 0.4, torch.ones(1, 3, 5, 5) * 0.6
    assert _close(loss(pred, label), 0.1569, atol=1e-4)
    loss = FocalHeatmapLoss(use_target_weight=True)
    w = torch.arange(3 * 5 * 5).reshape(1, 3, 5, 5).float()
    assert _close(loss(pred, label, w), 5.8062, atol=1e-4)


def test_mlecc_log_mode():
    x = torch.tensor([[[0.0, 1.0, 0.0]]])
    y = torch.tensor([[[0.5, 0.5]]])
    loss = MLECCLoss()((x, y), (x, y))  # prob = 1 * 0.5
    assert _close(loss, [-math.log(0.5 + 1e-4)])


# ---------------------------------------------------------------------------------------------------- classification
class TestKLDiscretLoss:
    def test_hand_value(self):
        px = torch.tensor([[[0.0, math.log(3.0)]]])  # softmax -> [0.25, 0.75]
        py = torch.tensor([[[0.0, 0.0]]])  # softmax -> [0.5, 0.5]
        tx = torch.tensor([[[0.5, 0.5]]])
        ty = torch.tensor([[[1.0, 0.0]]])
        # KL(t||p) per bin t*(log t - log p), averaged over the bins
        kx = (0.5 * (math.log(0.5) - math.log(0.25)) + 0.5 * (math.log(0.5) - math.log(0.75))) / 2
        ky = (1.0 * (math.log(1.0) - math.log(0.5)) + 0.0) / 2
        loss = KLDiscretLoss(use_target_weight=True)((px, py), (tx, ty), torch.tensor([[2.0]]))
        assert _close(loss, 2 * (kx + ky))
        loss = KLDiscretLoss(use_target_weight=False)((px, py), (tx, ty), torch.tensor([[2.0]]))
        assert _close(loss, kx + ky)

    def test_beta_label_softmax_and_mask(self):
        torch.manual_seed(0)
        pred = (torch.randn(2, 3, 8), torch.randn(2, 3, 6))
        gt = (torch.rand(2, 3, 8), torch.rand(2, 3, 6))
        w = torch.rand(2, 3)
        loss = KLDiscretLoss(beta=10.0, label_softmax=True, use_target_weight=True)(pred, gt, w)
        expected = 0.0
        for p, t in zip(pred, gt):
            lp = F.log_softmax(p * 10.0, dim=-1)
            tt = F.softmax(t * 10.0, dim=-1)
            expected = expected + ((tt * (tt.log() - lp)).mean(-1) * w).sum()
        assert _close(loss, expected / 3)
        masked = KLDiscretLoss(use_target_weight=True, mask=[1], mask_weight=0.0)(pred, gt, w)
        w0 = w.clone()
        w0[:, 1] = 0
        assert _close(masked, KLDiscretLoss(use_target_weight=True)(pred, gt, w0))

    def test_zero_for_matching_distributions(self):
        logits = torch.randn(2, 4, 10)
        probs = F.softmax(logits, dim=-1)
        loss = KLDiscretLoss()((logits, logits), (probs, probs), torch.ones(2, 4))
        assert abs(float(loss)) < 1e-6


def test_js_discret_and_bce_and_infonce():
    hm = torch.rand(2, 3, 4, 4)
    assert _close(JSDiscretLoss()(hm, hm, torch.ones(2, 3)), 0.0)
    assert float(JSDiscretLoss()(hm, torch.rand(2, 3, 4, 4), torch.ones(2, 3))) > 0
    out, tgt = torch.zeros(2, 3), torch.ones(2, 3)
    assert _close(BCELoss()(out, tgt), math.log(2))
    assert _close(BCELoss(use_sigmoid=True)(torch.full((2, 3), 0.5), tgt), math.log(2))
    assert _close(BCELoss(use_target_weight=True)(out, tgt, torch.tensor([1.0, 0.0])), math.log(2) / 2)
    loss = InfoNCELoss(temperature=0.05)
    assert _close(loss(torch.arange(5 * 2).reshape(5, 2).float()), 5.4026, atol=1e-4)
    with pytest.raises(AssertionError):
        InfoNCELoss(temperature=0.0)


# ---------------------------------------------------------------------------------------------------- regression
def test_wing_family_spot_values():
    out, tgt = torch.ones(1, 1, 2), torch.zeros(1, 1, 2)  # |delta| = 1 for both coordinates
    # Wing: omega * ln(1 + |x| / eps) for |x| < omega, summed over K and D, mean over N
    assert _close(WingLoss()(out, tgt), 2 * 10 * math.log(1 + 1 / 2))
    # large error: linear part |x| - C
    big = torch.full((1, 1, 2), 20.0)
    c = 10 * (1 - math.log(1 + 10 / 2))
    assert _close(WingLoss()(big, tgt), 2 * (20 - c), atol=1e-4)
    # SoftWing: |x| below omega1, else omega2 * ln(1 + |x| / eps) + B
    assert _close(SoftWingLoss()(out, tgt), 2.0)
    b = 2.0 - 20 * math.log(1 + 2 / 0.5)
    assert _close(SoftWingLoss()(torch.full((1, 1, 2), 3.0), tgt), 2 * (20 * math.log(1 + 3 / 0.5) + b), atol=1e-4)
    # with a zero target weight everything vanishes
    assert _close(WingLoss(use_target_weight=True)(big, tgt, torch.zeros(1, 1, 1)), 0.0)


def test_soft_weight_smooth_l1_mmpose_values():
    loss = SoftWeightSmoothL1Loss(use_target_weight=False, beta=0.5)
    assert _close(loss(torch.zeros(1, 3, 2), torch.zeros(1, 3, 2)), 0.0)
    assert _close(loss(torch.ones(1, 3, 2), torch.zeros(1, 3, 2)), 0.75)
    loss = SoftWeightSmoothL1Loss(use_target_weight=True, supervise_empty=True)
    w = torch.arange(6).reshape(1, 3, 2).float()
    assert _close(loss(torch.ones(1, 3, 2), torch.zeros(1, 3, 2), w), 1.25)
    loss = SoftWeightSmoothL1Loss(use_target_weight=True, supervise_empty=False)
    assert _close(loss(torch.ones(1, 3, 2), torch.zeros(1, 3, 2), w), 1.5)
    with pytest.raises(ValueError):
        loss.smooth_l1_loss(torch.ones(1, 3, 2), torch.zeros(1, 3, 2), reduction="fake")
    assert _close(loss.smooth_l1_loss(torch.ones(1, 3, 2), torch.zeros(1, 3, 2), reduction="sum"), 3.0)


def test_simple_regression_losses_with_weights():
    out = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    tgt = torch.zeros(1, 2, 2)
    w = torch.tensor([[1.0, 0.0]])  # (N, K): expanded to (N, K, 1)
    assert _close(SmoothL1Loss(use_target_weight=True)(out, tgt, w), (0.5 + 1.5) / 4)
    assert _close(L1Loss(use_target_weight=True)(out, tgt, w), 3.0 / 4)
    assert _close(L1Loss(reduction="sum")(out, tgt), 10.0)
    assert _close(MSELoss(use_target_weight=True)(out, tgt, w[..., None]), 5.0 / 4)
    assert _close(MPJPELoss()(out, tgt), (math.sqrt(5) + 5) / 2)


class TestRLELoss:
    def test_finite_and_backward(self):
        torch.manual_seed(0)
        loss_fn = RLELoss(use_target_weight=True)
        pred = torch.rand(4, 17, 2, requires_grad=True)
        sigma = torch.randn(4, 17, 2, requires_grad=True)
        loss = loss_fn(pred, sigma, torch.rand(4, 17, 2), torch.ones(4, 17, 1))
        assert loss.ndim == 0 and torch.isfinite(loss)
        loss.backward()
        assert torch.isfinite(pred.grad).all() and torch.isfinite(sigma.grad).all()
        for q in ("gaussian",):
            assert torch.isfinite(RLELoss(q_distribution=q)(pred, sigma, torch.rand(4, 17, 2)))
        assert torch.isfinite(RLELoss(residual=False)(pred, sigma, torch.rand(4, 17, 2)))

    def test_formula_against_reference(self):
        """nf_loss + laplace term, averaged over the batch, with the flow's log-density."""
        torch.manual_seed(1)
        loss_fn = RLELoss(use_target_weight=True, size_average=True)
        pred, sigma_raw, target = torch.rand(3, 5, 2), torch.randn(3, 5, 2), torch.rand(3, 5, 2)
        w = torch.rand(3, 5, 1)
        sigma = sigma_raw.sigmoid()
        error = (pred - target) / (sigma + 1e-9)
        flow = loss_fn.flow_model
        z, log_det = flow.backward_p(error.reshape(-1, 2))
        log_phi = (flow.prior.log_prob(z) + log_det).reshape(3, 5, 1)  # MMPose's MultivariateNormal prior
        expected = ((torch.log(sigma) - log_phi + torch.log(sigma * 2) + error.abs()) * w / 3).sum()
        assert _close(loss_fn(pred, sigma_raw, target, w), expected, atol=1e-4)

    def test_state_dict_keys(self):
        keys = set(RLELoss().state_dict())
        assert {"flow_model.loc", "flow_model.cov", "flow_model.mask"} <= keys
        assert "flow_model.s.5.4.weight" in keys and "flow_model.t.0.2.bias" in keys
        assert sum(p.numel() for p in RealNVP().parameters()) == 12 * (2 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2)


def test_multiple_loss_wrapper_and_builders():
    wrapper = MultipleLossWrapper(
        losses=[
            {"type": "SmoothL1Loss", "use_target_weight": True},
            {"_target_": "posekit.models.losses.JSDiscretLoss", "use_target_weight": True},
        ]
    )
    assert isinstance(wrapper.loss_modules[0], SmoothL1Loss) and isinstance(wrapper.loss_modules[1], JSDiscretLoss)
    coords, hm = torch.rand(2, 3, 2), torch.rand(2, 3, 4, 4)
    losses = wrapper([coords, hm], [coords, hm], torch.ones(2, 3))
    assert len(losses) == 2 and all(_close(v, 0.0) for v in losses)
    assert isinstance(build_object({"type": "KeypointMSELoss"}), KeypointMSELoss)
    with pytest.raises(KeyError, match="unknown type"):
        build_object({"type": "NoSuchLoss"})
