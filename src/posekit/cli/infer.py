"""``posekit-infer``: top-down pose estimation on an image, a folder of images or a video (a Hydra app).

Usage::

    posekit-infer photo.jpg                                          # RTMPose-m (`human`) + a person detector
    posekit-infer clip.mp4 det_every=5                               # video: detect every 5th frame, track ids
    posekit-infer images/ model=hrnet-w32 --device cuda              # an alias / MMPose stem, its published weights
    posekit-infer ckpt=PATH input=images/ bboxes=dets.json           # your checkpoint, boxes from a detection JSON
    posekit-infer model=tiny input=photo.jpg det_model=none          # a model config, random weights (plumbing)
    posekit-infer model=hrnet_w32 weights=converted.pth input=photo.jpg model.test_cfg.flip_test=false
    posekit-infer --config-dir ~/my_configs model=my_net weights=w.pth photo.jpg --device cuda

Options (key=value, Hydra syntax; GNU style `--kpt-thr 0.5` / `--show-heatmaps` works too; conf/infer.yaml):
    ckpt=PATH            posekit checkpoint (.ckpt from posekit-train; config stored inside)
    model=NAME|YAML      instead of ckpt (default human): an alias (human, rtmpose-t/s/m/l, hrnet-w32, hrnet-w48,
                         vitpose-b, res50 ...), an MMPose config stem, a model config (conf/model/<NAME>.yaml or
                         model/<NAME>.yaml of your --config-dir, composed by Hydra)
                         or a YAML file ...
    weights=PATH|URL     ... with these weights (posekit .ckpt, state_dict or MMPose .pth, local or http(s));
                         without: the published weights of an alias / stem (downloaded once), else random init
    pretrained=          true/false: take the published weights (default: true when the model has them)
    input=PATH           image, folder of images (searched recursively) or video file        [required]
    backend=pytorch      pytorch | onnxruntime (ckpt=FILE.onnx from `posekit-export ... end2end=true`: pre-processing,
                         flip test and decoding run inside the ONNX graph)
    trust_checkpoint=false  unpickle the checkpoint without restrictions (only files you trust)
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
    output_dir=DIR       default outputs/infer/runs/<date_time>
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

Writes ``output_dir/vis/<image>`` + ``output_dir/predictions.json`` for images, ``output_dir/<video>.mp4`` +
``output_dir/<video>.json`` (per-frame predictions) for a video.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from posekit.cli._common import (
    HYDRA_FLAGS,
    HYDRA_VALUE_FLAGS,
    fail,
    guarded,
    quote_value,
    register_resolvers,
    run_hydra_app,
)

PROG = "posekit-infer"
_BOOL = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
# the types of the options of conf/infer.yaml that are checked here (Hydra reads `kpt_thr=high` as a string)
OPTIONS: dict[str, Any] = {
    "ckpt": str,
    "weights": str,
    "pose2d": str,
    "pretrained": bool,
    "backend": str,
    "trust_checkpoint": bool,
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
GROUPS = ("model", "paths", "hydra")


def _fail(msg: str) -> None:
    fail(PROG, msg)


def _own_keys() -> dict[str, Any]:
    """The keys of conf/infer.yaml with their defaults."""
    from posekit import conf_dir

    node = OmegaConf.to_container(OmegaConf.load(conf_dir() / "infer.yaml"), resolve=False)
    return {k: v for k, v in node.items() if k not in ("defaults", "hydra")}


def translate_argv(argv: Sequence[str]) -> list[str]:
    """posekit-infer's conveniences -> Hydra overrides (exits 2 with one line on an unknown option):

    a bare path -> ``input=PATH``; ``--det-model X`` / ``--det-model=X`` -> ``det_model=X``; a boolean flag alone
    (``--show-heatmaps``) -> ``show_heatmaps=true``; ``model=FILE.yaml`` (not a model config name) ->
    ``pose2d=FILE.yaml``. Hydra's own flags (``-m``, ``--cfg``, ``--help``, ``--config-dir`` ...) stay as they are.
    """
    from posekit.config import list_configs, override_key

    own = _own_keys()
    known = [*own, *GROUPS]
    args = list(argv)
    out: list[str] = []
    config_dirs: list[str] = []
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name = arg.split("=", 1)[0]
        if arg.startswith("-") and name in HYDRA_FLAGS:
            out.append(arg)
            if name in HYDRA_VALUE_FLAGS and "=" not in arg and i + 1 < len(args):
                i += 1
                out.append(args[i])
                if name in ("-cd", "--config-dir"):
                    config_dirs.append(args[i])
            elif name in ("-cd", "--config-dir") and "=" in arg:
                config_dirs.append(arg.split("=", 1)[1])
            i += 1
            continue
        if arg.startswith("--"):
            key = name[2:].replace("-", "_")
            if key not in own and key != "model":
                _fail(f"unknown option {name!r}; options: {', '.join(known)}")
            if "=" in arg:
                value = arg.split("=", 1)[1]
            elif isinstance(own.get(key), bool) and (i + 1 >= len(args) or args[i + 1].lower() not in _BOOL):
                value = "true"
            elif i + 1 < len(args):
                i += 1
                value = args[i]
            else:
                _fail(f"option {name} needs a value")
            arg = f"{key}={quote_value(value)}"
        elif arg.startswith("-"):
            _fail(f"unknown option {arg!r} (see {PROG} --help)")
        elif "=" not in arg:
            positional.append(arg)
            i += 1
            continue
        key, value = arg.split("=", 1)
        root = override_key(key).split(".", 1)[0]
        if root not in known:
            _fail(f"unknown option {root!r}; options: {', '.join(known)}")
        if key == "model" and "," not in value and value not in list_configs("model", config_dirs):
            arg = f"pose2d={value}"  # a YAML file (or anything init_model takes), not a config of the group
        out.append(arg)
        i += 1
    if len(positional) > 1:
        _fail(f"one input path please, got {positional}; use input=PATH")
    out.extend(f"input={quote_value(p)}" for p in positional)
    return out


def parse_args(cfg: DictConfig) -> dict[str, Any]:
    """The composed configuration -> typed options (exits with status 2 and a one-line message on bad input)."""
    opts: dict[str, Any] = {}
    for key, kind in OPTIONS.items():
        value = cfg.get(key)
        if value is None or (value == "" and kind is not str):
            opts[key] = None
            continue
        text = str(value)
        try:
            if kind is bool:
                if text.lower() not in _BOOL:
                    raise ValueError
                opts[key] = _BOOL[text.lower()]
            elif kind == "cat":
                opts[key] = None if text.lower() == "all" else int(text)
            elif kind is int and isinstance(value, float):
                raise ValueError
            else:
                opts[key] = kind(text)
        except ValueError:
            expected = {bool: "true/false", int: "an integer", float: "a number", "cat": "an integer or all"}[kind]
            _fail(f"{key}={value!r}: expected {expected}")
    if "model" in cfg and cfg.model is not None:
        from hydra.core.hydra_config import HydraConfig

        keys = [k for k in ("model", "codec", "num_keypoints") if k in cfg]
        opts["model"] = OmegaConf.create(OmegaConf.to_container(OmegaConf.masked_copy(cfg, keys), resolve=False))
        opts["model_name"] = HydraConfig.get().runtime.choices.get("model") if HydraConfig.initialized() else "model"
    elif opts.get("pose2d"):
        opts["model"] = opts["model_name"] = opts["pose2d"]
    if not opts.get("ckpt") and opts.get("model") is None:
        opts["model"] = opts["model_name"] = "human"  # RTMPose-m (AIC+COCO), its published weights
    if opts.get("ckpt") and opts.get("model") is not None:
        _fail("give either ckpt=PATH or model=NAME, not both")
    if opts.get("weights") and opts.get("model") is None:
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

    from posekit.apis import init_model

    if not Path(opts["input"]).expanduser().exists():
        raise FileNotFoundError(f"input={opts['input']}: no such file or folder")
    if opts.get("threads") is not None:
        if opts["threads"] < 1:
            raise ValueError(f"threads={opts['threads']}: must be >= 1")
        torch.set_num_threads(opts["threads"])
    device = opts.get("device") or "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device}: CUDA is not available on this machine; use device=cpu")
    from posekit.apis import has_pretrained_weights, pretrained_url

    source = opts.get("ckpt") or opts["model"]
    if opts.get("ckpt") and not Path(opts["ckpt"]).expanduser().is_file():
        raise FileNotFoundError(f"ckpt={opts['ckpt']}: no such checkpoint file")
    backend = _get(opts, "backend", "pytorch")
    if backend not in ("pytorch", "onnxruntime"):
        raise ValueError(f"backend={backend}: use pytorch or onnxruntime")
    if backend == "onnxruntime" or str(opts.get("ckpt") or "").endswith(".onnx"):
        if not str(opts.get("ckpt") or "").endswith(".onnx"):
            raise ValueError(
                "backend=onnxruntime runs ckpt=FILE.onnx, an end-to-end graph written by "
                "`posekit-export ckpt=... output=FILE.onnx end2end=true`"
            )
        model = init_model(opts["ckpt"], backend="onnxruntime")
        return _run(opts, model)
    weights = opts.get("weights")
    name = None if opts.get("ckpt") else str(opts.get("model_name"))
    has_published = name is not None and has_pretrained_weights(name)
    if weights is None and _get(opts, "pretrained", has_published):
        if not has_published:
            raise ValueError(f"pretrained=true: MMPose publishes no weights for {name!r}; give weights=PATH|URL")
        weights = pretrained_url(name)  # downloaded once into the weights cache
    model = init_model(
        source,
        device=device,
        checkpoint=weights,
        metainfo=opts.get("metainfo"),
        use_ema=_get(opts, "use_ema", True),
        trust_checkpoint=_get(opts, "trust_checkpoint", False),
    )
    return _run(opts, model)


def _run(opts: dict[str, Any], model: Any) -> dict[str, Any]:
    from posekit.apis import DEFAULT_DETECTOR, run_inference

    output_dir = opts["output_dir"]
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
        model_source=str(opts.get("ckpt") or opts.get("model_name")),
        detector=None if opts.get("bboxes") else _get(opts, "det_model", DEFAULT_DETECTOR),
        det_thr=_get(opts, "det_thr", 0.5),
        det_every=_get(opts, "det_every", 1),
        track=opts.get("track"),
        skip_bad=_get(opts, "skip_bad", True),
    )


def _report(summary: dict[str, Any]) -> None:
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


@hydra.main(version_base="1.3", config_path="pkg://posekit.conf", config_name="infer")
def _app(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    opts = parse_args(cfg)
    opts["output_dir"] = HydraConfig.get().runtime.output_dir  # = output_dir, resolved once
    _report(guarded(PROG, run, opts))


def main(argv: list[str] | None = None) -> None:
    """Console entry point (``argv`` default: ``sys.argv[1:]``; returns ``None``: console scripts exit with it)."""
    register_resolvers()
    run_hydra_app(_app, PROG, translate_argv(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
