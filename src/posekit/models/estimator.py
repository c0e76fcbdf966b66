"""``TopdownPoseEstimator``: backbone -> (neck) -> head, with MMPose's ``loss`` / ``predict`` / tensor modes.

Lightning usage (``inputs`` are preprocessed floats)::

    inputs = model.data_preprocessor(batch.inputs)
    losses = model.loss(inputs, batch)          # {'loss_kpt': ..., 'acc_pose': ...}
    preds = model.predict(inputs, batch)        # {'keypoints': (B,1,K,2), 'keypoint_scores': (B,1,K)} image space
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from .builder import build_object
from .preprocessor import PoseDataPreprocessor

__all__ = ["TopdownPoseEstimator"]


def _plain(cfg: Any) -> dict:
    """A plain dict from ``None`` / a mapping / a ``DictConfig``."""
    if cfg is None:
        return {}
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(cfg, DictConfig):
            return OmegaConf.to_container(cfg, resolve=True)
    except ImportError:  # pragma: no cover
        pass
    return dict(cfg)


class TopdownPoseEstimator(nn.Module):
    """Top-down pose estimator (MMPose's ``TopdownPoseEstimator``).

    Args:
        backbone: the backbone module, or its config (``_target_`` or MMPose ``type``).
        neck: optional neck (module or config).
        head: the head (module or config); it owns the codec as ``head.decoder``.
        data_preprocessor: a :class:`PoseDataPreprocessor` (module or config); default: float conversion only.
        train_cfg: passed to ``head.loss`` (e.g. ``compute_acc``).
        test_cfg: ``flip_test``, ``flip_mode``, ``shift_heatmap``, ``shift_coords``, ``output_heatmaps``,
            ``output_keypoint_indices``.
        init_cfg: ``{'type': 'Pretrained', 'checkpoint': PATH, 'prefix': ...}`` loaded by :meth:`init_weights`.
        metainfo: dataset metainfo overriding the batch's (its ``flip_indices`` are used by flip test).

    State-dict keys: ``backbone.*``, ``neck.*``, ``head.*`` (MMPose's).
    """

    _version = 2

    def __init__(
        self,
        backbone: Any,
        neck: Any = None,
        head: Any = None,
        data_preprocessor: Any = None,
        train_cfg: Mapping | None = None,
        test_cfg: Mapping | None = None,
        init_cfg: Any = None,
        metainfo: Mapping | None = None,
    ):
        super().__init__()
        preprocessor = build_object(data_preprocessor, what="data_preprocessor")
        self.data_preprocessor = preprocessor if preprocessor is not None else PoseDataPreprocessor()
        self.backbone = build_object(backbone, what="backbone")
        if self.backbone is None:
            raise ValueError("TopdownPoseEstimator needs a backbone")
        if neck is not None:
            self.neck = build_object(neck, what="neck")
        if head is not None:
            self.head = build_object(head, what="head")
        self.train_cfg = _plain(train_cfg)
        self.test_cfg = _plain(test_cfg)
        self.init_cfg = _plain(init_cfg) if init_cfg is not None else None
        self.metainfo = _plain(metainfo) if metainfo is not None else None
        self._register_load_state_dict_pre_hook(self._load_state_dict_pre_hook)

    # ---- properties ------------------------------------------------------------------------------------------
    @property
    def with_neck(self) -> bool:
        return getattr(self, "neck", None) is not None

    @property
    def with_head(self) -> bool:
        return getattr(self, "head", None) is not None

    # ---- weights ---------------------------------------------------------------------------------------------
    def init_weights(self) -> None:
        """Re-initialise the children (their own ``init_weights``, e.g. a backbone's Pretrained ``init_cfg``),
        then load ``init_cfg`` ``{'type': 'Pretrained', 'checkpoint': local path, 'prefix': optional}``."""
        for child in (getattr(self, n, None) for n in ("backbone", "neck", "head")):
            if child is not None and hasattr(child, "init_weights"):
                child.init_weights()
        cfg = self.init_cfg
        if not cfg:
            return
        if cfg.get("type") != "Pretrained":
            raise ValueError(f"TopdownPoseEstimator.init_cfg: only type='Pretrained' is supported, got {cfg}")
        from .utils import load_checkpoint

        load_checkpoint(self, cfg["checkpoint"], prefix=cfg.get("prefix"), strict=False)

    # ---- forward ---------------------------------------------------------------------------------------------
    def extract_feat(self, inputs: Tensor) -> tuple[Tensor, ...]:
        """Backbone (and neck) features of preprocessed ``inputs`` ``(B, 3, H, W)``."""
        x = self.backbone(inputs)
        if self.with_neck:
            x = self.neck(x)
        return x

    def _forward(self, inputs: Tensor) -> Any:
        x = self.extract_feat(inputs)
        if self.with_head:
            x = self.head.forward(x)
        return x

    def forward(self, inputs: Tensor, batch: Any = None, mode: str = "tensor") -> Any:
        """``mode='tensor'`` (default; what ONNX export traces): the raw head output.
        ``mode='loss'``: :meth:`loss`. ``mode='predict'``: :meth:`predict`."""
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        if mode == "loss":
            return self.loss(inputs, batch)
        if mode == "predict":
            return self.predict(inputs, batch)
        if mode == "tensor":
            return self._forward(inputs)
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, predict and tensor mode.')

    def loss(self, inputs: Tensor, batch: Any) -> dict[str, Tensor]:
        """Losses of a batch: ``head.loss(feats, batch, train_cfg)`` -> ``{'loss_kpt': ..., 'acc_pose': ...}``."""
        feats = self.extract_feat(inputs)
        losses: dict[str, Tensor] = {}
        if self.with_head:
            losses.update(self.head.loss(feats, batch, train_cfg=self.train_cfg))
        return losses

    @torch.no_grad()
    def predict(self, inputs: Tensor, batch: Any) -> dict[str, Tensor]:
        """Predictions in image space.

        With ``test_cfg['flip_test']`` the features of ``inputs.flip(-1)`` are extracted too and
        ``[feats, feats_flip]`` is passed to ``head.predict``. Crop coordinates are mapped to the image with
        ``kpt / input_size * scale + center - 0.5 * scale`` (``batch.centers``/``batch.scales``, one batched op).

        Returns:
            ``keypoints`` ``(B, 1, K, 2)``, ``keypoint_scores`` ``(B, 1, K)``; with ``output_heatmaps`` also
            ``heatmaps`` (and the head's other extras, e.g. SimCC ``keypoint_x_labels``).
        """
        assert self.with_head, "The model must have head to perform prediction."
        batch = self._override_metainfo(batch)
        if self.test_cfg.get("flip_test", False):
            feats: Any = [self.extract_feat(inputs), self.extract_feat(inputs.flip(-1))]
        else:
            feats = self.extract_feat(inputs)
        out = self.head.predict(feats, batch, test_cfg=self.test_cfg)
        keypoints, scores = out[0], out[1]
        extras: dict[str, Tensor] = dict(out[2]) if len(out) > 2 and out[2] is not None else {}

        keypoints = self.to_image_space(keypoints, batch, input_size=self._input_size(inputs, batch))
        results = {"keypoints": keypoints, "keypoint_scores": scores}
        idx = self.test_cfg.get("output_keypoint_indices", None)
        if idx is not None:
            idx = list(idx)
            k = keypoints.shape[2]
            results = {name: v[:, :, idx] for name, v in results.items()}
            for name, v in extras.items():
                if name == "heatmaps" and v.shape[1] == k:
                    extras[name] = v[:, idx]
                elif name.startswith("keypoint") and v.ndim >= 3 and v.shape[2] == k:
                    extras[name] = v[:, :, idx]
        results.update(extras)
        return results

    # ---- helpers ---------------------------------------------------------------------------------------------
    @staticmethod
    def to_image_space(keypoints: Tensor, batch: Any, input_size: tuple[int, int] | None = None) -> Tensor:
        """Map crop-pixel keypoints ``(B, N, K, 2)`` to image space with ``batch.centers``/``batch.scales``
        ``(B, 2)``: ``kpt / input_size * scale + center - 0.5 * scale``."""
        if input_size is None:
            input_size = batch.input_size
        dev, dt = keypoints.device, keypoints.dtype
        size = torch.tensor([float(input_size[0]), float(input_size[1])], device=dev, dtype=dt)
        centers = batch.centers.to(device=dev, dtype=dt).reshape(-1, 1, 1, 2)
        scales = batch.scales.to(device=dev, dtype=dt).reshape(-1, 1, 1, 2)
        return keypoints / size * scales + centers - 0.5 * scales

    @staticmethod
    def _input_size(inputs: Tensor, batch: Any) -> tuple[int, int]:
        metas = getattr(batch, "metas", None)
        if metas:
            size = metas[0].get("input_size")
            if size is not None:
                return int(size[0]), int(size[1])
        return int(inputs.shape[-1]), int(inputs.shape[-2])

    def _override_metainfo(self, batch: Any) -> Any:
        """Apply ``self.metainfo['flip_indices']`` to the batch metas (a shallow copy), as MMPose's predict does."""
        if not self.metainfo or "flip_indices" not in self.metainfo or batch is None:
            return batch
        from dataclasses import replace

        fi = list(self.metainfo["flip_indices"])
        return replace(batch, metas=[{**m, "flip_indices": fi} for m in batch.metas])

    def _load_state_dict_pre_hook(self, state_dict, prefix, local_meta, *args, **kwargs):
        """Rename pre-1.0 MMPose keys ``keypoint_head.*`` to ``head.*``."""
        version = local_meta.get("version", None)
        if version and version >= self._version:
            return
        for k in list(state_dict.keys()):
            if k.startswith(prefix + "keypoint_head."):
                state_dict[prefix + "head." + k[len(prefix) + len("keypoint_head.") :]] = state_dict.pop(k)
