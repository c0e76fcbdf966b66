"""Shared pytest fixtures.

Real reference data lives outside the repository in ``../shared`` (MMPose 1.3.2 goldens and small real
samples); set ``POSEKIT_SHARED`` to point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("POSEKIT_SHARED", REPO_ROOT.parent / "shared")).resolve()
GOLDEN_DIR = SHARED_DIR / "golden"
TESTDATA_DIR = SHARED_DIR / "data" / "mmpose_testdata"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"reference data not found at {path} (set POSEKIT_SHARED to the shared/ folder)")
    return path


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    """``../shared/golden``: MMPose 1.3.2 outputs (see its README.md and index.json)."""
    return _require(GOLDEN_DIR)


@pytest.fixture(scope="session")
def testdata_dir() -> Path:
    """``../shared/data/mmpose_testdata``: small real images + COCO-format annotations."""
    return _require(TESTDATA_DIR)


@pytest.fixture(scope="session")
def golden_index(golden_dir: Path) -> dict:
    import json

    return json.loads((golden_dir / "index.json").read_text())
