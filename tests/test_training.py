"""Training loop: process_reals, exact resume after SIGKILL, and MirroredStrategy equivalence."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO
from conftest import TINY_NETS
from conftest import user_env

from networks import official
from training.train_step import process_reals

# A tiny but complete schedule: 4x4 -> 8x8 with a fade, several ticks and snapshots.
TINY_FLAGS = (
    TINY_NETS
    + (
        "--lod_training_kimg 0.064 --lod_transition_kimg 0.064 --tick_kimg_base 0.032 --tick_kimg_dict {} "
        "--network_snapshot_ticks 1 --total_kimg 0.32 --deterministic"
    ).split()
)


def make_dataset(path, num_images=64, resolution=8, channels=3, seed=0):
    from datasets.tfrecord_export import TFRecordExporter

    rng = np.random.RandomState(seed)
    with TFRecordExporter(str(path), num_images, print_progress=False) as tfr:
        for _ in range(num_images):
            tfr.add_image(rng.randint(0, 256, size=(channels, resolution, resolution)).astype(np.uint8))
    return str(path)


def _train(args, stderr=subprocess.STDOUT, **popen):
    cmd = [sys.executable, os.path.join(REPO, "train.py")] + args
    return subprocess.Popen(cmd, cwd=REPO, env=user_env(), stdout=subprocess.PIPE, stderr=stderr, **popen)


def _only_run_dir(result_dir):
    runs = [name for name in os.listdir(result_dir) if os.path.isdir(os.path.join(result_dir, name))]
    assert len(runs) == 1, runs
    return os.path.join(result_dir, runs[0])


def _final_arrays(run_dir):
    states = official.read_pickle(os.path.join(run_dir, "network-final.pkl"))
    return {f"{state.name}/{name}": value for state in states for name, value in state.variables.items()}


def test_process_reals_matches_official_semantics():
    x = np.random.RandomState(0).randint(0, 256, size=(2, 4, 4, 3)).astype(np.uint8)
    lod = tf.constant(1.25)
    mirror = tf.constant([0.2, 0.7])  # keep the first, mirror the second
    out = process_reals(
        tf.constant(np.transpose(x, [0, 3, 1, 2])), lod, mirror, [0, 255], [-1, 1], resolution=8
    ).numpy()
    ref = x.astype(np.float32) * np.float32(2 / 255) - 1
    ref[1] = ref[1, :, ::-1]
    box = ref.reshape(2, 2, 2, 2, 2, 3).mean(axis=(2, 4))
    box = box.repeat(2, axis=1).repeat(2, axis=2)
    ref = ref + (box - ref) * 0.25
    ref = ref.repeat(2, axis=1).repeat(2, axis=2)
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)


@pytest.mark.slow
def test_resume_after_sigkill_reaches_same_weights(tmp_path):
    data = make_dataset(tmp_path / "tiny")
    uninterrupted = _train(["--dataset", data, "--result_dir", str(tmp_path / "a")] + TINY_FLAGS)
    out, _ = uninterrupted.communicate(timeout=900)
    assert uninterrupted.returncode == 0, out.decode()[-3000:]
    reference = _final_arrays(_only_run_dir(tmp_path / "a"))

    killed = _train(["--dataset", data, "--result_dir", str(tmp_path / "b")] + TINY_FLAGS)
    deadline = time.time() + 900
    state = None
    while time.time() < deadline and killed.poll() is None:
        runs = os.listdir(tmp_path / "b") if os.path.isdir(tmp_path / "b") else []
        if runs and os.path.exists(os.path.join(tmp_path / "b", runs[0], "resume-state.npz")):
            state = os.path.join(tmp_path / "b", runs[0], "resume-state.npz")
            break
        time.sleep(0.05)
    assert state is not None and killed.poll() is None, "the run ended before its first snapshot"
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    run_dir = _only_run_dir(tmp_path / "b")
    assert not os.path.exists(os.path.join(run_dir, "network-final.pkl"))
    with np.load(state) as saved:
        killed_at = json.loads(str(saved["__loop_state__"]))["cur_nimg"]
    assert 0 < killed_at < 320

    resumed = _train(["--resume", run_dir])
    out, _ = resumed.communicate(timeout=900)
    assert resumed.returncode == 0, out.decode()[-3000:]
    assert "Restoring exact training state" in out.decode()
    result = _final_arrays(run_dir)
    assert sorted(result) == sorted(reference)
    for name in reference:
        np.testing.assert_array_equal(result[name], reference[name], err_msg=name)


MIRRORED_SCRIPT = r"""
import json, os, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
tf.config.experimental.enable_op_determinism()
sys.path.insert(0, os.environ["REPO"])
from datasets.tfrecord_reader import TFRecordDataset
from training import training_loop as tl
results = {}
for name, strategy in [("one", tf.distribute.OneDeviceStrategy("/cpu:0")),
                       ("two", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))]:
    run_dir = os.path.join(os.environ["OUT"], name)
    os.makedirs(run_dir)
    ds = TFRecordDataset(os.environ["DATA"], seed=1, data_format="NCHW")
    nets = tl.training_loop(run_dir, ds, strategy=strategy,
        G_args=dict(fmap_base=64, fmap_max=16, latent_size=16), D_args=dict(fmap_base=64, fmap_max=16, mbstd_group_size=1),
        G_loss_args=dict(func_name="G_wgan_acgan"), D_loss_args=dict(func_name="D_wgangp_acgan"),
        sched_args=dict(minibatch_base=8, lod_training_kimg=0.032, lod_transition_kimg=0.032,
                        tick_kimg_base=0.016, tick_kimg_dict={}),
        total_kimg=0.096, network_snapshot_ticks=100, mirror_augment=True, progress_sec=0)
    results[name] = {f"{net.name}/{k}": np.asarray(v.numpy()) for net in nets for k, v in net.all_official_variables().items()}
