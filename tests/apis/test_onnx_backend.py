"""End-to-end ONNX (pre-processing, flip test and decode in the graph) vs the PyTorch path on real images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from posekit.codecs import MSRAHeatmap, SimCCLabel, UDPHeatmap  # noqa: E402
from posekit.datasets import load_metainfo  # noqa: E402
from posekit.models import PoseDataPreprocessor, TopdownPoseEstimator  # noqa: E402
from posekit.models.backbones import ResNet  # noqa: E402
from posekit.models.heads import HeatmapHead, SimCCHead  # noqa: E402

INPUT = (96, 128)  # (w, h)


def _codec(kind: str):
    if kind == "msra":
        return MSRAHeatmap(input_size=INPUT, heatmap_size=(24, 32), sigma=2.0)
    if kind == "dark":
        return MSRAHeatmap(input_size=INPUT, heatmap_size=(24, 32), sigma=2.0, unbiased=True)
    if kind == "udp":
        return UDPHeatmap(input_size=INPUT, heatmap_size=(24, 32), sigma=2.0)
    return SimCCLabel(input_size=INPUT, sigma=(2.5, 2.8), simcc_split_ratio=2.0, normalize=False)


def _model(kind: str, flip: bool) -> TopdownPoseEstimator:
    """A small random model whose outputs have distinct maxima (final layer scaled up)."""
    torch.manual_seed(0)
    backbone = ResNet(
        depth=18,
        stem_channels=8,
        base_channels=8,
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2,),
    )
    codec = _codec(kind)
    if kind == "simcc":
        head = SimCCHead(
            in_channels=32,
            out_channels=17,
            input_size=INPUT,
            in_featuremap_size=(6, 8),
            simcc_split_ratio=2.0,
            deconv_out_channels=None,
            decoder=codec,
        )
    else:
        head = HeatmapHead(
            in_channels=32, out_channels=17, deconv_out_channels=(16, 16), deconv_kernel_sizes=(4, 4), decoder=codec
        )
    model = TopdownPoseEstimator(
        backbone=backbone,
        head=head,
        data_preprocessor=PoseDataPreprocessor(
            mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True
        ),
        test_cfg=dict(flip_test=flip, flip_mode="heatmap", shift_heatmap=kind in ("msra", "dark")),
    )
    with torch.no_grad():
        for p in model.head.parameters():
            if p.ndim > 1:
                p.mul_(300.0)
    model.dataset_meta = load_metainfo("coco")
    return model.eval()


@pytest.fixture(scope="module")
def coco_images(testdata_dir):
    root = Path(testdata_dir) / "coco"
    ann = json.loads((root / "test_coco.json").read_text())
    by_img: dict[int, list] = {}
    for a in ann["annotations"]:
        x, y, w, h = a["bbox"]
        by_img.setdefault(a["image_id"], []).append([x, y, x + w, y + h])
    return [
        (str(root / im["file_name"]), np.asarray(by_img[im["id"]], np.float32))
        for im in ann["images"]
        if im["id"] in by_img
    ]


def _well_conditioned(result: dict, kind: str) -> np.ndarray:
    """(K,) True where the DARK/UDP Newton step moved the maximum by < 1 heatmap pixel: on the flat, non-Gaussian
    maps of a random model the step can be ill-conditioned (huge, sensitive to the last float bit) elsewhere."""
    heatmaps = result["heatmaps"]
    K, h, w = heatmaps.shape
    flat = heatmaps.reshape(K, -1).argmax(-1)
    peak = np.stack((flat % w, flat // w), -1).astype(np.float64)
    size = np.asarray(INPUT, np.float64)
    crop = (result["keypoints"] - result["input_center"] + 0.5 * result["input_scale"]) / result["input_scale"] * size
    stride = size / (np.asarray([w, h]) - (1 if kind == "udp" else 0))
    return np.abs(crop / stride - peak).max(-1) < 1.0


@pytest.mark.parametrize(
    ("kind", "flip"), [("msra", True), ("dark", True), ("udp", True), ("simcc", True), ("msra", False)]
)
def test_onnx_end2end_matches_pytorch(tmp_path, coco_images, kind, flip):
    from posekit.apis import inference_topdown
    from posekit.apis.export import export_onnx_end2end
    from posekit.apis.onnx_backend import OnnxPoseModel

    model = _model(kind, flip)
    info = export_onnx_end2end(model, tmp_path / f"{kind}.onnx")
    assert info["flip_test"] is flip and info["output_names"] == ["keypoints", "scores"]
    ort_model = OnnxPoseModel(info["path"], threads=1)
    assert ort_model.input_size == INPUT and ort_model.use_udp is (kind == "udp")
    assert list(ort_model.dataset_meta["flip_indices"]) == list(model.dataset_meta["flip_indices"])
    assert ort_model.dataset_meta["keypoint_id2name"] == model.dataset_meta["keypoint_id2name"]
    checked = 0
    for path, boxes in coco_images:
        ref = inference_topdown(model, path, boxes, return_heatmaps=kind in ("dark", "udp"))
        got = ort_model.inference_topdown(path, boxes)
        assert len(ref) == len(got) == len(boxes)
        for r, g in zip(ref, got):
            np.testing.assert_allclose(g["keypoint_scores"], r["keypoint_scores"], rtol=1e-4, atol=1e-5)
            valid = r["keypoint_scores"] > 0
            if "heatmaps" in r:
                valid &= _well_conditioned(r, kind)
            err = np.abs(g["keypoints"] - r["keypoints"])[valid]
            assert err.size == 0 or err.max() < 0.1, f"{kind}: max keypoint difference {err.max():.4f} px"
            np.testing.assert_allclose(g["bbox"], r["bbox"])
            checked += int(valid.sum())
    assert checked > 50  # the comparison ran on real maxima


def test_onnx_end2end_rejects_unsupported_codec(tmp_path):
    from posekit.apis.export import export_onnx_end2end
    from posekit.codecs import RegressionLabel

    model = _model("msra", False)
    model.head.decoder = RegressionLabel(input_size=INPUT)
    with pytest.raises(ValueError, match="supports MSRAHeatmap, UDPHeatmap, SimCCLabel, not RegressionLabel"):
        export_onnx_end2end(model, tmp_path / "x.onnx")


def test_onnx_backend_rejects_raw_export(tmp_path, tiny_model):
    from posekit.apis import export_onnx
    from posekit.apis.onnx_backend import OnnxPoseModel

    export_onnx(tiny_model, tmp_path / "raw.onnx", check=False)
    with pytest.raises(ValueError, match="not an end-to-end posekit graph"):
        OnnxPoseModel(tmp_path / "raw.onnx")


def test_cli_backend_onnxruntime_matches_pytorch(tmp_path, testdata_dir):
    """posekit-export end2end=true, then posekit-infer --backend onnxruntime: the same people as the PyTorch path."""
    from posekit.cli import export as export_cli
    from posekit.cli import infer as infer_cli
    from posekit.models import build_model

    torch.manual_seed(0)
    weights = tmp_path / "tiny.pth"
    torch.save(build_model("tiny").state_dict(), weights)
    img = testdata_dir / "coco" / "000000000785.jpg"
    onnx_file = tmp_path / "tiny_e2e.onnx"
    export_cli.run(["model=tiny", f"weights={weights}", f"output={onnx_file}", "end2end=true"])
    common = [str(img), "--det-model", "none", "--save-vis", "false"]
    infer_cli.main(["model=tiny", f"weights={weights}", *common, f"output_dir={tmp_path / 'pt'}"])
    infer_cli.main(["--backend", "onnxruntime", f"ckpt={onnx_file}", *common, f"output_dir={tmp_path / 'ort'}"])
    pt = json.loads((tmp_path / "pt" / "predictions.json").read_text())["images"][0]["instances"]
    ort = json.loads((tmp_path / "ort" / "predictions.json").read_text())["images"][0]["instances"]
    assert len(pt) == len(ort) == 1
    np.testing.assert_allclose(ort[0]["keypoints"], pt[0]["keypoints"], atol=0.1)
    np.testing.assert_allclose(ort[0]["keypoint_scores"], pt[0]["keypoint_scores"], atol=1e-4)
    with pytest.raises(SystemExit):  # onnxruntime needs an end-to-end .onnx file
        infer_cli.main(["--backend", "onnxruntime", f"ckpt={weights}", *common, f"output_dir={tmp_path / 'x'}"])
