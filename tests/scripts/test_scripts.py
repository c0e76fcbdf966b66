"""scripts/browse_dataset.py, export_onnx.py, count_flops.py and two benchmarks, called in process (small sizes)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import cv2
import pytest
import torch

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"posekit_script_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def synthetic_args(tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("browse") / "synthetic"
    return [f"data.synthetic.root={root}", "data.synthetic.num_train=4", "data.synthetic.num_val=2"]


def test_browse_transformed_with_heatmap_overlay_and_grid(tmp_path, synthetic_args, capsys):
    browse = _load("browse_dataset")
    out = tmp_path / "out"
    summary = browse.main([*synthetic_args, "num=3", "heatmaps=both", f"output_dir={out}"])
    assert "wrote" in capsys.readouterr().out
    mains = sorted(p for p in out.glob("*.jpg") if not p.stem.endswith("_grid"))
    grids = sorted(out.glob("*_grid.jpg"))
    assert len(mains) == 3 and len(grids) == 3 and len(summary["files"]) == 6
    pic = cv2.imread(str(mains[0]))
    # tiny model crops are 96x128, upscaled to 256 high: crop | heatmap overlay side by side
    assert pic.shape[0] == 256 and pic.shape[1] == 2 * 192 + 4
    assert cv2.imread(str(grids[0])) is not None


def test_browse_simcc_targets_and_val_split(tmp_path, synthetic_args):
    browse = _load("browse_dataset")
    summary = browse.main(
        [*synthetic_args, "model=rtmpose_t", "num=2", "heatmaps=overlay", f"output_dir={tmp_path / 'train'}"]
    )
    assert len(summary["files"]) == 2
    pic = cv2.imread(summary["files"][0])
    assert pic.shape == (256, 2 * 192 + 4, 3)  # 192x256 crops | SimCC targets drawn as x*y maps
    val = browse.main([*synthetic_args, "model=rtmpose_t", "split=val", "num=2", f"output_dir={tmp_path / 'val'}"])
    assert cv2.imread(val["files"][0]).shape == (256, 192, 3)  # the val pipeline encodes no target: crop only


def test_browse_original_annotations_of_a_coco_file(tmp_path, testdata_dir):
    browse = _load("browse_dataset")
    root = testdata_dir / "coco"
    summary = browse.main(
        [f"ann_file={root / 'test_coco.json'}", f"img_dir={root}", "mode=original", "num=2", f"output_dir={tmp_path}"]
    )
    assert len(summary["files"]) == 2
    assert cv2.imread(summary["files"][0]).shape == (425, 640, 3)


def test_browse_rejects_bad_options(capsys):
    browse = _load("browse_dataset")
    with pytest.raises(SystemExit) as exc:
        browse.main(["heatmaps=sometimes"])
    assert exc.value.code == 2 and "heatmaps" in capsys.readouterr().err


def test_export_onnx_script(tmp_path, capsys):
    script = _load("export_onnx")
    result = script.main(["model=tiny", f"output={tmp_path / 'tiny.onnx'}", "opset=17"])
    out = capsys.readouterr().out
    assert (tmp_path / "tiny.onnx").is_file()
    assert "batch 2: max abs diff" in out and "batch 3: max abs diff" in out
    assert max(result["max_abs_diff"].values()) < 1e-4
    with pytest.raises(SystemExit):
        script.main([f"output={tmp_path / 'x.onnx'}"])


def test_count_flops_script(capsys):
    script = _load("count_flops")
    (r,) = script.main(["model=tiny"])
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
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from posekit import conf_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        cfg = OmegaConf.to_container(compose(config_name="model_only", overrides=["model=tiny"]), resolve=True)
    path = tmp_path / "m.ckpt"
    torch.save(
        {
            "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
            "posekit_cfg": {"model": cfg["model"], "codec": cfg["codec"], "num_keypoints": 17},
        },
        path,
    )
    (r,) = _load("count_flops").main([f"ckpt={path}", "input_size=192x256"])
    assert r["input_shape"] == (1, 3, 256, 192)
    assert json.dumps(r["by_module"])  # plain ints


@pytest.mark.parametrize("new_output", [False, True])
def test_bench_decode_checks_equal_results_and_prints_tables(capsys, new_output):
    bench = _load("bench_decode")
    argv = ["--batch", "3", "--repeat", "1", "--warmup", "0", "--threads", "1"]
    bench.main(argv + ["--cases", "msra_dark", "udp_combined", "simcc_dark"] + (["--new-output"] if new_output else []))
    out = capsys.readouterr().out
    assert "MSRAHeatmap + DARK" in out and "UDPHeatmap combined" in out and "SimCCLabel" in out
    assert "floor: outputs + outputs_flip" in out


def test_bench_infer_counts_every_person(capsys, testdata_dir):
    bench = _load("bench_infer")
    bench.main(
        ["--models", "tiny", "--copies", "1", "--repeat", "1", "--warmup", "0", "--data", str(testdata_dir / "coco")]
    )
    out = capsys.readouterr().out
    assert "4 images, 14 people" in out and "| tiny (0.83 M params, 96x128, flip test on) |" in out


@pytest.mark.slow
def test_bench_gpu_script_runs_every_benchmark_on_cpu(tmp_path):
    """The prepared device-check script, in its CPU smoke mode: every step writes its table."""
    import os
    import subprocess

    env = dict(os.environ, DEVICE="cpu", QUICK="1", OUT=str(tmp_path), PYTHON=sys.executable)
    proc = subprocess.run(["bash", str(SCRIPTS / "bench_gpu.sh")], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "FAILED" not in proc.stdout, proc.stdout
    for name in ("decode", "train_step", "dataloader", "infer"):
        assert "|---" in (tmp_path / f"{name}.md").read_text(), name
