"""Speed of torchvision's COCO person detectors on CPU (what posekit-infer's det_model= picks from), with the
box AP torchvision publishes for their COCO weights (``weights.meta``; measuring AP needs the weights and COCO val).

    python scripts/bench_detectors.py [--threads 1] [--runs 3] [--names a,b,...]

The detectors are built with ``weights=None`` (no download): the network's cost does not depend on the weights;
the post-processing does a little (random weights keep few boxes above the 0.05 score floor), so trained weights
may be slightly slower. Images: the 4 COCO samples in tests/data (about 640x480).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import torch


def main() -> None:
    from posekit.apis.detector import PersonDetector

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--names",
        default="fasterrcnn_mobilenet_v3_large_320_fpn,ssdlite320_mobilenet_v3_large,"
        "fasterrcnn_mobilenet_v3_large_fpn,fcos_resnet50_fpn,retinanet_resnet50_fpn_v2",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = Path(__file__).resolve().parents[1] / "tests" / "data" / "mmpose_testdata" / "coco"
    images = [cv2.imread(str(p)) for p in sorted(root.glob("*.jpg"))]
    rows = []
    for name in args.names.split(","):
        import torchvision

        meta = torchvision.models.get_model_weights(name).DEFAULT.meta
        torch.manual_seed(0)
        det = PersonDetector(name, weights=None, score_thr=0.5, device=args.device)
        det.detect(images[:1])  # warm-up
        start = time.perf_counter()
        for _ in range(args.runs):
            for img in images:
                det.detect([img])
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        ms = (time.perf_counter() - start) / (args.runs * len(images)) * 1000
        row = {
            "detector": name,
            "ms_per_image": round(ms, 1),
            "box_AP_coco_val2017": meta["_metrics"]["COCO-val2017"]["box_map"],
            "params_M": round(meta["num_params"] / 1e6, 1),
            "GFLOPs": meta.get("_ops"),
            "file_MB": meta.get("_file_size"),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
