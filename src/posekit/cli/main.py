"""``posekit <verb> ...``: one command for every posekit tool (each is also installed as ``posekit-<verb>``).

Usage::

    posekit train experiment=coco_hrnet paths.data_dir=/data       # = posekit-train ...
    posekit eval ckpt=PATH data.val.bbox_file=dets.json              # = posekit-eval ...
    posekit infer ckpt=PATH photo.jpg                                # = posekit-infer ...
    posekit convert mmpose.pth --model hrnet_w32 -o hrnet_w32.ckpt   # = posekit-convert ...
    posekit export ckpt=PATH output=pose.onnx                        # = posekit-export ...
    posekit flops model=hrnet_w32                                    # = posekit-flops ...
    posekit browse data=synthetic num=8                              # = posekit-browse ...
    posekit <verb> --help                                            # the verb's own help
"""

from __future__ import annotations

import importlib
import sys

# verb -> (module, what it does)
VERBS = {
    "train": ("posekit.cli.train", "train a model (Hydra app: conf/train.yaml)"),
    "eval": ("posekit.cli.eval", "evaluate a checkpoint on its run's configuration (Hydra app: conf/eval.yaml)"),
    "infer": ("posekit.cli.infer", "pose estimation on images, folders, videos (Hydra app: conf/infer.yaml)"),
    "convert": ("posekit.cli.convert", "convert an MMPose checkpoint into a posekit checkpoint"),
    "export": ("posekit.cli.export", "export a model to ONNX and check it with onnxruntime"),
    "flops": ("posekit.cli.flops", "parameters and FLOPs of a model config"),
    "browse": ("posekit.cli.browse", "render a dataset's samples after its pipeline, with target heatmaps"),
}


def usage() -> str:
    width = max(map(len, VERBS))
    lines = ["usage: posekit <verb> [args ...]", "", "verbs:"]
    lines += [f"  {verb.ljust(width)}  {what}" for verb, (_, what) in VERBS.items()]
    lines += ["", "`posekit <verb> --help` shows a verb's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int | None:
    """Console entry point: dispatch ``argv[0]`` to ``posekit.cli.<verb>.main`` with the remaining arguments."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] == "--version":
        import posekit

        print(f"posekit {posekit.__version__}")
        return 0
    verb, rest = args[0], args[1:]
    if verb not in VERBS:
        print(f"posekit: error: unknown verb {verb!r}; choose one of {', '.join(VERBS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(VERBS[verb][0])
    if verb == "train":  # a @hydra.main function reads sys.argv itself
        from posekit.cli._common import run_hydra_app

        run_hydra_app(module.main, f"posekit-{verb}", rest)
        return None
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())
