"""Common machinery of posekit's metrics: result buffering, cross-rank gathering and the two call styles.

Every metric has

* posekit's API (what :class:`~posekit.engine.lit_module.PoseLitModule` calls)::

      metric.update(metas, keypoints, keypoint_scores)   # one batch, metas = PoseBatch.metas
      metric.compute()                                    # -> {'coco/AP': ..., ...}, gathered across ranks
      metric.reset()

* MMPose's API (``mmengine.evaluator.BaseMetric``)::

      metric.dataset_meta = metainfo
      metric.process(data_batch, data_samples)            # MMPose-style dict data samples
      metric.evaluate(size)                               # gathers, computes, clears ``metric.results``

Both fill ``self.results`` with the same per-sample records and share ``compute_metrics(results)``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["BaseMetric", "to_numpy", "resolve_metainfo", "gather_results"]


def to_numpy(x: Any) -> Any:
    """Torch tensor -> numpy array (detached, on the CPU, bf16/fp16 as float32); anything else unchanged."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        if str(x.dtype) in ("torch.bfloat16", "torch.float16"):
            x = x.float()
        return x.numpy()
    return x


def resolve_metainfo(metainfo: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A parsed metainfo dict from a dict (taken as parsed when it has ``sigmas`` or ``num_keypoints``),
    a dataset name or a file path (through :func:`posekit.datasets.load_metainfo`)."""
    if metainfo is None:
        return None
    if isinstance(metainfo, Mapping) and ("num_keypoints" in metainfo or "sigmas" in metainfo):
        meta = dict(metainfo)
        if "sigmas" in meta and meta["sigmas"] is not None:
            meta["sigmas"] = np.asarray(meta["sigmas"])
        if "num_keypoints" not in meta and "sigmas" in meta:
            meta["num_keypoints"] = len(meta["sigmas"])
        return meta
    from posekit.datasets import load_metainfo  # lazy: keeps evaluation importable without the datasets package

    return load_metainfo(metainfo)


def _dist_info() -> tuple[int, int]:
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover - torch is a hard dependency of posekit
        return 0, 1
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather_results(results: list, size: int | None = None) -> list:
    """All ranks' results in sampler order (rank-interleaved as ``DistributedSampler`` deals them out),
    truncated to ``size`` (the dataset length, dropping the sampler's padding) when given."""
    rank, world_size = _dist_info()
    if world_size > 1:
        import torch.distributed as dist

        parts: list[list] = [None] * world_size  # type: ignore[list-item]
        dist.all_gather_object(parts, list(results))
        ordered = []
        longest = max(len(p) for p in parts)
        for i in range(longest):
            for p in parts:
                if i < len(p):
                    ordered.append(p[i])
        results = ordered
    else:
        results = list(results)
    if size is not None:
        results = results[:size]
    return results


def _broadcast(obj: Any) -> Any:
    rank, world_size = _dist_info()
    if world_size == 1:
        return obj
    import torch.distributed as dist

    box = [obj if rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class BaseMetric:
    """Base of posekit's metrics (see the module docstring for the two APIs).

    Args:
        collect_device: ``'cpu'`` or ``'gpu'``, kept for MMPose compatibility (``all_gather_object`` moves the
            objects through the process group's device either way).
        prefix: prefix of the result names (``'<prefix>/<name>'``); ``default_prefix`` when ``None``.
        metainfo: dataset meta information (a parsed dict, a dataset name or a YAML path), the same as
            assigning ``metric.dataset_meta`` later.
    """

    default_prefix: str | None = None

    def __init__(
        self,
        collect_device: str = "cpu",
        prefix: str | None = None,
        metainfo: str | Mapping[str, Any] | None = None,
    ) -> None:
        if collect_device not in ("cpu", "gpu"):
            raise ValueError(f"collect_device must be 'cpu' or 'gpu', got {collect_device!r}")
        self.collect_device = collect_device
        self.prefix = prefix or self.default_prefix
        self.results: list = []
        self._dataset_meta: dict[str, Any] | None = None
        if metainfo is not None:
            self.dataset_meta = resolve_metainfo(metainfo)

    # ------------------------------------------------------------------------------------------------ metainfo
    @property
    def dataset_meta(self) -> dict[str, Any] | None:
        """Dataset meta information (MMPose's parsed names: ``num_keypoints``, ``sigmas``, ...)."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Mapping[str, Any] | str | None) -> None:
        if dataset_meta is not None and not isinstance(dataset_meta, Mapping):
            dataset_meta = resolve_metainfo(dataset_meta)
        self._dataset_meta = None if dataset_meta is None else copy.copy(dict(dataset_meta))

    # ------------------------------------------------------------------------------------------------ subclasses
    def process(self, data_batch: Any, data_samples: Sequence[Mapping[str, Any]]) -> None:
        """MMPose's per-batch hook: turn MMPose-style ``data_samples`` into records in ``self.results``."""
        raise NotImplementedError

    def update(self, metas: Sequence[Mapping[str, Any]], keypoints: Any, keypoint_scores: Any = None) -> None:
        """posekit's per-batch hook: ``metas`` (``PoseBatch.metas``), ``keypoints`` ``(B, N, K, 2)`` and
        ``keypoint_scores`` ``(B, N, K)`` in image space (tensors on any device or arrays)."""
        raise NotImplementedError

    def compute_metrics(self, results: list) -> dict[str, Any]:
        """Metrics (unprefixed names) from the records of the whole dataset."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------------ shared
    @staticmethod
    def _prepare_results(results: list) -> list:
        """Hook between gathering and :meth:`compute_metrics` (e.g. de-duplication); identity here."""
        return results

    def _prefixed(self, metrics: Mapping[str, Any]) -> dict[str, float]:
        out = {}
        for k, v in metrics.items():
            name = f"{self.prefix}/{k}" if self.prefix else k
            out[name] = float(v)
        return out

    def compute(self, size: int | None = None) -> dict[str, float]:
        """Gather the records of all ranks (interleaved, truncated to ``size`` when given), compute on rank 0,
        broadcast. Returns ``{'<prefix>/<name>': float}`` (``{}`` with a warning when no rank has results). The
        buffered records are kept (see :meth:`reset`). A collective call: every rank must call it."""
        results = gather_results(self.results, size)
        rank, _ = _dist_info()
        if len(results) == 0:  # e.g. a sanity-check epoch with no batches: nothing to report, do not crash
            import warnings

            warnings.warn(
                f"{self.__class__.__name__}.compute() called without any results; returning {{}}", stacklevel=2
            )
            return {}
        metrics = self._prefixed(self.compute_metrics(self._prepare_results(results))) if rank == 0 else None
        return _broadcast(metrics)

    def evaluate(self, size: int) -> dict[str, float]:
        """MMEngine's ``evaluate``: :meth:`compute` over the first ``size`` records, then clear them."""
        if len(self.results) == 0:
            import warnings

            warnings.warn(
                f"{self.__class__.__name__} got empty `self.results`. Please ensure that the processed results "
                "are properly added into `self.results` in `process` method.",
                stacklevel=2,
            )
        metrics = self.compute(size)
        self.results.clear()
        return metrics

    def reset(self) -> None:
        """Drop the buffered records (call at the start of each evaluation epoch)."""
        self.results.clear()
