"""RTMCCHead and its GAU: shapes, MMPose's numerics of the pieces, loss/acc, overfitting, flip-test symmetry."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from posekit.codecs import SimCCLabel
from posekit.models.heads import RTMCCHead
from posekit.models.losses import KLDiscretLoss
from posekit.models.utils.rtmcc_block import RTMCCBlock, Scale, rope
from posekit.models.utils.transformer import ScaleNorm
from posekit.structures import PoseBatch

K = 5
FLIP = [0, 2, 1, 4, 3]
INPUT_SIZE = (32, 48)  # (w, h) -> 64 x-bins, 96 y-bins


def _head(**kw) -> RTMCCHead:
    torch.manual_seed(0)
    codec = SimCCLabel(input_size=INPUT_SIZE, sigma=(2.0, 2.0), simcc_split_ratio=2.0, normalize=False)
    args = dict(
        in_channels=8,
        out_channels=K,
        input_size=INPUT_SIZE,
        in_featuremap_size=(2, 3),
        simcc_split_ratio=2.0,
        final_layer_kernel_size=3,
        gau_cfg=dict(hidden_dims=32, s=16, expansion_factor=2, act_fn="SiLU"),
        loss=KLDiscretLoss(use_target_weight=True, beta=10.0, label_softmax=True),
        decoder=codec,
    )
    args.update(kw)
    return RTMCCHead(**args)


def _batch(b: int = 4, seed: int = 0) -> PoseBatch:
    rng = np.random.default_rng(seed)
    codec = SimCCLabel(input_size=INPUT_SIZE, sigma=(2.0, 2.0), simcc_split_ratio=2.0, normalize=False)
    kpts = rng.uniform([2, 2], [INPUT_SIZE[0] - 3, INPUT_SIZE[1] - 3], size=(b, K, 2)).astype(np.float32)
    vis = np.ones((b, K), np.float32)
    vis[0, 1] = 0
    enc = [codec.encode(kpts[i : i + 1], vis[i : i + 1]) for i in range(b)]
    targets = {
        key: torch.from_numpy(np.concatenate([e[key] for e in enc])).float()
        for key in ("keypoint_x_labels", "keypoint_y_labels", "keypoint_weights")
    }
    metas = [{"flip_indices": FLIP, "input_size": INPUT_SIZE} for _ in range(b)]
    return PoseBatch(
        inputs=torch.zeros(b, 3, INPUT_SIZE[1], INPUT_SIZE[0], dtype=torch.uint8),
        targets=targets,
        centers=torch.zeros(b, 2),
        scales=torch.ones(b, 2),
        metas=metas,
    )


def test_forward_shapes_and_keys():
    head = _head()
    px, py = head((torch.randn(3, 8, 3, 2),))
    assert px.shape == (3, K, 64) and py.shape == (3, K, 96)
    keys = set(head.state_dict())
    assert {"final_layer.weight", "mlp.0.g", "mlp.1.weight", "gau.uv.weight", "gau.o.weight"} <= keys
    assert {"gau.gamma", "gau.beta", "gau.ln.g", "gau.res_scale.scale", "cls_x.weight", "cls_y.weight"} <= keys
    with pytest.raises(ValueError):
        _head(in_channels=[8, 8])
    with pytest.raises(ValueError, match="in_featuremap_size"):
        head((torch.randn(1, 8, 4, 2),))


def test_default_init_matches_mmpose():
    head = _head()
    assert torch.count_nonzero(head.final_layer.bias) == 0
    assert head.final_layer.weight.std().item() == pytest.approx(0.001, rel=0.2)
    assert head.cls_x.weight.std().item() == pytest.approx(0.01, rel=0.1)
    assert head.gau.uv.weight.std().item() == pytest.approx(0.01, rel=0.1)  # Normal overrides xavier as in MMPose


def test_scale_norm_numerics():
    x = torch.randn(2, 3, 10)
    norm = ScaleNorm(10)
    expected = x / (torch.norm(x, dim=-1, keepdim=True) * 10**-0.5).clamp(min=1e-5)
    torch.testing.assert_close(norm(x), expected)


def _mmpose_rel_pos_bias(w: torch.Tensor, seq_len: int) -> torch.Tensor:
    """MMPose's Toeplitz construction (reference for the index-based one)."""
    t = F.pad(w[: 2 * seq_len - 1], [0, seq_len]).repeat(seq_len)
    t = t[..., :-seq_len].reshape(-1, seq_len, 3 * seq_len - 2)
    r = (2 * seq_len - 1) // 2
    return t[..., r:-r]


