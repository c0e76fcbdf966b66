"""Model loading: :func:`init_model` (a posekit checkpoint, a model config or MMPose stem / alias, with weights
from a path, a URL or the registry) and the config composition it needs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .weights import (
    ALIASES,
    checkpoint_file,
    load_cached_conversion,
    load_mmpose_weights,
    pretrained_url,
    resolve_model_name,
)

__all__ = ["init_model", "load_model_weights"]

_CKPT_SUFFIXES = (".ckpt", ".pth", ".pt", ".bin")


# ---------------------------------------------------------------------------------------------------- model loading
def _plain(cfg: Any) -> Any:
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(cfg, (DictConfig, ListConfig)):
        return OmegaConf.to_container(cfg, resolve=True)
    return cfg


def _strip_model_prefix(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``PoseLitModule`` keys (``model.backbone...``) -> estimator keys; others (``module.``) unchanged."""
    keys = list(state)
    if keys and all(k.startswith("model.") for k in keys):
        return {k[len("model.") :]: v for k, v in state.items()}
    if keys and all(k.startswith("module.") for k in keys):
        return {k[len("module.") :]: v for k, v in state.items()}
    return dict(state)


def _load_weights(model: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    state = _strip_model_prefix(state)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()][:3]
        raise ValueError(
            f"{source}: the weights do not fit the model ({' '.join(lines)[:400]}); pass the model config these "
            "weights were trained with"
        ) from None


def _model_node_from_yaml(path: Path, num_keypoints: int | None) -> Any:
    """A YAML file -> the root config (``model`` + ``codec`` + ``num_keypoints``) to instantiate.

    Accepts a run's resolved config (``.hydra/config.yaml``, a stored ``posekit_cfg``: has ``model``) or a model
    group file like ``conf/model/tiny.yaml`` (``_target_`` at the top, ``defaults: [/codec@_global_.codec: ...]``).
    """
    from omegaconf import DictConfig, OmegaConf

    node = OmegaConf.load(path)
    if not isinstance(node, DictConfig):
        raise ValueError(f"{path}: expected a mapping (a model config with _target_, or a run config with 'model')")
    if "model" in node and "_target_" not in node:
        root = OmegaConf.create({"model": node.model})
        for key in ("codec", "num_keypoints", "data"):
            if key in node:
                root[key] = node[key]
        if num_keypoints is not None:
            root.num_keypoints = int(num_keypoints)
        elif "num_keypoints" not in root:
            root.num_keypoints = 17
        return root
    if "_target_" not in node:
        raise ValueError(f"{path}: no `_target_` and no `model` key; not a posekit model config")
    from posekit.config import compose_model_file

    return compose_model_file(path, int(num_keypoints or 17))


def _resolved_subset(root: Any, path: Path) -> dict[str, Any]:
    """``model``, ``codec``, ``num_keypoints`` and (when they resolve) ``data.metainfo`` / ``data.{test,val}.pipeline``
    of a YAML root config, as plain resolved values."""
    from omegaconf.errors import OmegaConfBaseException

    try:
        cfg: dict[str, Any] = {"model": _plain(root.model), "num_keypoints": int(root.num_keypoints)}
    except OmegaConfBaseException as err:
        raise ValueError(f"{path}: the model config does not resolve: {' '.join(str(err).split())}") from None
    if "codec" in root:
        cfg["codec"] = _plain(root.codec)
    if "data" in root:
        data: dict[str, Any] = {}
        for key, sel in (("metainfo", "metainfo"), ("test", "test.pipeline"), ("val", "val.pipeline")):
            try:
                from omegaconf import OmegaConf

                value = OmegaConf.select(root.data, sel, throw_on_missing=False)
                if value is not None:
                    data[key] = _plain(value) if key == "metainfo" else {"pipeline": _plain(value)}
            except OmegaConfBaseException:  # e.g. ${paths...} that only a running Hydra app resolves
                continue
        cfg["data"] = data
    return cfg


