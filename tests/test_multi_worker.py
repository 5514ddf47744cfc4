"""Several workers (TF_CONFIG, MultiWorkerMirroredStrategy): real train.py processes on 127.0.0.1.

Two workers with one CPU replica each must reach the weights of one process with two replicas
(`--gpus 2`), only the chief may write the run directory, a killed worker must stop the other
within a bounded time with one line, and `--resume` on every worker must then continue exactly.
Here both workers share this machine's cores, so these tests show correctness, not speed.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO
from conftest import TINY_NETS
from test_training import _final_arrays
from test_training import _only_run_dir
from test_training import make_dataset

# One lod (no growing) keeps tracing to one D and one G step; 10 ticks of 4 D steps leave time
# to kill a worker after the first snapshot. mbstd groups (4) and mirror augment stay on.
FLAGS = (
    TINY_NETS
    + (
        "--nogrowing --tick_kimg_base 0.032 --tick_kimg_dict {} --network_snapshot_ticks 1 --total_kimg 0.32 "
        "--deterministic --config preset-v2-2gpus --mirror_augment --worker_timeout 30"
    ).split()
)
TIMEOUT = 600  # Seconds any one process may take before the test fails (instead of hanging CI).


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _start(
    args,  # train.py arguments.
    tf_config=None,  # TF_CONFIG dict, or None for a single process.
):
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONUNBUFFERED="1",
        TF_NUM_INTRAOP_THREADS="1",
        TF_NUM_INTEROP_THREADS="1",
    )
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return subprocess.Popen(
        [sys.executable, os.path.join(REPO, "train.py")] + args,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _start_workers(args, count=2):
    """`count` train.py workers with the same arguments and TF_CONFIGs on free 127.0.0.1 ports."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(count)]}
    return [_start(args, {"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(count)]


class _Output(str):
    """A process's stdout then stderr; `.stdout` alone (TensorFlow's C++ log records, some of
    several lines, go to stderr only)."""

    def __new__(cls, stdout, stderr):
        output = super().__new__(cls, stdout + stderr)
        output.stdout = stdout
        return output


def _finish(procs, timeout=TIMEOUT):
    """Wait for every process (killing all on timeout); their outputs (`_Output`).

    The two streams are read apart: TensorFlow's C++ log lines on stderr would otherwise land
    in the middle of a printed line now and then."""
    outs = []
    deadline = time.time() + timeout
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=max(deadline - time.time(), 1))
            outs.append(_Output(out, err))
    except subprocess.TimeoutExpired:
        for proc in procs:
            proc.kill()
        pytest.fail(
            "a train.py process did not end in time:\n"
            + "\n".join("".join(text or "" for text in proc.communicate())[-2000:] for proc in procs)
        )
    return outs


def _ours(out):
    """The lines train.py prints (TensorFlow's own C++ log lines left out)."""
    return [
        line
        for line in out.splitlines()
        if line.strip()
        and line[:5] not in ("I0000", "W0000", "E0000")
        and not line.startswith(("I1", "W1", "E1", "WARNING: All log", "To enable the following"))
    ]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Final weights of one process with two replicas, and the dataset.

    This is also the test of `train.py --gpus 2` on a CPU-only machine: two logical CPU devices."""
    tmp = tmp_path_factory.mktemp("multi_worker")
    data = make_dataset(tmp / "tiny")
    (out,) = _finish([_start(["--dataset", data, "--result_dir", str(tmp / "one"), "--gpus", "2"] + FLAGS)])
    run_dir = _only_run_dir(tmp / "one")
    assert os.path.exists(os.path.join(run_dir, "_training-done.txt")), out[-3000:]
    assert "Replicas: 2 (" in out and "device:CPU:1" in out and "Traceback" not in out, out[-3000:]
    assert '"num_gpus": 2' in open(os.path.join(run_dir, "training_options.json")).read()
    return data, _final_arrays(run_dir)


def _assert_same_weights(result, expected):
    assert sorted(result) == sorted(expected)
    for name in expected:
        np.testing.assert_array_equal(result[name], expected[name], err_msg=name)


@pytest.mark.slow
def test_two_workers_match_one_process_with_two_replicas(tmp_path, reference):
    data, expected = reference
    outs = _finish(_start_workers(["--dataset", data, "--result_dir", str(tmp_path / "results")] + FLAGS))
    assert "Exiting..." in outs[0] and "Exiting..." in outs[1], outs[0][-2000:] + outs[1][-2000:]
    run_dir = _only_run_dir(tmp_path / "results")  # Only the chief wrote one.
    _assert_same_weights(_final_arrays(run_dir), expected)
    # What worker 1 prints (stdout) is prefixed; its stderr also holds TensorFlow's C++ records,
    # whose continuation lines (e.g. gRPC details when the chief closes first) have no prefix.
    worker1 = _ours(outs[1].stdout)
    assert all(line.startswith("[worker 1] ") for line in worker1), [
        line for line in worker1 if not line.startswith("[worker 1] ")
    ][:5]
    assert any("worker 0 (127.0.0.1:" in line and "writes the run directory" in line for line in worker1)
    with open(os.path.join(run_dir, "log.txt")) as file:
        assert "[worker 1]" not in file.read()


STYLEGAN_FLAGS = (
    "--arch stylegan --res 8 --fmap_base 64 --fmap_max 16 --latent_size 16 --dlatent_size 16 --mapping_layers 2 --mapping_fmaps 16 "
    "--minibatch_base 8 --minibatch_dict {} --lod_initial_resolution 8 --tick_kimg_base 0.032 --tick_kimg_dict {} --total_kimg 0.064 --deterministic --config 2gpu --grid_size 1080p"
).split()


@pytest.mark.slow
def test_stylegan_two_workers_match_one_process_with_two_replicas(tmp_path, reference):
    """StyleGAN's in-network draws (noise, mixing) are keyed by the global replica id, so they
    are the same for replica 1 on worker 1 as for replica 1 of one process."""
    data, _ = reference
    (out,) = _finish(
        [_start(["--dataset", data, "--result_dir", str(tmp_path / "one"), "--gpus", "2"] + STYLEGAN_FLAGS)]
    )
    assert "Exiting..." in out, out[-3000:]
    outs = _finish(_start_workers(["--dataset", data, "--result_dir", str(tmp_path / "two")] + STYLEGAN_FLAGS))
    assert "Exiting..." in outs[0] and "Exiting..." in outs[1], outs[0][-2000:] + outs[1][-2000:]
    from networks import official

    weights = []
    for name in ("one", "two"):
        nets = official.load_pickle(os.path.join(_only_run_dir(tmp_path / name), "network-final.pkl"))
        weights.append(
            {f"{net.name}/{k}": np.asarray(v.numpy()) for net in nets for k, v in net.all_official_variables().items()}
        )
    _assert_same_weights(weights[1], weights[0])


@pytest.mark.slow
def test_killed_worker_stops_the_other_and_resume_continues_exactly(tmp_path, reference):
    data, expected = reference
    results = tmp_path / "results"
    chief, worker = _start_workers(["--dataset", data, "--result_dir", str(results)] + FLAGS)
    deadline = time.time() + TIMEOUT
    state = None
    while time.time() < deadline and chief.poll() is None and worker.poll() is None:
        runs = os.listdir(results) if os.path.isdir(results) else []
        if runs and os.path.exists(os.path.join(results, runs[0], "resume-state.npz")):
            state = os.path.join(results, runs[0], "resume-state.npz")
            break
        time.sleep(0.05)
    assert state is not None and chief.poll() is None, "the run ended before its first snapshot"
    worker.send_signal(signal.SIGKILL)
    killed_at = time.time()
    (out,) = _finish([chief], timeout=120)
    stopped_after = time.time() - killed_at
    _finish([worker])
    lines = _ours(out)
    run_dir = _only_run_dir(results)
    assert chief.returncode == 3, out[-3000:]
    assert lines[-1].startswith("train.py: error: worker 1 (127.0.0.1:") and "stopped responding" in lines[-1], lines[
        -3:
    ]
    assert f"--resume {run_dir}" in lines[-1]
    assert "Traceback" not in out
    assert stopped_after < 60, stopped_after  # Heartbeat timeout: max(10, --worker_timeout / 5) s.
    assert not os.path.exists(os.path.join(run_dir, "network-final.pkl"))

    outs = _finish(_start_workers(["--resume", run_dir]))
    assert all("Restoring exact training state" in out for out in outs), outs[0][-2000:] + outs[1][-2000:]
    assert _only_run_dir(results) == run_dir
    _assert_same_weights(_final_arrays(run_dir), expected)


@pytest.mark.slow
def test_worker_that_never_connects_ends_the_wait(tmp_path):
    data = make_dataset(tmp_path / "tiny")
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    start = time.time()
    (out,) = _finish(
        [
            _start(
                ["--dataset", data, "--result_dir", str(tmp_path / "results"), "--worker_timeout", "5"] + FLAGS[:-2],
                {"cluster": cluster, "task": {"type": "worker", "index": 0}},
            )
        ],
        timeout=180,
    )
    lines = _ours(out)
    assert lines[-1].startswith("train.py: error: not every worker connected within 5 s"), lines[-3:]
    assert cluster["worker"][1] in lines[-1] and "Traceback" not in out
    assert time.time() - start < 120


STYLEGAN_REPLICAS_SCRIPT = r"""
import os, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, os.environ["REPO"])
from networks import stylegan
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    G = stylegan.Generator(latent_size=8, dlatent_size=8, mapping_layers=2, mapping_fmaps=8, resolution=8,
                           num_channels=3, fmap_base=16, fmap_max=8, seed=3)
for var in G.weights:  # The noise strengths start at zero: make the noise visible in the output.
    if "noise_strength" in var.path:
        var.assign(tf.ones_like(var))
z = tf.constant(np.random.RandomState(0).randn(2, 8).astype(np.float32))  # The same latents on both replicas.
generators = [G.seed_generator, G.synthesis.seed_generator]

def outputs(**kwargs):
    run = tf.function(lambda: strategy.run(lambda: G(z, None, **kwargs)))
    start = [g.state.numpy().copy() for g in generators]
    first = [np.asarray(t) for t in strategy.experimental_local_results(run())]
    for g, s in zip(generators, start):
        g.state.assign(s)
    again = [np.asarray(t) for t in strategy.experimental_local_results(run())]
    return first, again

for name, kwargs in [("noise", dict(training=False)), ("mixing", dict(training=True, randomize_noise=False))]:
    first, again = outputs(**kwargs)
    print(name, "replicas differ by", float(np.abs(first[0] - first[1]).max()),
          "repeat differs by", max(float(np.abs(a - b).max()) for a, b in zip(first, again)))
"""


@pytest.mark.slow
def test_stylegan_draws_differ_per_replica_and_repeat_from_the_state():
    """Under two replicas with equal latents, per-layer noise and style mixing (coin, crossover,
    second latents) differ between the replicas, and repeat exactly from the same generator state."""
    env = dict(os.environ, REPO=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "-c", STYLEGAN_REPLICAS_SCRIPT], env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in ("noise", "mixing"):
        line = next(line for line in proc.stdout.splitlines() if line.startswith(name))
        differ, repeat = float(line.split()[4]), float(line.split()[-1])
        assert differ > 1e-3 and repeat == 0.0, line
