"""Inference throughput, posekit vs MMPose 1.3.2 on the same machine: images/s of the same model on the same
images and boxes (pose stage only; the boxes are given).

Images: the 4 COCO val images of ``tests/data/mmpose_testdata/coco`` (14 person boxes from ``test_coco.json``),
each read from its file on every pass (imread included), ``--passes`` passes per measurement. Weights are random
on both sides (no download; throughput does not depend on them); flip test as the configs say (on for both models).

Rows (each side in its own fresh process, runs interleaved MMPose, posekit, MMPose, posekit ...):

* **given boxes** — MMPose: ``mmpose.apis.inference_topdown(model, path, boxes)`` per image (its
  ``MMPoseInferencer`` cannot take boxes: 1.3.2's ``Pose2DInferencer.preprocess_single`` resets its ``bboxes``
  argument to ``[]``); posekit: :class:`posekit.apis.TopdownInferencer` (what ``posekit-infer`` runs: crops of
  consecutive images batched, ``--batch-size``) over the same images and boxes;
* **whole image** (one box per image, the detector-less end to end): ``MMPoseInferencer(pose2d=config,
  det_model='whole_image')`` vs ``TopdownInferencer`` with ``bboxes=None``.

* **given boxes, ONNX Runtime** (posekit only, compared with MMPose's *given boxes*): the same model exported by
  :func:`posekit.apis.export.export_onnx_end2end` (pre-processing, flip test and decode in the graph; export not
  timed) run by :class:`posekit.apis.onnx_backend.OnnxPoseModel` (one thread) per image on the same boxes;
* **network floor** (posekit only): the same model's forward passes alone on ready float crops, as many as the
  *given boxes* row runs (14 crops + 14 mirrored for the flip test per pass, in batches of ``--batch-size``): the
  images/s no pose stage using this network can exceed, so ``floor / MMPose`` bounds any speed-up.

Each side runs single-threaded, so besides images per wall-clock second the table gives images per second of the
process's CPU time (``time.process_time``), which other jobs on a shared machine disturb far less.

End to end *with* a person detector is not measured: MMPose's default detector (RTMDet) needs its weights
downloaded, and this machine is offline.

    python scripts/bench_vs_mmpose_infer.py                      # rtmpose_m and hrnet_w32, 1 thread
    python scripts/bench_vs_mmpose_infer.py --models rtmpose_m --passes 5 --rounds 3 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COCO = ROOT / "tests" / "data" / "mmpose_testdata" / "coco"
MMPOSE_CONFIGS = {
    "rtmpose_m": "body_2d_keypoint/rtmpose/coco/rtmpose-m_8xb256-420e_coco-256x192.py",
    "hrnet_w32": "body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py",
}


def mmpose_config(name: str):
    """MMPose's config ``name`` with RTMPose's ``mmdet.CSPNeXt`` backbone pointed at MMPose's own ``CSPNeXt``
    (mmdet's import pulls mmcv's compiled ops, absent from mmcv-lite) and no pretrained backbone download."""
    import mmpose
    from mmengine.config import Config

    cfg = Config.fromfile(str(Path(mmpose.__file__).parent / ".mim" / "configs" / name))
    backbone = cfg.model.backbone
    backbone.pop("_scope_", None)
    backbone.type = backbone.type.replace("mmdet.", "")
    backbone.pop("init_cfg", None)
    return cfg


def load_images_and_boxes() -> list[tuple[str, list[list[float]]]]:
    ann = json.loads((COCO / "test_coco.json").read_text())
    boxes: dict[int, list] = {}
    for a in ann["annotations"]:
        if not a.get("iscrowd", 0):
            x, y, w, h = a["bbox"]
            boxes.setdefault(a["image_id"], []).append([x, y, x + w, y + h])
    return [(str(COCO / im["file_name"]), boxes[im["id"]]) for im in ann["images"] if im["id"] in boxes]


def _timed(run, passes: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of ``passes`` calls after a warm-up call."""
    run()  # warm-up pass
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(passes):
        run()
    return time.perf_counter() - start, time.process_time() - cpu


