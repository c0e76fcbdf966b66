"""posekit-infer end to end (in process): folder + detection JSON, single image, video round trip, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from posekit.cli import infer


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default output folders (outputs/infer/runs/...) land here


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def test_folder_with_detection_json(tmp_path, testdata_dir, tiny_ckpt, capsys):
    root = testdata_dir / "coco"
    out = tmp_path / "out"
    returned = infer.main(
        [
            f"ckpt={tiny_ckpt[0]}",
            f"input={root}",
            f"bboxes={root / 'test_coco.json'}",
            f"output_dir={out}",
            "kpt_thr=0.0",
            "show_heatmaps=true",
            "batch_size=4",
        ]
    )
    assert returned is None  # console scripts run sys.exit(main()): anything else would be a failure status
    printed = capsys.readouterr().out
    assert "4 images, 14 people" in printed and "images/s" in printed
    preds = _read_json(out / "predictions.json")
    assert preds["meta"]["dataset_name"] == "coco" and len(preds["meta"]["keypoint_names"]) == 17
    assert len(preds["images"]) == 4
    by_name = {p["img_path"].rsplit("/", 1)[-1]: p for p in preds["images"]}
    assert by_name["000000196141.jpg"]["image_id"] == 196141
    assert len(by_name["000000196141.jpg"]["instances"]) == 5
    inst = by_name["000000000785.jpg"]["instances"][0]
    np.testing.assert_allclose(inst["bbox"], [280.79, 44.73, 280.79 + 218.7, 44.73 + 346.68], atol=0.01)
    assert np.asarray(inst["keypoints"]).shape == (17, 2) and len(inst["keypoint_scores"]) == 17
    for name, rec in by_name.items():
        pic = cv2.imread(str(out / "vis" / name))
        assert pic is not None, name
        assert pic.shape == (2 * rec["height"], rec["width"], 3)  # heatmap panel stacked below


def test_detection_results_file_and_single_image(tmp_path, testdata_dir):
    root = testdata_dir / "coco"
    img = tmp_path / "in" / "000000000785.jpg"
    img.parent.mkdir()
    shutil.copy(root / "000000000785.jpg", img)
    out = tmp_path / "out"
    infer.main(
        [
            "model=tiny",
            f"input={img}",
            f"bboxes={root / 'test_coco_det_AP_H_56.json'}",
            "bbox_thr=0.3",
            f"output_dir={out}",
            "draw_bbox=false",
        ]
    )
    preds = _read_json(out / "predictions.json")
    dets = [d for d in _read_json(root / "test_coco_det_AP_H_56.json") if d["image_id"] == 785 and d["score"] >= 0.3]
    assert len(preds["images"]) == 1 and len(preds["images"][0]["instances"]) == len(dets) >= 1
    assert cv2.imread(str(out / "vis" / img.name)).shape == (425, 640, 3)


def test_video_round_trip(tmp_path):
    src = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(src), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    assert writer.isOpened()
    rng = np.random.default_rng(0)
    for _ in range(5):
        writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    out = tmp_path / "out"
    infer.main(["model=tiny", f"input={src}", f"output_dir={out}", "batch_size=2", "det_model=none"])
    cap = cv2.VideoCapture(str(out / "clip.mp4"))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == 5 and frames[0].shape == (48, 64, 3)
    preds = _read_json(out / "clip.json")
    assert [f["frame_id"] for f in preds["frames"]] == list(range(5))
    assert all(len(f["instances"]) == 1 for f in preds["frames"])
    assert preds["frames"][0]["instances"][0]["bbox"] == [0.0, 0.0, 64.0, 48.0]
    assert preds["fps"] == pytest.approx(10.0)

    # boxes per frame from a detection file: image_id = frame index
    dets = tmp_path / "dets.json"
    boxes = [
        {"image_id": 0, "bbox": [0, 0, 30, 40], "score": 0.9},
        {"image_id": 2, "bbox": [5, 5, 20, 30], "score": 0.8},
        {"image_id": 2, "bbox": [30, 5, 20, 30], "score": 0.7},
    ]
    dets.write_text(json.dumps(boxes))
    infer.main(["model=tiny", f"input={src}", f"bboxes={dets}", f"output_dir={tmp_path / 'det'}", "save_vis=false"])
    preds = _read_json(tmp_path / "det" / "clip.json")
    assert [len(f["instances"]) for f in preds["frames"]] == [1, 0, 2, 0, 0]
    assert preds["frames"][2]["instances"][1]["bbox"] == [30.0, 5.0, 50.0, 35.0]
    assert not (tmp_path / "det" / "clip.mp4").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["input=x.jpg"], "x.jpg: no such file or folder"),
        (["model=tiny"], "input=PATH"),
        (["model=tiny", "input=a.jpg", "kpt_thr=high"], "kpt_thr='high': expected a number"),
        (["model=tiny", "input=a.jpg", "colour=red"], "unknown option 'colour'"),
        (["model=tiny", "input=a.jpg", "ckpt=b.ckpt"], "not both"),
        (["model=tiny", "input=a.jpg", "threads=x"], "threads='x': expected an integer"),
    ],
)
def test_argument_errors_are_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        infer.main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_missing_input_and_ckpt_are_one_line(tmp_path, capsys):
    for args, message in (
        ([f"ckpt={tmp_path / 'none.ckpt'}", f"input={tmp_path}"], "none.ckpt: no such checkpoint file"),
        (["model=tiny", f"input={tmp_path / 'none.jpg'}"], "none.jpg: no such file or folder"),
        (["model=tiny", f"input={tmp_path}"], "the folder holds no images"),
    ):
        with pytest.raises(SystemExit) as exc:
            infer.main(args)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err


def test_unmatched_detection_file_is_an_error(tmp_path, testdata_dir, capsys):
    img = tmp_path / "photo.jpg"
    shutil.copy(testdata_dir / "coco" / "000000000785.jpg", img)
    with pytest.raises(SystemExit):
        infer.main(
            [
                "model=tiny",
                f"input={img}",
                f"bboxes={testdata_dir / 'coco' / 'test_coco.json'}",
                f"output_dir={tmp_path / 'o'}",
            ]
        )
    assert "none of the 1 input images is in the detection file" in capsys.readouterr().err


def test_console_script_help_and_exit_status():
    proc = subprocess.run(
        [sys.executable, "-m", "posekit.cli.infer", "-h"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and "posekit-infer" in proc.stdout and "bboxes=PATH" in proc.stdout


def test_translate_argv_positional_gnu_flags_and_hydra_flags(tmp_path):
    got = infer.translate_argv(
        ["photo 1.jpg", "--bbox-thr", "0.5", "--device=cpu", "--show-heatmaps", "--model", "tiny", "-m", "--cfg", "job"]
    )
    assert got == ["bbox_thr=0.5", "device=cpu", "show_heatmaps=true", "model=tiny", "-m", "--cfg", "job",
                   "input='photo 1.jpg'"]  # fmt: skip
    assert infer.translate_argv(["--draw-bbox", "false", "-cd", str(tmp_path), "x.jpg"]) == [
        "draw_bbox=false", "-cd", str(tmp_path), "input=x.jpg"]  # fmt: skip
    # a YAML file is not a config of the model group: it goes to pose2d
    assert infer.translate_argv(["model=/cfgs/net.yaml", "model.test_cfg.flip_test=false"]) == [
        "pose2d=/cfgs/net.yaml", "model.test_cfg.flip_test=false"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--colour", "red"], "unknown option '--colour'"), (["a.jpg", "b.jpg"], "one input path"), (["-q"], "'-q'")],
)
def test_translate_argv_errors(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        infer.translate_argv(args)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_model_group_with_overrides_and_bare_path(tmp_path, testdata_dir, capsys):
    img = tmp_path / "photo.jpg"
    shutil.copy(testdata_dir / "coco" / "000000000785.jpg", img)
    infer.main(["model=tiny", "model.test_cfg.flip_test=false", str(img), "--save-vis=false", "--kpt-thr", "0.1",
                "--det-model", "none"])
    out = capsys.readouterr().out
    assert "1 images, 1 people" in out
    pred = next(tmp_path.glob("outputs/infer/runs/*/predictions.json"))
    assert _read_json(pred)["images"][0]["img_path"].endswith("photo.jpg")
    assert not list(tmp_path.glob("outputs/infer/runs/*/vis/*.jpg"))  # --save-vis=false


def test_offline_first_use_is_one_line_naming_file_and_folder(tmp_path, testdata_dir, monkeypatch, capsys):
    """``posekit-infer input=photo.jpg`` (model human, pretrained) without internet: exit 2, one line."""
    monkeypatch.setenv("POSEKIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSEKIT_WEIGHTS_MIRROR", "http://127.0.0.1:9")  # nothing listens: the offline case
    with pytest.raises(SystemExit) as exc:
        infer.main([f"input={testdata_dir / 'coco' / '000000000785.jpg'}", f"output_dir={tmp_path / 'out'}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "WeightsDownloadError" in err, err
    assert "rtmpose-m_simcc-aic-coco_pt-aic-coco_420e-256x192-63eb25f7_20230126.pth" in err and str(tmp_path) in err
