"""``posekit-eval``: evaluate a checkpoint on the configuration of the run that wrote it (a Hydra app).

Usage::

    posekit-eval ckpt=PATH                                   # data.val of the training run
    posekit-eval ckpt=PATH data.val.bbox_file=dets.json      # with detected boxes
    posekit-eval ckpt=PATH data=coco paths.data_dir=/data    # another dataset config
    posekit-eval ckpt=PATH split=test output_dir=out/ use_ema=false batch_size=16 accelerator=cpu
    posekit-eval ckpt=PATH --config-dir ~/my_configs data=my_data   # your own config folder
    posekit-eval ckpt=PATH --cfg job                         # print the re-composed configuration

``ckpt``, ``split``, ``output_dir``, ``use_ema``, ``batch_size`` and ``accelerator`` are posekit-eval's own keys
(``conf/eval.yaml``); every other ``key=value`` / ``group=name`` overrides the run's configuration, which is
re-composed from the Hydra overrides stored in the checkpoint (yours replace stored ones key by key).
``trust_checkpoint=true`` unpickles the checkpoint without restrictions (only for files you trust; by default
nothing in a checkpoint is executed, and a stored config may only name allowlisted ``_target_`` s).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from posekit.cli._common import fail, guarded, register_resolvers, run_hydra_app, split_hydra_flags
from posekit.config import RUN_INFO_KEY, hydra_run_info, merge_overrides, override_key

PROG = "posekit-eval"
OWN_KEYS = ("ckpt", "split", "output_dir", "use_ema", "batch_size", "accelerator", "trust_checkpoint")


def format_table(metrics: dict[str, float]) -> str:
    if not metrics:
        return "(no metrics)"
    width = max(len(k) for k in metrics)
    lines = [f"{'metric'.ljust(width)} | value", f"{'-' * width}-|-------"]
    lines += [f"{k.ljust(width)} | {v:.4f}" for k, v in metrics.items()]
    return "\n".join(lines)


def _stored_run_info(path: str) -> dict[str, Any] | None:
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)  # posekit's own: plain data
    except Exception:  # noqa: BLE001 - not a zip checkpoint (mmap) or unreadable: evaluate() reports it
        return None
    info = ckpt.get(RUN_INFO_KEY) if isinstance(ckpt, dict) else None
    return dict(info) if isinstance(info, dict) and info.get("overrides") is not None else None


def with_stored_overrides(argv: Sequence[str]) -> list[str]:
    """Put the checkpoint's stored overrides (and config folders) before the user's, so that Hydra composes the
    run's own tree: ``data.*`` / ``model.*`` keys of that run are then valid overrides here."""
    flags, rest = split_hydra_flags(argv)
    ckpts = [a.split("=", 1)[1] for a in rest if override_key(a) == "ckpt" and "=" in a]
    if len(ckpts) != 1 or "," in ckpts[0] or not Path(ckpts[0]).expanduser().is_file():
        return list(argv)
    info = _stored_run_info(str(Path(ckpts[0]).expanduser()))
    if info is None:
        return list(argv)
    stored = [o for o in info["overrides"] if override_key(o) not in OWN_KEYS]
    merged = merge_overrides(stored, rest)
    if info.get("searchpath") and not any(override_key(o) == "hydra.searchpath" for o in rest):
        merged.append("hydra.searchpath=[" + ",".join(f"'{u}'" for u in info["searchpath"]) + "]")
    return [*flags, *merged]


def _evaluate(cfg: DictConfig) -> dict[str, float]:
    from hydra.core.hydra_config import HydraConfig

    from posekit.engine.runner import evaluate

    if OmegaConf.is_missing(cfg, "ckpt") or not cfg.ckpt:
        fail(PROG, "ckpt=PATH is required")
    task = [o for o in HydraConfig.get().overrides.task if override_key(o) not in OWN_KEYS]
    info = hydra_run_info() or {}
    output_dir = HydraConfig.get().runtime.output_dir
    metrics = guarded(
        PROG,
        evaluate,
        str(cfg.ckpt),
        task,
        output_dir=output_dir,
        split=str(cfg.split),
        use_ema=bool(cfg.use_ema),
        batch_size=int(cfg.batch_size) if cfg.batch_size else None,
        accelerator=str(cfg.accelerator),
        searchpath=info.get("searchpath", ()),
        trust_checkpoint=bool(cfg.trust_checkpoint),
    )
    print(format_table(metrics))
    print(f"{PROG}: metrics written to {Path(output_dir) / 'metrics.json'}")
    return metrics


@hydra.main(version_base="1.3", config_path="pkg://posekit.conf", config_name="eval")
def _app(cfg: DictConfig) -> None:
    _evaluate(cfg)


def main(argv: list[str] | None = None) -> None:
    """Console entry point (``argv`` default: ``sys.argv[1:]``; returns nothing: console scripts exit with it)."""
    register_resolvers()
    run_hydra_app(_app, PROG, with_stored_overrides(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
