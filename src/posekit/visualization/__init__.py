"""Drawing skeletons, keypoints, boxes and heatmaps on BGR images (OpenCV), and :class:`PoseVisualizer`.

:class:`PoseVisualization` (``posekit.visualization.callback``, loaded on first use: it imports Lightning) is the
training callback that draws predictions on validation images (MMPose's ``PoseVisualizationHook``).
"""

from .browse import render_original, render_transformed, target_heatmaps
from .draw import (
    auto_radius_thickness,
    draw_bboxes,
    draw_heatmap_overlay,
    draw_skeleton,
    heatmap_to_color,
    make_heatmap_grid,
    resolve_metainfo,
    revert_heatmap,
)
from .visualizer import PoseVisualizer, stack_images

__all__ = [
    "PoseVisualization",
    "PoseVisualizer",
    "auto_radius_thickness",
    "draw_bboxes",
    "draw_heatmap_overlay",
    "draw_skeleton",
    "heatmap_to_color",
    "make_heatmap_grid",
    "render_original",
    "render_transformed",
    "resolve_metainfo",
    "revert_heatmap",
    "stack_images",
    "target_heatmaps",
]


def __getattr__(name: str):
    if name == "PoseVisualization":
        from .callback import PoseVisualization

        return PoseVisualization
    raise AttributeError(f"module 'posekit.visualization' has no attribute {name!r}")
