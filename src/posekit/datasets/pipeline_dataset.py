"""What every posekit dataset shares: a replaceable pipeline and MMPose's item fetching.

``__getitem__`` runs ``get_data_info(idx)`` through the pipeline; in training a ``None`` from a transform (a
sample it drops) re-draws a random item, up to ``max_refetch`` times; in test mode it is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from torch.utils.data import Dataset

__all__ = ["PipelineDataset"]


def _as_transform(t: Any, i: int, owner: str) -> Callable:
    if callable(t):
        return t
    if isinstance(t, Mapping) and "_target_" in t:
        from hydra.utils import instantiate

        return instantiate(dict(t), _convert_="all")
    hint = (
        " (an MMPose-style dict(type=...) config: build transforms with Hydra's _target_ instead)"
        if isinstance(t, Mapping)
        else ""
    )
    raise TypeError(f"{owner}: pipeline[{i}] is not callable: {t!r}{hint}")


class PipelineDataset(Dataset):
    """Base of the datasets: subclasses set ``test_mode`` and ``max_refetch`` and implement ``get_data_info``
    and ``__len__``."""

    test_mode: bool = False
    max_refetch: int = 1000
    _pipeline: Callable | list[Callable] | None = None
    _transforms: list[Callable] | None = None

    @property
    def pipeline(self) -> Callable[[dict], dict | None] | list[Callable] | None:
        return self._pipeline

    @pipeline.setter
    def pipeline(self, pipeline: Sequence[Any] | Callable | None) -> None:
        """A callable, or a list of callables / ``_target_`` dicts; replaceable at run time (e.g. by the
        pipeline-switch callback)."""
        if pipeline is None or callable(pipeline):
            self._pipeline = pipeline
            self._transforms = None if pipeline is None else [pipeline]
            return
        if isinstance(pipeline, (str, bytes, Mapping)) or not isinstance(pipeline, Sequence):
            raise TypeError(
                f"{type(self).__name__}: pipeline must be a list of callables (dict -> dict), got "
                f"{type(pipeline).__name__}"
            )
        transforms = [_as_transform(t, i, type(self).__name__) for i, t in enumerate(pipeline)]
        self._pipeline = transforms
        self._transforms = transforms

    def get_data_info(self, idx: int) -> dict:
        raise NotImplementedError

    def _describe(self, idx: int) -> str:
        """Where item ``idx`` comes from, for error messages."""
        return f"item {idx}"

    def prepare_data(self, idx: int) -> Any:
        """``get_data_info(idx)`` through the pipeline (``None`` when a transform drops the sample)."""
        data = self.get_data_info(idx)
        for t in self._transforms or ():
            data = t(data)
            if data is None:
                return None
        return data

    def _fetch(self, idx: int) -> Any:
        if self.test_mode:
            data = self.prepare_data(idx)
            if data is None:
                raise RuntimeError(
                    f"{type(self).__name__}: the test pipeline returned None for item {idx} "
                    f"({self._describe(idx)}); test-time transforms must not drop samples"
                )
            return data
        for _ in range(self.max_refetch + 1):
            data = self.prepare_data(idx)
            if data is not None:
                return data
            idx = int(np.random.randint(0, len(self)))  # type: ignore[arg-type]
        raise RuntimeError(
            f"{type(self).__name__}: the pipeline returned None {self.max_refetch + 1} times in a row; check the "
            "image paths (data_root / data_prefix) and the pipeline"
        )

    def __getitem__(self, idx: int) -> Any:
        return self._fetch(idx)
