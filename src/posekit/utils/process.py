"""Process helpers with no dependencies beyond the standard library."""

from __future__ import annotations

import ctypes
import signal
import sys

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1


def die_with_parent(worker_id: int = 0) -> None:
    """``worker_init_fn``: ask Linux to SIGKILL this process when its parent (the trainer) dies, so a killed run
    leaves no orphaned DataLoader workers (``prctl(PR_SET_PDEATHSIG)``; a no-op on other systems)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except OSError:  # pragma: no cover - no glibc (e.g. musl): workers still end with their loader
        return
