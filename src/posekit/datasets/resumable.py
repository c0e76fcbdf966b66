"""A training loader whose order and augmentations are a function of ``(seed, epoch, position)`` only, so that a run
resumed mid-epoch sees exactly the batches, and the random augmentations, of the uninterrupted run.

* :class:`ResumableRandomSampler` shuffles with a generator seeded by ``seed + epoch`` (like ``DistributedSampler``)
  and yields ``(index, sample_seed)`` pairs; after :meth:`~ResumableRandomSampler.load_state_dict` it skips the
  samples already consumed in that epoch.
* :class:`SeededDataset` reads ``dataset[index]`` with numpy's, Python's and torch's CPU generators seeded by
  ``sample_seed`` (in the main process the caller's generator states are put back afterwards), so the pipeline's
  random transforms do not depend on worker count, prefetching or where training was interrupted.
* :class:`ResumableDataLoader` exposes ``state_dict`` / ``load_state_dict`` (Lightning's stateful-loader interface:
  stored in the checkpoint's ``loops.fit_loop.combined_loader`` and restored before the first batch is fetched). The
  number of batches done is set by :class:`posekit.engine.callbacks.ExactResume` after every training step.
* :func:`die_with_parent` is the loader's ``worker_init_fn``: on Linux a worker gets SIGKILL when its parent dies
  (``prctl(PR_SET_PDEATHSIG)``), so a killed trainer leaves no orphaned workers.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

from posekit.utils.process import die_with_parent

__all__ = ["ResumableDataLoader", "ResumableRandomSampler", "SeededDataset", "die_with_parent"]


def _sample_seed(seed: int, epoch: int, position: int) -> int:
    return int(np.random.SeedSequence([seed & 0xFFFFFFFF, epoch, position]).generate_state(1)[0])


class ResumableRandomSampler(Sampler):
    """Random order per epoch from ``(seed, epoch)``; yields ``(index, sample_seed)``.

    Args:
        num_samples: dataset length.
        seed: the run's seed.
        shuffle: ``False`` keeps the dataset order (the per-sample seeds still vary by epoch).
    """

    def __init__(self, num_samples: int, seed: int = 0, shuffle: bool = True) -> None:
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        self.shuffle = shuffle
        self.epoch = 0
        self._skip = 0  # samples of `epoch` already consumed (set by load_state_dict)

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning before each epoch."""
        if int(epoch) != self.epoch:
            self._skip = 0
        self.epoch = int(epoch)

    def order(self, epoch: int) -> list[int]:
        if not self.shuffle:
            return list(range(self.num_samples))
        g = torch.Generator().manual_seed(self.seed + epoch)
        return torch.randperm(self.num_samples, generator=g).tolist()

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, skip = self.epoch, self._skip
        self._skip = 0
        order = self.order(epoch)
        for position in range(skip, self.num_samples):
            yield order[position], _sample_seed(self.seed, epoch, position)

    def __len__(self) -> int:
        return self.num_samples

    def state_dict(self, consumed: int = 0) -> dict[str, int]:
        return {"seed": self.seed, "epoch": self.epoch, "consumed": int(consumed), "num_samples": self.num_samples}

    def load_state_dict(self, state: dict[str, int]) -> None:
        epoch, consumed = int(state["epoch"]), int(state["consumed"])
        if consumed >= self.num_samples:  # saved at the end of an epoch: the next one starts from its beginning
            epoch, consumed = epoch + 1, 0
        self.epoch, self._skip = epoch, consumed


class SeededDataset(Dataset):
    """``dataset[(index, sample_seed)]`` = ``dataset[index]`` read with the CPU generators seeded by ``sample_seed``;
    a plain ``index`` reads as usual. Attributes are those of ``dataset``."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        if name == "dataset" or name.startswith("__"):  # e.g. `__getitems__` must not reach the inner dataset
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, tuple):
            return self.dataset[key]
        index, seed = key
        in_worker = get_worker_info() is not None
        if not in_worker:  # keep the training process's own random streams untouched
            saved = (np.random.get_state(), random.getstate(), torch.get_rng_state())
        np.random.seed(seed)
        random.seed(seed)
        torch.default_generator.manual_seed(seed)
        try:
            return self.dataset[index]
        finally:
            if not in_worker:
                np.random.set_state(saved[0])
                random.setstate(saved[1])
                torch.set_rng_state(saved[2])


class ResumableDataLoader(DataLoader):
    """A ``DataLoader`` over :class:`SeededDataset` + :class:`ResumableRandomSampler` with Lightning's
    ``state_dict`` / ``load_state_dict``. ``batches_done`` (batches of the current epoch already trained on) is kept
    up to date by :class:`posekit.engine.callbacks.ExactResume`. The loader's own generator is reseeded from
    ``(seed, epoch)`` at each ``iter()``, so creating an iterator never draws from torch's global generator."""

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        seed: int = 0,
        shuffle: bool = True,
        sampler: Sampler | None = None,
        generator: torch.Generator | None = None,
        **kwargs: Any,
    ) -> None:
        # `sampler`/`generator` given: Lightning re-creating the loader (e.g. with a DistributedSamplerWrapper)
        if not isinstance(dataset, SeededDataset):
            dataset = SeededDataset(dataset)
        if sampler is None:
            sampler = ResumableRandomSampler(len(dataset), seed=seed, shuffle=shuffle)
        kwargs.setdefault("worker_init_fn", die_with_parent)
        super().__init__(
            dataset, batch_size=batch_size, sampler=sampler, generator=generator or torch.Generator(), **kwargs
        )
        self.seed, self.shuffle = seed, shuffle  # read back by Lightning when it re-creates the loader
        self.batches_done = 0

    def resumable_sampler(self) -> ResumableRandomSampler | None:
        """Our sampler, also when Lightning wrapped it (``DistributedSamplerWrapper``)."""
        sampler = self.sampler
        for _ in range(3):
            if isinstance(sampler, ResumableRandomSampler):
                return sampler
            sampler = getattr(sampler, "sampler", None) or getattr(getattr(sampler, "dataset", None), "_sampler", None)
        return None

    def __iter__(self):
        sampler = self.resumable_sampler()
        if sampler is not None:
            if sampler is not self.sampler and hasattr(self.sampler, "epoch"):
                sampler.set_epoch(self.sampler.epoch)  # Lightning sets the epoch on the wrapper only
            self.generator.manual_seed(_sample_seed(sampler.seed, sampler.epoch, 0xFFFFFFFF))
        return super().__iter__()

    def state_dict(self) -> dict[str, int]:
        sampler = self.resumable_sampler()
        if sampler is None:
            return {}
        consumed = self.batches_done * int(self.batch_size or 1)
        if self.drop_last and self.batches_done >= len(self):
            consumed = sampler.num_samples  # the dropped tail belongs to the finished epoch
        return sampler.state_dict(consumed)

    def load_state_dict(self, state: dict[str, int]) -> None:
        sampler = self.resumable_sampler()
        if sampler is None or not state:
            return
        if int(state.get("num_samples", sampler.num_samples)) != sampler.num_samples:
            raise ValueError(
                f"the checkpoint's training set had {state['num_samples']} samples, this one has "
                f"{sampler.num_samples}; resume only with the data the run was trained on"
            )
        sampler.load_state_dict(state)
        self.batches_done = int(state["consumed"]) // int(self.batch_size or 1)
