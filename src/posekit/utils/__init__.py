"""Bottom-layer helpers with no other posekit imports: safe checkpoint reading, config target checks, strict JSON."""

from posekit.utils.checkpoint_io import InertObject, load_checkpoint_file, restricted_load
from posekit.utils.json_io import dump_json_strict, write_json_atomic
from posekit.utils.safe_config import UnsafeConfigError, check_targets

__all__ = [
    "InertObject",
    "UnsafeConfigError",
    "check_targets",
    "dump_json_strict",
    "load_checkpoint_file",
    "restricted_load",
    "write_json_atomic",
]
