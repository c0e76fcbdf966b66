"""Lightning callbacks that replace MMPose's hooks."""

from .ema import ExpMomentumEMA, exp_momentum
from .pipeline_switch import PipelineSwitch
from .visualization import PoseVisualization

__all__ = ["ExpMomentumEMA", "PipelineSwitch", "PoseVisualization", "exp_momentum"]
