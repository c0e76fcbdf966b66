"""Drawing functions: colours from the metainfo, thresholds, links, boxes, heatmaps, reverting heatmaps."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.datasets import load_metainfo
from posekit.visualization import (
    PoseVisualizer,
    auto_radius_thickness,
    draw_bboxes,
    draw_heatmap_overlay,
    draw_skeleton,
    make_heatmap_grid,
    revert_heatmap,
    stack_images,
)

COCO = load_metainfo("coco")


def _spread_keypoints(h: int = 200, w: int = 300) -> np.ndarray:
    """17 well separated points on a grid inside a (h, w) image."""
    xs = np.linspace(20, w - 20, 6)
    ys = np.linspace(20, h - 20, 3)
    pts = np.array([(x, y) for y in ys for x in xs], np.float32)[:17]
    return pts[None]


def test_keypoint_colours_come_from_metainfo_in_bgr():
    img = np.zeros((200, 300, 3), np.uint8)
    kpts = _spread_keypoints()
    out = draw_skeleton(img, kpts, np.ones((1, 17)), COCO, radius=4, thickness=1, skeleton_links=[])
    assert img.sum() == 0, "the input image must not be modified (copy=True)"
    for j, (x, y) in enumerate(kpts[0]):
        rgb = np.asarray(COCO["keypoint_colors"][j])
        np.testing.assert_array_equal(out[int(y), int(x)], rgb[::-1], err_msg=f"keypoint {j}")


def test_score_threshold_and_visibility_hide_keypoints():
    img = np.zeros((200, 300, 3), np.uint8)
    kpts = _spread_keypoints()
    scores = np.full((1, 17), 0.9, np.float32)
    scores[0, 3] = 0.1
    visible = np.ones((1, 17))
    visible[0, 7] = 0
    out = draw_skeleton(img, kpts, scores, COCO, kpt_thr=0.3, radius=3, skeleton_links=[], keypoints_visible=visible)
    for j in (3, 7):
        x, y = kpts[0, j].astype(int)
        assert out[y - 3 : y + 4, x - 3 : x + 4].sum() == 0, f"keypoint {j} should be hidden"
    x, y = kpts[0, 0].astype(int)
    assert out[y, x].sum() > 0


def test_links_drawn_with_link_colour_only_when_both_ends_shown():
    img = np.zeros((100, 200, 3), np.uint8)
    kpts = np.zeros((1, 17, 2), np.float32)
    kpts[0, :] = (10, 10)
    kpts[0, 15] = (20, 50)  # left_ankle
    kpts[0, 13] = (180, 50)  # left_knee: link 0 of COCO is (15, 13), green
    scores = np.zeros((1, 17), np.float32)
    scores[0, [15, 13]] = 1.0
    out = draw_skeleton(img, kpts, scores, COCO, radius=2, thickness=3)
    link = list(map(tuple, COCO["skeleton_links"])).index((15, 13))
    np.testing.assert_array_equal(out[50, 100], np.asarray(COCO["skeleton_link_colors"][link])[::-1])
    scores[0, 13] = 0.0
    out = draw_skeleton(img, kpts, scores, COCO, radius=2, thickness=3)
    assert out[50, 100].sum() == 0


def test_skeleton_checks_keypoint_count_and_accepts_tensors():
    import torch

    img = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match="metainfo"):
        draw_skeleton(img, np.zeros((1, 16, 2)), None, COCO)
    out = draw_skeleton(img, torch.full((17, 2), 32.0), torch.ones(17), "coco", kpt_thr=0.5)
    assert out[32, 32].sum() > 0
    mpii = draw_skeleton(img, np.full((2, 16, 2), 32.0), np.ones((2, 16)), "mpii")
    assert mpii[32, 32].sum() > 0


def test_draw_bboxes_and_in_place():
    img = np.zeros((100, 100, 3), np.uint8)
    out = draw_bboxes(img, [[10, 20, 80, 90]], scores=[0.9], color=(0, 0, 255), thickness=1)
    np.testing.assert_array_equal(out[50, 10], (0, 0, 255))
    np.testing.assert_array_equal(out[20, 50], (0, 0, 255))
    assert out[50, 50].sum() == 0 and img.sum() == 0
    draw_bboxes(img, np.array([[5, 5, 50, 50]]), copy=False)
    assert img.sum() > 0
    with pytest.raises(ValueError, match="scores"):
        draw_bboxes(img, [[0, 0, 1, 1]], scores=[0.1, 0.2])


def test_heatmap_overlay_colours_hot_pixels_only():
    img = np.full((64, 48, 3), 100, np.uint8)
    hm = np.zeros((17, 32, 24), np.float32)
    hm[5, 16, 12] = 1.0
    out = draw_heatmap_overlay(img, hm, alpha=0.8)
    assert out.shape == img.shape
    assert not np.array_equal(out[32, 24], img[32, 24])  # the peak, resized to image coordinates
    np.testing.assert_array_equal(out[2, 2], img[2, 2])  # cold pixels keep the image


def test_heatmap_grid_layout():
    hm = np.random.default_rng(0).random((17, 16, 12)).astype(np.float32)
    grid = make_heatmap_grid(hm, cell_height=40, pad=2)
    cw = round(40 * 12 / 16)
    assert grid.shape == (4 * (40 + 2) + 2, 5 * (cw + 2) + 2, 3)  # ceil(sqrt(17)) = 5 columns, 4 rows
    crop = np.zeros((128, 96, 3), np.uint8)
    names = [f"k{i}" for i in range(17)]
    assert make_heatmap_grid(hm, img=crop, names=names, ncols=6).shape[1] > grid.shape[1]
    with pytest.raises(ValueError, match="names"):
        make_heatmap_grid(hm, names=names[:3])


def test_revert_heatmap_puts_the_peak_where_the_keypoint_is():
    # crop of 96x128 (w x h) around center (200, 150) with scale (96, 128) * 2: 1 heatmap px = 8 image px
    center, scale = np.array([200.0, 150.0]), np.array([192.0, 256.0])
    hm = np.zeros((2, 32, 24), np.float32)
    hm[1, 20, 6] = 1.0  # heatmap (x=6, y=20) -> crop (x=24, y=80) px * 4 -> image: x = 24/96*192 + 200 - 96 = 152
    out = revert_heatmap(hm, center, scale, (300, 400))
    assert out.shape == (2, 300, 400)
    y, x = np.unravel_index(np.argmax(out[1]), out[1].shape)
    assert abs(x - 152) <= 8 and abs(y - (80 / 128 * 256 + 150 - 128)) <= 8
    assert revert_heatmap(hm[1], center, scale, (300, 400)).shape == (300, 400)


def test_visualizer_stacks_heatmap_panel_below_and_gt_pred_side_by_side():
    img = np.zeros((120, 160, 3), np.uint8)
    vis = PoseVisualizer("coco", kpt_thr=0.3)
    kpts = np.full((1, 17, 2), 60.0, np.float32)
    out = vis.draw(img, kpts, np.ones((1, 17)), bboxes=[[10, 10, 100, 100]], heatmap=np.ones((120, 160)))
    assert out.shape == (240, 160, 3)
    results = [
        {"keypoints": kpts[0], "keypoint_scores": np.ones(17), "bbox": np.array([10, 10, 100, 100]), "bbox_score": 0.8}
    ]
    assert vis.draw_results(img, results).shape == img.shape
    pair = vis.draw_gt_pred(
        np.zeros((1000, 500, 3), np.uint8), kpts * 5, np.ones((1, 17)), kpts * 5, np.ones((1, 17)), max_side=200
    )
    assert pair.shape[0] == 200 and pair.shape[1] == 2 * 100 + 4


def test_stack_images_pads_and_auto_sizes():
    a, b = np.zeros((10, 20, 3), np.uint8), np.zeros((15, 5, 3), np.uint8)
    assert stack_images([a, b], axis=1, pad=2).shape == (15, 27, 3)
    assert stack_images([a, b], axis=0, pad=0).shape == (25, 20, 3)
    assert auto_radius_thickness((425, 640)) == (3, 2)
    assert auto_radius_thickness((48, 64)) == (2, 1)
