"""PoseDataPreprocessor and TopdownPoseEstimator: normalisation, modes, flip test, crop -> image mapping."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from posekit.models import PoseDataPreprocessor, TopdownPoseEstimator
from posekit.models.heads import HeatmapHead
from posekit.structures import PoseBatch

FLIP = [0, 2, 1, 4, 3]


# ------------------------------------------------------------------------------------------------ preprocessor
class TestPreprocessor:
    def test_normalise_and_swap(self):
        pre = PoseDataPreprocessor(mean=[1.0, 2.0, 3.0], std=[2.0, 4.0, 8.0], bgr_to_rgb=True)
        x = torch.zeros(1, 3, 2, 2, dtype=torch.uint8)
        x[:, 0], x[:, 1], x[:, 2] = 10, 20, 30  # B, G, R
        out = pre(x)
        assert out.dtype == torch.float32
        # after the swap: R, G, B = 30, 20, 10
        assert torch.allclose(out[0, :, 0, 0], torch.tensor([(30 - 1) / 2, (20 - 2) / 4, (10 - 3) / 8]))
        assert set(pre.state_dict()) == set()  # mean/std are not persistent
        no_norm = PoseDataPreprocessor()(x)
        assert torch.equal(no_norm, x.float())
        assert torch.equal(PoseDataPreprocessor()([x[0], x[0]]), torch.cat([x, x]).float())

    def test_channels_last_pad_and_errors(self):
        pre = PoseDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], bgr_to_rgb=True, pad_size_divisor=4, pad_value=-1)
        x = torch.randint(0, 255, (2, 3, 5, 6), dtype=torch.uint8).contiguous(memory_format=torch.channels_last)
        out = pre(x)
        assert out.shape == (2, 3, 8, 8) and out.is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(out[:, :, :5, :6], x.flip(1).float()) and torch.all(out[:, :, 5:] == -1)
        with pytest.raises(ValueError):
            PoseDataPreprocessor(mean=[0, 0, 0])
        with pytest.raises(ValueError):
            PoseDataPreprocessor(bgr_to_rgb=True, rgb_to_bgr=True)


# ------------------------------------------------------------------------------------------------ fakes
class RecordingBackbone(nn.Module):
    """Average-pools its input by 4 and records what it saw."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)  # a parameter, for state-dict tests
        self.pool = nn.AvgPool2d(4)
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        self.seen.append(x)
        return (self.pool(x),)


class FixedHead(nn.Module):
    """Predicts fixed crop keypoints; records its calls."""

    def __init__(self, keypoints):
        super().__init__()
        self.keypoints = keypoints
        self.calls = []

    def forward(self, feats):
        return feats[-1]

    def loss(self, feats, batch, train_cfg=None):
        self.calls.append(("loss", train_cfg))
        return {"loss_kpt": feats[-1].mean()}

    def predict(self, feats, batch, test_cfg=None):
        self.calls.append(("predict", feats, batch, test_cfg))
        b = batch.centers.shape[0]
        kpts = self.keypoints.expand(b, 1, -1, 2).clone()
        return kpts, torch.ones(kpts.shape[:-1])


def make_batch(b=2, input_size=(48, 64), centers=None, scales=None, k=5):
    w, h = input_size
    return PoseBatch(
        inputs=torch.zeros(b, 3, h, w, dtype=torch.uint8),
        targets={},
        centers=centers if centers is not None else torch.zeros(b, 2),
        scales=scales if scales is not None else torch.tensor([[float(w), float(h)]] * b),
        metas=[{"flip_indices": FLIP[:k], "input_size": (w, h)} for _ in range(b)],
    )


