"""ONNX export of the tensor-mode model: preprocessed float crops ``(B, 3, H, W)`` -> raw head outputs.

The exported graph is ``backbone -> neck -> head.forward`` (no preprocessing, no flip test, no decoding). Before
it, normalise the BGR crop like ``model.data_preprocessor`` (BGR->RGB, ``(x - mean) / std``); after it, decode with
the model's codec (``codec.decode(torch.from_numpy(out))``) and map crop pixels to the image with the crop's
center/scale. ``docs/inference.md`` shows the whole round trip. The preprocessing constants, the codec and the
dataset are written into the model's metadata (``onnx.load(path).metadata_props``).

:func:`export_onnx_end2end` exports the whole crop -> keypoints path instead (pre-processing, optional flip test
and the codec's decode inside the graph, :class:`~posekit.apis.onnx_graph.CropsToKeypoints`): an onnxruntime
session maps uint8 BGR crops ``(B, H, W, 3)`` to ``keypoints`` (B, K, 2) in crop pixels and ``scores`` (B, K);
:class:`posekit.apis.onnx_backend.OnnxPoseModel` runs it on images and boxes.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["export_onnx", "export_onnx_end2end", "onnx_output_names", "check_onnx", "check_onnx_end2end"]


def onnx_output_names(output: Any) -> list[str]:
    """Names of the head outputs: ``heatmaps`` (B, K, H, W); ``simcc_x``, ``simcc_y`` (SimCC / RTMPose);
    ``coords`` (B, K, D) for regression heads; ``output{i}`` otherwise."""
    if isinstance(output, torch.Tensor):
        return ["heatmaps" if output.ndim == 4 else "coords" if output.ndim == 3 else "output0"]
    if isinstance(output, (tuple, list)):
        if len(output) == 2 and all(isinstance(o, torch.Tensor) and o.ndim == 3 for o in output):
            return ["simcc_x", "simcc_y"]
        return [f"output{i}" for i in range(len(output))]
    raise TypeError(f"the model's tensor-mode output is a {type(output).__name__}; expected tensors")


def _flatten(output: Any) -> list[torch.Tensor]:
    return [output] if isinstance(output, torch.Tensor) else list(output)


def _metadata(model: nn.Module, input_size: tuple[int, int], names: list[str]) -> dict[str, str]:
    pre = getattr(model, "data_preprocessor", None)
    meta: dict[str, str] = {"posekit_input_size_wh": json.dumps(list(input_size)), "posekit_outputs": json.dumps(names)}
    if pre is not None and getattr(pre, "_enable_normalize", False):
        meta["posekit_mean"] = json.dumps([float(v) for v in pre.mean.flatten()])
        meta["posekit_std"] = json.dumps([float(v) for v in pre.std.flatten()])
    if pre is not None:
        meta["posekit_bgr_to_rgb"] = json.dumps(bool(getattr(pre, "_channel_conversion", False)))
    cfg = getattr(model, "cfg", None) or {}
    codec_cfg = cfg.get("codec") or (cfg.get("model", {}).get("head", {}) or {}).get("decoder")
    decoder = getattr(getattr(model, "head", None), "decoder", None)
    if codec_cfg:
        meta["posekit_codec"] = json.dumps(codec_cfg, default=str)
    elif decoder is not None:
        meta["posekit_codec"] = json.dumps({"class": type(decoder).__name__, "input_size": list(input_size)})
    dataset = (getattr(model, "dataset_meta", None) or {}).get("dataset_name")
    if dataset:
        meta["posekit_dataset"] = str(dataset)
    return meta


def check_onnx(
    model: nn.Module,
    path: str | os.PathLike,
    input_size: tuple[int, int],
    batch_sizes: Sequence[int] = (2, 3),
    seed: int = 0,
) -> dict[int, float]:
    """Run the ONNX file with onnxruntime (CPU) and the PyTorch model on random batches; returns the maximum
    absolute difference over all outputs for each batch size."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    diffs: dict[int, float] = {}
    w, h = input_size
    for b in batch_sizes:
        x = torch.randn(int(b), 3, h, w, generator=gen)
        with torch.inference_mode():
            ref = [t.float().cpu().numpy() for t in _flatten(model(x.to(device)))]
        got = session.run(None, {input_name: x.numpy()})
        if len(got) != len(ref):
            raise RuntimeError(f"{path}: onnxruntime gave {len(got)} outputs, PyTorch {len(ref)}")
        diff = 0.0
        for r, g in zip(ref, got):
            if r.shape != g.shape:
                raise RuntimeError(f"{path}: output shape {g.shape} from onnxruntime, {r.shape} from PyTorch (B={b})")
            diff = max(diff, float(np.max(np.abs(r - g))) if r.size else 0.0)
        diffs[int(b)] = diff
    return diffs


