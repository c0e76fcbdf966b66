#!/usr/bin/env python
"""Regenerate the model-zoo table of docs/model_zoo.md: every packaged model config (``conf/model/*.yaml``) with its
input size, parameters and FLOPs measured here, next to MMPose's published numbers for the same config.

    python scripts/model_zoo_table.py             # markdown table on stdout
    python scripts/model_zoo_table.py --json out.json --models hrnet_w32 rtmpose_m
    python scripts/model_zoo_table.py --mmpose --write docs/model_zoo.md   # the 142 MMPose configs, in place

``--mmpose`` lists every MMPose 1.3.2 COCO top-down config (``conf/model/mmpose/<stem>.yaml``), built on the meta
device (no memory, no weights): params and FLOPs at the config's own input size, next to MMPose's published COCO
AP / AR (``posekit.models.zoo``, from MMPose's metafiles). ``--write FILE`` replaces the block between
``<!-- mmpose-zoo:begin -->`` and ``<!-- mmpose-zoo:end -->`` of FILE.

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` on one forward of the tensor-mode model
(backbone + neck + head, no flip test, no decoding) for a ``1x3xHxW`` input: a multiply-add counts as 2 FLOPs, and
only matmul / convolution / attention kernels are counted. MMPose's "GFLOPs" come from mmengine's counter, which
counts one multiply-add as one operation (MACs), so compare them with the MACs column (= FLOPs / 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# MMPose's published numbers for the same configs: COCO val2017 AP (detected person boxes, human AP 56.4, flip test)
# from configs/body_2d_keypoint/**/<model>_coco.md (.yml), and params / GFLOPs where MMPose publishes them
# (RTMPose: projects/rtmpose/README.md). "params (MMPose)" of the configs with a golden file is MMPose 1.3.2's count
# of the built model (tests/data/golden/model_<name>_256x192.json).
PUBLISHED: dict[str, dict] = {
    "tiny": {"config": "(posekit's CPU default, no MMPose counterpart)"},
    "res50": {"config": "td-hm_res50_8xb64-210e_coco-256x192", "ap": 0.718},
    "hrnet_w32": {"config": "td-hm_hrnet-w32_8xb64-210e_coco-256x192", "ap": 0.749},
    "hrnet_w48": {"config": "td-hm_hrnet-w48_8xb32-210e_coco-256x192", "ap": 0.756},
    "litehrnet_18": {"config": "td-hm_litehrnet-18_8xb64-210e_coco-256x192", "ap": 0.642},
    "mobilenetv2": {"config": "td-hm_mobilenetv2_8xb64-210e_coco-256x192", "ap": 0.648},
    "simcc_res50": {"config": "simcc_res50_8xb64-210e_coco-256x192", "ap": 0.721},
    "res50_rle": {"config": "td-reg_res50_rle-8xb64-210e_coco-256x192", "ap": 0.704},
    "rtmpose_t": {"config": "rtmpose-t_8xb256-420e_coco-256x192", "ap": 0.682, "params_m": 3.34, "gflops": 0.36},
    "rtmpose_s": {"config": "rtmpose-s_8xb256-420e_coco-256x192", "ap": 0.716, "params_m": 5.47, "gflops": 0.68},
    "rtmpose_m": {"config": "rtmpose-m_8xb256-420e_coco-256x192", "ap": 0.746, "params_m": 13.59, "gflops": 1.93},
    "rtmpose_l": {"config": "rtmpose-l_8xb256-420e_coco-256x192", "ap": 0.758, "params_m": 27.66, "gflops": 4.16},
    "vitpose_b": {"config": "td-hm_ViTPose-base_8xb64-210e_coco-256x192", "ap": 0.757},
}

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "golden"


def measure(name: str, size_hw: tuple[int, int] = (256, 192)) -> dict:
    """Params, input size and FLOPs of the packaged model ``name`` (17 keypoints) for a ``1x3xHxW`` input."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from posekit.models import build_model

    torch.manual_seed(0)
    model = build_model(name).eval()
    params = sum(p.numel() for p in model.parameters())
    w, h = (int(v) for v in model.head.decoder.input_size)

    def flops_at(hw: tuple[int, int]) -> int:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(torch.zeros(1, 3, *hw))
        return int(counter.get_total_flops())

    own = flops_at((h, w))
    at = own if (h, w) == tuple(size_hw) else flops_at(size_hw)
    return {
        "name": name,
        "input_size": [h, w],
        "params": params,
        "flops": at,
        "flops_at": list(size_hw),
        "flops_own_input": own,
    }


def golden_params(name: str) -> int | None:
    path = GOLDEN_DIR / f"model_{name}_256x192.json"
    return json.loads(path.read_text())["params"] if path.is_file() else None


