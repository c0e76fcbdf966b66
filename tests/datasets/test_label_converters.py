"""Labels from DeepLabCut, YOLO-pose, Label Studio and CVAT -> COCO keypoint JSON: round trips on small generated
projects (known keypoints written in each tool's format, converted back), and the result trains a step."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posekit.cli.convert_labels import main as convert_cli
from posekit.datasets import CocoStyleDataset, load_metainfo
from posekit.datasets.converters import cvat_to_coco, dlc_to_coco, labelstudio_to_coco, yolo_to_coco

NAMES = ["nose", "left_ear", "right_ear", "tail"]
SIZES = [(80, 60), (64, 64), (96, 72)]  # (w, h) per image


def truth(seed: int = 0) -> list[list[np.ndarray]]:
    """Per image, its instances: (K, 3) [x, y, v] with some unlabelled (v=0) and hidden (v=1) keypoints."""
    rng = np.random.default_rng(seed)
    out = []
    for i, (w, h) in enumerate(SIZES):
        insts = []
        for _ in range(1 + i % 2):
            k = np.zeros((len(NAMES), 3))
            k[:, 0] = np.round(rng.uniform(5, w - 5, len(NAMES)), 2)
            k[:, 1] = np.round(rng.uniform(5, h - 5, len(NAMES)), 2)
            k[:, 2] = 2
            insts.append(k)
        insts[0][3] = 0  # tail unlabelled
        if len(insts) > 1:
            insts[1][1, 2] = 1  # a hidden ear
        out.append(insts)
    return out


def write_images(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, (w, h) in enumerate(SIZES):
        name = f"img{i:03d}.png"
        cv2.imwrite(str(folder / name), np.full((h, w, 3), 40 * i, np.uint8))
        names.append(name)
    return names


def coco_instances(coco: dict) -> list[list[np.ndarray]]:
    by_image = {img["id"]: [] for img in coco["images"]}
    for ann in coco["annotations"]:
        by_image[ann["image_id"]].append(np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3))
    return [by_image[img["id"]] for img in coco["images"]]


def assert_round_trip(coco: dict, expected: list[list[np.ndarray]], occlusion: bool = True) -> None:
    assert coco["categories"][0]["keypoints"] == NAMES
    assert [(i["width"], i["height"]) for i in coco["images"]] == SIZES
    got = coco_instances(coco)
    for g_img, e_img in zip(got, expected):
        assert len(g_img) == len(e_img)
        for g, e in zip(g_img, e_img):
            e = e.copy()
            if not occlusion:
                e[e[:, 2] == 1, 2] = 2
            e[e[:, 2] == 0] = 0
            np.testing.assert_allclose(g, e, atol=0.01)
    for ann in coco["annotations"]:
        x, y, w, h = ann["bbox"]
        k = np.asarray(ann["keypoints"]).reshape(-1, 3)
        lab = k[:, 2] > 0
        assert w > 0 and h > 0 and ann["area"] == pytest.approx(w * h, rel=1e-3)
        assert np.all(k[lab, 0] >= x - 0.01) and np.all(k[lab, 0] <= x + w + 0.01)
        assert ann["num_keypoints"] == int(lab.sum())


# ----------------------------------------------------------------------------------------------------------------------
# one generated project per tool


def make_dlc(root: Path, gt) -> Path:
    folder = root / "labeled-data" / "video1"
    files = write_images(folder)
    ind_names = ["mouse1", "mouse2"]
    header = [
        ["scorer", "", ""] + ["me"] * (2 * len(NAMES) * 2),
        ["individuals", "", ""] + [ind for ind in ind_names for _ in range(2 * len(NAMES))],
        ["bodyparts", "", ""] + [n for _ in ind_names for n in NAMES for _ in range(2)],
        ["coords", "", ""] + ["x", "y"] * (len(NAMES) * 2),
    ]
    rows = []
    for f, insts in zip(files, gt):
        row = ["labeled-data", "video1", f]
        for j in range(2):
            for k in range(len(NAMES)):
                if j < len(insts) and insts[j][k, 2] > 0:
                    row += [str(insts[j][k, 0]), str(insts[j][k, 1])]
                else:
                    row += ["", ""]
        rows.append(row)
    path = folder / "CollectedData_me.csv"
    path.write_text("\n".join(",".join(r) for r in header + rows) + "\n")
    return path


def make_yolo(root: Path, gt) -> Path:
    images = root / "images" / "train"
    files = write_images(images)
    (root / "labels" / "train").mkdir(parents=True)
    for f, insts, (w, h) in zip(files, gt, SIZES):
        lines = []
        for k in insts:
            lab = k[:, 2] > 0
            lo, hi = k[lab, :2].min(axis=0) - 2, k[lab, :2].max(axis=0) + 2
            c, s = (lo + hi) / 2, hi - lo
            vals = [0, c[0] / w, c[1] / h, s[0] / w, s[1] / h]
            for x, y, v in k:
                vals += [x / w, y / h, int(v)] if v else [0, 0, 0]
            lines.append(" ".join(f"{v:.8f}" if isinstance(v, float) else str(v) for v in vals))
        (root / "labels" / "train" / Path(f).with_suffix(".txt")).write_text("\n".join(lines) + "\n")
    return images


def make_labelstudio(root: Path, gt) -> Path:
    files = write_images(root / "images")
    tasks = []
    for t, (f, insts, (w, h)) in enumerate(zip(files, gt, SIZES)):
        result = []
        for j, k in enumerate(insts):
            lab = k[:, 2] > 0
            lo, hi = k[lab, :2].min(axis=0) - 1, k[lab, :2].max(axis=0) + 1
            result.append(dict(id=f"b{j}", type="rectanglelabels", original_width=w, original_height=h,
                               value=dict(x=lo[0] / w * 100, y=lo[1] / h * 100, width=(hi - lo)[0] / w * 100,
                                          height=(hi - lo)[1] / h * 100, rectanglelabels=["mouse"])))  # fmt: skip
            for n, (x, y, v) in zip(NAMES, k):
                if v:
                    value = dict(x=x / w * 100, y=y / h * 100, width=0.5, keypointlabels=[n])
                    kp = dict(id=f"k{j}{n}", type="keypointlabels", original_width=w, original_height=h, value=value)
                    result.append(kp)
        tasks.append(dict(id=t + 1, data=dict(image=f"/data/upload/1/{f}"), annotations=[dict(result=result)]))
    path = root / "export.json"
    path.write_text(json.dumps(tasks))
    return path


def make_cvat(root: Path, gt) -> Path:
    files = write_images(root / "images")
    circles = [f'&lt;circle r="1" data-node-id="{i + 1}" data-label-name="{n}"&gt;&lt;/circle&gt;' for i, n in
               enumerate(NAMES)]  # fmt: skip
    svg = "".join(circles) + '&lt;line data-type="edge" data-node-from="1" data-node-to="2"&gt;&lt;/line&gt;'
    body = []
    for i, (f, insts, (w, h)) in enumerate(zip(files, gt, SIZES)):
        shapes = []
        for k in insts:
            pts = "".join(
                f'<points label="{n}" outside="{int(v == 0)}" occluded="{int(v == 1)}" points="{x:.2f},{y:.2f}"/>'
                for n, (x, y, v) in zip(NAMES, k)
            )
            shapes.append(f'<skeleton label="mouse" source="manual">{pts}</skeleton>')
        body.append(f'<image id="{i}" name="{f}" width="{w}" height="{h}">{"".join(shapes)}</image>')
    xml = (
        '<?xml version="1.0" encoding="utf-8"?><annotations><version>1.1</version><meta><task><labels>'
        f"<label><name>mouse</name><type>skeleton</type><svg>{svg}</svg></label>"
        + "".join(f"<label><name>{n}</name><type>points</type><parent>mouse</parent></label>" for n in NAMES)
        + "</labels></task></meta>"
        + "".join(body)
        + "</annotations>"
    )
    path = root / "annotations.xml"
    path.write_text(xml)
    ET.parse(path)  # well-formed
    return path


def test_deeplabcut_round_trip(tmp_path):
    gt = truth()
    coco = dlc_to_coco(make_dlc(tmp_path, gt))
    assert coco["images"][0]["file_name"] == "labeled-data/video1/img000.png"
    assert_round_trip(coco, gt, occlusion=False)  # DeepLabCut has no occlusion flag


def test_yolo_round_trip(tmp_path):
    gt = truth(1)
    coco = yolo_to_coco(make_yolo(tmp_path, gt), keypoints=NAMES)
    assert_round_trip(coco, gt)
    with pytest.raises(ValueError, match=r"img000.txt:1: 17 values; with 3 keypoints"):
        yolo_to_coco(tmp_path / "images" / "train", keypoints=NAMES[:3])


def test_labelstudio_round_trip(tmp_path):
    gt = truth(2)
    coco = labelstudio_to_coco(make_labelstudio(tmp_path, gt), keypoints=NAMES)
    assert_round_trip(coco, gt, occlusion=False)


def test_cvat_round_trip_with_skeleton_from_meta(tmp_path):
    gt = truth(3)
    coco = cvat_to_coco(make_cvat(tmp_path, gt))
    assert coco["categories"][0]["name"] == "mouse" and coco["categories"][0]["skeleton"] == [[1, 2]]
    assert_round_trip(coco, gt)


def test_cvat_points_grouped_by_group_id(tmp_path):
    write_images(tmp_path)
    xml = (
        "<annotations><version>1.1</version>"
        '<image id="0" name="img000.png" width="80" height="60">'
        '<points label="nose" group_id="1" points="10,10"/><points label="tail" group_id="1" points="30,40"/>'
        '<box label="mouse" group_id="1" xtl="5" ytl="5" xbr="35" ybr="45"/>'
        '<points label="nose" group_id="2" occluded="1" points="50,12"/></image></annotations>'
    )
    (tmp_path / "a.xml").write_text(xml)
    coco = cvat_to_coco(tmp_path / "a.xml", keypoints=["nose", "tail"])
    assert [a["keypoints"] for a in coco["annotations"]] == [[10, 10, 2, 30, 40, 2], [50, 12, 1, 0, 0, 0]]
    assert coco["annotations"][0]["bbox"] == [5, 5, 30, 40]


def test_cli_writes_coco_that_posekit_trains_on(tmp_path, capsys):
    gt = truth(4)
    images = make_yolo(tmp_path, gt)
    out = tmp_path / "train.json"
    assert convert_cli(["yolo", str(images), "--keypoints", *NAMES, "--skeleton", "nose-left_ear", "-o", str(out)]) == 0
    assert "data.metainfo.keypoints=[nose,left_ear,right_ear,tail]" in capsys.readouterr().out
    # the COCO file loads with a names-only spec and trains a step through the standard pipeline
    from posekit.codecs import MSRAHeatmap
    from posekit.datasets import transforms as T
    from posekit.models import build_model
    from posekit.structures import collate_pose_samples

    codec = MSRAHeatmap(input_size=(96, 128), heatmap_size=(24, 32), sigma=2.0)
    ds = CocoStyleDataset(
        str(out),
        data_prefix={"img": str(images) + "/"},
        metainfo={"keypoints": NAMES},
        pipeline=[
            T.LoadImage(),
            T.GetBBoxCenterScale(),
            T.RandomFlip(),
            T.TopdownAffine(input_size=codec.input_size),
            T.GenerateTarget(encoder=codec),
            T.PackPoseInputs(),
        ],  # fmt: skip
    )
    assert len(ds) == sum(len(i) for i in gt) and ds.metainfo["flip_indices"] == [0, 2, 1, 3]
    batch = collate_pose_samples([ds[i] for i in range(len(ds))])
    model = build_model("tiny", num_keypoints=len(NAMES))
    losses = model.loss(model.data_preprocessor(batch.inputs), batch)
    assert torch.isfinite(losses["loss_kpt"])
    # bad input: one line, exit status 2
    assert convert_cli(["yolo", str(images), "--keypoints", "a", "a", "b", "c", "-o", str(out)]) == 2
    assert "duplicate name(s) ['a']" in capsys.readouterr().err
    assert load_metainfo({"keypoints": NAMES})["num_keypoints"] == 4
