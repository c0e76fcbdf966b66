
"""Lightning callbacks that replace MMPose's hooks."""

from .ema import ExpMomentumEMA, exp_momentum
from .pipeline_switch import PipelineSwitch

__all__ = ["ExpMomentumEMA", "PipelineSwitch", "exp_momentum"]
