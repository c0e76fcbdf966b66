"""posekit: top-down 2D pose estimation in plain PyTorch + Lightning + Hydra, with MMPose 1.x numerics."""

from pathlib import Path

__version__ = "0.1.0"


def conf_dir() -> Path:
    """The Hydra configuration directory: the repository's ``conf/``, installed as the package ``posekit.conf``."""
    import posekit.conf

    return Path(posekit.conf.__file__).resolve().parent
