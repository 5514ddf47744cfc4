"""benchmarks/gpu_check.py: the no-GPU error, and that it reads train_speed.py's output."""

import importlib.util
import os
import subprocess
import sys

import pytest
from conftest import REPO

SCRIPT = os.path.join(REPO, "benchmarks", "gpu_check.py")


def _load():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_gpu_is_one_line_and_status_2():
    # CUDA_VISIBLE_DEVICES=-1 hides any GPU, so this also holds on a CUDA machine.
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="-1", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("gpu_check.py:")]
    assert len(errors) == 1 and errors[0].startswith("gpu_check.py: error: no GPU visible"), proc.stderr
    assert "--allow-cpu" in errors[0] and "Traceback" not in proc.stderr
    assert proc.stdout == ""  # Nothing was run.


def test_tick_lines_are_parsed():
    check = _load()
    log = (
        "Building TensorFlow graph...\n"
        "tick 1     kimg 0.0      lod 0.00  minibatch 8    time 11s          sec/tick 11.4    "
        "sec/kimg 355.00  maintenance 2.6    img/s 2.8     eta 11s          mem 0.75 GB\n"
        "tick 2     kimg 12.5     lod 1.50  minibatch 8    time 12s          sec/tick 0.1     "
        "sec/kimg 4.66    maintenance 0.5    img/s 214.6   eta 0s           mem 0.76 GB\n"
    )
    assert check.parse_ticks(log) == [(0.0, 0.0, 355.0), (12.5, 1.5, 4.66)]


@pytest.mark.slow
def test_speed_run_reads_train_speed_output():
    """A real train_speed.py run (tiny StyleGAN in bf16, which crashed before) goes into the
    README table with its img/s and peak memory."""
    check = _load()
    config = ("stylegan", 4, 0, 4, 32, 8)
    figures = check.speed_run(config, "bf16", False, 1, 600)
    assert "error" not in figures, figures
    assert figures["img_s"] > 0 and figures["sec_kimg"] == pytest.approx(1000 / figures["img_s"], rel=0.02)
    assert figures["peak_host_gb"] > 0
    from training import precision

    assert ("warning" in figures) == (precision.bf16_warning("train_speed.py") is not None), figures
    columns = [("bf16", False)]
    lines = check.markdown(
        "CPU only (test)", columns, {(config, "bf16", False): figures}, [config], "Training: not run.", []
    )
    row = [line for line in lines if line.startswith("| StyleGAN res 4, lod 0, batch 4, fmap 32/8")]
    assert row == [
        f"| StyleGAN res 4, lod 0, batch 4, fmap 32/8, latent 8 | {figures['img_s']:.1f} img/s, "
        f"{figures['peak_host_gb']:.2f} GB |"
    ], lines
    assert "| config | bf16 |" in lines
