"""An MMPose model-zoo checkpoint converts by its file name alone and reproduces MMPose 1.3.2's outputs.

The checkpoint's weights are a deterministic function of MMPose's state_dict layout
(``tests/data/tools/gen_zoo_convert_golden.py``, which also produced MMPose's outputs in
``tests/data/golden/zoo_convert_<stem>.npz``); here it is rebuilt, saved under the published file name (which is
not the config stem), converted without naming the model, and run.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.models import build_model_from_cfg
from posekit.models.convert import convert_mmpose_checkpoint, model_for_checkpoint
from posekit.models.zoo import get_model_info
from posekit.structures import PoseBatch
from tests.conftest import load_zoo_golden

TOOL = Path(__file__).resolve().parents[2] / "data" / "tools" / "gen_zoo_convert_golden.py"
_spec = importlib.util.spec_from_file_location("gen_zoo_convert_golden", TOOL)
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)


@pytest.mark.parametrize("stem", gen.STEMS)
def test_zoo_checkpoint_converts_by_name_and_matches_mmpose(stem, golden_dir, tmp_path):
    ref = np.load(golden_dir / f"zoo_convert_{stem}.npz")
    layout = load_zoo_golden()[stem]
    info = get_model_info(stem)
    assert info.weights_file and not info.weights_file.startswith(stem)  # the file is not named after the config
    path = tmp_path / info.weights_file
    sd = {
        k: torch.from_numpy(v)
        for k, v in gen.deterministic_state_dict(layout["state_dict_shapes"], int(ref["seed"])).items()
    }
    torch.save({"meta": {"mmpose_version": "1.3.2"}, "state_dict": sd}, path)

    assert model_for_checkpoint(path) == stem
    ckpt = convert_mmpose_checkpoint(path)  # no model name: found from the file name
    assert ckpt["posekit_conversion"]["model"] == stem
    assert ckpt["posekit_conversion"]["params"] == int(ref["params"])
    model = build_model_from_cfg(ckpt["posekit_cfg"]).eval()
    model.load_state_dict({k[len("model.") :]: v for k, v in ckpt["state_dict"].items()}, strict=True)

    w, h = layout["input_size"]
    inputs = torch.from_numpy(gen.golden_input(w, h))[None]
    with torch.no_grad():
        x = model.data_preprocessor(inputs)
        outs = model(x)
        outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
        batch = PoseBatch(
            inputs=inputs,
            targets={},
            centers=torch.tensor(ref["center"], dtype=torch.float32)[None],
            scales=torch.tensor(ref["scale"], dtype=torch.float32)[None],
            metas=[{"flip_indices": [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15], "input_size": (w, h)}],
        )
        pred = model.predict(x, batch)
    for i, out in enumerate(outs):
        if out.ndim == 4:  # heatmaps: stored at every HEATMAP_STRIDE-th row and column
            out = out[..., :: gen.HEATMAP_STRIDE, :: gen.HEATMAP_STRIDE]
        expected = torch.from_numpy(ref[f"out_{i}"])
        rel = (out - expected).abs().max() / expected.abs().max()
        assert rel < 1e-4, f"output {i}: relative error {rel:.2e}"
    _check_scores(pred, ref)
    # flip-test keypoints: equal, except where MMPose's own flip-averaged labels tie at both positions
    ours, theirs = pred["keypoints"][0, 0].double().numpy(), ref["keypoints"][0]
    if "keypoint_x_labels" not in ref:  # heatmap heads: the generator picked weights without near-ties
        assert np.abs(ours - theirs).max() < 1e-3, f"flip-test keypoints differ by {np.abs(ours - theirs).max():.2e}"
        return
    split = float(ref["keypoint_x_labels"].shape[-1]) / w  # SimCC bins per pixel
    for k in np.flatnonzero(np.abs(ours - theirs).max(-1) >= 1e-3):
        for axis, name in enumerate(("keypoint_x_labels", "keypoint_y_labels")):
            lab = ref[name][0, k]
            at_ours = lab[
                int(round((ours[k, axis] - theirs[k, axis]) / ref["scale"][axis] * (w, h)[axis] * split))
                + int(lab.argmax())
            ]
            assert lab.max() - at_ours < 1e-5, f"keypoint {k}: {ours[k]} vs MMPose {theirs[k]} (no tie)"
    assert (np.abs(ours - theirs).max(-1) < 1e-3).sum() >= 15


def _check_scores(pred: dict, ref) -> None:
    torch.testing.assert_close(
        pred["keypoint_scores"][:, 0].double(), torch.from_numpy(ref["keypoint_scores"]).double(), atol=1e-5, rtol=1e-4
    )


def test_unknown_file_name_asks_for_the_model(tmp_path):
    with pytest.raises(ValueError, match="--model"):
        model_for_checkpoint(tmp_path / "my_finetuned.pth")
    with pytest.raises(ValueError, match="no file name"):
        convert_mmpose_checkpoint({"state_dict": {}})
