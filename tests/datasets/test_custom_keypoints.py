"""Your own keypoints from names only: the spec, its inference and errors, sigma estimation, and a 5-keypoint dataset
(generated images + COCO JSON) that trains and evaluates end to end through ``posekit-train data=custom``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_module
from hydra.utils import instantiate

from posekit.datasets import CocoStyleDataset, load_metainfo
from posekit.datasets.metainfo.spec import (
    DEFAULT_SIGMA,
    estimate_sigmas,
    estimate_sigmas_from_files,
    infer_flip_pairs,
)
from posekit.datasets.metainfo.spec import main as spec_cli

NAMES = ["nose", "left_ear", "right_ear", "tail_base", "tail_tip"]


def make_creatures(root: Path, num_train: int = 12, num_val: int = 4, size: int = 96, seed: int = 0) -> dict:
    """A tiny 5-keypoint dataset: an ellipse body with two ears, a nose and a tail, COCO keypoint JSON."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    files = {}
    for split, num, offset in (("train", num_train, 0), ("val", num_val, 1000)):
        images, anns = [], []
        for i in range(num):
            img = np.full((size, size, 3), rng.integers(0, 80), dtype=np.uint8)
            cx, cy = rng.uniform(30, size - 30, 2)
            ang = rng.uniform(0, 2 * np.pi)
            d = np.array([np.cos(ang), np.sin(ang)])
            n = np.array([-d[1], d[0]])
            c = np.array([cx, cy])
            pts = np.stack([c + 18 * d, c + 10 * d + 7 * n, c + 10 * d - 7 * n, c - 12 * d, c - 24 * d])
            cv2.ellipse(img, (int(cx), int(cy)), (14, 8), float(np.degrees(ang)), 0, 360, (200, 180, 160), -1)
            for p, col in zip(pts, [(0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255), (255, 0, 255)]):
                cv2.circle(img, (int(p[0]), int(p[1])), 3, col, -1)
            img_id = offset + i + 1
            name = f"{img_id:06d}.png"
            cv2.imwrite(str(root / "images" / name), img)
            vis = (pts[:, 0] >= 0) & (pts[:, 0] < size) & (pts[:, 1] >= 0) & (pts[:, 1] < size)
            kpts = [v for p, ok in zip(pts, vis) for v in ((float(p[0]), float(p[1]), 2) if ok else (0, 0, 0))]
            lo, hi = pts.min(axis=0) - 6, pts.max(axis=0) + 6
            images.append(dict(id=img_id, file_name=name, width=size, height=size))
            anns.append(
                dict(
                    id=img_id, image_id=img_id, category_id=1, iscrowd=0, keypoints=kpts,
                    num_keypoints=int(vis.sum()), bbox=[*lo.tolist(), *(hi - lo).tolist()],
                    area=float(np.prod(hi - lo)),
                )
            )  # fmt: skip
        cats = [dict(id=1, name="creature", supercategory="animal", keypoints=NAMES, skeleton=[])]
        path = root / f"{split}.json"
        path.write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))
        files[split] = path
    return files


# ----------------------------------------------------------------------------------------------------------------------
# the spec


def test_names_only_spec_gives_full_metainfo():
    m = load_metainfo({"keypoints": NAMES})
    assert m["dataset_name"] == "custom" and m["num_keypoints"] == 5
    assert m["flip_indices"] == [0, 2, 1, 3, 4]
    assert sorted(m["flip_pairs"]) == [(1, 2), (2, 1)]
    np.testing.assert_allclose(m["sigmas"], [DEFAULT_SIGMA] * 5)
    assert DEFAULT_SIGMA == pytest.approx(float(np.median(load_metainfo("coco")["sigmas"])))
    assert m["keypoint_colors"].shape == (5, 3) and len({tuple(c) for c in m["keypoint_colors"].tolist()}) == 5
    assert m["skeleton_links"] == [] and m["upper_body_ids"] == [] and m["lower_body_ids"] == []


def test_spec_with_skeleton_sigmas_and_halves():
    m = load_metainfo(
        dict(
            dataset_name="mouse",
            keypoints=NAMES,
            skeleton=[["nose", "left_ear"], ["tail_base", "tail_tip"]],
            sigmas=[0.02, 0.03, 0.03, 0.05, 0.08],
            upper_body=["nose", "left_ear", "right_ear"],
            lower_body=["tail_base", "tail_tip"],
        )
    )
    assert m["dataset_name"] == "mouse" and m["skeleton_links"] == [(0, 1), (3, 4)]
    np.testing.assert_allclose(m["sigmas"], [0.02, 0.03, 0.03, 0.05, 0.08])
    assert m["upper_body_ids"] == [0, 1, 2] and m["lower_body_ids"] == [3, 4]


