"""Shared test fixtures: paths to the golden vectors in ../shared."""

import os
import pathlib

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GOLDEN = SHARED / "golden"


# The tiny networks of the end-to-end training tests: 8x8, fmap 64/16, minibatch 8.
TINY_NETS = "--res 8 --fmap_base 64 --fmap_max 16 --latent_size 16 --minibatch_base 8 --minibatch_dict {}".split()


def user_env(**overrides):
    """The environment of a user who set nothing, on a CPU where TensorFlow turns oneDNN on.

    TF_CPP_MIN_LOG_LEVEL is removed (the tools choose their own default) and oneDNN is forced on,
    so that TensorFlow 2.21 writes its start-up log lines on any machine (Intel CPUs do so by
    default, AMD ones only with TF_ENABLE_ONEDNN_OPTS=1): a test that counts stderr lines then
    fails wherever the tools let those lines through, not only on Intel machines.
    """
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(TF_ENABLE_ONEDNN_OPTS="1", PYTHONUNBUFFERED="1")
    env.update(overrides)
    return env


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
