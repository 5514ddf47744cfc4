"""Shared test fixtures: paths to the golden vectors in ../shared."""
import os
import pathlib

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GOLDEN = SHARED / "golden"


def golden_path(name):
    """Return the path of a golden file, failing loudly (never skipping) when absent."""
    path = GOLDEN / name
    if not path.exists():
        pytest.fail(f"golden file {path} is missing: ../shared must sit beside the repo")
    return path


@pytest.fixture
def shared_dir():
    if not SHARED.exists():
        pytest.fail(f"{SHARED} is missing: ../shared must sit beside the repo")
    return SHARED
