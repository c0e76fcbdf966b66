"""Lightning callbacks that replace MMPose's hooks."""

from .ema import ExpMomentumEMA, exp_momentum
from .pipeline_switch import PipelineSwitch

__all__ = ["ExpMomentumEMA", "PipelineSwitch", "exp_momentum"]
# PoseVisualization (MMPose's PoseVisualizationHook) is posekit.visualization.PoseVisualization: it draws, and
# visualization sits above engine (docs/CONTRACTS.md)
