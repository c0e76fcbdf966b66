"""Lightning callbacks that replace MMPose's hooks."""

from .ema import ExpMomentumEMA, exp_momentum
from .exact_resume import ExactResume
from .interrupt import GracefulInterrupt, TrainingInterrupted
from .last_checkpoint import LastCheckpoint
from .non_finite import NonFiniteGuard, NonFiniteLossError
from .pipeline_switch import PipelineSwitch

__all__ = [
    "ExactResume",
    "ExpMomentumEMA",
    "GracefulInterrupt",
    "LastCheckpoint",
    "NonFiniteGuard",
    "NonFiniteLossError",
    "PipelineSwitch",
    "TrainingInterrupted",
    "exp_momentum",
]
# PoseVisualization (MMPose's PoseVisualizationHook) is posekit.visualization.PoseVisualization: it draws, and
# visualization sits above engine (docs/CONTRACTS.md)
