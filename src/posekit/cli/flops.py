"""Parameters and FLOPs of a model config at its input size (MMPose's ``tools/analysis_tools/get_flops.py``).

Usage::

    posekit-flops model=hrnet_w32
    posekit-flops model=res50 input_size=288x384
    posekit-flops --all                # a markdown table of every conf/model/*.yaml

Options: ``model=NAME`` (conf/model/NAME.yaml) or ``ckpt=PATH``, ``input_size=WxH`` (default: the codec's),
``num_keypoints=17``, ``--all``.

Two FLOP conventions, both printed and named: "GFLOPs (MMPose)" counts one multiply-add as one FLOP (what MMPose's
get_flops.py and model zoo report: mmengine's fvcore-style counter); "GFLOPs (PyTorch)" is
``torch.utils.flop_counter.FlopCounterMode``'s count, two FLOPs per multiply-add. Convolutions, linear layers and
matmuls are counted; normalisation and element-wise ops are not.
"""

from __future__ import annotations

import sys
from typing import Any

from posekit.cli._common import fail, parse_key_values

PROG = "posekit-flops"


def _fail(msg: str) -> None:
    fail(PROG, msg)


def parse(argv: list[str]) -> dict[str, Any]:
    all_flags = ("--all", "all=true", "all")
    opts: dict[str, Any] = {"all": any(arg in all_flags for arg in argv)}
    own, _ = parse_key_values(
        [arg for arg in argv if arg not in all_flags],
        PROG,
        __doc__,
        ("model", "ckpt", "input_size", "num_keypoints"),
        strip_dashes=True,
        options_hint="model, ckpt, input_size, num_keypoints, --all",
    )
    opts.update(own)
    if not opts["all"] and not opts.get("model") and not opts.get("ckpt"):
        _fail("give model=NAME, ckpt=PATH or --all")
    return opts


def complexity_of(name: str, input_size: str | None = None, num_keypoints: int = 17) -> dict[str, Any]:
    """Build ``conf/model/<name>.yaml`` (or load a checkpoint path) and count it."""
    from posekit.apis import get_model_complexity, init_model
    from posekit.models import build_model

    if name.endswith((".ckpt", ".pth", ".pt")):
        model = init_model(name)
    else:
        model = build_model(name, num_keypoints=num_keypoints)
    result = get_model_complexity(model, input_size)
    result["name"] = name
    return result


def format_one(r: dict[str, Any]) -> str:
    b, c, h, w = r["input_shape"]
    lines = [
        f"model: {r['name']}",
        f"input: ({b}, {c}, {h}, {w})  (w x h = {w}x{h})",
        f"params: {r['params'] / 1e6:.3f} M ({r['params']:,})",
        f"GFLOPs (MMPose, multiply-adds as in get_flops.py / the model zoo): {r['gflops_mmpose']:.3f}",
        f"GFLOPs (PyTorch FlopCounterMode, 2 per multiply-add):            {r['flops'] / 1e9:.3f}",
    ]
    if r.get("by_module"):
        parts = ", ".join(f"{k} {v / 2e9:.3f}" for k, v in r["by_module"].items())
        lines.append(f"by module (GFLOPs, MMPose convention): {parts}")
    return "\n".join(lines)


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| model | input (w x h) | params (M) | GFLOPs (MMPose: multiply-adds) | GFLOPs (PyTorch: 2 x multiply-adds) |",
        "|---|---|---:|---:|---:|",
    ]
    for r in results:
        _, _, h, w = r["input_shape"]
        lines.append(
            f"| {r['name']} | {w}x{h} | {r['params'] / 1e6:.2f} | {r['gflops_mmpose']:.3f} | {r['flops'] / 1e9:.3f} |"
        )
    return "\n".join(lines)


def run(opts: dict[str, Any]) -> list[dict[str, Any]]:
    from posekit.models import list_models

    k = int(opts.get("num_keypoints", 17))
    if opts["all"]:
        return [complexity_of(name, opts.get("input_size"), k) for name in list_models()]
    return [complexity_of(opts.get("ckpt") or opts["model"], opts.get("input_size"), k)]


def count(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Parse ``argv`` (default ``sys.argv[1:]``), count, print; returns one result per model."""
    from posekit.cli._common import guarded

    opts = parse(list(sys.argv[1:] if argv is None else argv))
    results = guarded(PROG, run, opts)
    print(table(results) if opts["all"] else format_one(results[0]))
    return results


def main(argv: list[str] | None = None) -> None:
    """Console entry point (returns nothing: console scripts exit with it)."""
    count(argv)


if __name__ == "__main__":
    main()