def init_model(
    config_or_ckpt: str | os.PathLike,
    checkpoint: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    pretrained: bool = False,
    metainfo: str | Mapping[str, Any] | None = None,
    use_ema: bool = True,
    trust_checkpoint: bool = False,
    backend: str = "pytorch",
) -> nn.Module:
    """Build a :class:`~posekit.models.TopdownPoseEstimator` ready for inference (eval mode, on ``device``), as
    MMPose's ``init_model(config, checkpoint, device)``.

    Args:
        config_or_ckpt: one of

            * a posekit checkpoint (``.ckpt`` written by ``posekit-train``): the model config is stored inside
              (``posekit_cfg``) and the weights are loaded (the EMA weights when EMA was used);
            * an alias (``'human'`` = RTMPose-m trained on AIC+COCO, ``'rtmpose-t/s/m/l'``, ``'hrnet-w32'``,
              ``'hrnet-w48'``, ``'vitpose-b'``, ``'res50'`` ...; :data:`posekit.apis.weights.ALIASES`), an MMPose
              config stem (``'td-hm_hrnet-w32_8xb64-210e_coco-256x192'``) or a packaged model config name
              (``'tiny'``, ``'hrnet_w32'`` ...; see :func:`posekit.models.list_models`);
            * a YAML file: a model config (``conf/model/*.yaml`` style) or a run's resolved config
              (``.hydra/config.yaml``).
        checkpoint: weights for a config: a local file or an http(s) URL (downloaded once into
            :func:`posekit.hub.weights_dir`, checked against the sha256 prefix in its name); a posekit ``.ckpt``,
            a state_dict, or an MMPose checkpoint (converted on the fly; the conversion of a download is cached).
            Without it (and without ``pretrained``) a config gives randomly initialised weights.
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'`` ...
        pretrained: take the weights MMPose publishes for this alias / stem / packaged config (its URL in
            :mod:`posekit.models.zoo`), when no ``checkpoint`` is given.
        metainfo: dataset metainfo (name, YAML path or dict); default: the checkpoint's ``data.metainfo``,
            else ``'coco'``.
        use_ema: with a posekit checkpoint trained with EMA, ``False`` loads the raw (non-averaged) weights.
        backend: ``'pytorch'`` (default) or ``'onnxruntime'``: ``config_or_ckpt`` is then a ``.onnx`` file written by
            :func:`posekit.apis.export_onnx_end2end` (``posekit-export end2end=true``), run by
            :class:`posekit.apis.onnx_backend.OnnxPoseModel` (a ``.onnx`` path picks this backend by itself).
        trust_checkpoint: unpickle checkpoints without restrictions (may run code they name; only for files you
            trust). By default nothing in a checkpoint is executed (tensors, arrays and plain containers only) and a
            stored config may only name allowlisted ``_target_`` classes.

    Returns:
        The estimator, with ``model.cfg`` (the configuration it was built from, a plain dict) and
        ``model.dataset_meta`` (the parsed metainfo) attached.
    """
    if backend not in ("pytorch", "onnxruntime"):
        raise ValueError(f"init_model: backend={backend!r}; use 'pytorch' or 'onnxruntime'")
    is_onnx = isinstance(config_or_ckpt, (str, os.PathLike)) and os.fspath(config_or_ckpt).endswith(".onnx")
    if backend == "onnxruntime" or is_onnx:
        if not is_onnx:
            raise ValueError(
                f"init_model: backend=onnxruntime takes a .onnx file (posekit-export ... end2end=true), got "
                f"{os.fspath(config_or_ckpt) if isinstance(config_or_ckpt, (str, os.PathLike)) else 'a config'}"
            )
        if checkpoint is not None or pretrained:
            raise ValueError("init_model: a .onnx file holds its own weights; do not pass checkpoint= / pretrained=")
        from .onnx_backend import OnnxPoseModel

        return OnnxPoseModel(config_or_ckpt)

    from posekit.datasets import load_metainfo
    from posekit.models import build_model, build_model_from_cfg, list_models

    composed = None if isinstance(config_or_ckpt, (str, os.PathLike)) else config_or_ckpt  # a composed root config
    spec = "the given config" if composed is not None else os.fspath(config_or_ckpt)
    path = Path(spec).expanduser()
    cfg: dict[str, Any]
    if composed is None and path.suffix.lower() in _CKPT_SUFFIXES:
        if not path.is_file():
            raise FileNotFoundError(f"init_model: checkpoint {spec!r} does not exist")
        if checkpoint is not None:
            raise ValueError(f"init_model: {spec!r} is already a checkpoint; do not pass checkpoint= as well")
        from posekit.utils import check_targets, load_checkpoint_file

        ckpt = load_checkpoint_file(path, map_location="cpu", trust_checkpoint=trust_checkpoint)
        if not isinstance(ckpt, Mapping) or "posekit_cfg" not in ckpt:
            raise ValueError(
                f"init_model: {spec} has no stored posekit configuration (not written by posekit-train); pass the "
                "model config instead: init_model('hrnet_w32', checkpoint='that.pth') (convert MMPose checkpoints "
                "with posekit-convert)"
            )
        cfg = dict(ckpt["posekit_cfg"])
        if "model" not in cfg:
            raise ValueError(f"init_model: the posekit_cfg stored in {spec} has no 'model' entry")
        check_targets({"model": cfg["model"], "codec": cfg.get("codec")}, source=spec)
        model = build_model_from_cfg({"model": cfg["model"], **{k: cfg[k] for k in ("codec",) if k in cfg}})
        state = ckpt.get("state_dict")
        if not use_ema and "current_model_state" in ckpt:
            state = ckpt["current_model_state"]
        if not isinstance(state, Mapping):
            raise ValueError(f"init_model: {spec} has no state_dict")
        _load_weights(model, state, spec)
    else:
        meta_k = load_metainfo(metainfo)["num_keypoints"] if metainfo is not None else None
        if composed is not None:  # e.g. posekit-infer's `model=NAME` (Hydra group) with `model.*` overrides
            from omegaconf import OmegaConf

            root = OmegaConf.create(composed)
            if meta_k is not None:
                root.num_keypoints = meta_k
            cfg = _resolved_subset(root, path)
            model = build_model_from_cfg({"model": cfg["model"]})
        elif path.suffix.lower() in (".yaml", ".yml"):
            if not path.is_file():
                raise FileNotFoundError(f"init_model: config file {spec!r} does not exist")
            root = _model_node_from_yaml(path, meta_k)
            cfg = _resolved_subset(root, path)
            model = build_model_from_cfg({"model": cfg["model"]})
        else:
            name = spec if spec in list_models() else resolve_model_name(spec)  # packaged configs first
            if name not in list_models() and not _is_zoo_stem(name):
                raise ValueError(
                    f"init_model: {spec!r} is neither a checkpoint file ({', '.join(_CKPT_SUFFIXES)}), a YAML config, "
                    f"an alias ({', '.join(sorted(ALIASES))}), an MMPose config stem "
                    "(posekit.models.zoo.list_configs()) "
                    f"nor a packaged model config ({', '.join(list_models())})"
                )
            model = build_model(name, num_keypoints=meta_k or 17)
            cfg = {"model_name": name, "num_keypoints": meta_k or 17}
            if pretrained and checkpoint is None:
                checkpoint = pretrained_url(spec)
        if checkpoint is not None:
            stored_meta = load_model_weights(model, checkpoint, trust_checkpoint=trust_checkpoint)
            if stored_meta is not None and metainfo is None:
                cfg.setdefault("data", {})["metainfo"] = stored_meta

    if metainfo is None:
        metainfo = (cfg.get("data") or {}).get("metainfo") or "coco"
    meta = load_metainfo(metainfo)
    k_model = _num_model_keypoints(model)
    if k_model is not None and k_model != meta["num_keypoints"]:
        raise ValueError(
            f"init_model: the model predicts {k_model} keypoints but metainfo {meta['dataset_name']!r} has "
            f"{meta['num_keypoints']}; pass metainfo= for the model's dataset"
        )
    model.cfg = cfg
    model.dataset_meta = meta
    model.to(torch.device(device))
    model.eval()
    return model


