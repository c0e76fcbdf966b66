"""Shared pytest fixtures.

The reference data the tests read is vendored in ``tests/data`` (a fresh clone tests fully):
``tests/data/golden`` holds MMPose 1.3.2's outputs (codecs, warps, pipeline crops, CocoMetric cases, model layouts;
``zoo.json.gz`` has the state_dict layout of all 142 MMPose COCO top-down configs) and
``tests/data/mmpose_testdata`` MMPose's own small real samples of ~30 datasets. Missing data is a failure, not a skip.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "tests" / "data"
GOLDEN_DIR = DATA_DIR / "golden"
TESTDATA_DIR = DATA_DIR / "mmpose_testdata"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"vendored test data missing: {path} (it is part of the repository; restore it with git)")
    return path


@lru_cache(maxsize=1)
def load_zoo_golden() -> dict:
    """Every MMPose 1.3.2 COCO top-down config stem -> its golden entry (params, types, ``state_dict_shapes``)."""
    with gzip.open(_require(GOLDEN_DIR / "zoo.json.gz"), "rt") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    """``tests/data/golden``: MMPose 1.3.2 outputs (see its README.md and index.json)."""
    return _require(GOLDEN_DIR)


@pytest.fixture(scope="session")
def testdata_dir() -> Path:
    """``tests/data/mmpose_testdata``: small real images + annotations of ~30 datasets."""
    return _require(TESTDATA_DIR)


@pytest.fixture(scope="session")
def golden_index(golden_dir: Path) -> dict:
    return json.loads((golden_dir / "index.json").read_text())


@pytest.fixture(scope="session")
def zoo_golden() -> dict:
    return load_zoo_golden()
