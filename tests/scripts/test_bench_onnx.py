"""scripts/bench_onnx.py: the three ONNX sessions run and the table reports the end-to-end overhead."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.mark.slow
def test_bench_onnx_prints_overhead_table(capsys):
    pytest.importorskip("onnxruntime")
    sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location("posekit_script_bench_onnx", SCRIPTS / "bench_onnx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--model", "tiny", "--batch-sizes", "1", "2", "--repeat", "1", "--warmup", "0"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |")]
    assert len(rows) == 2 and all(row.count("|") == 7 and "%" in row for row in rows)