def run_mmpose(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch
    from mmpose.apis import MMPoseInferencer, inference_topdown, init_model

    torch.set_num_threads(args.threads)
    cfg = mmpose_config(MMPOSE_CONFIGS[args.model])
    items = load_images_and_boxes()
    if args.mode == "boxes":
        model = init_model(cfg, None, device="cpu")

        def run():
            for path, boxes in items:
                inference_topdown(model, path, np.asarray(boxes, np.float32))
    else:
        inferencer = MMPoseInferencer(pose2d=cfg, det_model="whole_image", device="cpu")
        paths = [p for p, _ in items]

        def run():
            for _ in inferencer(paths, batch_size=args.batch_size):
                pass

    wall, cpu = _timed(run, args.passes)
    return {"images_per_s": len(items) * args.passes / wall, "images_per_cpu_s": len(items) * args.passes / cpu}


def run_posekit(args: argparse.Namespace) -> dict:
    import cv2
    import numpy as np
    import torch

    from posekit.apis import TopdownInferencer, init_model

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    model = init_model(args.model)
    items = load_images_and_boxes()
    inferencer = TopdownInferencer(model, batch_size=args.batch_size)

    def frames():
        for path, boxes in items:
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            yield {"img": img, "bboxes": np.asarray(boxes, np.float32) if args.mode == "boxes" else None}

    def run():
        for _ in inferencer(frames()):
            pass

    if args.mode == "onnx":
        import tempfile

        from posekit.apis.export import export_onnx_end2end
        from posekit.apis.onnx_backend import OnnxPoseModel

        path = Path(tempfile.mkdtemp(prefix="bench_infer_onnx_")) / f"{args.model}.onnx"
        export_onnx_end2end(model, path, check=False)
        ort_model = OnnxPoseModel(path, threads=args.threads)

        def run():  # noqa: F811 - the ONNX Runtime backend on the same images and boxes
            for path_, boxes in items:
                ort_model.inference_topdown(path_, np.asarray(boxes, np.float32))

    if args.mode == "floor":
        w, h = model.head.decoder.input_size
        crops = sum(len(b) for _, b in items)
        chunks = [min(args.batch_size, crops - i) for i in range(0, crops, args.batch_size)]
        inputs = [torch.randn(n, 3, h, w) for n in chunks]

        def run():  # noqa: F811 - the floor replaces the pipeline run
            with torch.inference_mode():
                for x in inputs:
                    model(x)
                    model(x.flip(-1))

    wall, cpu = _timed(run, args.passes)
    return {"images_per_s": len(items) * args.passes / wall, "images_per_cpu_s": len(items) * args.passes / cpu}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["rtmpose_m", "hrnet_w32"], choices=sorted(MMPOSE_CONFIGS))
    parser.add_argument(
        "--modes", nargs="+", default=["boxes", "onnx", "whole", "floor"], choices=["boxes", "whole", "onnx", "floor"]
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--batch-size", type=int, default=4, help="posekit crops per forward (MMPose: one forward per image)"
    )
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mmpose-python", default="/opt/mmref/bin/python")
    parser.add_argument("--worker", choices=["mmpose", "posekit"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = (run_mmpose if args.worker == "mmpose" else run_posekit)(args)
        print("RESULT " + json.dumps(result), flush=True)
        return

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_common import markdown_table, print_header

    print_header(
        "Inference throughput: posekit vs MMPose 1.3.2 (pose stage)",
        extra={"threads": args.threads, "batch": args.batch_size, "passes": args.passes, "rounds": args.rounds},
    )
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONWARNINGS="ignore")
    common = [f"--threads={args.threads}", f"--batch-size={args.batch_size}", f"--passes={args.passes}"]
    results: dict[tuple, list[float]] = {}
    for _ in range(args.rounds):
        for model in args.models:
            for mode in args.modes:
                sides = (("mmpose", args.mmpose_python), ("posekit", sys.executable))
                for fw, python in sides if mode not in ("floor", "onnx") else sides[1:]:
                    cmd = [python, __file__, f"--worker={fw}", f"--model={model}", f"--mode={mode}", *common]
                    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
                    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
                    if proc.returncode or not line:
                        raise SystemExit(f"{fw} {model} {mode} failed:\n{proc.stderr[-3000:]}")
                    res = json.loads(line[-1][7:])
                    results.setdefault((model, mode, fw), []).append(res["images_per_s"])
                    results.setdefault((model, mode, fw, "cpu"), []).append(res["images_per_cpu_s"])
                    print(f"<!-- {model} {mode} {fw}: {res} -->", flush=True)
    rows = []
    names = {
        "boxes": "given boxes (14 people / 4 images)",
        "onnx": "given boxes, posekit on ONNX Runtime (vs MMPose's given boxes)",
        "whole": "whole image (1 box / image)",
        "floor": "network floor of the given-boxes row (forward passes only)",
    }
    for model in args.models:
        for mode in args.modes:
            mm = statistics.median(results[(model, "boxes" if mode in ("floor", "onnx") else mode, "mmpose")])
            pk = statistics.median(results[(model, mode, "posekit")])
            mm_c = statistics.median(results[(model, "boxes" if mode in ("floor", "onnx") else mode, "mmpose", "cpu")])
            pk_c = statistics.median(results[(model, mode, "posekit", "cpu")])
            rows.append(
                [
                    model,
                    names[mode],
                    f"{mm:.3f}",
                    f"{pk:.3f}",
                    f"{pk / mm:.2f}x",
                    f"{mm_c:.3f}",
                    f"{pk_c:.3f}",
                    f"{pk_c / mm_c:.2f}x",
                ]
            )
    headers = ["model", "boxes", "MMPose images/s", "posekit images/s", "posekit / MMPose"]
    headers += ["MMPose images/CPU-s", "posekit images/CPU-s", "posekit / MMPose (CPU time)"]
    print(markdown_table(headers, rows))
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
