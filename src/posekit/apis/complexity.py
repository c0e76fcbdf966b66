"""Parameters and FLOPs of a model at its input size (``torch.utils.flop_counter.FlopCounterMode``).

Two conventions exist and this module reports both, named explicitly:

* ``flops``: PyTorch's count, 2 FLOPs per multiply-accumulate of convolutions (transposed too), linear layers,
  matmuls and attention;
* ``macs`` = ``flops / 2``: multiply-accumulates, what MMPose's ``tools/analysis_tools/get_flops.py`` prints as
  "Flops" (mmengine's fvcore-style counter counts one MAC as one flop). MMPose's model-zoo "GFLOPs" are these.

Neither counts normalisation layers, activations or element-wise ops (fvcore/mmengine add norm layers, a few
percent on ResNets and HRNets).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["get_model_complexity", "parse_input_shape"]


def parse_input_shape(spec: str | Sequence[int]) -> tuple[int, int, int, int]:
    """``'192x256'`` (w x h, MMPose's config order) | (h, w) | (c, h, w) | (b, c, h, w) -> (b, c, h, w).

    A string is ``WxH`` like codec sizes (``input_size=(192, 256)``); a sequence of two ints is ``(H, W)`` like
    MMPose's ``get_flops.py --input-shape 256 192``.
    """
    if isinstance(spec, str):
        parts = spec.lower().replace(",", "x").split("x")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"input_size={spec!r}: expected WxH, e.g. 192x256")
        w, h = (int(p) for p in parts)
        return 1, 3, h, w
    shape = tuple(int(v) for v in spec)
    if len(shape) == 2:
        return (1, 3, *shape)
    if len(shape) == 3:
        return (1, *shape)
    if len(shape) == 4:
        return shape  # type: ignore[return-value]
    raise ValueError(f"input_shape must be (H, W), (C, H, W) or (B, C, H, W), got {spec!r}")


def get_model_complexity(model: nn.Module, input_shape: str | Sequence[int] | None = None) -> dict[str, Any]:
    """Count parameters and FLOPs of ``model.forward`` (tensor mode) on one random input.

    Args:
        model: any module taking a (B, C, H, W) tensor (a TopdownPoseEstimator: backbone -> neck -> head).
        input_shape: see :func:`parse_input_shape`; default: the model's codec input size, batch 1.

    Returns:
        ``params`` (= ``sum(p.numel())``), ``flops`` (PyTorch, 2 per MAC), ``macs`` (= MMPose's "Flops"),
        ``gflops_mmpose`` (``macs / 1e9``), ``input_shape`` (b, c, h, w), and ``by_module``: FLOPs of the
        top-level children (``backbone``, ``neck``, ``head``).
    """
    if input_shape is None:
        from .inference import model_input_size

        w, h = model_input_size(model)
        shape = (1, 3, h, w)
    else:
        shape = parse_input_shape(input_shape)
    try:
        param = next(model.parameters())
        device, dtype = param.device, param.dtype
    except StopIteration:
        device, dtype = torch.device("cpu"), torch.float32
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False, depth=2)
    try:
        with torch.no_grad(), counter:
            model(torch.randn(*shape, device=device, dtype=dtype))
    finally:
        model.train(was_training)
    flops = int(counter.get_total_flops())
    by_module: dict[str, int] = {}
    root = type(model).__name__
    for name, counts in counter.get_flop_counts().items():
        parts = name.split(".")
        if len(parts) == 2 and parts[0] == root:
            by_module[parts[1]] = int(sum(counts.values()))
    # the estimator calls ``head.forward`` directly (no module hooks): what the children do not account for is
    # the head's (plus any op of the root module itself)
    rest = flops - sum(by_module.values())
    if rest > 0 and getattr(model, "head", None) is not None and "head" not in by_module:
        by_module["head"] = rest
    params = int(sum(p.numel() for p in model.parameters()))
    return {
        "params": params,
        "flops": flops,
        "macs": flops // 2,
        "gflops_mmpose": flops / 2 / 1e9,
        "input_shape": tuple(shape),
        "by_module": by_module,
    }
