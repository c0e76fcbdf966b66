"""``init_model`` and ``inference_topdown``: MMPose's two inference calls, on posekit models.

Example::

    from posekit.apis import init_model, inference_topdown

    model = init_model("outputs/train/runs/X/checkpoints/last.ckpt", device="cpu")
    people = inference_topdown(model, "image.jpg", bboxes=[[50, 20, 210, 380]])   # xyxy boxes, or None
    people[0]["keypoints"]          # (K, 2) image pixels
    people[0]["keypoint_scores"]    # (K,)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

__all__ = [
    "PoseDataSample",
    "build_test_pipeline",
    "inference_topdown",
    "init_model",
    "load_image",
    "merge_data_samples",
    "model_input_size",
    "predict_samples",
    "prepare_samples",
]

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

    from posekit import conf_dir

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
    root = OmegaConf.create({"num_keypoints": int(num_keypoints or 17)})
    defaults = node.pop("defaults", None)
    for entry in defaults or []:
        if not isinstance(entry, Mapping):
            continue
        for group, name in entry.items():
            grp, _, pkg = str(group).partition("@")
            if grp.lstrip("/") != "codec":
                raise ValueError(f"{path}: unsupported defaults entry {group}: {name} (only the codec is resolved)")
            target = pkg.removeprefix("_global_.") if pkg else "codec"
            root[target] = OmegaConf.load(conf_dir() / "codec" / f"{name}.yaml")
    root.model = node
    return root


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
    device: str | torch.device = "cpu",
    checkpoint: str | os.PathLike | None = None,
    metainfo: str | Mapping[str, Any] | None = None,
    use_ema: bool = True,
    trust_checkpoint: bool = False,
) -> nn.Module:
    """Build a :class:`~posekit.models.TopdownPoseEstimator` ready for inference (eval mode, on ``device``).

    Args:
        config_or_ckpt: one of

            * a posekit checkpoint (``.ckpt`` written by ``posekit-train``): the model config is stored inside
              (``posekit_cfg``) and the weights are loaded (the EMA weights when EMA was used);
            * a packaged model config name (``'tiny'``, ``'hrnet_w32'`` ...; see
              :func:`posekit.models.list_models`);
            * a YAML file: a model config (``conf/model/*.yaml`` style) or a run's resolved config
              (``.hydra/config.yaml``).
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'`` ...
        checkpoint: weights for a config (a posekit ``.ckpt``, or a plain / MMPose-converted ``state_dict``);
            without it a config gives randomly initialised weights.
        metainfo: dataset metainfo (name, YAML path or dict); default: the checkpoint's ``data.metainfo``,
            else ``'coco'``.
        use_ema: with a posekit checkpoint trained with EMA, ``False`` loads the raw (non-averaged) weights.
        trust_checkpoint: unpickle checkpoints without restrictions (may run code they name; only for files you
            trust). By default tensors load and anything else becomes an inert stand-in.

    Returns:
        The estimator, with ``model.cfg`` (the configuration it was built from, a plain dict) and
        ``model.dataset_meta`` (the parsed metainfo) attached.
    """
    from posekit.datasets import load_metainfo
    from posekit.models import build_model, build_model_from_cfg, list_models

    spec = os.fspath(config_or_ckpt)
    path = Path(spec).expanduser()
    cfg: dict[str, Any]
    if path.suffix.lower() in _CKPT_SUFFIXES:
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
                "with scripts/convert_mmpose_checkpoint.py)"
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
        if path.suffix.lower() in (".yaml", ".yml"):
            if not path.is_file():
                raise FileNotFoundError(f"init_model: config file {spec!r} does not exist")
            root = _model_node_from_yaml(path, meta_k)
            cfg = _resolved_subset(root, path)
            model = build_model_from_cfg({"model": cfg["model"]})
        elif spec in list_models():
            model = build_model(spec, num_keypoints=meta_k or 17)
            cfg = {"model_name": spec, "num_keypoints": meta_k or 17}
        else:
            raise ValueError(
                f"init_model: {spec!r} is neither a checkpoint file ({', '.join(_CKPT_SUFFIXES)}), a YAML config nor "
                f"a packaged model config ({', '.join(list_models())})"
            )
        if checkpoint is not None:
            from posekit.models.utils import get_state_dict, load_checkpoint_file

            ck_path = Path(checkpoint).expanduser()
            if not ck_path.is_file():
                raise FileNotFoundError(f"init_model: checkpoint {os.fspath(checkpoint)!r} does not exist")
            raw = load_checkpoint_file(ck_path, trust_checkpoint=trust_checkpoint)
            if isinstance(raw, Mapping) and "posekit_cfg" in raw and metainfo is None:
                stored_meta = (raw["posekit_cfg"].get("data") or {}).get("metainfo")
                if stored_meta is not None:
                    cfg.setdefault("data", {})["metainfo"] = stored_meta
            state = raw.get("state_dict") if isinstance(raw, Mapping) and "posekit_cfg" in raw else None
            _load_weights(model, state if state is not None else get_state_dict(raw, str(ck_path)), str(ck_path))

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


def _num_model_keypoints(model: nn.Module) -> int | None:
    head = getattr(model, "head", None)
    for attr in ("out_channels", "num_keypoints"):
        value = getattr(head, attr, None)
        if isinstance(value, int):
            return value
    return None


# ---------------------------------------------------------------------------------------------------- pipeline
def model_input_size(model: nn.Module) -> tuple[int, int]:
    """The model's input size (w, h), from its head's codec (``head.decoder.input_size``) or stored config."""
    decoder = getattr(getattr(model, "head", None), "decoder", None)
    size = getattr(decoder, "input_size", None)
    if size is None:
        size = ((getattr(model, "cfg", None) or {}).get("codec") or {}).get("input_size")
    if size is None:
        raise ValueError(
            "the model has no codec input size (head.decoder.input_size); give its head a `decoder` (codec) config"
        )
    return int(size[0]), int(size[1])


def build_test_pipeline(model: nn.Module):
    """The test pipeline for ``model``: its stored ``data.test``/``data.val`` pipeline when built from a
    checkpoint (without target generation), else MMPose's top-down test pipeline at the codec's input size
    (``LoadImage -> GetBBoxCenterScale(padding=1.25) -> TopdownAffine(input_size, use_udp for UDP codecs)
    -> PackPoseInputs``). Cached on the model as ``model.test_pipeline``."""
    from posekit.datasets.transforms import (
        Compose,
        GetBBoxCenterScale,
        LoadImage,
        PackPoseInputs,
        TopdownAffine,
    )

    cached = getattr(model, "test_pipeline", None)
    if cached is not None:
        return cached
    cfg = getattr(model, "cfg", None) or {}
    data = cfg.get("data") or {}
    stored = None
    for split in ("test", "val"):
        node = data.get(split)
        if isinstance(node, Mapping) and node.get("pipeline"):
            stored = node["pipeline"]
            break
    if stored is not None:
        keep = [t for t in stored if not str(t.get("_target_", t.get("type", ""))).endswith("GenerateTarget")]
        pipeline = Compose(keep)
    else:
        from posekit.codecs import UDPHeatmap

        decoder = getattr(getattr(model, "head", None), "decoder", None)
        pipeline = Compose(
            [
                LoadImage(),
                GetBBoxCenterScale(padding=1.25),
                TopdownAffine(input_size=model_input_size(model), use_udp=isinstance(decoder, UDPHeatmap)),
                PackPoseInputs(),
            ]
        )
    model.test_pipeline = pipeline
    return pipeline


def load_image(img: str | os.PathLike | np.ndarray) -> tuple[np.ndarray, str | None]:
    """A path (read with OpenCV, BGR) or an (H, W, 3) BGR array -> ``(image, path or None)``."""
    if isinstance(img, np.ndarray):
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        if img.ndim != 3 or img.shape[2] not in (3, 4):
            raise ValueError(f"expected an (H, W, 3) BGR image, got an array of shape {img.shape}")
        if img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
        return img, None
    path = os.fspath(img)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image file not found: {path}")
    arr = cv2.imread(path, cv2.IMREAD_COLOR)
    if arr is None:
        raise ValueError(f"{path} does not decode as an image (corrupt or unsupported format)")
    return arr, path


def _as_boxes(bboxes: Any, bbox_format: str, who: str) -> np.ndarray:
    from posekit.structures import bbox_xywh2xyxy

    if bbox_format not in ("xyxy", "xywh"):
        raise ValueError(f"{who}: bbox_format must be 'xyxy' or 'xywh', got {bbox_format!r}")
    arr = np.asarray(bboxes, dtype=np.float32)
    if arr.size == 0:
        return np.zeros((0, 4), np.float32)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] < 4:
        raise ValueError(f"{who}: bboxes must be (N, 4) [{bbox_format}], got shape {arr.shape}")
    arr = arr[:, :4]
    return bbox_xywh2xyxy(arr) if bbox_format == "xywh" else arr.copy()


def prepare_samples(
    model: nn.Module,
    img: np.ndarray,
    bboxes: np.ndarray,
    bbox_scores: np.ndarray | None = None,
    img_path: str | None = None,
    img_id: Any = None,
) -> list:
    """One :class:`~posekit.structures.PoseSample` per xyxy box of ``img`` through :func:`build_test_pipeline`."""
    pipeline = build_test_pipeline(model)
    meta = getattr(model, "dataset_meta", None) or {}
    extra = {
        k: meta[k]
        for k in ("dataset_name", "flip_indices", "flip_pairs", "upper_body_ids", "lower_body_ids")
        if k in meta
    }
    scores = np.ones(len(bboxes), np.float32) if bbox_scores is None else np.asarray(bbox_scores, np.float32)
    samples = []
    for i, box in enumerate(bboxes):
        info = {
            "img": img,
            "img_path": img_path,
            "img_id": img_id,
            "id": i,
            "bbox": np.asarray(box, np.float32).reshape(1, 4),
            "bbox_score": scores[i : i + 1].copy(),
            **extra,
        }
        sample = pipeline(info)
        if sample is None:
            raise RuntimeError(f"the test pipeline dropped box {i} of {img_path or 'the image'}")
        samples.append(sample)
    return samples


def predict_samples(model: nn.Module, samples: Sequence, output_heatmaps: bool = False) -> dict[str, np.ndarray]:
    """One batched forward of ``samples`` (flip test per ``model.test_cfg``).

    Returns numpy ``keypoints`` (B, K, 2) in image pixels, ``keypoint_scores`` (B, K), ``input_center`` (B, 2),
    ``input_scale`` (B, 2), and with ``output_heatmaps`` the crop-space ``heatmaps`` (B, K, h, w) when the head
    produces them.
    """
    from posekit.structures import collate_pose_samples

    if len(samples) == 0:
        return {}
    batch = collate_pose_samples(list(samples))
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    batch = batch.to(device)
    saved = getattr(model, "test_cfg", None)
    if output_heatmaps:
        model.test_cfg = {**(saved or {}), "output_heatmaps": True}
    try:
        with torch.inference_mode():
            inputs = model.data_preprocessor(batch.inputs)
            preds = model.predict(inputs, batch)
    finally:
        if output_heatmaps:
            model.test_cfg = saved
    out = {
        "keypoints": preds["keypoints"][:, 0].float().cpu().numpy(),
        "keypoint_scores": preds["keypoint_scores"][:, 0].float().cpu().numpy(),
        "input_center": batch.centers.cpu().numpy(),
        "input_scale": batch.scales.cpu().numpy(),
        "bbox": np.stack([np.asarray(m["bbox"], np.float32).reshape(4) for m in batch.metas]),
        "bbox_score": np.asarray(
            [float(np.asarray(m.get("bbox_score", 1.0)).reshape(-1)[0]) for m in batch.metas], np.float32
        ),
    }
    if output_heatmaps and "heatmaps" in preds:
        out["heatmaps"] = preds["heatmaps"].float().cpu().numpy()
    return out


def _split_predictions(preds: Mapping[str, np.ndarray], with_heatmaps: bool) -> list[dict[str, Any]]:
    results = []
    for i in range(len(preds.get("keypoints", ()))):
        res = {
            "keypoints": preds["keypoints"][i],
            "keypoint_scores": preds["keypoint_scores"][i],
            "bbox": preds["bbox"][i],
            "bbox_score": float(preds["bbox_score"][i]),
        }
        if with_heatmaps:
            res["input_center"] = preds["input_center"][i]
            res["input_scale"] = preds["input_scale"][i]
            if "heatmaps" in preds:
                res["heatmaps"] = preds["heatmaps"][i]
        results.append(res)
    return results


# ------------------------------------------------------------------------------------------ MMPose-like results
@dataclass
class PoseDataSample:
    """MMPose-shaped result: ``pred_instances`` holds ``keypoints`` (N, K, 2), ``keypoint_scores`` (N, K),
    ``bboxes`` (N, 4) xyxy and ``bbox_scores`` (N,) as numpy arrays; ``pred_fields`` may hold ``heatmaps``;
    ``metainfo`` holds ``img_path``, ``ori_shape``, ``input_center``, ``input_scale``."""

    pred_instances: dict[str, np.ndarray] = field(default_factory=dict)
    pred_fields: dict[str, np.ndarray] = field(default_factory=dict)
    metainfo: dict[str, Any] = field(default_factory=dict)

    @property
    def keypoints(self) -> np.ndarray:
        return self.pred_instances["keypoints"]

    @property
    def keypoint_scores(self) -> np.ndarray:
        return self.pred_instances["keypoint_scores"]


def merge_data_samples(samples: Sequence[PoseDataSample]) -> PoseDataSample:
    """Merge per-box samples of one image into one (MMPose's ``merge_data_samples``): instances concatenated;
    crop-space heatmaps warped back into the image and merged with a per-pixel maximum."""
    from posekit.visualization import revert_heatmap

    if not samples:
        raise ValueError("merge_data_samples: nothing to merge")
    keys = samples[0].pred_instances.keys()
    merged = PoseDataSample(
        pred_instances={k: np.concatenate([s.pred_instances[k] for s in samples]) for k in keys},
        metainfo={k: v for k, v in samples[0].metainfo.items() if k not in ("input_center", "input_scale")},
    )
    if all("heatmaps" in s.pred_fields for s in samples):
        shape = samples[0].metainfo["ori_shape"]
        reverted = [
            revert_heatmap(s.pred_fields["heatmaps"], s.metainfo["input_center"], s.metainfo["input_scale"], shape)
            for s in samples
        ]
        merged.pred_fields["heatmaps"] = np.max(np.stack(reverted), axis=0)
    return merged


# ---------------------------------------------------------------------------------------------------- inference
def inference_topdown(
    model: nn.Module,
    img: str | os.PathLike | np.ndarray,
    bboxes: Any = None,
    bbox_format: str = "xyxy",
    bbox_scores: Any = None,
    return_heatmaps: bool = False,
    return_datasamples: bool = False,
) -> list:
    """Top-down pose estimation of the people in ``bboxes`` (MMPose's ``inference_topdown``).

    All boxes go through the test pipeline and ONE batched forward (flip test as in ``model.test_cfg``).

    Args:
        model: from :func:`init_model` (any :class:`~posekit.models.TopdownPoseEstimator` with a codec works).
        img: an image path or an (H, W, 3) BGR array.
        bboxes: (N, 4) boxes; ``None`` or empty: the whole image is one box (as MMPose).
        bbox_format: ``'xyxy'`` (default) or ``'xywh'``.
        bbox_scores: (N,) detection scores copied into the results (default 1).
        return_heatmaps: also return each person's crop-space ``heatmaps`` (K, h, w) with ``input_center`` /
            ``input_scale`` (see :func:`posekit.visualization.revert_heatmap`), for heatmap heads.
        return_datasamples: return MMPose-shaped :class:`PoseDataSample` s (one per box, N=1; combine them with
            :func:`merge_data_samples`) instead of dicts.

    Returns:
        One dict per box: ``keypoints`` (K, 2) float32 in image pixels, ``keypoint_scores`` (K,), ``bbox`` (4,)
        xyxy, ``bbox_score`` (float).
    """
    image, path = load_image(img)
    h, w = image.shape[:2]
    boxes = None if bboxes is None else _as_boxes(bboxes, bbox_format, "inference_topdown")
    if boxes is None or len(boxes) == 0:
        boxes = np.array([[0, 0, w, h]], dtype=np.float32)
        bbox_scores = None
    if bbox_scores is not None and len(np.asarray(bbox_scores).reshape(-1)) != len(boxes):
        raise ValueError(f"inference_topdown: {len(boxes)} boxes but {np.size(bbox_scores)} bbox_scores")
    samples = prepare_samples(model, image, boxes, bbox_scores, img_path=path)
    preds = predict_samples(model, samples, output_heatmaps=return_heatmaps)
    results = _split_predictions(preds, with_heatmaps=return_heatmaps)
    if not return_datasamples:
        return results
    out = []
    for r in results:
        ds = PoseDataSample(
            pred_instances={
                "keypoints": r["keypoints"][None],
                "keypoint_scores": r["keypoint_scores"][None],
                "bboxes": np.asarray(r["bbox"], np.float32)[None],
                "bbox_scores": np.asarray([r["bbox_score"]], np.float32),
            },
            metainfo={"img_path": path, "ori_shape": (h, w)},
        )
        if return_heatmaps:
            ds.metainfo.update(input_center=r["input_center"], input_scale=r["input_scale"])
            if "heatmaps" in r:
                ds.pred_fields["heatmaps"] = r["heatmaps"]
        out.append(ds)
    return out
