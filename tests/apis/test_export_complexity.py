"""ONNX export parity (and decoding its outputs as docs/inference.md shows), FLOP/parameter counting."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from posekit.apis import export_onnx, get_model_complexity, inference_topdown, parse_input_shape, prepare_samples

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory, tiny_model):
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    return path, export_onnx(tiny_model, path, opset=17)


def test_onnx_matches_pytorch_for_two_batch_sizes(tiny_onnx):
    path, result = tiny_onnx
    assert result["output_names"] == ["heatmaps"] and result["output_shapes"] == [(17, 32, 24)]
    assert set(result["max_abs_diff"]) == {2, 3}
    assert all(d < 1e-4 for d in result["max_abs_diff"].values())
    proto = onnx.load(str(path))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["posekit_input_size_wh"]) == [96, 128]
    assert json.loads(meta["posekit_mean"]) == pytest.approx([123.675, 116.28, 103.53])
    assert json.loads(meta["posekit_bgr_to_rgb"]) is True
    assert meta["posekit_dataset"] == "coco"
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_decoding_onnx_outputs_gives_the_model_predictions(tiny_onnx, tiny_model, coco_images):
    """The recipe of docs/inference.md: preprocess the crops, run onnxruntime, decode with the codec, map to the
    image with the crop center/scale; equal to inference_topdown without flip test."""
    path, _ = tiny_onnx
    img_path, boxes = coco_images["000000196141.jpg"]
    from posekit.apis import load_image
    from posekit.structures import bbox_xywh2xyxy

    img, _ = load_image(img_path)
    samples = prepare_samples(tiny_model, img, bbox_xywh2xyxy(boxes))
    crops = np.stack([s.inputs.numpy() for s in samples]).astype(np.float32)  # (B, 3, 128, 96) BGR
    mean = np.array([123.675, 116.28, 103.53], np.float32).reshape(1, 3, 1, 1)
    std = np.array([58.395, 57.12, 57.375], np.float32).reshape(1, 3, 1, 1)
    x = (crops[:, ::-1] - mean) / std  # BGR -> RGB, normalise
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (heatmaps,) = session.run(None, {"input": np.ascontiguousarray(x)})
    kpts, scores = tiny_model.head.decoder.decode(torch.from_numpy(heatmaps))  # (B, 1, K, 2) crop pixels
    center = np.stack([s.meta["input_center"] for s in samples])[:, None]
    scale = np.stack([s.meta["input_scale"] for s in samples])[:, None]
    image_kpts = kpts[:, 0].numpy() / np.array([96, 128]) * scale + center - 0.5 * scale

    saved = tiny_model.test_cfg
    tiny_model.test_cfg = {**saved, "flip_test": False}
    try:
        expected = inference_topdown(tiny_model, img, boxes, bbox_format="xywh")
    finally:
        tiny_model.test_cfg = saved
    np.testing.assert_allclose(image_kpts, np.stack([e["keypoints"] for e in expected]), atol=1e-2)
    np.testing.assert_allclose(scores[:, 0].numpy(), np.stack([e["keypoint_scores"] for e in expected]), atol=1e-5)


def test_simcc_outputs_are_named(tmp_path):
    from posekit.apis.export import onnx_output_names

    assert onnx_output_names((torch.zeros(1, 17, 384), torch.zeros(1, 17, 512))) == ["simcc_x", "simcc_y"]
    assert onnx_output_names(torch.zeros(1, 17, 2)) == ["coords"]


def test_complexity_of_tiny(tiny_model):
    r = get_model_complexity(tiny_model)
    assert r["params"] == sum(p.numel() for p in tiny_model.parameters()) > 0
    assert r["flops"] > 0 and r["macs"] == r["flops"] // 2
    assert r["gflops_mmpose"] == pytest.approx(r["flops"] / 2e9)
    assert r["input_shape"] == (1, 3, 128, 96)
    assert set(r["by_module"]) == {"backbone", "head"} and sum(r["by_module"].values()) == r["flops"]
    bigger = get_model_complexity(tiny_model, "192x256")
    assert bigger["input_shape"] == (1, 3, 256, 192)
    assert bigger["flops"] == pytest.approx(4 * r["flops"], rel=0.01)  # convolutions scale with the pixel count


def test_complexity_counts_multiply_adds_of_a_known_layer():
    conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16 * 16, 10))
    r = get_model_complexity(conv, (16, 16))
    macs = 8 * 3 * 9 * 16 * 16 + 8 * 16 * 16 * 10
    assert r["macs"] == macs and r["flops"] == 2 * macs
    assert r["params"] == (8 * 3 * 9 + 8) + (8 * 16 * 16 * 10 + 10)


def test_parse_input_shape():
    assert parse_input_shape("192x256") == (1, 3, 256, 192)
    assert parse_input_shape((256, 192)) == (1, 3, 256, 192)
    assert parse_input_shape((2, 3, 64, 48)) == (2, 3, 64, 48)
    with pytest.raises(ValueError, match="WxH"):
        parse_input_shape("256")
