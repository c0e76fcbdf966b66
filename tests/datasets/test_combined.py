"""KeypointConverter (MMPose's cases) and CombinedDataset (COCO + AI Challenger mapped onto COCO's layout)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from posekit.codecs import MSRAHeatmap
from posekit.datasets import AicDataset, CocoDataset, CombinedDataset, PoseDataModule, load_metainfo
from posekit.datasets.transforms import (
    GenerateTarget,
    GetBBoxCenterScale,
    KeypointConverter,
    LoadImage,
    PackPoseInputs,
    RandomFlip,
    TopdownAffine,
)
from posekit.structures import collate_pose_samples

# MMPose's RTMPose body7 configs: AI Challenger's 14 joints -> COCO's 17 (head top / neck have no COCO joint)
AIC_TO_COCO = [(0, 6), (1, 8), (2, 10), (3, 5), (4, 7), (5, 9), (6, 12), (7, 14), (8, 16), (9, 11), (10, 13), (11, 15)]


def coco_like_sample(num_instances: int = 4, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "keypoints": rng.uniform(0, 300, (num_instances, 17, 2)).astype(np.float32),
        "keypoints_visible": (rng.uniform(size=(num_instances, 17)) > 0.3).astype(np.float32),
        "flip_indices": list(load_metainfo("coco")["flip_indices"]),
    }


def test_keypoint_converter_one_to_one():
    data = coco_like_sample()
    mapping = [(3, 0), (6, 1), (16, 2), (5, 3)]
    out = KeypointConverter(num_keypoints=5, mapping=mapping)(copy.deepcopy(data))
    assert out["keypoints"].shape == (4, 5, 2) and out["keypoints_visible"].shape == (4, 5, 2)
    for s, t in mapping:
        np.testing.assert_array_equal(out["keypoints"][:, t], data["keypoints"][:, s])
        np.testing.assert_array_equal(out["keypoints_visible"][:, t, 0], data["keypoints_visible"][:, s])
    np.testing.assert_array_equal(out["keypoints_visible"][:, :, 1], [[1, 1, 1, 1, 0]] * 4)  # target 4 unmapped
    np.testing.assert_array_equal(out["keypoints"][:, 4], 0)


def test_keypoint_converter_midpoints_and_3d():
    data = coco_like_sample()
    mapping = [((3, 5), 0), (6, 1), (16, 2), (5, 3)]
    out = KeypointConverter(num_keypoints=5, mapping=mapping)(copy.deepcopy(data))
    np.testing.assert_allclose(out["keypoints"][:, 0], 0.5 * (data["keypoints"][:, 3] + data["keypoints"][:, 5]))
    np.testing.assert_array_equal(
        out["keypoints_visible"][:, 0, 0], data["keypoints_visible"][:, 3] * data["keypoints_visible"][:, 5]
    )
    np.testing.assert_array_equal(out["keypoints"][:, 1], data["keypoints"][:, 6])
    assert len(out["flip_indices"]) == 4  # MMPose's re-derivation with midpoint pairs

    data3d = coco_like_sample()
    data3d["keypoints_3d"] = np.random.default_rng(1).random((4, 17, 3))
    data3d["target_idx"] = [-1]
    mapping = [(3, 0), (6, 1), (16, 2), (5, 3)]
    out = KeypointConverter(num_keypoints=5, mapping=mapping)(copy.deepcopy(data3d))
    assert out["keypoints_3d"].shape == (4, 5, 3)
    for s, t in mapping:
        np.testing.assert_allclose(out["keypoints_3d"][:, t], data3d["keypoints_3d"][:, s], rtol=1e-6)
    assert out["lifting_target"].shape == (1, 5, 3)


def test_keypoint_converter_sigmas_annotations_and_errors():
    mapping = [(3, 0), (6, 1), (16, 2), (5, 3)]
    conv = KeypointConverter(num_keypoints=5, mapping=mapping)
    sigmas = np.random.default_rng(0).random(17)
    new = conv.transform_sigmas(sigmas)
    assert len(new) == 5 and all(sigmas[i] == new[j] for i, j in mapping)
    ann = {"num_keypoints": 17, "keypoints": np.random.default_rng(0).integers(3, size=51).tolist()}
    before = copy.deepcopy(ann)
    conv.transform_ann(ann)
    assert ann["num_keypoints"] == 5 and len(ann["keypoints"]) == 15
    for i, j in mapping:
        assert before["keypoints"][i * 3 : i * 3 + 3] == ann["keypoints"][j * 3 : j * 3 + 3]
    with pytest.raises(ValueError, match="target indices must be in"):
        KeypointConverter(num_keypoints=3, mapping=[(0, 5)])
    with pytest.raises(ValueError, match="source pair must have 2"):
        KeypointConverter(num_keypoints=3, mapping=[((0, 1, 2), 0)])
    assert "KeypointConverter(num_keypoints=5" in repr(conv)


def _train_pipeline():
    codec = MSRAHeatmap(input_size=(96, 128), heatmap_size=(24, 32), sigma=2.0)
    return [
        LoadImage(),
        GetBBoxCenterScale(),
        RandomFlip(prob=0.5),  # COCO's flip_indices on every item, the AIC ones included
        TopdownAffine(input_size=codec.input_size),
        GenerateTarget(encoder=codec),
        PackPoseInputs(),
    ]


@pytest.fixture
def coco_aic(testdata_dir):
    coco = dict(
        _target_="posekit.datasets.CocoDataset", ann_file="test_coco.json", data_root=str(testdata_dir / "coco")
    )
    aic = dict(
        _target_="posekit.datasets.AicDataset",
        ann_file="test_aic.json",
        data_root=str(testdata_dir / "aic"),
        pipeline=[
            dict(_target_="posekit.datasets.transforms.KeypointConverter", num_keypoints=17, mapping=AIC_TO_COCO)
        ],
    )
    return coco, aic


def test_combined_dataset_maps_aic_onto_coco(coco_aic, testdata_dir):
    coco_cfg, aic_cfg = coco_aic
    ds = CombinedDataset(metainfo="coco", datasets=[coco_cfg, aic_cfg], pipeline=[])
    n_coco = len(CocoDataset("test_coco.json", data_root=str(testdata_dir / "coco")))
    aic_plain = AicDataset("test_aic.json", data_root=str(testdata_dir / "aic"))
    assert len(ds) == n_coco + len(aic_plain) == 21
    coco_meta = load_metainfo("coco")
    item = ds[n_coco]  # the first AIC item, in COCO's layout
    assert item["keypoints"].shape == (1, 17, 2) and item["keypoints_visible"].shape == (1, 17, 2)
    raw = aic_plain[0]
    for s, t in AIC_TO_COCO:
        np.testing.assert_array_equal(item["keypoints"][0, t], raw["keypoints"][0, s])
    assert item["flip_indices"] == coco_meta["flip_indices"]  # the combined layout's, not AIC's
    np.testing.assert_array_equal(item["keypoints_visible"][0, :5, 1], 0)  # COCO's face: not in AIC
    assert item["dataset_name"] == "aic"  # where it came from
    assert ds[0]["keypoints"].shape == (1, 17, 2)
    with pytest.raises(IndexError):
        ds[len(ds)]
    assert "CombinedDataset(dataset_name='coco', len=21" in repr(ds)


def test_combined_dataset_through_the_training_pipeline_and_datamodule(coco_aic):
    coco_cfg, aic_cfg = coco_aic
    ds = CombinedDataset(metainfo="coco", datasets=[coco_cfg, aic_cfg], pipeline=_train_pipeline())
    raw = CombinedDataset(metainfo="coco", datasets=[coco_cfg, aic_cfg])
    with_face = [i for i in range(12) if raw[i]["keypoints_visible"][0, :5].max() > 0][:2]
    assert len(with_face) == 2
    np.random.seed(0)
    samples = [ds[i] for i in (*with_face, 12, 20)]
    batch = collate_pose_samples(samples)
    assert batch.inputs.shape == (4, 3, 128, 96)
    weights = batch.targets["keypoint_weights"]
    assert weights.shape == (4, 17)
    assert torch.all(weights[2:, :5] == 0)  # AIC items: COCO's face keypoints are weighted out of the loss
    assert torch.any(weights[:2, :5] > 0)

    dm = PoseDataModule(
        train=dict(_target_="posekit.datasets.CombinedDataset", datasets=[coco_cfg, aic_cfg]),
        train_pipeline=None,
        metainfo="coco",
        num_keypoints=17,
        batch_size=4,
    )
    dm.train_cfg["pipeline"] = _train_pipeline()
    dm.check_files(["train"])
    dm.setup("fit")
    assert isinstance(dm.train_dataset, CombinedDataset) and len(dm.train_dataset) == 21
    batch = next(iter(dm.train_dataloader()))
    assert batch.inputs.shape == (4, 3, 128, 96)


def test_combined_dataset_resampling_and_errors(coco_aic):
    coco_cfg, aic_cfg = coco_aic
    ds = CombinedDataset(metainfo="coco", datasets=[coco_cfg, aic_cfg], sample_ratio_factor=[1.0, 0.5])
    assert len(ds) == 12 + round(9 * 0.5)
    np.random.seed(0)
    for idx in range(len(ds)):
        subset, local = ds._get_subset_index(idx)
        assert 0 <= local < ds._lens_ori[subset]
    with pytest.raises(ValueError, match="does not match the length"):
        CombinedDataset(metainfo="coco", datasets=[coco_cfg, aic_cfg], sample_ratio_factor=[1.0])
    with pytest.raises(AssertionError, match="should not be negative"):
        CombinedDataset(metainfo="coco", datasets=[coco_cfg, aic_cfg], sample_ratio_factor=[1.0, -1.0])
    with pytest.raises(ValueError, match="at least one dataset"):
        CombinedDataset(metainfo="coco", datasets=[])
    dm = PoseDataModule(
        train=dict(_target_="posekit.datasets.CombinedDataset", datasets=[{**aic_cfg, "ann_file": "missing.json"}]),
        metainfo="coco",
    )
    with pytest.raises(FileNotFoundError, match=r"data\.train\.datasets\[0\]\.ann_file"):
        dm.check_files(["train"])


def test_packaged_coco_aic_config_trains_on_both(testdata_dir, tmp_path):
    """data=coco_aic composes into a CombinedDataset; pointed at the sample files it yields COCO-layout batches."""
    from hydra import compose, initialize_config_module
    from hydra.utils import instantiate

    with initialize_config_module(config_module="posekit.conf", version_base=None):
        cfg = compose(
            "train",
            overrides=[
                "data=coco_aic",
                "model=tiny",
                f"paths.data_dir={tmp_path}",
                f"data.train.datasets.0.data_root={testdata_dir / 'coco'}",
                "data.train.datasets.0.ann_file=test_coco.json",
                "data.train.datasets.0.data_prefix.img=",
                f"data.train.datasets.1.data_root={testdata_dir / 'aic'}",
                "data.train.datasets.1.ann_file=test_aic.json",
                "data.train.datasets.1.data_prefix.img=",
                "data.train.sample_ratio_factor=[1.0,0.5]",
                f"data.data_root={testdata_dir / 'coco'}",
                "data.val.ann_file=test_coco.json",
                "data.val.data_prefix.img=",
                "data.val.bbox_file=null",
                "data.batch_size=4",
                "data.num_workers=0",
            ],
        )
    assert cfg.monitor == "coco/AP" and cfg.data.train._target_ == "posekit.datasets.CombinedDataset"
    dm = instantiate(cfg.data, _recursive_=False)
    dm.check_files(["train"])
    dm.setup("fit")
    assert isinstance(dm.train_dataset, CombinedDataset) and len(dm.train_dataset) == 12 + round(9 * 0.5)
    batch = next(iter(dm.train_dataloader()))
    assert batch.inputs.shape == (4, 3, 128, 96) and batch.targets["heatmaps"].shape[1] == 17
