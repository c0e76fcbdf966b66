"""HRFormer against MMPose 1.3.2: a small 4-branch HRFormer, windows of 3 on 16x8 / 8x4 / 4x2 / 2x1 maps
(symmetric padding), with and without the padding mask."""

from __future__ import annotations

import pytest
import torch

from posekit.models.backbones import HRFormer


@pytest.mark.parametrize("name", ["hrformer", "hrformer_padmask"])
def test_forward_matches_mmpose(name, mmpose_ref, rel_close):
    ref = mmpose_ref(name)
    assert ref.meta["kwargs"]["extra"]["with_pad_mask"] == (name == "hrformer_padmask")
    model = HRFormer(**ref.meta["kwargs"])
    model.load_state_dict(ref.state_dict(), strict=True)
    model.eval()
    with torch.no_grad():
        (out,) = model(ref.input())
    (expected,) = ref.outputs()
    rel_close(out, expected)


def test_extra_is_not_modified_and_missing_keys_are_named(mmpose_ref):
    extra = mmpose_ref("hrformer").meta["kwargs"]["extra"]
    before = repr(extra)
    HRFormer(extra)
    assert repr(extra) == before
    bad = {k: v for k, v in extra.items() if k != "drop_path_rate"}
    with pytest.raises(KeyError, match="drop_path_rate"):
        HRFormer(bad)
