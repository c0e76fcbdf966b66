"""Bad data is named or counted: NaN/Inf annotations, filter counts, broken images, worker errors, config values."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from posekit.datasets import CocoStyleDataset
from posekit.datasets.transforms import Compose, LoadImage
from posekit.datasets.validation import set_bad_image_policy
from posekit.engine.preflight import ConfigValueError, check_monitor, check_run_config
from posekit.evaluation import CocoMetric
from posekit.utils.errors import one_line


def _coco_copy(testdata_dir, tmp_path, edit):
    data = json.loads((testdata_dir / "coco" / "test_coco.json").read_text())
    edit(data["annotations"])
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(data))  # json writes NaN / Infinity tokens, as a careless exporter would
    return path


@pytest.mark.parametrize(
    ("field", "value"),
    [("bbox", [float("nan"), 10.0, 50.0, 80.0]), ("bbox", [10.0, 10.0, float("inf"), 80.0]), ("keypoints", None)],
)
def test_non_finite_annotation_is_named(testdata_dir, tmp_path, field, value):
    def edit(anns):
        ann = next(a for a in anns if a.get("num_keypoints", 0) > 0 and not a.get("iscrowd"))
        ann["_bad"] = True
        if field == "keypoints":
            ann["keypoints"][0] = float("nan")
        else:
            ann[field] = value

    path = _coco_copy(testdata_dir, tmp_path, edit)
    bad_id = next(a["id"] for a in json.loads(path.read_text())["annotations"] if a.get("_bad"))
    with pytest.raises(ValueError, match=rf"ann\.json: annotation id {bad_id}: .*{field}.* NaN/Inf") as info:
        len(CocoStyleDataset(str(path), data_root=str(testdata_dir / "coco")))
    assert "\n" not in str(info.value)


def test_filters_report_counts_per_reason(testdata_dir, tmp_path, caplog):
    def edit(anns):
        good = [a for a in anns if a.get("num_keypoints", 0) > 0 and not a.get("iscrowd")]
        good[0]["bbox"][2] = -5.0  # negative width
        good[1]["iscrowd"] = 1

    path = _coco_copy(testdata_dir, tmp_path, edit)
    with caplog.at_level(logging.INFO, logger="posekit.datasets"):
        ds = CocoStyleDataset(str(path), data_root=str(testdata_dir / "coco"))
        n = len(ds)
    assert ds.filter_counts["crowd"] >= 1 and ds.filter_counts["empty or negative-size box"] == 1
    lines = [r.getMessage() for r in caplog.records if "instance filter" in r.getMessage()]
    assert len(lines) == 1 and f"kept {n} of" in lines[0] and "crowd:" in lines[0], lines


@pytest.fixture
def jpeg(testdata_dir, tmp_path):
    src = next((testdata_dir / "coco").glob("*.jpg"))
    dst = tmp_path / "img.jpg"
    shutil.copy(src, dst)
    return dst


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage"])
def test_broken_images_are_named_or_skipped_and_counted(jpeg, damage, caplog):
    data = jpeg.read_bytes()
    jpeg.write_bytes({"truncate": data[: len(data) * 2 // 3], "empty": b"", "garbage": b"\x00" * 100}[damage])
    with pytest.raises(OSError, match=rf"img_path='{jpeg}': .*data\.on_bad_image=skip"):
        LoadImage()({"img_path": str(jpeg)})
    load = LoadImage(on_bad_image="skip")
    with caplog.at_level(logging.WARNING):
        assert load({"img_path": str(jpeg)}) is None and load({"img_path": str(jpeg)}) is None
    assert load.skipped == 2 and "2 skipped so far" in caplog.records[-1].getMessage()


def test_intact_jpeg_with_data_after_the_end_marker_loads(jpeg):
    jpeg.write_bytes(jpeg.read_bytes() + b"trailing metadata" * 10)
    assert LoadImage()({"img_path": str(jpeg)})["img"].ndim == 3


def test_bad_image_policy_reaches_load_image():
    ds = CocoStyleDataset.__new__(CocoStyleDataset)
    ds.pipeline = Compose([LoadImage()])
    set_bad_image_policy(ds, "skip")
    assert ds.pipeline.transforms[0].on_bad_image == "skip"
    with pytest.raises(ValueError, match="data.on_bad_image='drop'"):
        set_bad_image_policy(ds, "drop")


class _Failing(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        raise ValueError("LoadImage: img_path='x.jpg': truncated JPEG (no end-of-image marker FFD9)")


def test_worker_error_is_its_original_line():
    loader = torch.utils.data.DataLoader(_Failing(), num_workers=1)
    with pytest.raises(ValueError) as info:
        next(iter(loader))
    assert "Original Traceback" in str(info.value)
    assert one_line(info.value) == "LoadImage: img_path='x.jpg': truncated JPEG (no end-of-image marker FFD9)"


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("trainer.max_epochs", "abc", r"trainer\.max_epochs='abc': expected an integer"),
        ("optim.lr", "fast", r"optim\.lr='fast': expected a number"),
        ("data.batch_size", 0, r"data\.batch_size=0: must be >= 1"),
        ("trainer.max_epochs", True, r"expected an integer"),
    ],
)
def test_config_values_are_type_checked(key, value, match):
    cfg = OmegaConf.create({"seed": 1, "trainer": {"max_epochs": 2}, "optim": {"lr": 0.1}, "data": {"batch_size": 4}})
    check_run_config(cfg)
    OmegaConf.update(cfg, key, value)
    with pytest.raises(ConfigValueError, match=match):
        check_run_config(cfg)


def test_monitor_is_checked_against_the_metric_names():
    metric = CocoMetric()
    check_monitor("coco/AP", [metric])
    with pytest.raises(ConfigValueError, match=r"monitor='coco/APX' is not a metric .*'coco/AP', 'coco/AP \.5'"):
        check_monitor("coco/APX", [metric])


@pytest.mark.slow  # a CLI start (~5 s); check_run_config itself is tested above
def test_train_cli_bad_value_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "posekit.cli.train", "trainer.max_epochs=abc"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "posekit-train: error: ConfigValueError: trainer.max_epochs='abc': expected an integer, e.g. "
        "trainer.max_epochs=210"
    ]
    assert not np.any([p.name == "metrics.json" for p in tmp_path.rglob("*")])
