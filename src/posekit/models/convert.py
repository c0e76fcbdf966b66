"""Convert MMPose top-down checkpoints into posekit checkpoints.

An MMPose 1.x model-zoo file is ``{'meta': ..., 'state_dict': {'backbone.*', 'neck.*', 'head.*'}}``; posekit's
models have MMPose's state-dict layout, so converting is mostly bookkeeping:

1. read the file (mmengine's pickled metadata is tolerated) and take its ``state_dict``; drop a ``module.``
   (DataParallel) prefix and the ``data_preprocessor.*`` buffers; pick the EMA or the raw weights
   (see ``use_ema`` below);
2. rename what MMPose itself renames when it loads a pre-1.0 checkpoint: ``keypoint_head.*`` -> ``head.*``,
   a heatmap head's ``final_layer.{n}.*`` -> ``conv_layers.{n}.*`` / ``final_layer.*``, a regression head's
   ``loss.*`` -> ``loss_module.*``;
3. let submodules with ``prepare_state_dict(state_dict, prefix)`` adapt their entries (ViT resizes ``pos_embed``);
4. match every entry against the posekit model built from a packaged config (``conf/model/<name>.yaml``) by name
   and shape; with ``strict=True`` any missing, unexpected or mis-shaped entry is an error that lists them;
5. return (and optionally write, atomically) a Lightning-style checkpoint that ``posekit-eval ckpt=...`` and
   :func:`posekit.apis.init_model` read: ``state_dict`` with ``model.`` keys and ``posekit_cfg``, the full resolved
   run configuration (``conf/train.yaml`` + ``model=<name>`` + ``data=<name>``).

EMA: mmengine's ``EMAHook`` saves the averaged weights in ``state_dict`` and the raw (non-averaged) ones in
``ema_state_dict`` (under ``module.``); mmcv's (MMPose 0.x) ``EMAHook`` keeps the raw ones as ``ema_<key with
_ for .>`` buffers next to them. ``use_ema=True`` (default) converts ``state_dict``'s weights as MMPose evaluates
them; ``use_ema=False`` takes the raw weights from those extra entries. MMPose's published files have the extra
entries stripped (``tools/misc/publish_model.py``) and hold the EMA weights.
"""

from __future__ import annotations

import logging
import os
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from posekit.config import NEUTRAL_OUTPUT_DIR, RUN_INFO_KEY, compose_run_config, match_experiment, run_config_overrides
from posekit.models.utils.checkpoint import load_checkpoint_file, prepare_state_dict

__all__ = [
    "model_for_checkpoint",
    "CheckpointMismatchError",
    "ConversionReport",
    "compose_run_config",
    "convert_mmpose_checkpoint",
    "convert_mmpose_state_dict",
    "extract_mmpose_state_dict",
    "match_experiment",
]

logger = logging.getLogger(__name__)

# how many keys of each kind an error message lists
MAX_LISTED = 20

# mmcv's EMAHook registers one top-level buffer per parameter: `ema_` + the parameter name with `.` -> `_`
_LEGACY_EMA_RE = re.compile(r"^ema_[^.]+$")


class CheckpointMismatchError(ValueError):
    """The checkpoint's entries do not match the posekit model (missing / unexpected / mis-shaped keys)."""