def export_onnx(
    model: nn.Module,
    output: str | os.PathLike,
    input_size: Sequence[int] | None = None,
    opset: int = 17,
    dynamic_batch: bool = True,
    check: bool = True,
    check_batch_sizes: Sequence[int] = (2, 3),
    atol: float = 1e-4,
) -> dict[str, Any]:
    """Export ``model.forward`` (tensor mode) to ONNX and check it against PyTorch with onnxruntime.

    Args:
        model: a :class:`~posekit.models.TopdownPoseEstimator` (from :func:`posekit.apis.init_model`).
        output: the ``.onnx`` file to write (its folder is created).
        input_size: (w, h); default: the codec's ``input_size``.
        opset: ONNX opset version.
        dynamic_batch: make the batch axis of input and outputs dynamic (``batch``).
        check: compare with onnxruntime on random batches of ``check_batch_sizes``; a difference above ``atol``
            raises ``RuntimeError``.

    Returns:
        ``{'path', 'input_name': 'input', 'input_shape': (B, 3, h, w), 'output_names', 'output_shapes',
        'max_abs_diff': {batch_size: diff}}`` (``max_abs_diff`` empty without ``check``).
    """
    import onnx

    from .inference import model_input_size

    if input_size is None:
        input_size = model_input_size(model)
    w, h = int(input_size[0]), int(input_size[1])
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    example = torch.randn(1 if not dynamic_batch else 2, 3, h, w, device=device)
    with torch.inference_mode():
        sample_out = model(example)
    names = onnx_output_names(sample_out)
    dynamic_axes = None
    if dynamic_batch:
        dynamic_axes = {"input": {0: "batch"}, **{n: {0: "batch"} for n in names}}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)  # torch>=2.9: legacy exporter notice
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=["input"],
            output_names=names,
            dynamic_axes=dynamic_axes,
            opset_version=int(opset),
            do_constant_folding=True,
            dynamo=False,
        )
    proto = onnx.load(str(path))
    _save_with_metadata(onnx, proto, path, _metadata(model, (w, h), names))
    result: dict[str, Any] = {
        "path": str(path),
        "input_name": "input",
        "input_shape": ("batch" if dynamic_batch else 1, 3, h, w),
        "output_names": names,
        "output_shapes": [tuple(t.shape[1:]) for t in _flatten(sample_out)],
        "max_abs_diff": {},
    }
    if check:
        sizes = list(check_batch_sizes) if dynamic_batch else [1]
        result["max_abs_diff"] = _require_agreement(path, check_onnx(model, path, (w, h), sizes), atol, "outputs")
    model.train(was_training)
    return result


def _save_with_metadata(onnx: Any, proto: Any, path: Any, metadata: dict[str, str]) -> None:
    """Check the exported graph, store ``metadata`` in its ``metadata_props`` and write it back to ``path``."""
    onnx.checker.check_model(proto)
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def _require_agreement(path: Any, diffs: dict[int, float], atol: float, what: str) -> dict[int, float]:
    """``diffs`` (batch size -> max difference onnxruntime vs PyTorch), or RuntimeError when one exceeds ``atol``."""
    worst = max(diffs.values()) if diffs else 0.0
    if worst > atol:
        raise RuntimeError(
            f"{path}: onnxruntime and PyTorch {what} differ by {worst:.3g} (> atol={atol}) for batch sizes {diffs}; "
            "try another opset or report the model config"
        )
    return diffs


def _end2end_metadata(model: nn.Module, graph: nn.Module, input_size: tuple[int, int]) -> dict[str, str]:
    meta = _metadata(model, input_size, ["keypoints", "scores"])
    meta["posekit_graph"] = "crops_to_keypoints"
    meta["posekit_flip_test"] = json.dumps(bool(graph.flip_test))
    meta["posekit_use_udp"] = json.dumps(graph.codec_name == "UDPHeatmap")
    dataset_meta = getattr(model, "dataset_meta", None) or {}
    keep = (
        "dataset_name",
        "num_keypoints",
        "keypoint_names",
        "flip_indices",
        "flip_pairs",
        "upper_body_ids",
        "lower_body_ids",
        "sigmas",
        "skeleton_links",
        "keypoint_colors",
        "skeleton_link_colors",
    )
    plain = {k: dataset_meta[k] for k in keep if k in dataset_meta}
    meta["posekit_dataset_meta"] = json.dumps(plain, default=lambda v: np.asarray(v).tolist())
    return meta


