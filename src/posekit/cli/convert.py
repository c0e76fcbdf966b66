"""Convert an MMPose top-down checkpoint (model-zoo ``.pth``) into a posekit checkpoint.

    posekit-convert td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth \\
        -o hrnet_w32_coco.ckpt       # the config is found from the model-zoo file name; --model overrides it
    posekit-eval ckpt=hrnet_w32_coco.ckpt data=coco paths.data_dir=/data

The output stores the weights under ``model.*`` and the full run configuration (``conf/train.yaml`` with
``model=<--model>``, ``data=<--data>``) and its Hydra overrides, so ``posekit-eval`` re-composes it and
``posekit.apis.init_model`` reads it directly.
See docs/model_zoo.md.
"""

from __future__ import annotations

import argparse
import sys

PROG = "posekit-convert"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Convert an MMPose top-down checkpoint into a posekit checkpoint.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("src", help="the MMPose checkpoint (.pth)")
    parser.add_argument(
        "--model",
        default=None,
        help="posekit model config (a short name such as hrnet_w32 or an MMPose config stem); default: found from "
        "the MMPose model-zoo file name",
    )
    parser.add_argument("--data", default="coco", help="data config stored with it (conf/data/<name>.yaml)")
    parser.add_argument("--num-keypoints", type=int, default=None, help="check: keypoints the data config must have")
    parser.add_argument("-o", "--out", required=True, help="the posekit checkpoint to write (.ckpt)")
    parser.add_argument("--data-dir", default=None, help="store paths.data_dir (the folder holding coco/, mpii/ ...)")
    parser.add_argument(
        "--experiment",
        default="auto",
        help="experiment config stored with it: auto (the packaged one for this "
        "model and data, if any), a name, or none",
    )
    parser.add_argument("--no-ema", action="store_true", help="take the raw weights of an EMA checkpoint")
    parser.add_argument(
        "--non-strict", action="store_true", help="convert what matches; unmatched entries keep the model's init"
    )
    parser.add_argument("overrides", nargs="*", help="more Hydra overrides for the stored configuration (key=value)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from posekit.models.convert import CheckpointMismatchError, convert_mmpose_checkpoint

    experiment = None if str(args.experiment).lower() in ("none", "null", "") else args.experiment
    try:
        ckpt = convert_mmpose_checkpoint(
            args.src,
            args.model,
            num_keypoints=args.num_keypoints,
            out_path=args.out,
            strict=not args.non_strict,
            data=args.data,
            use_ema=not args.no_ema,
            experiment=experiment,
            data_dir=args.data_dir,
            overrides=args.overrides,
        )
    except (CheckpointMismatchError, FileNotFoundError, ValueError, KeyError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    info = ckpt["posekit_conversion"]
    cfg = ckpt["posekit_cfg"]
    print(f"source      : {info['source']}")
    print(
        f"model       : {info['model']} ({cfg['model']['backbone']['_target_'].rsplit('.', 1)[-1]} + "
        f"{cfg['model']['head']['_target_'].rsplit('.', 1)[-1]}), {info['params']:,} parameters"
    )
    codec = cfg["codec"][-1] if isinstance(cfg["codec"], list) else cfg["codec"]  # MSPN/RSN: one per level
    print(f"data        : {info['data']} ({cfg['num_keypoints']} keypoints, input {codec['input_size']})")
    print(f"tensors     : {info['mapped']} of {info['tensors']} mapped from the checkpoint")
    if info["renamed"]:
        print(f"renamed     : {len(info['renamed'])} MMPose 0.x keys (e.g. {next(iter(info['renamed'].items()))})")
    if info["dropped"]:
        print(f"dropped     : {len(info['dropped'])} entries (data_preprocessor / EMA extras)")
    print(f"EMA         : {info['ema']} layout, {'EMA' if info['use_ema'] else 'raw'} weights")
    for kind in ("missing", "unexpected", "mismatched"):
        if info[kind]:
            print(
                f"{kind:<12}: {len(info[kind])} (kept the model's initial values)"
                if kind != "unexpected"
                else f"{kind:<12}: {len(info[kind])} (ignored)"
            )
    print(f"written     : {args.out}")
    print(f"evaluate    : posekit-eval ckpt={args.out} data={info['data']} paths.data_dir=/path/to/datasets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