@pytest.mark.parametrize(
    ("names", "pairs"),
    [
        (["l_eye", "r_eye", "nose"], [("l_eye", "r_eye")]),
        (["LeftHand", "RightHand"], [("LeftHand", "RightHand")]),
        (["eye_L", "eye_R", "paw.l.front", "paw.r.front"], [("eye_L", "eye_R"), ("paw.l.front", "paw.r.front")]),
        (["LShoulder", "RShoulder", "Leg"], [("LShoulder", "RShoulder")]),
        (["LEFT_WING", "RIGHT_WING", "left_x"], [("LEFT_WING", "RIGHT_WING")]),
        (["wing_left", "wing_right", "lr", "tail"], [("wing_left", "wing_right")]),
    ],
)
def test_flip_pairs_inferred_from_names(names, pairs):
    assert infer_flip_pairs(names) == pairs


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"keypoints": ["a", "b", "a"]}, "metainfo.keypoints: duplicate name 'a'"),
        ({"keypoints": ["a", "b"], "flip_pairs": [["a", "c"]]}, "metainfo.flip_pairs: ['a', 'c']: 'c' is not one"),
        ({"keypoints": ["a", "b"], "skeleton": [["a", "x"]]}, "metainfo.skeleton: ['a', 'x']: 'x' is not one"),
        ({"keypoints": ["a", "b"], "sigmas": [0.1]}, "metainfo.sigmas: has 1 values but metainfo.keypoints has 2"),
        ({"keypoints": ["a", "b"], "colour": 1}, "unknown field(s) ['colour']"),
        ({"keypoints": ["a", "b"], "flip_pairs": [["a", "a"]]}, "metainfo.flip_pairs: 'a' is paired"),
    ],
)
def test_bad_specs_name_the_field(spec, field):
    with pytest.raises(ValueError) as err:
        load_metainfo(spec)
    assert field in str(err.value) and len(str(err.value).splitlines()) == 1


def test_keypoint_count_disagreeing_with_annotations(tmp_path):
    files = make_creatures(tmp_path, num_train=2, num_val=1)
    with pytest.raises(ValueError, match=r"has 5 keypoints but the metainfo 'custom' has 4.*data.metainfo.keypoints"):
        CocoStyleDataset(str(files["train"]), metainfo={"keypoints": NAMES[:4]})


def test_estimate_sigmas_recovers_the_labelling_noise(tmp_path, capsys):
    rng = np.random.default_rng(0)
    true = np.array([0.02, 0.05, 0.1])
    n, a = 400, 3
    areas = rng.uniform(2000, 20000, n)
    gt = rng.uniform(0, 500, (n, 3, 2))
    labels = gt[None] + rng.normal(0, 1, (a, n, 3, 2)) * true[None, None, :, None] * np.sqrt(areas)[None, :, None, None]
    est = estimate_sigmas(labels, np.ones((a, n, 3)), areas)
    np.testing.assert_allclose(est, true, rtol=0.06)
    # the same through COCO files (ids matched across annotators)
    paths = []
    for k in range(a):
        anns = [
            dict(id=i, image_id=i, category_id=1, area=float(areas[i]),
                 keypoints=[v for p in labels[k, i] for v in (*p.tolist(), 2)])
            for i in range(n)
        ]  # fmt: skip
        path = tmp_path / f"annotator{k}.json"
        cats = [dict(id=1, keypoints=["a", "b", "c"])]
        path.write_text(json.dumps(dict(images=[], annotations=anns, categories=cats)))
        paths.append(str(path))
    names, est2 = estimate_sigmas_from_files(paths)
    assert names == ["a", "b", "c"]
    np.testing.assert_allclose(est2, est)
    spec_cli(["estimate-sigmas", *paths])  # python -m posekit.datasets.metainfo.spec estimate-sigmas ...
    assert f"sigmas: [{est[0]:.4f}, {est[1]:.4f}, {est[2]:.4f}]" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------------------------------
# end to end


def _overrides(files: dict, root: Path) -> list[str]:
    return [
        "data=custom",
        f"data.ann_file={files['train']}",
        f"data.val_ann_file={files['val']}",
        f"data.img_prefix={root / 'images'}/",
        "data.metainfo.keypoints=[" + ",".join(NAMES) + "]",
        "data.num_workers=0",
        "data.pin_memory=false",
        "data.batch_size=4",
        "data.val_batch_size=4",
    ]


def test_custom_config_trains_a_step_and_evaluates_in_process(tmp_path):
    files = make_creatures(tmp_path)
    with initialize_config_module(config_module="posekit.conf", version_base=None):
        cfg = compose("train", overrides=[*_overrides(files, tmp_path), "model=tiny", f"paths.data_dir={tmp_path}"])
    assert cfg.num_keypoints == 5 and cfg.model.head.out_channels == 5
    dm = instantiate(cfg.data, _recursive_=False)
    dm.setup("fit")
    model = instantiate(cfg.model)
    batch = next(iter(dm.train_dataloader()))
    losses = model.loss(model.data_preprocessor(batch.inputs), batch)
    losses["loss_kpt"].backward()
    assert torch.isfinite(losses["loss_kpt"])
    evaluators = dm.build_evaluators()
    for batch in dm.val_dataloader():  # ground truth as the prediction: perfect scores
        kpts = torch.from_numpy(np.stack([m["keypoints"] for m in batch.metas]))
        for ev in evaluators:
            ev.update(batch.metas, kpts, torch.ones(kpts.shape[:3]))
    results = {k: v for ev in evaluators for k, v in ev.compute().items()}
    assert results["coco/AP"] == pytest.approx(1.0) and results["PCK"] == pytest.approx(1.0)


@pytest.mark.slow
def test_custom_keypoints_train_and_evaluate_through_posekit_train(tmp_path):
    files = make_creatures(tmp_path)
    args = [
        sys.executable, "-m", "posekit.cli.train", *_overrides(files, tmp_path), "trainer.max_epochs=2",
        "trainer.check_val_every_n_epoch=1", "trainer.accelerator=cpu", "trainer.log_every_n_steps=1",
        "scheduler.warmup_iters=2", "callbacks.progress_bar.refresh_rate=0",
    ]  # fmt: skip
    proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = Path(proc.stdout.split("run directory ")[1].split()[0])
    run_dir = run_dir if run_dir.is_absolute() else tmp_path / run_dir
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= summary["val"]["coco/AP"] <= 1.0 and 0.0 <= summary["val"]["PCK"] <= 1.0
