"""Flip-test helpers: the fast paths equal MMPose's op-by-op definition bitwise, for every mode and layout."""

from __future__ import annotations

import pytest
import torch

from posekit.models.heads import tta
from posekit.models.heads.tta import (
    average_flip_heatmaps,
    average_flip_vectors,
    flip_heatmaps,
    flip_vectors,
)

FLIP = [0, 2, 1, 4, 3]


def reference_flip_heatmaps(hm, flip_indices, flip_mode, shift):
    """MMPose 1.3.2's ``flip_heatmaps``, op for op (flip, index, negate the x offsets, shift in place)."""
    b, c, h, w = hm.shape
    if flip_mode == "heatmap":
        hm = hm.flip(-1)
        if flip_indices is not None:
            hm = hm[:, flip_indices]
    else:
        group, x_ch = (3, 1) if flip_mode == "udp_combined" else (2, 0)
        hm = hm.reshape(b, c // group, group, h, w).flip(-1)
        if flip_indices is not None:
            hm = hm[:, flip_indices]
        hm[:, :, x_ch] = -hm[:, :, x_ch]
        hm = hm.reshape(b, c, h, w)
    if shift:
        hm[..., 1:] = hm[..., :-1].clone()
    return hm


@pytest.mark.parametrize("flip_mode, group", [("heatmap", 1), ("udp_combined", 3), ("offset", 2)])
@pytest.mark.parametrize("shift", [True, False])
@pytest.mark.parametrize("indices", [FLIP, None])
def test_flip_and_average_heatmaps_equal_reference(flip_mode, group, shift, indices):
    g = torch.Generator().manual_seed(7)
    a = torch.randn(5, 5 * group, 6, 7, generator=g)
    b = torch.randn(5, 5 * group, 6, 7, generator=g)
    b_copy = b.clone()
    ref = reference_flip_heatmaps(b.clone(), indices, flip_mode, shift)
    assert torch.equal(flip_heatmaps(b, indices, flip_mode, shift), ref)
    assert torch.equal(average_flip_heatmaps(a, b, indices, flip_mode, shift), (a + ref) * 0.5)
    assert torch.equal(b, b_copy)  # inputs untouched


def test_average_flip_heatmaps_chunks_layouts_and_dtypes(monkeypatch):
    g = torch.Generator().manual_seed(3)
    a = torch.randn(7, 5, 8, 6, generator=g)
    b = torch.randn(7, 5, 8, 6, generator=g)
    want = (a + reference_flip_heatmaps(b.clone(), FLIP, "heatmap", True)) * 0.5
    # chunks of 2 samples (a ragged last chunk) give the same numbers as one pass
    monkeypatch.setattr(tta, "_CPU_CHUNK_BYTES", 2 * 5 * 8 * 6 * 4)
    assert tta._chunk_size(a) == 2
    assert torch.equal(average_flip_heatmaps(a, b, FLIP), want)
    # channels_last outputs (a channels_last model) and bf16
    cl_a, cl_b = a.to(memory_format=torch.channels_last), b.to(memory_format=torch.channels_last)
    assert torch.equal(average_flip_heatmaps(cl_a, cl_b, FLIP), want)
    assert torch.equal(flip_heatmaps(cl_b, FLIP), reference_flip_heatmaps(b.clone(), FLIP, "heatmap", True))
    a16, b16 = a.bfloat16(), b.bfloat16()
    got16 = average_flip_heatmaps(a16, b16, FLIP)
    assert got16.dtype == torch.bfloat16
    assert torch.equal(got16, (a16 + reference_flip_heatmaps(b16.clone(), FLIP, "heatmap", True)) * 0.5)
    # an empty batch
    assert average_flip_heatmaps(a[:0], b[:0], FLIP).shape == (0, 5, 8, 6)


def test_flip_helpers_keep_gradients():
    a = torch.randn(2, 5, 4, 4, requires_grad=True)
    b = torch.randn(2, 5, 4, 4, requires_grad=True)
    average_flip_heatmaps(a, b, FLIP, "heatmap", True).sum().backward()
    assert torch.equal(a.grad, torch.full_like(a, 0.5)) and b.grad is not None
    x, y = torch.randn(2, 5, 8, requires_grad=True), torch.randn(2, 5, 6, requires_grad=True)
    ax, ay = average_flip_vectors(x, y, x.detach(), y.detach(), FLIP)
    (ax.sum() + ay.sum()).backward()
    assert torch.equal(x.grad, torch.full_like(x, 0.5))


def test_average_flip_vectors_equal_reference():
    g = torch.Generator().manual_seed(1)
    x, y, xf, yf = (torch.randn(4, 5, n, generator=g) for n in (12, 16, 12, 16))
    ax, ay = average_flip_vectors(x, y, xf, yf, FLIP)
    assert torch.equal(ax, (x + xf[:, FLIP].flip(-1)) * 0.5)
    assert torch.equal(ay, (y + yf[:, FLIP]) * 0.5)
    fx, fy = flip_vectors(xf, yf, FLIP)
    assert torch.equal(fx, xf[:, FLIP].flip(-1)) and torch.equal(fy, yf[:, FLIP])


def test_flip_errors_name_the_mismatch():
    hm = torch.zeros(1, 6, 4, 4)
    with pytest.raises(ValueError, match="flip_indices has 5 entries"):
        flip_heatmaps(hm, FLIP)
    with pytest.raises(ValueError, match="Invalid flip_mode"):
        average_flip_heatmaps(hm, hm, None, flip_mode="nope")
    with pytest.raises(ValueError, match="differ in shape"):
        average_flip_heatmaps(hm, hm[:, :5], None)
    with pytest.raises(ValueError, match="flip_vectors expects"):
        flip_vectors(torch.zeros(2, 5), torch.zeros(2, 5), FLIP)


@pytest.mark.parametrize("flip_mode, group, shift", [("heatmap", 1, True), ("udp_combined", 3, False)])
def test_average_flip_heatmaps_in_place(flip_mode, group, shift, monkeypatch):
    monkeypatch.setattr(tta, "_CPU_CHUNK_BYTES", 3 * 5 * group * 6 * 7 * 4)  # chunks of 3 of 5 samples
    g = torch.Generator().manual_seed(11)
    a = torch.randn(5, 5 * group, 6, 7, generator=g)
    b = torch.randn(5, 5 * group, 6, 7, generator=g)
    want = (a + reference_flip_heatmaps(b.clone(), FLIP, flip_mode, shift)) * 0.5
    got = average_flip_heatmaps(a, b, FLIP, flip_mode, shift, out=a)
    assert got is a and torch.equal(a, want)
    c = torch.randn(5, 5 * group, 6, 7, generator=g)
    scratch = torch.empty_like(c)
    got = average_flip_heatmaps(c, b, FLIP, flip_mode, shift, out=scratch)
    assert got is scratch and torch.equal(
        scratch, (c + reference_flip_heatmaps(b.clone(), FLIP, flip_mode, shift)) * 0.5
    )
    with pytest.raises(ValueError, match="out must be a contiguous"):
        average_flip_heatmaps(a, b, FLIP, flip_mode, shift, out=a.to(memory_format=torch.channels_last))


def test_writable_output_only_for_an_unshared_tensor_outside_autograd():
    feats = torch.randn(2, 5, 4, 4)
    fresh = feats * 2
    assert tta.writable_output(fresh, [feats]) is fresh
    assert tta.writable_output(fresh, feats, dtype=torch.float64) is None  # wrong dtype
    assert tta.writable_output(feats, [feats]) is None  # an identity head's output is its input
    assert tta.writable_output(feats[:, :3], (feats,)) is None  # a view of it (also not contiguous)
    assert tta.writable_output(feats.view(2, 5, 16), feats) is None  # a contiguous view: same memory
    assert tta.writable_output(fresh.to(memory_format=torch.channels_last), feats) is None
    needs_grad = torch.randn(2, 5, 4, 4, requires_grad=True) * 2
    assert tta.writable_output(needs_grad, feats) is None
    with torch.no_grad():
        assert tta.writable_output(needs_grad, feats) is needs_grad


def test_heatmap_head_flip_test_equals_reference_and_keeps_features():
    from posekit.codecs import MSRAHeatmap
    from posekit.models.heads import HeatmapHead

    decoder = MSRAHeatmap(input_size=(20, 24), heatmap_size=(5, 6), sigma=1.0)
    head = HeatmapHead(8, 5, deconv_out_channels=None, decoder=decoder).eval()
    g = torch.Generator().manual_seed(0)
    feats, feats_flip = torch.randn(3, 8, 6, 5, generator=g), torch.randn(3, 8, 6, 5, generator=g)
    feats_copy, feats_flip_copy = feats.clone(), feats_flip.clone()

    class Batch:
        flip_indices = FLIP

    cfg = {"flip_test": True, "shift_heatmap": True, "output_heatmaps": True}
    with torch.no_grad():
        _, _, extras = head.predict([(feats,), (feats_flip,)], Batch(), cfg)
        want = (head((feats,)) + reference_flip_heatmaps(head((feats_flip,)), FLIP, "heatmap", True)) * 0.5
    assert torch.equal(extras["heatmaps"], want)
    assert torch.equal(feats, feats_copy) and torch.equal(feats_flip, feats_flip_copy)