def check_onnx_end2end(
    graph: nn.Module,
    path: str | os.PathLike,
    input_size: tuple[int, int],
    batch_sizes: Sequence[int] = (2, 3),
    seed: int = 0,
) -> dict[int, float]:
    """Run the end-to-end ONNX file and ``graph`` (a :class:`CropsToKeypoints`) on random uint8 crops; returns the
    maximum keypoint difference in crop pixels (over keypoints with a positive score) or score difference (both
    relative to ``max(1, |value|)``), whichever is larger, per batch size."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    w, h = input_size
    diffs: dict[int, float] = {}
    for b in batch_sizes:
        crops = rng.integers(0, 256, (int(b), h, w, 3), dtype=np.uint8)
        with torch.inference_mode():
            ref_k, ref_s = (t.numpy() for t in graph(torch.from_numpy(crops)))
        got_k, got_s = session.run(None, {"crops": crops})
        valid = ref_s > 0
        # relative to max(1, |x|): DARK's Newton step on a random model's flat maps can jump far, ill-conditioned
        rel = np.abs(ref_k - got_k) / np.maximum(1.0, np.abs(ref_k))
        diff = float(np.max(rel[valid])) if valid.any() else 0.0
        score_diff = float(np.max(np.abs(ref_s - got_s) / np.maximum(1.0, np.abs(ref_s))))
        diffs[int(b)] = max(diff, score_diff)
    return diffs


def export_onnx_end2end(
    model: nn.Module,
    output: str | os.PathLike,
    flip_test: bool | None = None,
    opset: int = 17,
    dynamic_batch: bool = True,
    check: bool = True,
    check_batch_sizes: Sequence[int] = (2, 3),
    atol: float = 1e-2,
) -> dict[str, Any]:
    """Export crops -> keypoints (pre-processing, flip test, decode in the graph) and check it with onnxruntime.

    Args:
        model: a :class:`~posekit.models.TopdownPoseEstimator` whose head's codec is ``MSRAHeatmap`` (plain or
            DARK), ``UDPHeatmap`` (gaussian) or ``SimCCLabel`` (see :mod:`posekit.apis.onnx_graph`).
        output: the ``.onnx`` file to write.
        flip_test: default ``model.test_cfg['flip_test']``.
        opset / dynamic_batch: as :func:`export_onnx`.
        check: run onnxruntime and the PyTorch graph on random crops; a keypoint or score difference above ``atol``
            (relative to ``max(1, |value|)``, see :func:`check_onnx_end2end`) raises ``RuntimeError``. The default
            is loose because the DARK / UDP Newton step on the flat maps of random crops is ill-conditioned; on
            real images the keypoints agree with the PyTorch path to < 0.1 px (tests/apis/test_onnx_backend.py).

    Returns:
        ``{'path', 'input_name': 'crops', 'input_shape': (B, h, w, 3), 'output_names': ['keypoints', 'scores'],
        'flip_test', 'codec', 'max_abs_diff': {batch_size: diff}}``.

    The graph's input ``crops`` is uint8 (B, h, w, 3) BGR (what ``TopdownAffine`` produces); the outputs are
    ``keypoints`` float32 (B, K, 2) in crop pixels and ``scores`` (B, K). The metadata holds the input size,
    ``posekit_use_udp`` (the crop warp), ``posekit_flip_test``, the codec and the dataset metainfo.
    """
    import onnx

    from .inference import model_input_size
    from .onnx_graph import CropsToKeypoints

    w, h = model_input_size(model)
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    graph = CropsToKeypoints(model, flip_test=flip_test).eval().cpu()
    device = next(model.parameters()).device
    if device.type != "cpu":
        raise ValueError(f"export_onnx_end2end: move the model to the CPU first (it is on {device})")
    example = torch.randint(0, 256, (2 if dynamic_batch else 1, h, w, 3), dtype=torch.uint8)
    dynamic_axes = None
    if dynamic_batch:
        dynamic_axes = {"crops": {0: "batch"}, "keypoints": {0: "batch"}, "scores": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        torch.onnx.export(
            graph,
            (example,),
            str(path),
            input_names=["crops"],
            output_names=["keypoints", "scores"],
            dynamic_axes=dynamic_axes,
            opset_version=int(opset),
            do_constant_folding=True,
            dynamo=False,
        )
    proto = onnx.load(str(path))
    _save_with_metadata(onnx, proto, path, _end2end_metadata(model, graph, (w, h)))
    result: dict[str, Any] = {
        "path": str(path),
        "input_name": "crops",
        "input_shape": ("batch" if dynamic_batch else 1, h, w, 3),
        "output_names": ["keypoints", "scores"],
        "flip_test": graph.flip_test,
        "codec": graph.codec_name,
        "max_abs_diff": {},
    }
    if check:
        sizes = list(check_batch_sizes) if dynamic_batch else [1]
        diffs = check_onnx_end2end(graph, path, (w, h), sizes)
        result["max_abs_diff"] = _require_agreement(path, diffs, atol, "keypoints/scores")
    model.train(was_training)
    return result
