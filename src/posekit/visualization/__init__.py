"""Drawing skeletons, keypoints, boxes and heatmaps on BGR images (OpenCV), and :class:`PoseVisualizer`.

Depends only on numpy/cv2 and the dataset metainfo, so every layer (the training callbacks included) may use it.
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
