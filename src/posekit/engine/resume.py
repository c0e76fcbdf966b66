"""Which checkpoint ``ckpt_path`` resumes, and whether this run's configuration can continue it.

* ``ckpt_path=last`` picks the newest ``checkpoints/last.ckpt`` under this task's runs *of the same model and data*
  (other runs are passed over), and says which run it resumes.
* A resumed run keeps what the checkpoint holds: weights, optimizer (learning rate, weight decay), parameter groups,
  the epoch length and sample order. An override of those (``optim.lr=0.5``, ``model.*``, ``data.batch_size``,
  ``seed`` ...) cannot apply, so it is refused in one line instead of silently ignored. Settings that do apply
  (``trainer.max_epochs``, the schedule, paths, loggers, workers) may change.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from posekit.utils import load_checkpoint_file

__all__ = [
    "FIXED_ON_RESUME",
    "IDENTITY_KEYS",
    "ResumeError",
    "last_checkpoint_path",
    "resume_checkpoint",
    "resume_conflicts",
]

# what makes "the same run": the model and the data it trains on
IDENTITY_KEYS = ("model", "codec", "num_keypoints", "data.name", "data.metainfo", "data.train.ann_file",
                 "data.synthetic.num_train", "data.synthetic.seed")  # fmt: skip
# restored from the checkpoint, so an override of them cannot take effect
FIXED_ON_RESUME = IDENTITY_KEYS + ("optim", "paramwise_cfg", "auto_scale_lr", "data.batch_size", "seed",
                                   "trainer.accumulate_grad_batches")  # fmt: skip


class ResumeError(ValueError):
    """``ckpt_path`` cannot be resumed with this configuration (one line: the checkpoint, the key, both values)."""


def _select(cfg: Mapping[str, Any], key: str) -> Any:
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _diff(stored: Any, current: Any, key: str) -> str | None:
    """The first differing leaf under ``key`` as ``key=current (the run has stored)``."""
    if isinstance(stored, Mapping) and isinstance(current, Mapping):
        for k in list(dict.fromkeys([*stored, *current])):
            d = _diff(stored.get(k), current.get(k), f"{key}.{k}")
            if d:
                return d
        return None
    if stored != current:
        return f"{key}={_short(current)} (the checkpoint's run has {_short(stored)})"
    return None


def resume_conflicts(stored: Mapping[str, Any], current: Mapping[str, Any], keys=FIXED_ON_RESUME) -> list[str]:
    """``key=value (the checkpoint's run has ...)`` for each of ``keys`` whose resolved values differ."""
    out = []
    for key in keys:
        d = _diff(_select(stored, key), _select(current, key), key)
        if d:
            out.append(d)
    return out


def _stored_cfg(path: Path, trust_checkpoint: bool = False) -> dict[str, Any]:
    ckpt = load_checkpoint_file(path, trust_checkpoint=trust_checkpoint)
    cfg = ckpt.get("posekit_cfg") if isinstance(ckpt, Mapping) else None
    if not isinstance(cfg, Mapping):
        raise ResumeError(f"ckpt_path={path}: not a posekit-train checkpoint (no stored configuration)")
    return {**cfg, "_epoch": ckpt.get("epoch"), "_step": ckpt.get("global_step")}


def _current(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return dict(cfg)


def resume_checkpoint(cfg: DictConfig, trust_checkpoint: bool = False) -> str | None:
    """``cfg.ckpt_path`` (``None`` | a path | ``last``) -> the checkpoint to resume, after checking that this run's
    configuration can continue it; prints which run is resumed. Raises :class:`ResumeError`."""
    spec = cfg.get("ckpt_path")
    if spec in (None, "", "null"):
        return None
    current = _current(cfg)
    if spec != "last":
        path = Path(str(spec)).expanduser()
        if not path.is_file():
            raise ResumeError(f"ckpt_path={spec}: no such checkpoint file")
        stored = _stored_cfg(path, trust_checkpoint)
    else:
        own = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
        task_dir = Path(cfg.paths.log_dir) / str(cfg.task_name)
        found = sorted(task_dir.glob("**/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime, reverse=True)
        candidates = ([own] if own.is_file() else []) + [p for p in found if p != own]
        if not candidates:
            raise ResumeError(
                f"ckpt_path=last: no checkpoints/last.ckpt under {task_dir}; pass ckpt_path=/path/to/last.ckpt"
            )
        path, stored, others = None, {}, []
        for candidate in candidates[:50]:
            try:
                cand_cfg = _stored_cfg(candidate, trust_checkpoint)
            except (ValueError, OSError):
                continue
            diff = resume_conflicts(cand_cfg, current, IDENTITY_KEYS)
            if not diff:
                path, stored = candidate, cand_cfg
                break
            others.append((candidate, diff[0]))
        if path is None:
            newest = f"; the newest there, {others[0][0]}, differs: {others[0][1]}" if others else ""
            raise ResumeError(f"ckpt_path=last: no run of this model and data under {task_dir}{newest}")
    conflicts = resume_conflicts(stored, current)
    if conflicts:
        more = f" [also: {', '.join(c.split('=')[0] for c in conflicts[1:])}]" if len(conflicts) > 1 else ""
        raise ResumeError(
            f"ckpt_path={spec}: cannot apply {conflicts[0]} when resuming {path} (weights, optimizer and data order "
            f"come from the checkpoint); drop the override or start a new run without ckpt_path{more}"
        )
    run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    print(
        f"posekit-train: resuming {path} (run {run_dir}, epoch {stored.get('_epoch')}, step {stored.get('_step')})",
        flush=True,
    )
    return str(path)


def last_checkpoint_path(trainer: Any) -> str | None:
    """The ``last.ckpt`` a :class:`~posekit.engine.callbacks.LastCheckpoint` (or any ``save_last`` ModelCheckpoint)
    of ``trainer`` wrote, if any."""
    for cb in getattr(trainer, "checkpoint_callbacks", []):
        path = getattr(cb, "last_model_path", "") or ""
        if path and Path(path).is_file():
            return path
    return None