def markdown(rows: list[dict]) -> str:
    flops_at = "x".join(str(v) for v in rows[0]["flops_at"]) if rows else "HxW"
    lines = [
        f"| config | input (HxW) | params (M) | GFLOPs at {flops_at} | GMACs | MMPose params (M) "
        "| MMPose GFLOPs (= MACs) | MMPose COCO AP | MMPose config |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        pub = PUBLISHED.get(r["name"], {})
        gold = golden_params(r["name"])
        mm_params = f"{gold / 1e6:.2f}" if gold else (f"{pub['params_m']:.2f}" if "params_m" in pub else "—")
        mm_flops = f"{pub['gflops']:.2f}" if "gflops" in pub else "—"
        mm_ap = f"{pub['ap']:.3f}" if "ap" in pub else "—"
        own = ""
        if r["input_size"] != r["flops_at"]:  # e.g. tiny: also at its own input size
            own = f" ({r['flops_own_input'] / 1e9:.2f} at {r['input_size'][0]}x{r['input_size'][1]})"
        cells = [
            r["name"],
            f"{r['input_size'][0]}x{r['input_size'][1]}",
            f"{r['params'] / 1e6:.2f}",
            f"{r['flops'] / 1e9:.2f}" + own,
            f"{r['flops'] / 2e9:.2f}",
            mm_params,
            mm_flops,
            mm_ap,
            pub.get("config", "—"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


MARK_BEGIN, MARK_END = "<!-- mmpose-zoo:begin -->", "<!-- mmpose-zoo:end -->"


def measure_stem(stem: str) -> dict:
    """Params and FLOPs of the MMPose config ``stem`` built on the meta device at its own input size; a stem whose
    components posekit lacks gives ``params``/``flops`` ``None`` and the reason in ``error``."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from posekit.models import build_model
    from posekit.models.zoo import get_model_info

    info = get_model_info(stem)
    w, h = info.input_size
    row = {
        "name": stem,
        "input_size": [h, w],
        "params": None,
        "flops": None,
        "error": None,
        "mmpose_params": info.params,
        "ap": info.coco_ap,
        "ar": info.coco_ar,
        "weights": info.weights,
    }

    def count(device: str) -> tuple[int, int]:
        with torch.device(device):
            model = build_model(stem).eval()
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(torch.zeros(1, 3, h, w, device=device))
        return sum(p.numel() for p in model.parameters()), int(counter.get_total_flops())

    try:
        try:
            row["params"], row["flops"] = count("meta")
        except RuntimeError:  # an op without a meta kernel (e.g. in RTMCCHead): count on the CPU
            row["params"], row["flops"] = count("cpu")
    except Exception as err:  # noqa: BLE001 - a table row reports why a config does not build yet
        row["error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"
    return row


def mmpose_markdown(rows: list[dict]) -> str:
    lines = [
        "| MMPose config | input (HxW) | params (M) | GFLOPs | GMACs | MMPose COCO AP | MMPose COCO AR |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["params"] is not None and r["params"] != r["mmpose_params"]:
            raise SystemExit(f"{r['name']}: posekit builds {r['params']} params, MMPose {r['mmpose_params']}")
        params = f"{r['mmpose_params'] / 1e6:.2f}"
        flops = f"{r['flops'] / 1e9:.2f}" if r["flops"] is not None else "(not built)"
        macs = f"{r['flops'] / 2e9:.2f}" if r["flops"] is not None else "—"
        ap = f"{r['ap']:.3f}" if r["ap"] is not None else "—"
        ar = f"{r['ar']:.3f}" if r["ar"] is not None else "—"
        name = f"[{r['name']}]({r['weights']})" if r["weights"] else r["name"]
        lines.append(
            f"| {name} | {r['input_size'][0]}x{r['input_size'][1]} | {params} | {flops} | {macs} | {ap} | {ar} |"
        )
    return "\n".join(lines)


def write_block(path: Path, block: str) -> None:
    text = path.read_text()
    if MARK_BEGIN not in text or MARK_END not in text:
        raise SystemExit(f"{path}: no {MARK_BEGIN} ... {MARK_END} block to replace; add the two markers")
    head, rest = text.split(MARK_BEGIN, 1)
    _, tail = rest.split(MARK_END, 1)
    path.write_text(f"{head}{MARK_BEGIN}\n{block}\n{MARK_END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=None, help="model configs (default: all packaged ones)")
    parser.add_argument("--size", default="256x192", help="HxW input for the FLOPs column")
    parser.add_argument("--json", default=None, help="also write the measurements to this JSON file")
    parser.add_argument("--mmpose", action="store_true", help="the 142 MMPose COCO top-down configs instead")
    parser.add_argument("--write", default=None, help="with --mmpose: replace the marked block of this markdown file")
    args = parser.parse_args(argv)

    if args.mmpose:
        from posekit.models.zoo import list_configs

        stems = args.models or list_configs(coco_topdown=True)
        rows = [measure_stem(s) for s in stems]
        for r in rows:
            if r["error"]:
                print(f"model_zoo_table: {r['name']} not built: {r['error']}", file=sys.stderr)
        block = mmpose_markdown(rows)
        if args.write:
            write_block(Path(args.write), block)
        else:
            print(block)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2))
        return 0

    from posekit.models import list_models

    names = args.models or list_models()
    unknown = sorted(set(names) - set(list_models()))
    if unknown:
        print(f"model_zoo_table: unknown model configs {unknown}; available: {list_models()}", file=sys.stderr)
        return 2
    size = tuple(int(v) for v in args.size.lower().split("x"))
    rows = [measure(n, size) for n in names]
    print(markdown(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
