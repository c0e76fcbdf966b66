"""Shared helpers of the ``scripts/bench_*.py`` benchmarks: timing, machine description, markdown tables.

Every benchmark prints a markdown table whose ratios are measured in the same run, preceded by the machine it
ran on and the command that produced it, ready to paste into ``docs/performance.md``.

Timing: each measurement runs ``warmup`` untimed calls, then ``repeat`` timed calls; the table reports the
*median* (and, where useful, the minimum, which is the least disturbed by other processes on a shared
machine). CUDA work is synchronized before the clock is read. Things that are compared are timed
*interleaved* (:func:`timeit_many`: A, B, A, B, ...) so that a change of machine load affects both alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Timing",
    "add_common_args",
    "apply_threads",
    "fmt_ms",
    "fmt_ratio",
    "machine_info",
    "markdown_table",
    "print_header",
    "resolve_device",
    "sync",
    "timeit",
    "timeit_many",
]


@dataclass
class Timing:
    """Seconds per call of ``repeat`` timed calls."""

    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def min(self) -> float:
        return min(self.times)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times)


def sync(device: Any = None) -> None:
    """Wait for queued CUDA work (no-op on CPU)."""
    import torch

    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def timeit(fn: Callable[[], Any], repeat: int = 10, warmup: int = 2, device: Any = None) -> Timing:
    """Time ``fn()``: ``warmup`` untimed calls, then ``repeat`` timed ones (CUDA synchronized around each)."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return Timing(times)


def timeit_many(
    fns: dict[str, Callable[[], Any]], repeat: int = 10, warmup: int = 2, device: Any = None
) -> dict[str, Timing]:
    """Time several functions round-robin (A, B, C, A, B, C, ...): same protocol as :func:`timeit` per function."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync(device)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: Timing(t) for name, t in times.items()}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: Any = None) -> dict[str, str]:
    """CPU model, core count, load average, library versions and the accelerator (if ``device`` is CUDA)."""
    import cv2
    import numpy as np
    import torch

    info = {
        "cpu": f"{_cpu_model()}, {os.cpu_count()} cores",
        "torch threads": str(torch.get_num_threads()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
    }
    if hasattr(os, "getloadavg"):
        info["load average (1 min) at start"] = f"{os.getloadavg()[0]:.2f}"
    if device is not None and torch.device(device).type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def add_common_args(parser: argparse.ArgumentParser, device: bool = True) -> None:
    """``--device``, ``--threads``, ``--repeat``, ``--warmup``."""
    if device:
        parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1 ... (default cpu)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch (intra-op) threads; default: torch's default (all cores)"
    )
    parser.add_argument("--repeat", type=int, default=10, help="timed repetitions per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="untimed warm-up calls per measurement")


def apply_threads(threads: int | None) -> None:
    """Set torch's and OpenCV's thread counts (``None`` keeps the defaults)."""
    if threads is None:
        return
    import cv2
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)


def resolve_device(name: str) -> Any:
    """A ``torch.device``; fails with the fix when CUDA is asked for but absent."""
    import torch

    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return device


def print_header(title: str, device: Any = None, extra: dict[str, Any] | None = None) -> None:
    """``## title``, the exact command line and the machine, as markdown."""
    print(f"## {title}\n")
    print("Command: `python " + " ".join(shlex.quote(a) for a in sys.argv) + "`\n")
    info = machine_info(device)
    if extra:
        info.update({k: str(v) for k, v in extra.items()})
    print("Machine: " + "; ".join(f"{k}: {v}" for k, v in info.items()) + "\n")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table (numbers right-aligned)."""
    cells = [[str(c) for c in row] for row in rows]
    numeric = [all(_is_number(row[i]) for row in cells) and bool(cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---:" if num else "---" for num in numeric) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def _is_number(text: str) -> bool:
    text = text.strip().rstrip("x%").replace(",", "")
    try:
        float(text)
    except ValueError:
        return False
    return True


def fmt_ms(seconds: float, digits: int = 2) -> str:
    """Seconds as milliseconds with ``digits`` decimals."""
    return f"{seconds * 1e3:.{digits}f}"


def fmt_ratio(ratio: float) -> str:
    """A speed-up / overhead factor, e.g. ``12.3x``."""
    return f"{ratio:.1f}x" if ratio >= 10 else f"{ratio:.2f}x"


if __name__ == "__main__":  # pragma: no cover - prints the machine description
    print(markdown_table(["key", "value"], list(machine_info().items())))