def _is_zoo_stem(name: str) -> bool:
    from posekit.models.zoo import list_configs

    return name in list_configs(coco_topdown=True)


def load_model_weights(model: nn.Module, checkpoint: str | os.PathLike, trust_checkpoint: bool = False) -> Any:
    """Load ``checkpoint`` (a local path or an http(s) URL, downloaded once) into an already built ``model``:
    a posekit checkpoint or a ``model.``-prefixed state_dict as is; anything else as an MMPose checkpoint,
    converted (strictly: every entry must fit; the conversion of a download is cached next to it).

    Returns the ``data.metainfo`` a posekit checkpoint stores (else None). For code that builds its model from a
    composed config (the Hydra CLIs) and then wants the weights :func:`init_model` would load.
    """
    from posekit.models.utils import load_checkpoint_file

    text = os.fspath(checkpoint)
    ck_path = checkpoint_file(text)
    downloaded = text.startswith(("http://", "https://"))
    if downloaded and load_cached_conversion(model, ck_path):
        return None
    raw = load_checkpoint_file(ck_path, trust_checkpoint=trust_checkpoint)
    if not isinstance(raw, Mapping):
        raise ValueError(f"init_model: {ck_path} holds a {type(raw).__name__}, not a checkpoint dict / state_dict")
    if "posekit_cfg" in raw:
        _load_weights(model, raw["state_dict"], str(ck_path))
        return (raw["posekit_cfg"].get("data") or {}).get("metainfo")
    state = raw.get("state_dict", raw)
    keys = [k for k in state if isinstance(k, str)] if isinstance(state, Mapping) else []
    if keys and all(k.startswith("model.") for k in keys):
        _load_weights(model, state, str(ck_path))
        return None
    try:
        load_mmpose_weights(model, raw, ck_path, cache=downloaded)
    except (TypeError, ValueError) as err:
        msg = " ".join(str(err).split())[:600]
        raise ValueError(f"init_model: the weights in {ck_path} do not fit the model: {msg}") from None
    return None


def _num_model_keypoints(model: nn.Module) -> int | None:
    head = getattr(model, "head", None)
    for attr in ("out_channels", "num_keypoints"):
        value = getattr(head, attr, None)
        if isinstance(value, int):
            return value
    return None