# ------------------------------------------------------------------------------------------------ estimator
class TestEstimator:
    def test_predict_maps_crop_to_image(self):
        head = FixedHead(torch.tensor([[[[10.0, 20.0], [0.0, 0.0]]]]))
        model = TopdownPoseEstimator(RecordingBackbone(), head=head, test_cfg={"flip_test": False})
        batch = make_batch(
            centers=torch.tensor([[100.0, 200.0], [0.0, 0.0]]), scales=torch.tensor([[96.0, 128.0], [48.0, 64.0]])
        )
        out = model.predict(torch.rand(2, 3, 64, 48), batch)
        assert out["keypoints"].shape == (2, 1, 2, 2) and out["keypoint_scores"].shape == (2, 1, 2)
        # x = 10 / 48 * 96 + 100 - 48 = 72 ; y = 20 / 64 * 128 + 200 - 64 = 176
        assert torch.allclose(out["keypoints"][0, 0], torch.tensor([[72.0, 176.0], [52.0, 136.0]]))
        # unit scale = crop size, zero centre: x - w/2
        assert torch.allclose(out["keypoints"][1, 0], torch.tensor([[-14.0, -12.0], [-24.0, -32.0]]))

    def test_flip_test_extracts_flipped_features(self):
        backbone = RecordingBackbone()
        head = FixedHead(torch.zeros(1, 1, 5, 2))
        cfg = {"flip_test": True, "flip_mode": "heatmap", "shift_heatmap": True}
        model = TopdownPoseEstimator(backbone, head=head, test_cfg=cfg)
        x = torch.rand(2, 3, 64, 48)
        model.predict(x, make_batch())
        assert torch.equal(backbone.seen[0], x) and torch.equal(backbone.seen[1], x.flip(-1))
        _, feats, _, test_cfg = head.calls[-1]
        assert isinstance(feats, list) and len(feats) == 2 and test_cfg == cfg

    def test_modes_and_train_cfg(self):
        head = FixedHead(torch.zeros(1, 1, 5, 2))
        model = TopdownPoseEstimator(RecordingBackbone(), head=head, train_cfg={"compute_acc": False})
        x = torch.rand(2, 3, 64, 48)
        assert model(x).shape == (2, 3, 16, 12)  # tensor mode = raw head output
        assert set(model(x, make_batch(), mode="loss")) == {"loss_kpt"}
        assert head.calls[-1] == ("loss", {"compute_acc": False})
        assert set(model(x, make_batch(), mode="predict")) == {"keypoints", "keypoint_scores"}
        with pytest.raises(RuntimeError, match="Invalid mode"):
            model(x, None, mode="nope")
        assert not model.with_neck and model.with_head
        assert isinstance(model.data_preprocessor, PoseDataPreprocessor)

    def test_output_keypoint_indices_and_metainfo(self):
        head = FixedHead(torch.arange(10, dtype=torch.float32).reshape(1, 1, 5, 2))
        model = TopdownPoseEstimator(
            RecordingBackbone(),
            head=head,
            test_cfg={"output_keypoint_indices": [0, 3]},
            metainfo={"flip_indices": [0, 1, 2, 3, 4]},
        )
        batch = make_batch()
        out = model.predict(torch.rand(2, 3, 64, 48), batch)
        assert out["keypoints"].shape == (2, 1, 2, 2) and out["keypoint_scores"].shape == (2, 1, 2)
        seen_batch = head.calls[-1][2]
        assert seen_batch.flip_indices == [0, 1, 2, 3, 4] and batch.flip_indices == FLIP  # caller's batch untouched

    def test_build_from_configs_and_old_keys(self):
        model = TopdownPoseEstimator(
            backbone={"_target_": "torch.nn.Identity"},
            neck={"type": "GlobalAveragePooling"},
            head={"type": "RegressionHead", "in_channels": 3, "num_joints": 5},
            data_preprocessor={"type": "PoseDataPreprocessor", "mean": [0, 0, 0], "std": [1, 1, 1]},
        )
        assert model.with_neck and model(torch.rand(2, 3, 8, 8)).shape == (2, 5, 2)
        sd = {k.replace("head.", "keypoint_head.", 1): v + 1 for k, v in model.state_dict().items()}
        model.load_state_dict(sd)
        assert torch.allclose(model.head.fc.bias, sd["keypoint_head.fc.bias"])

    def test_init_weights_pretrained(self, tmp_path):
        src = TopdownPoseEstimator(RecordingBackbone(), head=HeatmapHead(3, 5, deconv_out_channels=None))
        with torch.no_grad():
            for p in src.parameters():
                p.add_(1.0)
        path = tmp_path / "model.pth"
        torch.save({"state_dict": src.state_dict()}, path)
        dst = TopdownPoseEstimator(
            RecordingBackbone(),
            head=HeatmapHead(3, 5, deconv_out_channels=None),
            init_cfg={"type": "Pretrained", "checkpoint": str(path)},
        )
        dst.init_weights()
        for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
            assert torch.equal(a, b), k


