"""``posekit-eval``: evaluate a checkpoint on the configuration stored in it.

Usage::

    posekit-eval ckpt=PATH                                   # data.val of the training run
    posekit-eval ckpt=PATH data.val.bbox_file=dets.json      # with detected boxes
    posekit-eval ckpt=PATH data=coco paths.data_dir=/data    # another dataset config
    posekit-eval ckpt=PATH split=test output_dir=out/ use_ema=false batch_size=16 accelerator=cpu

``trust_checkpoint=true`` unpickles the checkpoint without restrictions (only for files you trust; by default
nothing in a checkpoint is executed). ``ckpt``, ``split``, ``output_dir``, ``use_ema``, ``batch_size``,
``accelerator`` and ``trust_checkpoint`` are posekit-eval's own options;
every other ``key=value`` overrides the stored training configuration.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from posekit.cli._common import fail, guarded, parse_key_values

OWN_KEYS = {"ckpt", "split", "output_dir", "use_ema", "batch_size", "accelerator", "trust_checkpoint"}


def _parse(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    own, overrides = parse_key_values(argv, "posekit-eval", __doc__, OWN_KEYS, allow_overrides=True)
    if "ckpt" not in own:
        fail("posekit-eval", "ckpt=PATH is required")
    return own, overrides


def format_table(metrics: dict[str, float]) -> str:
    if not metrics:
        return "(no metrics)"
    width = max(len(k) for k in metrics)
    lines = [f"{'metric'.ljust(width)} | value", f"{'-' * width}-|-------"]
    lines += [f"{k.ljust(width)} | {v:.4f}" for k, v in metrics.items()]
    return "\n".join(lines)


def run(argv: list[str] | None = None) -> dict[str, float]:
    """Parse ``argv`` (default: ``sys.argv[1:]``), evaluate, print the table; returns the metrics."""
    from posekit.engine.runner import evaluate

    own, overrides = _parse(list(sys.argv[1:] if argv is None else argv))
    output_dir = own.get("output_dir") or str(Path("outputs") / "eval" / time.strftime("%Y-%m-%d_%H-%M-%S"))
    metrics = guarded(
        "posekit-eval",
        evaluate,
        own["ckpt"],
        overrides,
        output_dir=output_dir,
        split=own.get("split", "val"),
        use_ema=own.get("use_ema", "true").lower() not in ("0", "false", "no"),
        batch_size=int(own["batch_size"]) if own.get("batch_size") else None,
        accelerator=own.get("accelerator", "auto"),
        trust_checkpoint=own.get("trust_checkpoint", "false").lower() in ("1", "true", "yes"),
    )
    print(format_table(metrics))
    print(f"posekit-eval: metrics written to {Path(output_dir) / 'metrics.json'}")
    return metrics


def main(argv: list[str] | None = None) -> None:
    """Console entry point (returns nothing: a console script exits with ``main()``'s return value)."""
    run(argv)


if __name__ == "__main__":
    main()