@dataclass
class ConversionReport:
    """What a conversion did. Key lists use posekit's (= MMPose 1.x's) model keys, without ``model.``."""

    mapped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)  # "key: checkpoint (a, b) vs model (c, d)"
    renamed: dict[str, str] = field(default_factory=dict)  # old MMPose name -> new name
    dropped: list[str] = field(default_factory=list)  # data_preprocessor buffers, EMA extras
    ema: str = "none"  # 'mmengine' | 'mmcv' | 'none': which EMA layout the source had
    use_ema: bool = True

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self, source: str = "checkpoint", target: str = "model") -> str:
        """A readable account of the entries that do not match (empty when everything matches)."""

        def listing(title: str, items: list[str]) -> str:
            shown = items[:MAX_LISTED]
            more = f"\n    ... and {len(items) - len(shown)} more" if len(items) > len(shown) else ""
            return f"  {title} ({len(items)}):\n" + "\n".join(f"    {k}" for k in shown) + more

        parts = []
        if self.missing:
            parts.append(listing(f"missing in {source}: entries the model has and the checkpoint lacks", self.missing))
        if self.unexpected:
            parts.append(listing(f"unexpected in {source}: entries the model has no place for", self.unexpected))
        if self.mismatched:
            parts.append(listing("shape mismatch", self.mismatched))
        if not parts:
            return ""
        text = f"{source} does not match {target} ({len(self.mapped)} entries match):\n" + "\n".join(parts)
        if any(m.startswith("head.") for m in self.mismatched):
            text += (
                "\n  (a mismatched head usually means another number of keypoints or another input size: pick the "
                "model / data config the checkpoint was trained with, or convert with strict=False to keep the "
                "model's freshly initialised head)"
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "mapped": len(self.mapped),
            "missing": list(self.missing),
            "unexpected": list(self.unexpected),
            "mismatched": list(self.mismatched),
            "renamed": dict(self.renamed),
            "dropped": list(self.dropped),
            "ema": self.ema,
            "use_ema": self.use_ema,
        }


# ------------------------------------------------------------------------------------------------------------------
# reading MMPose checkpoints
# ------------------------------------------------------------------------------------------------------------------


def _tensors(mapping: Mapping[str, Any]) -> OrderedDict[str, torch.Tensor]:
    return OrderedDict((str(k), v) for k, v in mapping.items() if isinstance(v, torch.Tensor))


def _strip_prefix(state: OrderedDict[str, torch.Tensor], prefix: str) -> OrderedDict[str, torch.Tensor]:
    if state and all(k.startswith(prefix) for k in state):
        return OrderedDict((k[len(prefix) :], v) for k, v in state.items())
    return state


def extract_mmpose_state_dict(
    checkpoint: Mapping[str, Any], use_ema: bool = True, report: ConversionReport | None = None
) -> OrderedDict[str, torch.Tensor]:
    """The model weights of a loaded MMPose checkpoint, with MMPose 1.x key names.

    ``checkpoint`` is what ``torch.load`` returned: ``{'state_dict': ...}`` (MMPose/mmengine, Lightning), ``{'model':
    ...}``, or a bare state_dict. Drops ``module.`` prefixes, ``data_preprocessor.*`` entries and the EMA extras
    (choosing EMA or raw weights by ``use_ema``, see the module docstring) and applies MMPose's pre-1.0 renames that
    do not depend on the model (``keypoint_head.`` -> ``head.``). ``report`` (optional) records what was done.
    """
    report = report if report is not None else ConversionReport()
    report.use_ema = use_ema
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f"expected a checkpoint dict or a state_dict, got {type(checkpoint).__name__}")
    if isinstance(checkpoint.get("state_dict"), Mapping):
        raw = checkpoint["state_dict"]
    elif isinstance(checkpoint.get("model"), Mapping):
        raw = checkpoint["model"]
    else:
        raw = checkpoint
    state = _strip_prefix(_tensors(raw), "module.")
    if not state:
        raise ValueError(f"no tensors found in the checkpoint (top-level keys: {list(checkpoint)[:10]})")

    # EMA: mmengine layout (`ema_state_dict` next to `state_dict`, raw weights under `module.`)
    ema_sd = checkpoint.get("ema_state_dict") if isinstance(checkpoint, Mapping) else None
    if isinstance(ema_sd, Mapping):
        report.ema = "mmengine"
        if not use_ema:
            raw_weights = {k[len("module.") :]: v for k, v in ema_sd.items() if str(k).startswith("module.")}
            raw_weights = {k: v for k, v in raw_weights.items() if isinstance(v, torch.Tensor)}
            absent = [k for k in state if k not in raw_weights and not k.startswith("data_preprocessor.")]
            if absent:
                raise ValueError(
                    f"use_ema=False: ema_state_dict holds no raw weights for {len(absent)} entries "
                    f"(e.g. {absent[:5]}); convert with use_ema=True"
                )
            state = OrderedDict((k, raw_weights.get(k, v)) for k, v in state.items())

    # EMA: mmcv layout (`ema_<name with _>` buffers inside the state_dict)
    legacy = [k for k in state if _LEGACY_EMA_RE.match(k)]
    if legacy:
        report.ema = "mmcv"
        legacy_set = set(legacy)
        model_keys = [k for k in state if k not in legacy_set]
        if not use_ema:
            lookup = {"ema_" + k.replace(".", "_"): k for k in model_keys}
            found = {lookup[k]: state[k] for k in legacy if k in lookup}
            if not found:
                raise ValueError("use_ema=False: the checkpoint's ema_* entries match none of its weights")
            for k, v in found.items():
                state[k] = v
        for k in legacy:
            state.pop(k)
        report.dropped.extend(legacy)

    if not use_ema and report.ema == "none":
        logger.warning("use_ema=False: the checkpoint has no EMA extras; converting its only weights")

    for k in [k for k in state if k.startswith("data_preprocessor.")]:
        state.pop(k)
        report.dropped.append(k)

    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for k, v in state.items():
        if k.startswith("keypoint_head."):  # MMPose 0.x TopDown -> 1.x TopdownPoseEstimator
            new = "head." + k[len("keypoint_head.") :]
            report.renamed[k] = new
            k = new
        out[k] = v
    return out


