"""Reading checkpoint files without running code from them.

A ``.pth``/``.ckpt`` file is a pickle: unpickling it normally imports and calls whatever it names (``os.system``,
``builtins.exec`` ...). :func:`load_checkpoint_file` never does that unless asked to:

1. ``torch.load(weights_only=True)``: tensors, plain containers and numbers (every posekit checkpoint);
2. else (MMPose / mmengine checkpoints keep mmengine objects and numpy arrays in ``meta``) :func:`restricted_load`:
   torch's zip/legacy reader driven by :class:`RestrictedUnpickler`, which resolves only tensor / storage / numpy
   array rebuilds, dtypes and plain containers, and replaces every other global by an :class:`InertObject` subclass
   made up on the spot, *without importing its module*; calling or building such a stand-in stores its arguments
   and does nothing else;
3. ``trust_checkpoint=True`` (an explicit opt-in, with a warning) unpickles everything, like ``torch.load`` of old.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["CheckpointReadError", "InertObject", "RestrictedUnpickler", "load_checkpoint_file", "restricted_load"]

logger = logging.getLogger(__name__)

# modules whose appearance in a checkpoint means someone tried to run code: worth a warning, not just a log line
_SUSPICIOUS_MODULES = (
    "builtins", "__builtin__", "os", "posix", "nt", "subprocess", "sys", "importlib", "runpy", "shutil", "socket",
    "pty", "code", "codeop", "ctypes", "marshal", "pickle", "_pickle", "torch.serialization", "webbrowser",
)  # fmt: skip


# named by ordinary mmengine checkpoints (ConfigDict pickles through getattr); replaced like the rest, no warning
_BENIGN = ("builtins.getattr", "__builtin__.getattr")


class CheckpointReadError(ValueError):
    """A checkpoint file that cannot be read (not a PyTorch file, truncated, corrupt)."""


class InertObject:
    """Stand-in for an object a checkpoint names but that is not allowed to be imported (e.g. mmengine's
    ``HistoryBuffer`` in MMPose's ``meta``, or a malicious ``os.system``).

    It records what the pickle gave it (``_args``, ``_kwargs``, ``_state``, ``_items``, ``_list``) and never calls
    anything. ``_origin`` is the ``module.name`` the pickle referred to.
    """

    _origin = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args, self._kwargs = args, kwargs

    def __new__(cls, *args: Any, **kwargs: Any) -> InertObject:
        obj = super().__new__(cls)
        obj._args, obj._kwargs = args, kwargs
        return obj

    def __setstate__(self, state: Any) -> None:
        self._state = state

    def __setitem__(self, key: Any, value: Any) -> None:  # SETITEM(S) on a dict subclass
        self.__dict__.setdefault("_items", {})[key] = value

    def append(self, value: Any) -> None:  # APPEND(S) on a list subclass
        self.__dict__.setdefault("_list", []).append(value)

    def extend(self, values: Any) -> None:
        self.__dict__.setdefault("_list", []).extend(values)

    def __repr__(self) -> str:
        return f"<inert stand-in for {self._origin}>"


def _torch_allowed() -> dict[str, Any]:
    from torch._weights_only_unpickler import _get_allowed_globals

    return dict(_get_allowed_globals())


def _numpy_allowed() -> dict[str, Any]:
    core = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray
    out: dict[str, Any] = {"numpy.ndarray": np.ndarray, "numpy.dtype": np.dtype}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        out[f"{mod}._reconstruct"] = core._reconstruct
        out[f"{mod}.scalar"] = core.scalar
    dtypes = getattr(np, "dtypes", None)
    for name in dir(dtypes) if dtypes is not None else ():
        obj = getattr(dtypes, name)
        if isinstance(obj, type) and issubclass(obj, np.dtype):
            out[f"numpy.dtypes.{name}"] = obj
    return out


_ALLOWED: dict[str, Any] | None = None


def _allowed_globals() -> dict[str, Any]:
    global _ALLOWED
    if _ALLOWED is None:
        allowed = _torch_allowed()
        allowed.update(_numpy_allowed())
        allowed.update({"builtins.frozenset": frozenset, "builtins.slice": slice, "builtins.range": range})
        _ALLOWED = allowed
    return _ALLOWED


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the allowlisted globals (tensor/storage/ndarray rebuilds, dtypes, plain
    containers); any other ``module.name`` becomes a fresh :class:`InertObject` subclass, its module never imported.

    ``replaced`` (a class attribute; :func:`restricted_load` gives each load its own subclass) lists the
    ``module.name`` s that were stood in for.
    """

    replaced: list[str] = []

    def find_class(self, module: str, name: str) -> Any:
        key = f"{module}.{name}"
        obj = _allowed_globals().get(key)
        if obj is not None:
            return obj
        if key not in self.replaced:
            self.replaced.append(key)
        return type(name, (InertObject,), {"__module__": module, "__qualname__": name, "_origin": key})


def _restricted_module(replaced: list[str]) -> types.ModuleType:
    unpickler = type("RestrictedUnpickler", (RestrictedUnpickler,), {"replaced": replaced})
    mod = types.ModuleType("posekit_restricted_pickle")
    mod.Unpickler = unpickler  # type: ignore[attr-defined]
    mod.load = lambda f, **kw: unpickler(f, **kw).load()  # type: ignore[attr-defined]
    mod.loads = lambda data, **kw: unpickler(io.BytesIO(data), **kw).load()  # type: ignore[attr-defined]
    mod.UnpicklingError = pickle.UnpicklingError  # type: ignore[attr-defined]
    mod.__version__ = "1"  # type: ignore[attr-defined]
    return mod


def restricted_load(path: str | os.PathLike, map_location: Any = "cpu") -> tuple[Any, list[str]]:
    """``torch.load`` through :class:`RestrictedUnpickler`: returns ``(object, replaced module.names)``."""
    replaced: list[str] = []
    obj = torch.load(path, map_location=map_location, weights_only=False, pickle_module=_restricted_module(replaced))
    return obj, replaced


def _read_error(path: Path, err: BaseException) -> CheckpointReadError:
    first = " ".join(str(err).split())[:200]
    return CheckpointReadError(
        f"{path}: not a readable PyTorch checkpoint ({type(err).__name__}: {first}); the file may be truncated or "
        "not a .pth/.ckpt file"
    )


def load_checkpoint_file(path: str | os.PathLike, map_location: Any = "cpu", trust_checkpoint: bool = False) -> Any:
    """Read a local checkpoint file without executing code from it (see the module docstring).

    Args:
        path: a local ``.pth`` / ``.ckpt`` file.
        map_location: as ``torch.load``.
        trust_checkpoint: unpickle everything (may run code the file names); only for files you made or trust.

    Raises:
        FileNotFoundError: no such file.
        CheckpointReadError: the file is not a readable checkpoint.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    if trust_checkpoint:
        warnings.warn(
            f"trust_checkpoint=True: unpickling {path} without restrictions; this runs any code the file names",
            stacklevel=2,
        )
        try:
            return torch.load(path, map_location=map_location, weights_only=False)
        except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
            raise _read_error(path, err) from err
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if "Weights only load failed" not in str(err) and "weights_only" not in str(err):
            raise _read_error(path, err) from err
    except (RuntimeError, EOFError) as err:
        raise _read_error(path, err) from err
    try:
        obj, replaced = restricted_load(path, map_location)
    except (pickle.UnpicklingError, RuntimeError, EOFError, AttributeError, TypeError, ValueError) as err:
        raise _read_error(path, err) from err
    suspicious = [r for r in replaced if r.rsplit(".", 1)[0] in _SUSPICIOUS_MODULES and r not in _BENIGN]
    if suspicious:
        warnings.warn(
            f"{path} names {', '.join(suspicious)}: replaced by inert stand-ins, nothing was executed; "
            "do not pass trust_checkpoint=True for this file",
            stacklevel=2,
        )
    elif replaced:
        logger.info("%s: %d non-tensor objects read as inert stand-ins (%s)", path, len(replaced), ", ".join(replaced))
    return obj
