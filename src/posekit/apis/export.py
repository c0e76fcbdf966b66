"""ONNX export of the tensor-mode model: preprocessed float crops ``(B, 3, H, W)`` -> raw head outputs.

The exported graph is ``backbone -> neck -> head.forward`` (no preprocessing, no flip test, no decoding). Before
it, normalise the BGR crop like ``model.data_preprocessor`` (BGR->RGB, ``(x - mean) / std``); after it, decode with
the model's codec (``codec.decode(torch.from_numpy(out))``) and map crop pixels to the image with the crop's
center/scale. ``docs/inference.md`` shows the whole round trip. The preprocessing constants, the codec and the
dataset are written into the model's metadata (``onnx.load(path).metadata_props``).
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

__all__ = ["export_onnx", "onnx_output_names", "check_onnx"]


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
    onnx.checker.check_model(proto)
    for key, value in _metadata(model, (w, h), names).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))
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
        diffs = check_onnx(model, path, (w, h), sizes)
        result["max_abs_diff"] = diffs
        worst = max(diffs.values()) if diffs else 0.0
        if worst > atol:
            raise RuntimeError(
                f"{path}: onnxruntime and PyTorch outputs differ by {worst:.3g} (> atol={atol}) for batch sizes "
                f"{diffs}; try another opset or report the model config"
            )
    model.train(was_training)
    return result
