"""The installed tools (posekit-browse, posekit-export, posekit-flops and the `posekit <verb>` umbrella), in process."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import pytest
import torch

from posekit.cli import main as umbrella


@pytest.fixture(scope="module")
def synthetic_args(tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("browse") / "synthetic"
    return [f"data.synthetic.root={root}", "data.synthetic.num_train=4", "data.synthetic.num_val=2"]


def test_browse_transformed_with_heatmap_overlay_and_grid(tmp_path, synthetic_args, capsys):
    from posekit.cli import browse

    out = tmp_path / "out"
    summary = browse.run([*synthetic_args, "num=3", "heatmaps=both", f"output_dir={out}"])
    assert "wrote" in capsys.readouterr().out
    mains = sorted(p for p in out.glob("*.jpg") if not p.stem.endswith("_grid"))
    grids = sorted(out.glob("*_grid.jpg"))
    assert len(mains) == 3 and len(grids) == 3 and len(summary["files"]) == 6
    pic = cv2.imread(str(mains[0]))
    # tiny model crops are 96x128, upscaled to 256 high: crop | heatmap overlay side by side
    assert pic.shape[0] == 256 and pic.shape[1] == 2 * 192 + 4
    assert cv2.imread(str(grids[0])) is not None


def test_browse_simcc_targets_and_val_split(tmp_path, synthetic_args):
    from posekit.cli import browse

    summary = browse.run(
        [*synthetic_args, "model=rtmpose_t", "num=2", "heatmaps=overlay", f"output_dir={tmp_path / 'train'}"]
    )
    assert len(summary["files"]) == 2
    pic = cv2.imread(summary["files"][0])
    assert pic.shape == (256, 2 * 192 + 4, 3)  # 192x256 crops | SimCC targets drawn as x*y maps
    val = browse.run([*synthetic_args, "model=rtmpose_t", "split=val", "num=2", f"output_dir={tmp_path / 'val'}"])
    assert cv2.imread(val["files"][0]).shape == (256, 192, 3)  # the val pipeline encodes no target: crop only


def test_browse_original_annotations_of_a_coco_file(tmp_path, testdata_dir):
    from posekit.cli import browse

    root = testdata_dir / "coco"
    summary = browse.run(
        [f"ann_file={root / 'test_coco.json'}", f"img_dir={root}", "mode=original", "num=2", f"output_dir={tmp_path}"]
    )
    assert len(summary["files"]) == 2
    assert cv2.imread(summary["files"][0]).shape == (425, 640, 3)


def test_browse_rejects_bad_options(capsys):
    from posekit.cli import browse

    with pytest.raises(SystemExit) as exc:
        browse.run(["heatmaps=sometimes"])
    assert exc.value.code == 2 and "heatmaps" in capsys.readouterr().err


def test_export_onnx_script(tmp_path, capsys):
    from posekit.cli import export as script

    result = script.run(["model=tiny", f"output={tmp_path / 'tiny.onnx'}", "opset=17"])
    out = capsys.readouterr().out
    assert (tmp_path / "tiny.onnx").is_file()
    assert "batch 2: max abs diff" in out and "batch 3: max abs diff" in out
    assert max(result["max_abs_diff"].values()) < 1e-4
    with pytest.raises(SystemExit):
        script.run([f"output={tmp_path / 'x.onnx'}"])


def test_count_flops_script(capsys):
    from posekit.cli import flops as script

    (r,) = script.count(["model=tiny"])
    out = capsys.readouterr().out
    assert r["params"] > 0 and r["flops"] > 0
    from posekit.models import build_model

    assert r["params"] == sum(p.numel() for p in build_model("tiny").parameters())
    assert "GFLOPs (MMPose" in out and "GFLOPs (PyTorch" in out and f"{r['params']:,}" in out
    table = script.table([r, {**r, "name": "other"}])
    lines = table.splitlines()
    assert len(lines) == 4 and lines[2].startswith("| tiny | 96x128 | 0.83 |")


def test_count_flops_from_a_checkpoint(tmp_path, capsys):
    from posekit.models import build_model

    # a minimal posekit checkpoint: state_dict + stored config
    model = build_model("tiny")
    from posekit.cli import flops
    from posekit.config import compose_model, to_container

    cfg = to_container(compose_model("tiny"))
    path = tmp_path / "m.ckpt"
    torch.save(
        {
            "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
            "posekit_cfg": {"model": cfg["model"], "codec": cfg["codec"], "num_keypoints": 17},
        },
        path,
    )
    (r,) = flops.count([f"ckpt={path}", "input_size=192x256"])
    assert r["input_shape"] == (1, 3, 256, 192)
    assert json.dumps(r["by_module"])  # plain ints


def test_umbrella_lists_and_dispatches_verbs(capsys):
    assert umbrella.main([]) == 0
    out = capsys.readouterr().out
    assert all(verb in out for verb in ("train", "eval", "infer", "convert", "export", "flops", "browse"))
    assert umbrella.main(["nope"]) == 2 and "unknown verb 'nope'" in capsys.readouterr().err
    assert umbrella.main(["flops", "model=tiny"]) is None
    assert "params: 0.8" in capsys.readouterr().out


def test_console_scripts_are_declared():
    from pathlib import Path

    import tomllib

    scripts = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]["scripts"]
    for verb in umbrella.VERBS:
        assert scripts[f"posekit-{verb}"] == f"posekit.cli.{verb}:main"
    assert scripts["posekit"] == "posekit.cli.main:main"


def test_umbrella_runs_hydra_verbs_as_a_program():
    proc = subprocess.run(
        [sys.executable, "-m", "posekit.cli", "train", "--cfg", "job", "model=res50"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "_target_: posekit.models.backbones.ResNet" in proc.stdout and "depth: 50" in proc.stdout


def test_eval_is_a_hydra_app_with_help_and_a_one_line_error(tmp_path):
    help_ = subprocess.run([sys.executable, "-m", "posekit.cli.eval", "--help"], capture_output=True, text=True)
    assert help_.returncode == 0 and "posekit-eval" in help_.stdout and "ckpt=PATH" in help_.stdout
    assert "== Configuration groups" in help_.stdout and "experiment:" in help_.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "posekit.cli.eval", "ckpt=/nowhere.ckpt"], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].endswith("ckpt=/nowhere.ckpt: no such file")
