"""posekit: top-down 2D pose estimation in plain PyTorch + Lightning + Hydra, with MMPose 1.x numerics."""

__version__ = "0.1.0"
