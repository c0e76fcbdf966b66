"""Shared CLI plumbing: user errors become one line on stderr and exit status 2."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from omegaconf.errors import ConfigAttributeError, ConfigKeyError, InterpolationResolutionError

T = TypeVar("T")

USER_ERRORS = (
    FileNotFoundError,
    ValueError,
    KeyError,
    ConfigAttributeError,
    ConfigKeyError,
    InterpolationResolutionError,
)


def guarded(prog: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn``; a user-facing error prints ``prog: error: ...`` and exits 2 (``POSEKIT_DEBUG=1`` re-raises)."""
    from hydra.errors import InstantiationException

    from posekit.engine.runner import PosekitError

    try:
        return fn(*args, **kwargs)
    except (PosekitError, InstantiationException, *USER_ERRORS) as err:
        if os.environ.get("POSEKIT_DEBUG"):
            raise
        cause = err
        while isinstance(cause, InstantiationException) and cause.__cause__ is not None:
            cause = cause.__cause__
        msg = " ".join(str(cause).split())
        if isinstance(err, InstantiationException) and cause is not err:
            where = str(err).split("\n")[0]
            msg = f"{msg} ({where})"
        print(f"{prog}: error: {type(cause).__name__}: {msg}", file=sys.stderr)
        sys.exit(2)
