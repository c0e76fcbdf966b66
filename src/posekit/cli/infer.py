"""``posekit-infer``: top-down pose estimation on an image, a folder of images or a video.

Usage::

    posekit-infer input=photo.jpg                                    # RTMPose-m (`human`) + a person detector
    posekit-infer input=clip.mp4 det_every=5                         # video: detect every 5th frame, track ids
    posekit-infer input=images/ model=hrnet-w32 device=cuda          # an alias / MMPose stem, its published weights
    posekit-infer ckpt=PATH input=images/ bboxes=dets.json           # your checkpoint, boxes from a detection JSON
    posekit-infer model=tiny input=photo.jpg det_model=none          # a model config, random weights (plumbing)
    posekit-infer model=hrnet_w32 weights=https://.../x.pth input=photo.jpg

Options (key=value):
    ckpt=PATH            posekit checkpoint (.ckpt from posekit-train; config stored inside)
    model=NAME|YAML      instead of ckpt (default human): an alias (human, rtmpose-t/s/m/l, hrnet-w32, hrnet-w48,
                         vitpose-b, res50 ...), an MMPose config stem, a packaged config (conf/model/<NAME>.yaml)
                         or a YAML file ...
    weights=PATH|URL     ... with these weights (posekit .ckpt, state_dict or MMPose .pth, local or http(s));
                         without: the published weights of an alias / stem (downloaded once), else random init
    pretrained=          true/false: take the published weights (default: true when the model has them)
    input=PATH           image, folder of images (searched recursively) or video file        [required]
    det_model=NAME       person detector when no bboxes file is given: a torchvision COCO detector
                         (default fasterrcnn_mobilenet_v3_large_fpn; see docs/inference.md) or none (the whole
                         frame is one person)
    det_thr=0.5          detector score threshold
    det_every=1          video: run the detector every N frames; in between, boxes follow the previous poses
    track=               add track ids kept across frames (default: true for a video)
    bboxes=PATH          COCO detection results [{image_id, bbox: [x,y,w,h], score, category_id}] or a COCO
                         annotation file; images matched by file name, then image_id (= the number in a COCO file
                         name, or the 0-based frame index of a video). Replaces the detector.
    bbox_thr=0.3         drop detections of the bboxes file scoring below
    det_cat_id=1         keep detections of this category_id (1 = person); `all` keeps every box
    output_dir=DIR       default outputs/infer/<date_time>
    kpt_thr=0.3          keypoints scoring below are not drawn (all are in the JSON)
    device=cpu           cpu | cuda | cuda:N
    batch_size=16        person crops per forward pass
    show_heatmaps=false  also draw the predicted heatmaps (heatmap heads), stacked below the picture
    draw_bbox=true       draw the person boxes
    radius=, thickness=  keypoint radius / line width in pixels (default: scaled with the image)
    save_vis=true        write pictures / the video (false: predictions JSON only)
    skip_bad=true        skip images that do not decode, with a warning (listed in predictions.json); false stops
    fps=                 frame rate of the output video (default: the input's)
    metainfo=NAME|YAML   dataset metainfo (default: the checkpoint's data.metainfo, else coco)
    use_ema=true         with an EMA-trained checkpoint, false uses the raw weights
    threads=             CPU threads of PyTorch (torch.set_num_threads); threads=1 is often fastest on a busy
                         machine

Writes ``output_dir/vis/<image>`` + ``output_dir/predictions.json`` + ``output_dir/coco_results.json`` for images,
``output_dir/<video>.mp4`` + ``output_dir/<video>.json`` (per-frame predictions) + ``<video>_coco_results.json``
for a video.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from posekit.cli._common import fail, guarded, parse_key_values

PROG = "posekit-infer"
_BOOL = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
OPTIONS: dict[str, Any] = {
    "ckpt": str,
    "model": str,
    "weights": str,
    "pretrained": bool,
    "input": str,
    "det_model": str,
    "det_thr": float,
    "det_every": int,
    "track": bool,
    "skip_bad": bool,
    "bboxes": str,
    "bbox_thr": float,
    "det_cat_id": "cat",
    "output_dir": str,
    "kpt_thr": float,
    "device": str,
    "batch_size": int,
    "show_heatmaps": bool,
    "draw_bbox": bool,
    "radius": int,
    "thickness": int,
    "save_vis": bool,
    "fps": float,
    "metainfo": str,
    "use_ema": bool,
    "threads": int,
}


def _fail(msg: str) -> None:
    fail(PROG, msg)


def parse_args(argv: list[str]) -> dict[str, Any]:
    """``key=value`` arguments -> typed options (exits with status 2 and a one-line message on bad input)."""
    raw, _ = parse_key_values(argv, PROG, __doc__, OPTIONS, strip_dashes=True)
    opts: dict[str, Any] = {}
    for key, value in raw.items():
        kind = OPTIONS[key]
        if value in ("", "null", "None") and kind is not str:
            opts[key] = None
            continue
        try:
            if kind is bool:
                if value.lower() not in _BOOL:
                    raise ValueError
                opts[key] = _BOOL[value.lower()]
            elif kind == "cat":
                opts[key] = None if value.lower() == "all" else int(value)
            else:
                opts[key] = kind(value)
        except ValueError:
            expected = {bool: "true/false", int: "an integer", float: "a number", "cat": "an integer or all"}[kind]
            _fail(f"{key}={value!r}: expected {expected}")
    if opts.get("ckpt") and opts.get("model"):
        _fail("give either ckpt=PATH or model=NAME, not both")
    if opts.get("weights") and not opts.get("model"):
        _fail("weights=PATH goes with model=NAME (a ckpt=PATH holds its own weights)")
    if not opts.get("input"):
        _fail("input=PATH (an image, a folder of images or a video) is required")
    return opts


def _get(opts: dict[str, Any], key: str, default: Any) -> Any:
    value = opts.get(key)
    return default if value is None else value


def run(opts: dict[str, Any]) -> dict[str, Any]:
    """Load the model and run :func:`posekit.apis.run_inference` with the parsed options."""
    import torch

    from posekit.apis import init_model, run_inference

    if not Path(opts["input"]).expanduser().exists():
        raise FileNotFoundError(f"input={opts['input']}: no such file or folder")
    if opts.get("threads") is not None:
        if opts["threads"] < 1:
            raise ValueError(f"threads={opts['threads']}: must be >= 1")
        torch.set_num_threads(opts["threads"])
    device = opts.get("device") or "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device}: CUDA is not available on this machine; use device=cpu")
    from posekit.apis import DEFAULT_DETECTOR, has_pretrained_weights

    source = opts.get("ckpt") or opts.get("model") or "human"
    if opts.get("ckpt") and not Path(opts["ckpt"]).expanduser().is_file():
        raise FileNotFoundError(f"ckpt={opts['ckpt']}: no such checkpoint file")
    model = init_model(
        source,
        device=device,
        checkpoint=opts.get("weights"),
        pretrained=_get(opts, "pretrained", not opts.get("ckpt") and has_pretrained_weights(source)),
        metainfo=opts.get("metainfo"),
        use_ema=_get(opts, "use_ema", True),
    )
    output_dir = opts.get("output_dir") or str(Path("outputs") / "infer" / time.strftime("%Y-%m-%d_%H-%M-%S"))
    return run_inference(
        model,
        opts["input"],
        output_dir,
        bboxes=opts.get("bboxes"),
        kpt_thr=_get(opts, "kpt_thr", 0.3),
        bbox_thr=_get(opts, "bbox_thr", 0.3),
        det_cat_id=opts.get("det_cat_id", 1),
        show_heatmaps=_get(opts, "show_heatmaps", False),
        batch_size=_get(opts, "batch_size", 16),
        draw_bbox=_get(opts, "draw_bbox", True),
        radius=opts.get("radius"),
        thickness=opts.get("thickness"),
        save_vis=_get(opts, "save_vis", True),
        fps=opts.get("fps"),
        model_source=str(source),
        detector=None if opts.get("bboxes") else _get(opts, "det_model", DEFAULT_DETECTOR),
        det_thr=_get(opts, "det_thr", 0.5),
        det_every=_get(opts, "det_every", 1),
        track=opts.get("track"),
        skip_bad=_get(opts, "skip_bad", True),
    )


def main(argv: list[str] | None = None) -> None:
    """Console entry point (returns ``None``: a console script exits with ``sys.exit(main())``)."""
    opts = parse_args(list(sys.argv[1:] if argv is None else argv))
    summary = guarded(PROG, run, opts)
    unit = "frames" if summary["kind"] == "video" else "images"
    print(
        f"{PROG}: {summary['num_frames']} {unit}, {summary['num_instances']} people in {summary['seconds']:.2f} s "
        f"({summary['fps']:.2f} {unit}/s)"
    )
    if summary["outputs"]:
        where = summary["outputs"][0] if summary["kind"] == "video" else str(Path(summary["output_dir"]) / "vis")
        print(f"{PROG}: drawings in {where}")
    print(f"{PROG}: predictions in {summary['predictions']} (COCO results: {summary['coco_results']})")
    if summary.get("num_skipped"):
        print(f"{PROG}: skipped {summary['num_skipped']} files that do not decode (listed in the predictions)")


if __name__ == "__main__":
    main()
