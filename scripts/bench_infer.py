"""Inference throughput of ``posekit-infer`` (images/s, person crops/s) for model configs, on real COCO images.

What ``posekit-infer input=FOLDER bboxes=FILE`` does, timed at three depths on the same images and boxes:

* **posekit-infer, save_vis=false**: :func:`posekit.apis.run_inference` on a folder: read + decode each JPEG
  (in a read-ahead thread), crop every person box (affine warp), batched forward (flip test as the model config
  says), decode, write ``predictions.json``; and the same with the images read in the main thread;
* **posekit-infer, save_vis=true**: the same plus drawing the skeletons and writing one JPEG per image (the
  command's default);
* **pose model only**: :class:`posekit.apis.TopdownInferencer` on frames already decoded in memory (crop +
  forward + decode): the ceiling for the two above.

Images: the 4 COCO val images of ``tests/data/mmpose_testdata/coco`` (the non-crowd person boxes of
``test_coco.json`` as the detections: 14 people), copied ``--copies`` times into sub-folders of a temporary
folder.
Weights are random (``model=NAME`` as in ``posekit-infer model=tiny``): throughput does not depend on them.

    python scripts/bench_infer.py                           # tiny and rtmpose_t on the CPU
    python scripts/bench_infer.py --models tiny rtmpose_t hrnet_w32 --threads 1
    python scripts/bench_infer.py --device cuda --batch-size 64
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import add_common_args, apply_threads, markdown_table, print_header, resolve_device  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "mmpose_testdata" / "coco"


def make_image_folder(src: Path, dst: Path, copies: int) -> int:
    """``copies`` sub-folders of ``dst``, each holding the COCO test images of ``src``; returns the image count."""
    images = sorted(p for p in src.glob("*.jpg"))
    if not images:
        raise SystemExit(f"--data {src}: no .jpg images there (expected mmpose_testdata/coco)")
    for i in range(copies):
        sub = dst / f"copy{i:03d}"
        sub.mkdir(parents=True)
        for img in images:
            shutil.copy(img, sub / img.name)
    return len(images) * copies


def time_interleaved(fns: dict, repeat: int, warmup: int) -> dict[str, float]:
    """Median seconds of each function, the functions timed in turn (A, B, C, A, B, C, ...)."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["tiny", "rtmpose_t"], help="model config names")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the COCO test images")
    parser.add_argument("--copies", type=int, default=8, help="copies of the 4 images (default 8: 32 images)")
    parser.add_argument("--batch-size", type=int, default=16, help="person crops per forward (posekit-infer's)")
    add_common_args(parser)
    parser.set_defaults(repeat=3, warmup=1)
    args = parser.parse_args(argv)
    apply_threads(args.threads)
    device = resolve_device(args.device)

    import torch

    from posekit.apis import TopdownInferencer, init_model, load_detections, run_inference

    torch.set_grad_enabled(False)
    ann = args.data / "test_coco.json"
    if not ann.is_file():
        raise SystemExit(f"--data {args.data}: no test_coco.json there")
    dets = load_detections(ann)
    print_header("posekit-infer throughput on real COCO images", device)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        num_images = make_image_folder(args.data, folder, args.copies)
        frames = []
        for path in sorted(folder.rglob("*.jpg")):
            boxes, scores = dets.get(path.name)
            frames.append({"img": cv2.imread(str(path)), "bboxes": boxes, "bbox_scores": scores})
        num_crops = sum(len(f["bboxes"]) for f in frames)

        for name in args.models:
            model = init_model(name, device=device)
            flip = bool((getattr(model, "test_cfg", None) or {}).get("flip_test", False))
            decoder = getattr(model.head, "decoder", None)
            input_size = tuple(getattr(decoder, "input_size", ()) or ())
            params = sum(p.numel() for p in model.parameters()) / 1e6

            def infer(save_vis: bool, read_ahead: bool = True, model=model, name=name) -> None:
                out = Path(tmp) / "out"
                summary = run_inference(
                    model,
                    folder,
                    out,
                    bboxes=ann,
                    batch_size=args.batch_size,
                    save_vis=save_vis,
                    progress=False,
                    read_ahead=8 if read_ahead else 0,
                )
                if summary["num_instances"] != num_crops:
                    raise RuntimeError(f"{name}: {summary['num_instances']} people predicted, expected {num_crops}")
                shutil.rmtree(out)

            def model_only(model=model) -> None:
                inferencer = TopdownInferencer(model, batch_size=args.batch_size)
                for _ in inferencer(dict(f) for f in frames):
                    pass
                if device.type == "cuda":
                    torch.cuda.synchronize(device)

            times = time_interleaved(
                {
                    "json": lambda: infer(False),
                    "json_serial": lambda: infer(False, read_ahead=False),
                    "vis": lambda: infer(True),
                    "model": model_only,
                },
                args.repeat,
                args.warmup,
            )
            t_json, t_serial, t_vis, t_model = (times[k] for k in ("json", "json_serial", "vis", "model"))
            size = "x".join(str(v) for v in input_size) if input_size else "?"
            rows.append(
                [
                    f"{name} ({params:.2f} M params, {size}, flip test {'on' if flip else 'off'})",
                    f"{num_images / t_json:.1f}",
                    f"{num_crops / t_json:.1f}",
                    f"{num_images / t_serial:.1f}",
                    f"{num_images / t_vis:.1f}",
                    f"{num_crops / t_model:.1f}",
                    f"{1e3 * t_model / num_crops:.2f}",
                ]
            )
    print(
        f"{num_images} images, {num_crops} people (boxes from test_coco.json), batch_size={args.batch_size}; "
        f"median of {args.repeat} interleaved runs after {args.warmup} warm-up run(s).\n"
    )
    headers = [
        "model",
        "posekit-infer save_vis=false (images/s)",
        "same (crops/s)",
        "same without read-ahead (images/s)",
        "posekit-infer save_vis=true (images/s)",
        "pose model only (crops/s)",
        "pose model only (ms/crop)",
    ]
    print(markdown_table(headers, rows))


if __name__ == "__main__":
    main()
