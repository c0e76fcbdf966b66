"""Bottom-layer helpers with no other posekit imports: safe checkpoint reading, config target checks, strict JSON.

Names are imported on first access, so numpy-only users (``posekit.evaluation`` writes strict JSON) do not load
torch through the checkpoint reader.
"""

from typing import Any

_LAZY = {
    "InertObject": "checkpoint_io",
    "load_checkpoint_file": "checkpoint_io",
    "restricted_load": "checkpoint_io",
    "dump_json_strict": "json_io",
    "write_json_atomic": "json_io",
    "UnsafeConfigError": "safe_config",
    "check_targets": "safe_config",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