def _legacy_head_renames(
    state: OrderedDict[str, torch.Tensor], target_keys: set[str], report: ConversionReport
) -> OrderedDict[str, torch.Tensor]:
    """MMPose's pre-1.0 head renames that depend on the model (its ``_load_state_dict_pre_hook`` s):

    * ``head.final_layer.{n}.{p}`` (0.x ``TopdownHeatmapSimpleHead`` kept intermediate convs in ``final_layer``)
      -> ``head.conv_layers.{n}.{p}`` when the model has it, else ``head.final_layer.{p}``;
    * ``head.loss.*`` -> ``head.loss_module.*`` (RLE's flow model).
    """
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for k, v in state.items():
        new = k
        if k not in target_keys:
            parts = k.split(".")
            if len(parts) == 4 and parts[:2] == ["head", "final_layer"] and parts[2].isdigit():
                as_conv = f"head.conv_layers.{parts[2]}.{parts[3]}"
                new = as_conv if as_conv in target_keys else f"head.final_layer.{parts[3]}"
            elif k.startswith("head.loss."):
                new = "head.loss_module." + k[len("head.loss.") :]
        if new != k and new in target_keys and new not in state:
            first = next((old for old, n in report.renamed.items() if n == k), k)
            report.renamed.pop(first, None)
            report.renamed[first] = new
            out[new] = v
        else:
            out[k] = v
    return out


def convert_mmpose_state_dict(
    state_dict: Mapping[str, torch.Tensor], model: nn.Module, report: ConversionReport | None = None
) -> tuple[OrderedDict[str, torch.Tensor], ConversionReport]:
    """Match an MMPose state_dict (already through :func:`extract_mmpose_state_dict`) against ``model``.

    Returns ``(converted, report)``: ``converted`` has exactly ``model.state_dict()``'s keys, in its order, holding
    the checkpoint's tensor wherever name and shape match and the model's own value elsewhere (listed in
    ``report.missing`` / ``report.mismatched``). Nothing is loaded into ``model``.
    """
    report = report if report is not None else ConversionReport()
    own = model.state_dict()
    state = _legacy_head_renames(OrderedDict(state_dict), set(own), report)
    state = prepare_state_dict(model, state)  # e.g. ViT: pos_embed of another token grid -> resized
    report.mapped, report.missing, report.unexpected, report.mismatched = [], [], [], []
    converted: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, value in own.items():
        if key not in state:
            report.missing.append(key)
            converted[key] = value
            continue
        src = state[key]
        if tuple(src.shape) != tuple(value.shape):
            report.mismatched.append(f"{key}: checkpoint {tuple(src.shape)} vs model {tuple(value.shape)}")
            converted[key] = value
            continue
        converted[key] = src.to(dtype=value.dtype) if src.dtype != value.dtype else src
        report.mapped.append(key)
    report.unexpected = [k for k in state if k not in own]
    return converted, report


# ------------------------------------------------------------------------------------------------------------------
# the stored run configuration
# ------------------------------------------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------------------------------------
# the whole conversion
# ------------------------------------------------------------------------------------------------------------------


