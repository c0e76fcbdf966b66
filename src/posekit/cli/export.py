"""Export a pose model to ONNX (tensor mode: preprocessed float crops -> raw head outputs) and check it.

Usage::

    posekit-export ckpt=outputs/train/runs/X/checkpoints/last.ckpt output=model.onnx
    posekit-export model=rtmpose_m weights=converted.pth output=rtmpose_m.onnx opset=17
    posekit-export model=tiny output=tiny.onnx          # random weights (plumbing)
    posekit-export ckpt=PATH output=pose_e2e.onnx end2end=true   # uint8 crops -> keypoints, for --backend onnxruntime

Options (key=value):
    ckpt=PATH | model=NAME|YAML [weights=PATH]    the model (as posekit-infer)
    output=FILE.onnx      the file to write                                   [required]
    opset=17              ONNX opset
    input_size=WxH        default: the codec's input size
    static_batch=false    true: a fixed batch of 1 instead of a dynamic batch axis
    check=true            compare with onnxruntime on random batches of 2 and 3 (max abs diff must be < atol)
    atol=1e-4             (end2end: 1e-2, relative to max(1, |value|))
    end2end=false         true: pre-processing, flip test and decode inside the graph (uint8 BGR crops (B, h, w, 3)
                          -> keypoints (B, K, 2) in crop pixels, scores (B, K)); posekit-infer runs it with
                          `--backend onnxruntime ckpt=FILE.onnx`
    device=cpu

The graph takes ``input`` (B, 3, H, W) float, normalised like ``model.data_preprocessor`` (RGB, (x - mean) / std),
and returns ``heatmaps`` (B, K, h, w), or ``simcc_x`` / ``simcc_y`` (B, K, W*split), or ``coords`` (B, K, D).
Decoding: see docs/inference.md.
"""

from __future__ import annotations

import sys
from typing import Any

from posekit.cli._common import fail, parse_key_values

PROG = "posekit-export"
OWN = {
    "ckpt", "model", "weights", "output", "opset", "input_size", "static_batch", "check", "atol", "device", "end2end"
}  # fmt: skip
_TRUE = ("1", "true", "yes", "on")


def _fail(msg: str) -> None:
    fail(PROG, msg)


def parse(argv: list[str]) -> dict[str, str]:
    opts, _ = parse_key_values(argv, PROG, __doc__, OWN, options_hint=", ".join(sorted(OWN)))
    if bool(opts.get("ckpt")) == bool(opts.get("model")):
        _fail("give ckpt=PATH or model=NAME (one of them)")
    if not opts.get("output"):
        _fail("output=FILE.onnx is required")
    return opts


def export(opts: dict[str, str]) -> dict[str, Any]:
    from posekit.apis import export_onnx, export_onnx_end2end, init_model, parse_input_shape

    model = init_model(
        opts.get("ckpt") or opts["model"], device=opts.get("device", "cpu"), checkpoint=opts.get("weights")
    )
    if opts.get("end2end", "false").lower() in _TRUE:
        if opts.get("input_size"):
            _fail("input_size= goes with the tensor-mode export; end2end uses the codec's input size")
        return export_onnx_end2end(
            model,
            opts["output"],
            opset=int(opts.get("opset", 17)),
            dynamic_batch=opts.get("static_batch", "false").lower() not in _TRUE,
            check=opts.get("check", "true").lower() in _TRUE,
            atol=float(opts.get("atol", 1e-2)),
        )
    input_size = None
    if opts.get("input_size"):
        _, _, h, w = parse_input_shape(opts["input_size"])
        input_size = (w, h)
    return export_onnx(
        model,
        opts["output"],
        input_size=input_size,
        opset=int(opts.get("opset", 17)),
        dynamic_batch=opts.get("static_batch", "false").lower() not in _TRUE,
        check=opts.get("check", "true").lower() in _TRUE,
        atol=float(opts.get("atol", 1e-4)),
    )


def run(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse ``argv`` (default ``sys.argv[1:]``), export, print the check; returns :func:`posekit.apis.export_onnx`'s
    result."""
    from posekit.cli._common import guarded

    opts = parse(list(sys.argv[1:] if argv is None else argv))
    result = guarded(PROG, export, opts)
    print(f"{PROG}: wrote {result['path']}")
    if "output_shapes" in result:
        shapes = ", ".join(
            f"{n} (B, {', '.join(map(str, s))})" for n, s in zip(result["output_names"], result["output_shapes"])
        )
        print(f"{PROG}: input (B, 3, {result['input_shape'][2]}, {result['input_shape'][3]}) -> {shapes}")
    else:  # end2end
        print(f"{PROG}: uint8 crops {tuple(result['input_shape'])} -> keypoints, scores (codec {result['codec']}, "
              f"flip test {result['flip_test']})")
    for b, diff in result["max_abs_diff"].items():
        print(f"{PROG}: onnxruntime vs PyTorch, batch {b}: max abs diff {diff:.3g}")
    return result


def main(argv: list[str] | None = None) -> None:
    """Console entry point (returns nothing: console scripts exit with it)."""
    run(argv)


if __name__ == "__main__":
    main()
