"""Checks of a training configuration before anything is built: value types and the monitored metric's name.

``trainer.max_epochs=abc`` or ``monitor=coco/APX`` used to fail minutes later with a 50-70 line traceback; these
fail at once with one line naming the key, the value and what is expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

__all__ = ["ConfigValueError", "check_monitor", "check_run_config", "metric_names"]

_INT = "an integer"
_FLOAT = "a number"
# key -> (expected, allow None, minimum)
TYPED_KEYS: dict[str, tuple[str, bool, float | None]] = {
    "seed": (_INT, False, None),
    "trainer.max_epochs": (_INT, True, -1),
    "trainer.max_steps": (_INT, True, -1),
    "trainer.check_val_every_n_epoch": (_INT, True, 1),
    "trainer.log_every_n_steps": (_INT, True, 1),
    "trainer.accumulate_grad_batches": (_INT, False, 1),
    "trainer.num_sanity_val_steps": (_INT, True, -1),
    "trainer.gradient_clip_val": (_FLOAT, True, 0),
    "data.batch_size": (_INT, False, 1),
    "data.val_batch_size": (_INT, True, 1),
    "data.num_workers": (_INT, False, 0),
    "optim.lr": (_FLOAT, False, 0),
    "optim.weight_decay": (_FLOAT, True, 0),
    "scheduler.warmup_iters": (_INT, True, 0),
    "scheduler.warmup_ratio": (_FLOAT, True, 0),
}


class ConfigValueError(ValueError):
    """A configuration value of the wrong type or range (one line: key, value, what is expected)."""


def _value_ok(value: Any, expected: str) -> bool:
    if isinstance(value, bool):
        return False
    if expected == _INT:
        return isinstance(value, int)
    return isinstance(value, (int, float))


def check_run_config(cfg: DictConfig) -> None:
    """Raise :class:`ConfigValueError` for the first of :data:`TYPED_KEYS` whose value has the wrong type/range."""
    for key, (expected, nullable, minimum) in TYPED_KEYS.items():
        try:
            value = OmegaConf.select(cfg, key, default="__absent__", throw_on_missing=False)
        except Exception as err:  # noqa: BLE001 - an interpolation that does not resolve is reported by its user
            raise ConfigValueError(f"{key}: {err}") from None
        if value == "__absent__" or (value is None and nullable):
            continue
        if not _value_ok(value, expected):
            raise ConfigValueError(f"{key}={value!r}: expected {expected}, e.g. {key}={_example(key, expected)}")
        if minimum is not None and value < minimum:
            raise ConfigValueError(f"{key}={value!r}: must be >= {minimum:g}")


def _example(key: str, expected: str) -> str:
    return {"optim.lr": "0.001", "trainer.max_epochs": "210"}.get(key, "1" if expected == _INT else "0.5")


def metric_names(evaluator: Any) -> list[str] | None:
    """The result names ``evaluator.compute()`` will return, when they are known before any data is seen."""
    names = getattr(evaluator, "metric_names", None)
    if names is not None:
        return list(names() if callable(names) else names)
    from posekit.evaluation import CocoMetric
    from posekit.evaluation.cocoeval import KEYPOINT_STATS_NAMES

    if isinstance(evaluator, CocoMetric):
        prefix = getattr(evaluator, "prefix", None)
        return [f"{prefix}/{n}" if prefix else n for n in KEYPOINT_STATS_NAMES]
    return None


def check_monitor(monitor: str | None, evaluators: Sequence[Any]) -> None:
    """``monitor`` must be one of the evaluators' result names (when those are known), else one line listing them."""
    if not monitor or not evaluators:
        return
    known: list[str] = []
    for ev in evaluators:
        names = metric_names(ev)
        if names is None:
            return  # an evaluator whose names are only known after evaluating: cannot check here
        known += names
    if monitor not in known:
        raise ConfigValueError(
            f"monitor={monitor!r} is not a metric of this data's evaluators; choose one of {known} "
            "(e.g. monitor='coco/AP')"
        )