def _read_checkpoint(
    src: str | os.PathLike | Mapping[str, Any], trust_checkpoint: bool = False
) -> tuple[Mapping[str, Any], str]:
    if isinstance(src, Mapping):
        return src, "the given state_dict"
    # never runs code from the file: mmengine objects in `meta` become inert stand-ins (posekit.utils.checkpoint_io)
    return load_checkpoint_file(src, map_location="cpu", trust_checkpoint=trust_checkpoint), os.fspath(src)


def _run_config(
    model_name_or_cfg: Any,
    data: str,
    num_keypoints: int | None,
    experiment: str | None,
    data_dir: str | os.PathLike | None,
    overrides: Sequence[str],
) -> tuple[dict[str, Any], str]:
    from omegaconf import DictConfig, OmegaConf

    if isinstance(model_name_or_cfg, str) and not model_name_or_cfg.endswith((".yaml", ".yml")):
        cfg = compose_run_config(model_name_or_cfg, data, num_keypoints, experiment, data_dir, overrides)
        return cfg, model_name_or_cfg
    if isinstance(model_name_or_cfg, (str, os.PathLike)):
        node = OmegaConf.load(model_name_or_cfg)
        name = Path(model_name_or_cfg).name
    elif isinstance(model_name_or_cfg, (Mapping, DictConfig)):
        node = OmegaConf.create(model_name_or_cfg)
        name = "the given config"
    else:
        raise TypeError(
            f"model_name_or_cfg: expected a model config name, a YAML path or a mapping, got "
            f"{type(model_name_or_cfg).__name__}"
        )
    if "model" not in node or "_target_" not in node.model:
        raise ValueError(
            f"{name}: expected a run configuration with a `model` node (a stored posekit_cfg, a run's "
            ".hydra/config.yaml); for a packaged model pass its name"
        )
    paths = node.get("paths")
    if paths is not None and "output_dir" in paths:
        raw = OmegaConf.to_container(paths, resolve=False).get("output_dir")
        if isinstance(raw, str) and "${hydra:" in raw:
            node.paths.output_dir = NEUTRAL_OUTPUT_DIR
    if data_dir is not None:
        OmegaConf.update(node, "paths.data_dir", str(Path(data_dir).expanduser().resolve()), force_add=True)
    if num_keypoints is not None:
        if "num_keypoints" in node and int(node.num_keypoints) != int(num_keypoints):
            raise ValueError(f"num_keypoints={num_keypoints} disagrees with {name} ({node.num_keypoints})")
        node.num_keypoints = int(num_keypoints)
    return OmegaConf.to_container(node, resolve=True), name


def model_for_checkpoint(src: str | os.PathLike) -> str:
    """The posekit model config of an MMPose model-zoo checkpoint, from its file name alone (the registry
    :mod:`posekit.models.zoo` maps the published ``Weights:`` file names, which are not always the config stems)."""
    from posekit.models.zoo import find_stem_for_checkpoint

    stem = find_stem_for_checkpoint(os.fspath(src))
    if stem is None:
        raise ValueError(
            f"{os.fspath(src)}: the file name is not an MMPose 1.3.2 model-zoo checkpoint or config stem; "
            "name the model config (--model <stem or short name>, see posekit.models.list_models())"
        )
    return stem