def test_flip_test_mirror_symmetry():
    """With a flip-equivariant backbone, the mirrored image (keypoint channels swapped) gives mirrored predictions."""

    class Codec:
        input_size, heatmap_size = (48, 64), (12, 16)

        def decode(self, hm):
            b, k, h, w = hm.shape
            vals, idx = hm.flatten(2).max(-1)
            locs = torch.stack((idx % w, idx // w), -1).float() * 4.0
            return locs[:, None], vals[:, None]

    head = HeatmapHead(5, 5, deconv_out_channels=None, final_layer=None, decoder=Codec())
    model = TopdownPoseEstimator(
        nn.Sequential(nn.AvgPool2d(4), _Tuple()),
        head=head,
        test_cfg={"flip_test": True, "flip_mode": "heatmap", "shift_heatmap": False},
    )
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 5, 64, 48, generator=g)  # a K-channel "image": the identity-ish net keeps channels
    batch = make_batch(centers=torch.tensor([[30.0, 40.0], [0.0, 0.0]]), scales=torch.tensor([[48.0, 64.0]] * 2))
    out = model.predict(x, batch)["keypoints"]
    out_m = model.predict(x.flip(-1)[:, FLIP], batch)["keypoints"]
    # heatmap-pixel mirror: u -> (W_hm - 1) - u, i.e. crop x -> 44 - x; image x -> 2 * cx - 4 - x (scale = crop)
    expected = out[:, :, FLIP].clone()
    expected[..., 0] = 2 * batch.centers[:, None, None, 0] - 4.0 - expected[..., 0]
    assert torch.allclose(out_m, expected)


class _Tuple(nn.Module):
    def forward(self, x):
        return (x,)


def test_tiny_model_trains_and_predicts():
    import numpy as np

    from posekit.models import build_model

    torch.manual_seed(0)
    model = build_model("tiny", num_keypoints=5)
    codec = model.head.decoder
    assert tuple(codec.input_size) == (96, 128) and tuple(codec.heatmap_size) == (24, 32)
    kpts = np.random.default_rng(0).uniform(10, 80, size=(2, 1, 5, 2)).astype(np.float32)
    enc = [codec.encode(kpts[i], np.ones((1, 5), dtype=np.float32)) for i in range(2)]
    targets = {
        "heatmaps": torch.stack([torch.as_tensor(e["heatmaps"]) for e in enc]),
        "keypoint_weights": torch.cat([torch.as_tensor(e["keypoint_weights"]) for e in enc]),
    }
    batch = PoseBatch(
        inputs=torch.randint(0, 255, (2, 3, 128, 96), dtype=torch.uint8),
        targets=targets,
        centers=torch.tensor([[50.0, 60.0], [70.0, 80.0]]),
        scales=torch.tensor([[96.0, 128.0], [192.0, 256.0]]),
        metas=[{"flip_indices": FLIP, "input_size": (96, 128)} for _ in range(2)],
    )
    inputs = model.data_preprocessor(batch.inputs)
    losses = model.loss(inputs, batch)
    assert set(losses) == {"loss_kpt", "acc_pose"} and torch.isfinite(losses["loss_kpt"])
    losses["loss_kpt"].backward()
    assert model.head.final_layer.weight.grad is not None
    model.eval()
    preds = model.predict(inputs, batch)
    assert preds["keypoints"].shape == (2, 1, 5, 2) and preds["keypoint_scores"].shape == (2, 1, 5)
    assert model(inputs).shape == (2, 5, 32, 24)
