"""posekit: top-down 2D pose estimation in plain PyTorch + Lightning + Hydra, with MMPose 1.x numerics."""

from pathlib import Path

__version__ = "0.1.0"


def conf_dir() -> Path:
    """The Hydra configuration directory: the repository's ``conf/``, installed as the package ``posekit.conf``."""
    import posekit.conf

    return Path(posekit.conf.__file__).resolve().parent


def _register_resolvers() -> None:
    """``${posekit_len:${data.metainfo.keypoints}}`` in configs (K of a custom keypoint spec)."""
    try:
        from omegaconf import OmegaConf
    except ImportError:  # pragma: no cover - omegaconf ships with hydra
        return
    if not OmegaConf.has_resolver("posekit_len"):
        OmegaConf.register_new_resolver("posekit_len", lambda seq: len(seq))


_register_resolvers()
