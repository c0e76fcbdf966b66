"""Heads: construction/state-dict keys as MMPose, output shapes, loss and accuracy values, flip test."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from posekit.evaluation.functional import keypoint_pck_accuracy, pose_pck_accuracy
from posekit.models.heads import (
    DSNTHead,
    HeatmapHead,
    IntegralRegressionHead,
    RegressionHead,
    RLEHead,
    SimCCHead,
    ViPNASHead,
    flip_coordinates,
    flip_heatmaps,
    flip_vectors,
)
from posekit.models.losses import KeypointMSELoss, RLELoss
from posekit.structures import PoseBatch

FLIP = [0, 2, 1, 4, 3]  # 5 keypoints: 0 centre, (1, 2) and (3, 4) left/right pairs


# ------------------------------------------------------------------------------------------------ fakes
class FakeHeatmapCodec:
    """Arg-max decoder in crop pixels (``input_size / heatmap_size`` per heatmap pixel)."""

    def __init__(self, input_size=(48, 64), heatmap_size=(12, 16)):
        self.input_size, self.heatmap_size = input_size, heatmap_size

    def decode(self, heatmaps):
        b, k, h, w = heatmaps.shape
        vals, idx = heatmaps.flatten(2).max(-1)
        locs = torch.stack((idx % w, idx // w), -1).float()
        locs = locs * torch.tensor([self.input_size[0] / w, self.input_size[1] / h])
        return locs[:, None], vals[:, None]


class FakeSimCCCodec:
    def __init__(self, input_size=(48, 64), simcc_split_ratio=2.0, sigma=(2.0, 2.0)):
        self.input_size, self.simcc_split_ratio, self.sigma = input_size, simcc_split_ratio, np.array(sigma)

    def decode(self, x, y):
        vx, ix = x.max(-1)
        vy, iy = y.max(-1)
        locs = torch.stack((ix, iy), -1).float() / self.simcc_split_ratio
        return locs[:, None], torch.minimum(vx, vy)[:, None]


class FakeRegressionCodec:
    def __init__(self, input_size=(48, 64)):
        self.input_size = input_size

    def decode(self, encoded):
        kpts = encoded[..., :2] * torch.tensor([float(s) for s in self.input_size])
        scores = torch.ones_like(encoded[..., 0]) if encoded.shape[-1] == 2 else (1 - encoded[..., 2:4]).mean(-1)
        return kpts[:, None], scores[:, None]


def make_batch(targets=None, b=2, k=5, input_size=(48, 64)):
    w, h = input_size
    metas = [{"flip_indices": FLIP[:k] if k == 5 else list(range(k)), "input_size": (w, h)} for _ in range(b)]
    return PoseBatch(
        inputs=torch.zeros(b, 3, h, w, dtype=torch.uint8),
        targets=targets or {},
        centers=torch.zeros(b, 2),
        scales=torch.ones(b, 2),
        metas=metas,
    )


def gaussian_heatmaps(b, k, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    cx = torch.randint(1, w - 1, (b, k), generator=g).float()
    cy = torch.randint(1, h - 1, (b, k), generator=g).float()
    xs = torch.arange(w).float().view(1, 1, 1, w)
    ys = torch.arange(h).float().view(1, 1, h, 1)
    return torch.exp(-((xs - cx[..., None, None]) ** 2 + (ys - cy[..., None, None]) ** 2) / 8.0)


# ------------------------------------------------------------------------------------------------ tta
class TestTTA:
    def test_flip_heatmaps(self):
        hm = torch.arange(2 * 3 * 2 * 4, dtype=torch.float32).reshape(2, 3, 2, 4)
        out = flip_heatmaps(hm, flip_indices=[0, 2, 1], shift_heatmap=False)
        assert torch.equal(out, hm.flip(-1)[:, [0, 2, 1]])
        shifted = flip_heatmaps(hm, flip_indices=[0, 2, 1], shift_heatmap=True)
        assert torch.equal(shifted[..., 1:], out[..., :-1]) and torch.equal(shifted[..., 0], out[..., 0])
        # udp_combined: (heatmap, x offset, y offset) triplets, x offset negated
        comb = torch.rand(1, 6, 3, 3)
        res = flip_heatmaps(comb, flip_indices=[1, 0], flip_mode="udp_combined", shift_heatmap=False)
        ref = comb.reshape(1, 2, 3, 3, 3).flip(-1)[:, [1, 0]].clone()
        ref[:, :, 1] *= -1
        assert torch.allclose(res, ref.reshape(1, 6, 3, 3))
        with pytest.raises(ValueError, match="Invalid flip_mode"):
            flip_heatmaps(hm, flip_mode="nope")
        assert hm[0, 0, 0, 0] == 0  # input untouched

    def test_flip_vectors_and_coordinates(self):
        x, y = torch.rand(2, 3, 8), torch.rand(2, 3, 6)
        fx, fy = flip_vectors(x, y, [0, 2, 1])
        assert torch.equal(fx, x[:, [0, 2, 1]].flip(-1)) and torch.equal(fy, y[:, [0, 2, 1]])
        coords = torch.tensor([[[0.25, 0.5, 0.1, 0.2], [0.75, 0.1, 0.3, 0.4]]])
        out = flip_coordinates(coords, [1, 0], shift_coords=True, input_size=(4, 8))
        expected = torch.tensor([[[1 - 0.75 - 0.25, 0.1, 0.3, 0.4], [1 - 0.25 - 0.25, 0.5, 0.1, 0.2]]])
        assert torch.allclose(out, expected)
        assert coords[0, 0, 0] == 0.25  # input untouched


# ------------------------------------------------------------------------------------------------ HeatmapHead
class TestHeatmapHead:
    def test_init_variants(self):
        head = HeatmapHead(in_channels=32, out_channels=17, deconv_out_channels=None)
        assert isinstance(head.deconv_layers, nn.Identity)
        head = HeatmapHead(in_channels=32, out_channels=17, deconv_out_channels=(32, 32), deconv_kernel_sizes=(4, 4))
        assert isinstance(head.deconv_layers, nn.Sequential) and isinstance(head.conv_layers, nn.Identity)
        head = HeatmapHead(
            in_channels=32,
            out_channels=17,
            deconv_out_channels=(32, 32),
            deconv_kernel_sizes=(4, 3),
            conv_out_channels=(32,),
            conv_kernel_sizes=(1,),
        )
        assert isinstance(head.conv_layers, nn.Sequential)
        assert head((torch.rand(1, 32, 4, 3),)).shape == (1, 17, 16, 12)
        assert isinstance(HeatmapHead(in_channels=32, out_channels=17, final_layer=None).final_layer, nn.Identity)
        head = HeatmapHead(in_channels=32, out_channels=17, final_layer={"kernel_size": 3, "padding": 1})
        assert head.final_layer.kernel_size == (3, 3)
        assert isinstance(HeatmapHead(32, 17).loss_module, KeypointMSELoss)
        assert HeatmapHead(32, 17).loss_module.use_target_weight

    def test_errors(self):
        with pytest.raises(ValueError, match="Got mismatched lengths"):
            HeatmapHead(in_channels=16, out_channels=17, deconv_out_channels=(256,), deconv_kernel_sizes=(4, 4))
        with pytest.raises(ValueError, match="Got mismatched lengths"):
            HeatmapHead(in_channels=16, out_channels=17, conv_out_channels=(256,))
        with pytest.raises(ValueError, match="Unsupported kernel size"):
            HeatmapHead(in_channels=16, out_channels=17, deconv_out_channels=(256,), deconv_kernel_sizes=(1,))
        with pytest.raises(ValueError, match="selecting multiple input features"):
            HeatmapHead(in_channels=[16, 32], out_channels=17)
        with pytest.raises(RuntimeError, match="decoder has not been set"):
            HeatmapHead(in_channels=4, out_channels=5, deconv_out_channels=None).predict((torch.rand(1, 4, 2, 2),))

    def test_state_dict_compatible(self):
        head = HeatmapHead(in_channels=32, out_channels=17, deconv_out_channels=None)
        head.load_state_dict({"final_layer.weight": torch.zeros(17, 32, 1, 1), "final_layer.bias": torch.zeros(17)})
        head = HeatmapHead(in_channels=2048, out_channels=17)
        sd = {}
        for i, c_in in zip((0, 3, 6), (2048, 256, 256)):
            sd[f"deconv_layers.{i}.weight"] = torch.zeros(c_in, 256, 4, 4)
            for name in ("weight", "bias", "running_mean", "running_var"):
                sd[f"deconv_layers.{i + 1}.{name}"] = torch.zeros(256)
            sd[f"deconv_layers.{i + 1}.num_batches_tracked"] = torch.zeros([])
        sd["final_layer.weight"] = torch.zeros(17, 256, 1, 1)
        sd["final_layer.bias"] = torch.zeros(17)
        head.load_state_dict(sd)
        assert set(head.state_dict()) == set(sd)

    def test_old_final_layer_keys_are_converted(self):
        head = HeatmapHead(8, 5, deconv_out_channels=None, conv_out_channels=(8,), conv_kernel_sizes=(1,))
        old = {
            "final_layer.0.weight": torch.ones(8, 8, 1, 1),
            "final_layer.0.bias": torch.ones(8),
            "final_layer.1.weight": torch.ones(8),
            "final_layer.1.bias": torch.ones(8),
            "final_layer.1.running_mean": torch.ones(8),
            "final_layer.1.running_var": torch.ones(8),
            "final_layer.1.num_batches_tracked": torch.zeros([]),
            "final_layer.3.weight": torch.full((5, 8, 1, 1), 2.0),
            "final_layer.3.bias": torch.full((5,), 2.0),
        }
        head.load_state_dict(old)
        assert torch.all(head.conv_layers[0].weight == 1) and torch.all(head.final_layer.weight == 2)

    def test_init_values(self):
        torch.manual_seed(0)
        head = HeatmapHead(in_channels=64, out_channels=17, deconv_out_channels=(64,), deconv_kernel_sizes=(4,))
        assert head.deconv_layers[0].weight.std() < 0.002
        assert torch.all(head.deconv_layers[1].weight == 1) and torch.all(head.deconv_layers[1].bias == 0)
        assert head.final_layer.weight.std() < 0.002 and torch.all(head.final_layer.bias == 0)

    def test_forward_predict_shapes(self):
        head = HeatmapHead(in_channels=32, out_channels=5, decoder=FakeHeatmapCodec((192, 256), (48, 64)))
        feats = (torch.rand(2, 16, 16, 12), torch.rand(2, 32, 8, 6))
        assert head(feats).shape == (2, 5, 64, 48)
        kpts, scores = head.predict(feats, make_batch())
        assert kpts.shape == (2, 1, 5, 2) and scores.shape == (2, 1, 5)
        kpts, scores, extras = head.predict(feats, make_batch(), test_cfg={"output_heatmaps": True})
        assert extras["heatmaps"].shape == (2, 5, 64, 48)
        out = head.predict(
            [feats, feats], make_batch(), {"flip_test": True, "flip_mode": "heatmap", "shift_heatmap": 1}
        )
        assert out[0].shape == (2, 1, 5, 2)

    def test_loss_values(self):
        head = HeatmapHead(in_channels=5, out_channels=5, deconv_out_channels=None)
        nn.init.zeros_(head.final_layer.weight)  # output == 0 everywhere
        target = gaussian_heatmaps(2, 5, 16, 12)
        weights = torch.tensor([[1.0, 1.0, 0.0, 1.0, 0.5], [1.0, 0.0, 1.0, 1.0, 1.0]])
        batch = make_batch({"heatmaps": target, "keypoint_weights": weights})
        losses = head.loss((torch.rand(2, 5, 16, 12),), batch)
        expected = (target**2 * weights[..., None, None]).mean()
        assert torch.allclose(losses["loss_kpt"], expected)
        assert losses["loss_kpt"].shape == () and isinstance(losses["acc_pose"], torch.Tensor)
        assert float(losses["acc_pose"]) == 0.0  # all-zero prediction: no maximum > 0
        assert head.loss((torch.rand(2, 5, 16, 12),), batch, train_cfg={"compute_acc": False}).keys() == {"loss_kpt"}

    def test_acc_pose_matches_mmpose_numpy(self):
        head = HeatmapHead(in_channels=5, out_channels=5, deconv_out_channels=None, final_layer=None)
        target = gaussian_heatmaps(3, 5, 16, 12, seed=1)
        weights = torch.ones(3, 5)
        weights[0, 1] = 0
        batch = make_batch({"heatmaps": target, "keypoint_weights": weights}, b=3)
        # prediction == target: loss 0, accuracy 1
        losses = head.loss((target,), batch)
        assert float(losses["loss_kpt"].detach()) == 0.0 and float(losses["acc_pose"]) == 1.0
        # a shifted prediction: compare with the numpy (MMPose) implementation
        pred = gaussian_heatmaps(3, 5, 16, 12, seed=2)
        acc = head.heatmap_accuracy(pred, target, weights)
        _, ref, _ = pose_pck_accuracy(pred.numpy(), target.numpy(), weights.numpy() > 0)
        assert math.isclose(float(acc), float(ref), abs_tol=1e-6)

    def test_flip_test_consistency(self):
        """An identity head fed the features a flip-equivariant network would give for the flipped image
        averages back to the original heatmaps (without the pixel shift)."""
        head = HeatmapHead(5, 5, deconv_out_channels=None, final_layer=None, decoder=FakeHeatmapCodec())
        hm = gaussian_heatmaps(2, 5, 16, 12)
        feats_flip = (hm.flip(-1)[:, FLIP],)
        batch = make_batch()
        ref = head.predict((hm,), batch)
        cfg = {"flip_test": True, "shift_heatmap": False}
        kpts, scores, extras = head.predict([(hm,), feats_flip], batch, {**cfg, "output_heatmaps": True})
        assert torch.allclose(extras["heatmaps"], hm)
        assert torch.equal(kpts, ref[0]) and torch.allclose(scores, ref[1])
        # with shift_heatmap: the flipped half is shifted one pixel right
        _, _, extras = head.predict([(hm,), feats_flip], batch, {**cfg, "shift_heatmap": True, "output_heatmaps": 1})
        shifted = torch.cat((hm[..., :1], hm[..., :-1]), -1)
        assert torch.allclose(extras["heatmaps"], (hm + shifted) / 2)
        with pytest.raises(ValueError, match="flip_indices"):
            head.predict([(hm,), feats_flip], PoseBatch(hm, {}, torch.zeros(2, 2), torch.ones(2, 2), [{}, {}]), cfg)

    def test_vipnas_head(self):
        head = ViPNASHead(32, 5, deconv_out_channels=(32, 32), deconv_kernel_sizes=(4, 4), deconv_num_groups=(16, 16))
        assert head.deconv_layers[0].groups == 16
        assert head((torch.rand(1, 32, 4, 3),)).shape == (1, 5, 16, 12)
        with pytest.raises(ValueError, match="deconv_num_groups"):
            ViPNASHead(in_channels=32, out_channels=5, deconv_out_channels=(32,), deconv_kernel_sizes=(4,))


# ------------------------------------------------------------------------------------------------ SimCCHead
class TestSimCCHead:
    def test_keys_and_shapes(self):
        head = SimCCHead(32, 5, input_size=(48, 64), in_featuremap_size=(3, 4), deconv_out_channels=(16, 16),
                         deconv_kernel_sizes=(4, 4))  # fmt: skip
        keys = set(head.state_dict())
        assert {"mlp_head_x.weight", "mlp_head_y.bias", "deconv_head.final_layer.weight"} <= keys
        assert "deconv_head.deconv_layers.0.weight" in keys
        assert head.mlp_head_x.weight.shape == (96, 12 * 16) and head.mlp_head_y.weight.shape == (128, 12 * 16)
        x, y = head((torch.rand(2, 32, 4, 3),))
        assert x.shape == (2, 5, 96) and y.shape == (2, 5, 128)
        head = SimCCHead(32, 5, input_size=(48, 64), in_featuremap_size=(3, 4), deconv_out_channels=None)
        assert head.deconv_head is None and set(head.state_dict()) == {
            "final_layer.weight",
            "final_layer.bias",
            "mlp_head_x.weight",
            "mlp_head_x.bias",
            "mlp_head_y.weight",
            "mlp_head_y.bias",
        }
        head = SimCCHead(32, 5, (48, 64), (3, 4), deconv_type="vipnas", deconv_out_channels=(32, 32, 32))
        assert isinstance(head.deconv_head, ViPNASHead)
        with pytest.raises(ValueError, match="deconv_type"):
            SimCCHead(32, 5, (48, 64), (3, 4), deconv_type="nope")
        with pytest.raises(ValueError, match="Got mismatched lengths"):
            SimCCHead(16, 17, (192, 256), (6, 8), deconv_out_channels=(256,), deconv_kernel_sizes=(4, 4))
        with pytest.raises(ValueError, match="Unsupported kernel size"):
            SimCCHead(16, 17, (192, 256), (6, 8), deconv_out_channels=(256,), deconv_kernel_sizes=(1,))

    def test_loss_value_and_accuracy(self):
        head = SimCCHead(8, 5, input_size=(48, 64), in_featuremap_size=(3, 4), deconv_out_channels=None)
        for lin in (head.mlp_head_x, head.mlp_head_y):
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)  # uniform prediction
        g = torch.Generator().manual_seed(0)
        tx = torch.softmax(torch.randn(2, 5, 96, generator=g), -1)
        ty = torch.softmax(torch.randn(2, 5, 128, generator=g), -1)
        w = torch.rand(2, 5, generator=g)
        batch = make_batch({"keypoint_x_labels": tx, "keypoint_y_labels": ty, "keypoint_weights": w})
        losses = head.loss((torch.rand(2, 8, 4, 3),), batch)
        kl_x = (tx * (tx.log() - math.log(1 / 96))).mean(-1)
        kl_y = (ty * (ty.log() - math.log(1 / 128))).mean(-1)
        assert torch.allclose(losses["loss_kpt"], ((kl_x + kl_y) * w).sum() / 5, atol=1e-6)
        assert float(head.simcc_accuracy((tx, ty), (tx, ty), w)) == 1.0
        # against the MMPose formula computed in numpy
        px, py = torch.randn(2, 5, 96, generator=g).abs(), torch.randn(2, 5, 128, generator=g).abs()
        acc = head.simcc_accuracy((px, py), (tx, ty), w)
        pred = np.stack((px.argmax(-1), py.argmax(-1)), -1) / 2.0
        gt = np.stack((tx.argmax(-1), ty.argmax(-1)), -1) / 2.0
        _, ref, _ = keypoint_pck_accuracy(pred, gt, w.numpy() > 0, 0.05, np.tile([[64, 48]], (2, 1)))
        assert math.isclose(float(acc), float(ref), abs_tol=1e-6)

    def test_predict_and_flip(self):
        head = SimCCHead(8, 5, (48, 64), (3, 4), deconv_out_channels=None, decoder=FakeSimCCCodec())
        feats = (torch.rand(2, 8, 4, 3),)
        kpts, scores = head.predict(feats, make_batch())
        assert kpts.shape == (2, 1, 5, 2) and scores.shape == (2, 1, 5)
        kpts, _, extras = head.predict(feats, make_batch(), {"output_heatmaps": True})
        assert extras["heatmaps"].shape == (2, 5, 128, 96)
        assert extras["keypoint_x_labels"].shape == (2, 1, 5, 96) and float(extras["keypoint_x_labels"].min()) >= 0
        # flip test averages the original and the flipped-back vectors
        ffeats = (torch.rand(2, 8, 4, 3),)
        x0, y0 = head(feats)
        x1, y1 = flip_vectors(*head(ffeats), FLIP)
        kf, _ = head.predict([feats, ffeats], make_batch(), {"flip_test": True})
        ref, _ = FakeSimCCCodec().decode((x0 + x1) / 2, (y0 + y1) / 2)
        assert torch.equal(kf, ref)


# ------------------------------------------------------------------------------------------------ regression heads
class TestRegressionHeads:
    def test_regression_head(self):
        head = RegressionHead(in_channels=16, num_joints=5, decoder=FakeRegressionCodec())
        assert set(head.state_dict()) == {"fc.weight", "fc.bias"}
        feats = (torch.rand(2, 16),)
        assert head(feats).shape == (2, 5, 2)
        labels = torch.rand(2, 5, 2)
        nn.init.zeros_(head.fc.weight)
        with torch.no_grad():
            head.fc.bias.copy_(labels[0].reshape(-1))
        batch = make_batch({"keypoint_labels": labels[:1].expand(2, 5, 2), "keypoint_weights": torch.ones(2, 5)})
        losses = head.loss(feats, batch)
        assert float(losses["loss_kpt"].detach()) == 0.0 and float(losses["acc_pose"]) == 1.0
        kpts, scores = head.predict(feats, batch)
        assert torch.allclose(kpts[:, 0], labels[:1] * torch.tensor([48.0, 64.0]))
        assert torch.all(scores == 1)

    def test_regression_flip_hand_value(self):
        head = RegressionHead(in_channels=4, num_joints=5, decoder=FakeRegressionCodec((48, 64)))
        nn.init.zeros_(head.fc.weight)
        with torch.no_grad():
            head.fc.bias.copy_(torch.tensor([0.3, 0.6] * 5))
        feats = (torch.rand(1, 4),)
        kpts, _ = head.predict([feats, feats], make_batch(b=1), {"flip_test": True})
        # x: (0.3 + (1 - 0.3 - 1/48)) / 2 = 0.5 - 0.5/48 ; y unchanged
        assert torch.allclose(kpts[0, 0, 0], torch.tensor([(0.5 - 0.5 / 48) * 48, 0.6 * 64]))

    def test_rle_head(self):
        head = RLEHead(in_channels=16, num_joints=5, decoder=FakeRegressionCodec())
        keys = set(head.state_dict())
        assert {"fc.weight", "fc.bias", "loss_module.flow_model.loc", "loss_module.flow_model.s.0.0.weight"} <= keys
        assert isinstance(head.loss_module, RLELoss) and head.loss_module.use_target_weight
        assert head.fc.out_features == 20
        assert head.loss_module.flow_model.s[0][0].weight.std() < 0.02  # Normal(0.01) over the flow too
        feats = (torch.rand(2, 16),)
        assert head(feats).shape == (2, 5, 4)
        batch = make_batch({"keypoint_labels": torch.rand(2, 5, 2), "keypoint_weights": torch.ones(2, 5)})
        losses = head.loss(feats, batch)
        assert torch.isfinite(losses["loss_kpt"]) and losses["loss_kpt"].requires_grad
        kpts, scores = head.predict(feats, batch)
        sig = head(feats)[..., 2:].sigmoid()
        assert torch.allclose(scores[:, 0], (1 - sig).mean(-1))
        ffeats = (torch.rand(2, 16),)
        kpts, scores = head.predict([feats, ffeats], batch, {"flip_test": True})
        assert kpts.shape == (2, 1, 5, 2) and torch.all((scores > 0) & (scores < 1))

        # MMPose's order: flip the raw flipped-branch output, then sigmoid the sigmas, then average
        def act(c):
            return torch.cat((c[..., :2], c[..., 2:].sigmoid()), dim=-1)

        flipped = flip_coordinates(head(ffeats), FLIP, shift_coords=True, input_size=(48, 64))
        ref_k, ref_s = head.decode((act(head(feats)) + act(flipped)) * 0.5)
        assert torch.equal(kpts, ref_k) and torch.equal(scores, ref_s)

    def test_rle_old_loss_keys(self):
        head = RLEHead(in_channels=4, num_joints=2)
        sd = {k.replace("loss_module.", "loss.") if k.startswith("loss_module.") else k: v.clone() + 1
              for k, v in head.state_dict().items()}  # fmt: skip
        head.load_state_dict(sd)
        assert torch.equal(head.loss_module.flow_model.cov, torch.eye(2) + 1)


class TestIntegralHeads:
    def test_integral_regression_head(self):
        head = IntegralRegressionHead(
            in_channels=16,
            in_featuremap_size=(3, 4),
            num_joints=5,
            deconv_out_channels=(8, 8),
            deconv_kernel_sizes=(4, 4),
            decoder=FakeRegressionCodec(),
        )
        sd = head.state_dict()
        assert sd["linspace_x"].shape == (1, 1, 1, 12) and sd["linspace_y"].shape == (1, 1, 16, 1)
        assert "simplebaseline_head.final_layer.weight" in sd
        assert not head.linspace_x.requires_grad
        coords, heatmaps = head((torch.rand(2, 16, 4, 3),))
        assert coords.shape == (2, 5, 2) and heatmaps.shape == (2, 5, 16, 12)
        assert torch.allclose(heatmaps.flatten(2).sum(-1), torch.ones(2, 5))
        assert torch.all((coords >= 0) & (coords <= 1))
        batch = make_batch({"keypoint_labels": torch.rand(2, 5, 2), "keypoint_weights": torch.ones(2, 5)})
        losses = head.loss((torch.rand(2, 16, 4, 3),), batch)
        assert torch.isfinite(losses["loss_kpt"]) and "acc_pose" in losses
        feats = (torch.rand(2, 16, 4, 3),)
        out = head.predict([feats, feats], batch, {"flip_test": True, "output_heatmaps": True})
        assert out[0].shape == (2, 1, 5, 2) and out[2]["heatmaps"].shape == (2, 5, 16, 12)

    def test_integral_expectation_hand_value(self):
        """A one-hot heatmap (huge logit) gives its pixel's normalised coordinate i / W."""
        head = IntegralRegressionHead(5, (4, 3), 5, deconv_out_channels=None, final_layer=None, beta=1.0)
        fmap = torch.full((1, 5, 3, 4), -1e4)
        fmap[0, :, 2, 1] = 1e4
        coords, _ = head((fmap,))
        assert torch.allclose(coords[0], torch.tensor([[1 / 4, 2 / 3]] * 5))
        debiased = IntegralRegressionHead(5, (4, 3), 5, deconv_out_channels=None, final_layer=None, debias=True)
        assert debiased((torch.rand(1, 5, 3, 4),))[0].shape == (1, 5, 2)

    def test_dsnt_head(self):
        head = DSNTHead(16, (3, 4), 5, lambda_t=2, deconv_out_channels=(8,), deconv_kernel_sizes=(4,))
        target_hm = torch.softmax(torch.rand(2, 5, 8 * 6), -1).reshape(2, 5, 8, 6)
        batch = make_batch(
            {"keypoint_labels": torch.rand(2, 5, 2), "keypoint_weights": torch.ones(2, 5), "heatmaps": target_hm}
        )
        feats = (torch.rand(2, 16, 4, 3),)
        full = head.loss(feats, batch, train_cfg={"epoch": 0})["loss_kpt"].detach()
        late = head.loss(feats, batch, train_cfg={"epoch": 5})["loss_kpt"].detach()
        assert float(full) > float(late) > 0


def test_simcc_flip_test_needs_a_feature_pair():
    """Both SimCC heads share the flip-test prediction; a missing flipped branch is a ValueError (and, as
    MMPose's assert, an AssertionError)."""
    head = SimCCHead(32, 5, input_size=(48, 64), in_featuremap_size=(3, 4), deconv_out_channels=None)
    for error in (ValueError, AssertionError):
        with pytest.raises(error, match="feats must be"):
            head.predict((torch.rand(1, 32, 4, 3),), None, {"flip_test": True})
