"""``posekit-train``: train a top-down pose estimator (Hydra app; ``-m`` for sweeps).

Examples::

    posekit-train                                   # the synthetic default experiment
    posekit-train experiment=coco_hrnet paths.data_dir=/data
    posekit-train -m optim.lr=1e-3,3e-3 model.head.loss._target_=...   # a sweep
    posekit-train ckpt_path=last                    # resume the newest run of this task
    posekit-train logger=none trainer.limit_train_batches=5 trainer.max_steps=10
    posekit-train --config-dir my_configs model=my_net data=my_people   # your own configs (docs/configs.md)
"""

from __future__ import annotations

import shlex
import sys

import hydra
from omegaconf import DictConfig

from posekit.cli._common import guarded


def _task_overrides() -> list[str]:
    """This run's command-line overrides (shell-quoted), without ``ckpt_path``."""
    from hydra.core.hydra_config import HydraConfig

    try:
        task = list(HydraConfig.get().overrides.task)
    except ValueError:  # not inside a Hydra app
        return ["<the same options>"]
    return [shlex.quote(o) for o in task if not o.lstrip("+~").startswith("ckpt_path=")]


@hydra.main(version_base="1.3", config_path="pkg://posekit.conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from posekit.engine.callbacks import TrainingInterrupted
    from posekit.engine.runner import train

    try:
        summary = guarded("posekit-train", train, cfg)
    except TrainingInterrupted as stop:  # SIGTERM -> 143, SIGINT -> 130, with the command that resumes
        print(f"posekit-train: interrupted: {stop}", file=sys.stderr)
        if stop.ckpt_path:
            hint = " ".join(["posekit-train", *_task_overrides(), f"ckpt_path={shlex.quote(stop.ckpt_path)}"])
            print(f"posekit-train: resume with: {hint}", file=sys.stderr)
        sys.exit(stop.exit_code)
    print(f"posekit-train: run directory {summary['output_dir']}")
    metric = cfg.get("monitor")
    value = (summary.get("val") or {}).get(metric) if metric else None
    if value is not None:
        print(f"posekit-train: {metric} = {value:.4f}")
    return value


if __name__ == "__main__":
    main()
