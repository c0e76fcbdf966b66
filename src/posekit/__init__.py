"""posekit: top-down 2D pose estimation in plain PyTorch + Lightning + Hydra, with MMPose 1.x numerics."""

from pathlib import Path

__version__ = "0.1.0"


def conf_dir() -> Path:
    """The packaged Hydra configuration directory (``posekit/conf``)."""
    return Path(__file__).resolve().parent / "conf"
