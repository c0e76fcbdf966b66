"""ONNX Runtime latency: the end-to-end graph (uint8 crops -> keypoints, decode in the graph) vs a forward-only
session of the same model, at batch 1 and 16.

Three onnxruntime sessions of one model (random weights: latency does not depend on them):

* **forward only**: :func:`posekit.apis.export_onnx` (normalised float crops -> raw head outputs);
* **end to end**: :func:`posekit.apis.export.export_onnx_end2end` without flip test (uint8 BGR crops ->
  normalisation -> model -> decode -> keypoints, scores): its overhead over *forward only* is what the
  pre-processing and the decode in the graph cost;
* **end to end + flip test**: the same with the flip test (the crops and their mirror images as one batch of
  2B, flip-back, average, decode).

Sessions run interleaved (A, B, C, A, B, C, ...) with ``intra_op_num_threads = --threads``; the table gives the
median latency per call and the overhead of the end-to-end graph.

    python scripts/bench_onnx.py                                   # rtmpose_m, batch 1 and 16, 1 thread
    python scripts/bench_onnx.py --model hrnet_w32 --threads 2 --repeat 10
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import apply_threads, fmt_ms, markdown_table, print_header, timeit_many  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="rtmpose_m", help="a packaged model config name")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads (and torch's)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)
    apply_threads(args.threads)

    import onnxruntime as ort
    import torch

    from posekit.apis import export_onnx, init_model, model_input_size
    from posekit.apis.export import export_onnx_end2end

    torch.manual_seed(0)
    model = init_model(args.model)
    w, h = model_input_size(model)
    tmp = Path(tempfile.mkdtemp(prefix="bench_onnx_"))
    export_onnx(model, tmp / "forward.onnx", check=False)
    export_onnx_end2end(model, tmp / "e2e.onnx", flip_test=False, check=False)
    export_onnx_end2end(model, tmp / "e2e_flip.onnx", flip_test=True, check=False)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    sessions = {
        name: ort.InferenceSession(str(tmp / f"{name}.onnx"), sess_options=opts, providers=["CPUExecutionProvider"])
        for name in ("forward", "e2e", "e2e_flip")
    }
    print_header(
        f"ONNX Runtime: {args.model} end to end vs forward only",
        extra={"ort threads": args.threads, "onnxruntime": ort.__version__},
    )
    rows = []
    rng = np.random.default_rng(0)
    for b in args.batch_sizes:
        crops = rng.integers(0, 256, (b, h, w, 3), dtype=np.uint8)
        floats = ((crops[..., ::-1].astype(np.float32) - 128.0) / 64.0).transpose(0, 3, 1, 2).copy()
        fns = {
            "forward": lambda s=sessions["forward"], x=floats: s.run(None, {"input": x}),
            "e2e": lambda s=sessions["e2e"], x=crops: s.run(None, {"crops": x}),
            "e2e_flip": lambda s=sessions["e2e_flip"], x=crops: s.run(None, {"crops": x}),
        }
        t = timeit_many(fns, repeat=args.repeat, warmup=args.warmup)
        fwd, e2e, flip = t["forward"].median, t["e2e"].median, t["e2e_flip"].median
        rows.append([b, fmt_ms(fwd), fmt_ms(e2e), f"{(e2e / fwd - 1) * 100:+.1f}%", fmt_ms(flip), f"{flip / fwd:.2f}x"])
    print(
        markdown_table(
            [
                "batch",
                "forward only (ms)",
                "end to end (ms)",
                "pre + decode overhead",
                "end to end + flip (ms)",
                "flip / forward",
            ],
            rows,
        )
    )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