worst = 0.0
for key, value in results["one"].items():
    worst = max(worst, float(np.max(np.abs(value - results["two"][key]))))
    np.testing.assert_allclose(results["two"][key], value, rtol=1e-4, atol=1e-5, err_msg=key)
print("MAXDIFF", worst)
"""


@pytest.mark.slow
def test_two_replicas_match_one_replica(tmp_path):
    """Same global batch on 1 and 2 replicas gives the same weights after several steps.

    Minibatch-stddev is disabled here: the official code computes it per GPU, so its groups
    legitimately differ between 1 and 2 replicas.
    """
    data = make_dataset(tmp_path / "tiny")
    env = dict(os.environ, REPO=str(REPO), DATA=data, OUT=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "MAXDIFF" in proc.stdout


def _progan_train_steps(
    net_args,  # Generator/Discriminator kwargs besides num_channels (RGB).
    latent_size,  # G's latent size.
    loss_scaling=False,  # Official fp16 loss scaling in both optimizers.
):
    """Fresh ProGAN G, D and the compiled TrainSteps (WGAN-GP, no labels, no mirroring) for them."""
    from networks import progan
    from training.optimizer import Optimizer
    from training.train_step import TrainSteps
    from training.train_step import trainable_variables

    common = dict(net_args, num_channels=3)
    G, D = progan.Generator(latent_size=latent_size, **common), progan.Discriminator(**common)
    Gs = progan.Generator(latent_size=latent_size, **common, name="Gs")
    G_opt = Optimizer(trainable_variables(G), use_loss_scaling=loss_scaling)
    D_opt = Optimizer(trainable_variables(D), use_loss_scaling=loss_scaling)
    steps = TrainSteps(
        tf.distribute.get_strategy(),
        G,
        D,
        Gs,
        G_opt,
        D_opt,
        dict(func_name="G_wgan_acgan"),
        dict(func_name="D_wgangp_acgan"),
        np.zeros([1, 0], np.float32),
        False,
        [0, 255],
        [-1, 1],
    )
    return G, D, steps


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_mixed_precision_training_steps(precision):
    """fp16 uses the official loss scaling (2^64 start: the first steps overflow, are skipped and
    halve the scale); bf16 needs none. Weights stay float32 and finite, and training moves them."""
    from training.train_step import trainable_variables

    scaling = precision == "float16"
    G, D, steps = _progan_train_steps(dict(resolution=8, fmap_base=64, fmap_max=16, dtype=precision), 16, scaling)
    D_opt = steps.D_opt
    reals = tf.constant(np.random.RandomState(0).randint(0, 256, [8, 3, 8, 8]), tf.uint8)
    before = [np.array(v.numpy()) for v in trainable_variables(D)]
    for i in range(4):
        stats = steps.D_step(
            reals,
            tf.zeros([8, 0]),
            tf.constant([0, i], tf.int64),
            tf.constant(0.0),
            tf.constant(0.001),
            tf.constant(0.999),
        )
        steps.G_step(8, 0, tf.constant([1, i], tf.int64), tf.constant(0.001))
    assert all(v.dtype == "float32" for v in trainable_variables(D))
    assert all(np.all(np.isfinite(v.numpy())) for v in trainable_variables(D) + trainable_variables(G))
    if scaling:
        assert D_opt.overflows.numpy() >= 1 and D_opt.loss_scaling_log2.numpy() < 64.0
    else:
        assert D_opt.overflows.numpy() == 0 and D_opt.loss_scaling_log2.numpy() == 64.0
    assert D_opt.step.numpy() + D_opt.overflows.numpy() == 4
    if D_opt.step.numpy() > 0:
        assert any(np.any(b != v.numpy()) for b, v in zip(before, trainable_variables(D)))
    assert np.isfinite(float(stats["Loss/D"])) or scaling


@pytest.mark.slow
def test_training_steps_learn_the_colour_distribution():
    """The compiled D/G steps (process_reals, losses, Adam, Gs) learn a simple RGB distribution.

    Reals are flat 4x4 images of a uniformly random colour (per-image colour std 0.577 in every
    channel, no variation inside an image). A fresh G draws per-pixel noise with little colour
    variety between images; after 800 steps its fakes must be flat images of varied colours.
    A sign error, a channel mix-up or a broken update would leave them noise. The learning rate
    is the quickstart's 0.003 (with 0.001 the same takes a few thousand steps).
    """
    import keras

    keras.utils.set_random_seed(1)
    G, D, steps = _progan_train_steps(dict(resolution=4, fmap_base=128, fmap_max=32), 32)

    def fake_stats():
        fakes = G(tf.random.stateless_normal([512, 32], [7, 7]), tf.zeros([512, 0])).numpy()
        return fakes.mean(axis=(1, 2)).std(axis=0), fakes.std(axis=(1, 2)).mean()

    between, within = fake_stats()
    assert between.max() < 0.35 and within > 0.4, (between, within)
    rng, batch, lr = np.random.RandomState(1), 16, tf.constant(0.003)
    for i in range(800):
        colours = rng.randint(0, 256, [batch, 3, 1, 1]).astype(np.uint8)
        reals = tf.constant(np.broadcast_to(colours, [batch, 3, 4, 4]))
        steps.D_step(
            reals, tf.zeros([batch, 0]), tf.constant([0, i], tf.int64), tf.constant(0.0), lr, tf.constant(0.99)
        )
        steps.G_step(batch, 0, tf.constant([1, i], tf.int64), lr)
    between, within = fake_stats()
    assert between.min() > 0.4 and within < 0.25, (between, within)


def test_train_cli_input_errors_are_one_line(tmp_path):
    cases = [
        (["--dataset", str(tmp_path / "missing")], "does not exist"),
        (["--resume", str(tmp_path / "nothing.pkl")], "no such run directory or snapshot"),
        (["--dataset", make_dataset(tmp_path / "tiny"), "--res", "64"], "higher than the dataset's resolution"),
    ]
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a pickle at all")
    cases.append((["--dataset", str(tmp_path / "tiny"), "--resume", str(bad)], str(bad)))
    for args, message in cases:
        proc = _train(args + ["--result_dir", str(tmp_path / "results")], stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=300)
        lines = err.decode().splitlines()
        assert proc.returncode == 2, err.decode()[-2000:]
        assert len(lines) == 1 and lines[0].startswith("train.py: error:") and message in lines[0], lines
        assert not os.path.exists(tmp_path / "results") or not os.listdir(tmp_path / "results")
