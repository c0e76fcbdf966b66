"""Lightning callbacks that replace MMPose's hooks."""

from .ema import ExpMomentumEMA, exp_momentum
from .exact_resume import ExactResume
from .interrupt import GracefulInterrupt, TrainingInterrupted
from .last_checkpoint import LastCheckpoint
from .non_finite import NonFiniteGuard, NonFiniteLossError
from .pipeline_switch import PipelineSwitch
from .visualization import PoseVisualization

__all__ = [
    "ExactResume",
    "ExpMomentumEMA",
    "GracefulInterrupt",
    "LastCheckpoint",
    "NonFiniteGuard",
    "NonFiniteLossError",
    "PipelineSwitch",
    "PoseVisualization",
    "TrainingInterrupted",
    "exp_momentum",
]