def convert_mmpose_checkpoint(
    src_path_or_state_dict: str | os.PathLike | Mapping[str, Any],
    model_name_or_cfg: Any = None,
    num_keypoints: int | None = None,
    out_path: str | os.PathLike | None = None,
    strict: bool = True,
    data: str = "coco",
    use_ema: bool = True,
    experiment: str | None = "auto",
    data_dir: str | os.PathLike | None = None,
    overrides: Sequence[str] = (),
    trust_checkpoint: bool = False,
) -> dict[str, Any]:
    """Turn an MMPose checkpoint into a posekit checkpoint for a posekit model config.

    Args:
        src_path_or_state_dict: an MMPose ``.pth`` path, or what ``torch.load`` returned (``{'state_dict': ...}``,
            a bare state_dict).
        model_name_or_cfg: a packaged model config name (``hrnet_w32``, ``rtmpose_m``, an MMPose config stem ...
            see :func:`posekit.models.list_models`), a run-config YAML path or mapping with a ``model`` node;
            ``None`` finds the MMPose config from the checkpoint's file name (:func:`model_for_checkpoint`).
        num_keypoints: optional check: the keypoint count the data config must have.
        out_path: where to write the checkpoint (atomically); ``None`` writes nothing.
        strict: raise :class:`CheckpointMismatchError` listing the missing / unexpected / mis-shaped entries;
            ``False`` logs them, keeps the model's initial values for the unmatched entries and converts the rest.
        data: the data config the stored run configuration uses (``coco``, ``mpii``, ``crowdpose`` ...).
        use_ema: take the EMA weights (MMPose's evaluated ones) when the checkpoint carries both.
        experiment: ``'auto'`` (the packaged experiment for this model + data, if any), a name, or ``None``.
        data_dir: store ``paths.data_dir`` (the folder holding ``coco/`` ...) in the configuration.
        overrides: more Hydra overrides for the stored configuration (``data.val.bbox_file=...``).
        trust_checkpoint: unpickle the source without restrictions (only for files you trust); by default tensors
            and arrays load and mmengine objects become inert stand-ins, nothing in the file is executed.

    Returns:
        the checkpoint: ``state_dict`` (``model.<key>`` -> tensor), ``posekit_cfg`` (resolved run configuration),
        ``pytorch-lightning_version``, ``epoch`` 0, ``global_step`` 0, ``posekit_version`` and
        ``posekit_conversion`` (source, model, counts and the :class:`ConversionReport` as a dict).
    """
    from importlib.metadata import version

    import posekit
    from posekit.models.builder import build_model_from_cfg

    if model_name_or_cfg is None:
        if isinstance(src_path_or_state_dict, Mapping):
            raise ValueError("convert_mmpose_checkpoint: a state_dict has no file name; pass model_name_or_cfg")
        model_name_or_cfg = model_for_checkpoint(src_path_or_state_dict)
    checkpoint, source = _read_checkpoint(src_path_or_state_dict, trust_checkpoint)
    cfg, model_name = _run_config(model_name_or_cfg, data, num_keypoints, experiment, data_dir, overrides)
    run_info = None
    if model_name == model_name_or_cfg:  # composed from packaged configs: posekit-eval re-composes it
        ovr = run_config_overrides(model_name, data, experiment, data_dir, overrides)
        run_info = {"config_name": "train", "overrides": ovr, "searchpath": []}
    model = build_model_from_cfg({"model": cfg["model"], **({"codec": cfg["codec"]} if "codec" in cfg else {})})

    report = ConversionReport()
    state = extract_mmpose_state_dict(checkpoint, use_ema=use_ema, report=report)
    converted, report = convert_mmpose_state_dict(state, model, report)
    text = report.describe(source, f"posekit model {model_name!r}")
    if text:
        if strict:
            raise CheckpointMismatchError(text)
        logger.warning("%s\n(strict=False: unmatched entries keep the model's initial values)", text)
    model.load_state_dict(converted, strict=True)  # proves the result loads; runs the model's own load hooks

    meta = checkpoint.get("meta") if isinstance(checkpoint, Mapping) else None
    ckpt: dict[str, Any] = {
        "state_dict": OrderedDict(("model." + k, v.detach()) for k, v in model.state_dict().items()),
        "posekit_cfg": cfg,
        **({RUN_INFO_KEY: run_info} if run_info is not None else {}),
        "pytorch-lightning_version": version("lightning"),
        "epoch": 0,
        "global_step": 0,
        "posekit_version": posekit.__version__,
        "posekit_conversion": {
            "source": source,
            "model": model_name,
            "data": cfg.get("data", {}).get("name") if isinstance(cfg.get("data"), Mapping) else None,
            "params": sum(p.numel() for p in model.parameters()),
            "tensors": len(converted),
            "mmpose_meta": _plain_meta(meta),
            **report.to_dict(),
        },
    }
    if out_path is not None:
        from posekit.models.utils.checkpoint import atomic_torch_save

        atomic_torch_save(ckpt, out_path)
    return ckpt


def _plain_meta(meta: Any) -> dict[str, Any] | None:
    """The JSON-like part of an MMPose ``meta`` dict (mmengine objects dropped)."""
    if not isinstance(meta, Mapping):
        return None
    out = {}
    for k, v in meta.items():
        if isinstance(v, (str, int, float, bool)) or v is None:
            out[str(k)] = v
    return out or None
