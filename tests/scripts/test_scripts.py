"""The benchmarks of scripts/, called in process (small sizes). The user tools are tested in tests/cli."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"posekit_script_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


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
