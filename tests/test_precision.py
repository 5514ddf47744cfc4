"""Mixed precision: StyleGAN networks in fp16/bf16, train.py runs in every precision, and the
warning for bf16 on hardware without bf16 arithmetic."""

import os

import numpy as np
import pytest
from conftest import REPO
from conftest import TINY_NETS

from networks import official
from training import precision

AMD_AVX2 = (
    "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse sse2 avx avx2 fma bmi2\n\n"
    "processor\t: 1\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse sse2 avx avx2 fma bmi2\n"
)
INTEL_SPR = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
INTEL_AMX_ONLY = "processor\t: 0\nflags\t\t: fpu avx2 avx512f amx_tile amx_bf16\n"
ARM_NEOVERSE_V1 = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"


def test_cpu_bf16_detection_from_cpuinfo():
    assert precision.cpu_has_bf16(AMD_AVX2, machine="x86_64") is False
    assert precision.cpu_has_bf16(INTEL_SPR, machine="x86_64") is True
    assert precision.cpu_has_bf16(INTEL_AMX_ONLY, machine="x86_64") is True
    assert precision.cpu_has_bf16(ARM_NEOVERSE_V1, machine="aarch64") is True
    assert precision.cpu_has_bf16(ARM_NEOVERSE_V1.replace(" bf16", ""), machine="aarch64") is False
    # A flag on only some cores does not count; nothing is claimed where it cannot be told.
    assert precision.cpu_has_bf16(INTEL_SPR + "\n" + AMD_AVX2, machine="x86_64") is False
    assert precision.cpu_has_bf16("", machine="x86_64") is None
    assert precision.cpu_has_bf16(AMD_AVX2, machine="ppc64le") is None


def test_bf16_warning_outcomes():
    line = precision.bf16_warning("train.py", cpuinfo=AMD_AVX2, machine="x86_64", gpu_capabilities=[])
    assert line.startswith("train.py: warning: this CPU has no bf16 instructions (avx512_bf16/amx_bf16)")
    assert "\n" not in line and "--precision fp32" in line
    assert precision.bf16_warning("train.py", cpuinfo=INTEL_SPR, machine="x86_64", gpu_capabilities=[]) is None
    # With GPUs, only their compute capability counts: Ampere and later have bf16, Volta not.
    assert precision.bf16_warning("x", cpuinfo=AMD_AVX2, machine="x86_64", gpu_capabilities=[(8, 0)]) is None
    assert precision.bf16_warning("x", cpuinfo=AMD_AVX2, machine="x86_64", gpu_capabilities=[(9, 0)]) is None
    assert precision.bf16_warning("x", cpuinfo=AMD_AVX2, machine="x86_64", gpu_capabilities=[None]) is None
    line = precision.bf16_warning("x", cpuinfo=INTEL_SPR, machine="x86_64", gpu_capabilities=[(7, 0)])
    assert line.startswith("x: warning: this GPU (compute capability 7.0") and "fp16" in line


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_stylegan_mixed_precision_networks(dtype):
    """An official dtype string gives float32 variables and `dtype` activations (the official
    networks cast float32 weights to the activation dtype); dlatent_avg stays float32 through
    the training update and the truncation."""
    import tensorflow as tf

    from networks import stylegan

    args = dict(resolution=8, num_channels=3, fmap_base=64, fmap_max=16, dtype=dtype)
    G = stylegan.Generator(latent_size=16, dlatent_size=16, mapping_layers=2, mapping_fmaps=16, **args)
    D = stylegan.Discriminator(**args)
    assert {v.dtype for v in G.weights + D.weights} == {"float32"}
    z = tf.random.stateless_normal([4, 16], [1, 2])
    fakes = tf.function(lambda z: G(z, training=True))(z)  # The traced training call crashed before.
    assert fakes.dtype == dtype and G.dlatent_avg.dtype == "float32"
    assert np.any(G.dlatent_avg.numpy() != 0) and np.all(np.isfinite(G.dlatent_avg.numpy()))
    truncated = G(z, truncation_psi=0.5, truncation_cutoff=8)
    assert truncated.dtype == dtype and np.all(np.isfinite(np.asarray(truncated, np.float32)))
    assert D(fakes).dtype == dtype
    assert G.official_static_kwargs()["dtype"] == dtype


# Tiny runs: 8x8 shapes, 8 iterations of minibatch 8, a snapshot at the end.
TINY = (
    TINY_NETS
    + (
        "--lod_initial_resolution 8 --tick_kimg_base 0.032 --tick_kimg_dict {} --network_snapshot_ticks 1 --total_kimg 0.064"
    ).split()
)
STYLEGAN = "--arch stylegan --dlatent_size 16 --mapping_layers 2 --mapping_fmaps 16 --grid_size 1080p".split()


@pytest.fixture(scope="module")
def shapes8(tmp_path_factory):
    import subprocess
    import sys

    path = tmp_path_factory.mktemp("data") / "shapes8"
    subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "dataset_tool.py"),
            "create_shapes",
            str(path),
            "--resolution",
            "8",
            "--num_images",
            "64",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["progan", "stylegan"])
@pytest.mark.parametrize("prec", ["fp16", "bf16"])
def test_train_py_mixed_precision(tmp_path, shapes8, arch, prec):
    """train.py trains in fp16 and bf16: exit 0, finite float32 weights stored with the official
    dtype, fp16 with the official loss scaling (log2 scale 64 at the start, -1 per overflow,
    +0.0005 per applied step; 2^64 overflows fp16 at once), bf16 without it and with updates.
    The bf16 warning is printed exactly when this machine has no bf16 hardware."""
    from test_training import _only_run_dir
    from test_training import _train

    proc = _train(
        ["--dataset", shapes8, "--result_dir", str(tmp_path), "--precision", prec]
        + TINY
        + (STYLEGAN if arch == "stylegan" else [])
    )
    out, _ = proc.communicate(timeout=600)
    out = out.decode()
    assert proc.returncode == 0, out[-3000:]
    run_dir = _only_run_dir(tmp_path)
    dtype = {"fp16": "float16", "bf16": "bfloat16"}[prec]
    for state in official.read_pickle(os.path.join(run_dir, "network-final.pkl")):
        assert state.static_kwargs.get("dtype") == dtype, state.name
        for name, value in state.variables.items():
            assert value.dtype == np.float32 and np.all(np.isfinite(value)), (state.name, name)
    with np.load(os.path.join(run_dir, "resume-state.npz")) as saved:
        for opt in ("G_opt", "D_opt"):
            scale, steps, overflows = (float(saved[f"{opt}/{k}"]) for k in ("loss_scaling_log2", "step", "overflows"))
            assert steps + overflows == 8, (opt, steps, overflows)
            if prec == "fp16":
                assert overflows >= 1 and scale == pytest.approx(64.0 - overflows + 0.0005 * steps), opt
            else:
                assert overflows == 0 and steps == 8 and scale == 64.0, opt
    warnings = [line for line in out.splitlines() if line.startswith("train.py: warning:") and "bf16" in line]
    expected = prec == "bf16" and precision.bf16_warning("train.py") is not None
    assert len(warnings) == (1 if expected else 0), warnings