def test_gau_rel_pos_bias_and_forward():
    block = RTMCCBlock(7, 16, 16, s=8, use_rel_bias=True, pos_enc=True, dropout_rate=0.1, drop_path=0.1)
    torch.testing.assert_close(block.rel_pos_bias(7), _mmpose_rel_pos_bias(block.w, 7))
    block.eval()
    x = torch.randn(2, 7, 16)
    out = block(x)
    assert out.shape == (2, 7, 16)
    # shortcut: res_scale * x + main branch
    torch.testing.assert_close(out - block._forward(x), x * block.res_scale.scale)
    # different in/out dims: no shortcut
    assert RTMCCBlock(7, 16, 12, s=8)(x).shape == (2, 7, 12)
    cross = RTMCCBlock(7, 16, 16, s=8, attn_type="cross-attn")
    assert cross((x, x, x)).shape == (2, 7, 16)
    assert Scale(4, init_value=2.0)(torch.ones(4)).tolist() == [2.0] * 4


def test_rope_matches_formula():
    x = torch.randn(1, 6, 8)
    out = rope(x, dim=1)
    pos = torch.arange(6, dtype=torch.float32)[:, None]
    inv_freq = 10000 ** (torch.arange(4, dtype=torch.float32) / 4)
    sin, cos = torch.sin(pos * inv_freq), torch.cos(pos * inv_freq)
    x1, x2 = x[..., :4], x[..., 4:]
    torch.testing.assert_close(out, torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1))


def test_loss_and_accuracy():
    head = _head()
    batch = _batch()
    losses = head.loss((torch.randn(4, 8, 3, 2),), batch)
    assert set(losses) == {"loss_kpt", "acc_pose"}
    assert torch.isfinite(losses["loss_kpt"]) and losses["loss_kpt"].ndim == 0
    assert 0.0 <= float(losses["acc_pose"]) <= 1.0
    # perfect predictions (the labels themselves) have accuracy 1
    gt = (batch.targets["keypoint_x_labels"], batch.targets["keypoint_y_labels"])
    assert float(head.simcc_accuracy(gt, gt, batch.targets["keypoint_weights"])) == 1.0
    assert "acc_pose" not in head.loss((torch.randn(4, 8, 3, 2),), batch, {"compute_acc": False})
    with pytest.raises(KeyError, match="keypoint_x_labels"):
        head.loss((torch.randn(4, 8, 3, 2),), PoseBatch(batch.inputs, {}, batch.centers, batch.scales, batch.metas))


def test_overfits_a_tiny_batch():
    head = _head()
    batch = _batch()
    feats = (torch.randn(4, 8, 3, 2),)
    opt = torch.optim.Adam(head.parameters(), lr=3e-3)
    history = []
    for _ in range(30):
        loss = head.loss(feats, batch)["loss_kpt"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    assert all(math.isfinite(v) for v in history)
    assert history[-1] < 0.5 * history[0]
    assert float(head.loss(feats, batch)["acc_pose"]) > 0.5


def test_predict_shapes_and_decoder_agreement():
    head = _head().eval()
    feats = (torch.randn(2, 8, 3, 2),)
    with torch.no_grad():
        kpts, scores = head.predict(feats, _batch(2), {})
        px, py = head(feats)
    assert kpts.shape == (2, 1, K, 2) and scores.shape == (2, 1, K)
    ref_k, ref_s = head.decoder.decode(px, py)
    torch.testing.assert_close(kpts, ref_k)
    torch.testing.assert_close(scores, ref_s)
    # x bins / split ratio
    torch.testing.assert_close(kpts[:, 0, :, 0], px.argmax(-1).float() / 2.0)
    with torch.no_grad():
        out = head.predict(feats, _batch(2), {"output_heatmaps": True})
    assert out[2]["heatmaps"].shape == (2, K, 96, 64)


def test_flip_test_symmetry():
    head = _head().eval()
    batch = _batch(2)
    f, g = (torch.randn(2, 8, 3, 2),), (torch.randn(2, 8, 3, 2),)
    cfg = {"flip_test": True}
    with torch.no_grad():
        k1, s1 = head.predict([f, g], batch, cfg)
        k2, s2 = head.predict([g, f], batch, cfg)
        px, py = head(f)
        fx, fy = head(g)
    # averaging is symmetric: swapping the two views mirrors the result (x -> (Wx - 1) / ratio - x, pairs swapped)
    wx = px.shape[-1]
    torch.testing.assert_close(k2[:, :, :, 0], (wx - 1) / 2.0 - k1[:, :, FLIP, 0])
    torch.testing.assert_close(k2[:, :, :, 1], k1[:, :, FLIP, 1])
    torch.testing.assert_close(s2, s1[:, :, FLIP])
    # and equals decoding the explicit average
    avg_x = 0.5 * (px + fx[:, FLIP].flip(-1))
    avg_y = 0.5 * (py + fy[:, FLIP])
    ref_k, _ = head.decoder.decode(avg_x, avg_y)
    torch.testing.assert_close(k1, ref_k)
    with pytest.raises(ValueError, match="flip_indices"):
        no_flip = PoseBatch(batch.inputs, batch.targets, batch.centers, batch.scales, [{}, {}])
        head.predict([f, g], no_flip, cfg)
