"""Maths shared by the codecs: target generation, maxima, Gaussian modulation and sub-pixel refinement.

numpy functions carry MMPose's names and signatures; the ``*_torch`` functions are their batched torch
counterparts used by ``decode`` on tensors.
"""

from .gaussian_heatmap import (
    generate_gaussian_heatmaps,
    generate_udp_gaussian_heatmaps,
    generate_unbiased_gaussian_heatmaps,
)
from .kernels import gaussian_kernel1d, reflect101_index
from .offset_heatmap import generate_offset_heatmap
from .post_processing import (
    batch_heatmap_nms,
    gaussian_blur,
    gaussian_blur1d,
    get_heatmap_maximum,
    get_simcc_maximum,
    get_simcc_normalized,
)
from .refinement import (
    modulate_simcc,
    refine_keypoints,
    refine_keypoints_dark,
    refine_keypoints_dark_udp,
    refine_simcc_dark,
)
from .torch_post_processing import (
    gaussian_blur1d_torch,
    gaussian_blur_reflect_torch,
    gaussian_blur_torch,
    gaussian_kernel1d_torch,
    get_heatmap_maximum_torch,
    get_simcc_maximum_torch,
)
from .torch_refinement import (
    modulate_simcc_torch,
    refine_keypoints_dark_torch,
    refine_keypoints_dark_udp_torch,
    refine_keypoints_torch,
    refine_simcc_dark_torch,
)

__all__ = [
    "generate_gaussian_heatmaps",
    "generate_udp_gaussian_heatmaps",
    "generate_unbiased_gaussian_heatmaps",
    "generate_offset_heatmap",
    "gaussian_kernel1d",
    "reflect101_index",
    "batch_heatmap_nms",
    "gaussian_blur",
    "gaussian_blur1d",
    "get_heatmap_maximum",
    "get_simcc_maximum",
    "get_simcc_normalized",
    "modulate_simcc",
    "refine_keypoints",
    "refine_keypoints_dark",
    "refine_keypoints_dark_udp",
    "refine_simcc_dark",
    "gaussian_blur1d_torch",
    "gaussian_blur_reflect_torch",
    "gaussian_blur_torch",
    "gaussian_kernel1d_torch",
    "get_heatmap_maximum_torch",
    "get_simcc_maximum_torch",
    "modulate_simcc_torch",
    "refine_keypoints_dark_torch",
    "refine_keypoints_dark_udp_torch",
    "refine_keypoints_torch",
    "refine_simcc_dark_torch",
]
