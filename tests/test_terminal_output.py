"""What the tools print: no TensorFlow start-up log on any CPU, one stderr line per bad input,
progress that suits a terminal and a log file. (`train.py --gpus 2` on a CPU-only machine is run by
tests/test_multi_worker.py's reference.)"""

import io
import os
import pty
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import REPO
from conftest import user_env

from utils import progress as progress_lib
from utils import quiet_tensorflow

BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
INFO = "I0000 00:00:1796117196.253829    5363 port.cc:153] oneDNN custom operations are on.\n"
GUARD = (
    "I0000 00:00:1796117196.298113    5363 cpu_feature_guard.cc:227] This TensorFlow binary is optimized.\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow.\n"
)
WARN = "W0000 00:00:1796117196.298113    5363 some_file.cc:12] a native warning\n"
ERROR = "E0000 00:00:1796117196.298113    5363 some_file.cc:99] a real native error\n"
CUDA_NOISE = (
    "E0000 00:00:1796117196.298113    5363 cuda_dnn.cc:8310] Unable to register cuDNN factory: "
    "Attempting to register factory for plugin cuDNN when one has already been registered\n"
)
PY_WARNING = "/x/y.py:12: UserWarning: a Python warning\n  warnings.warn('a Python warning')\n"


def run_python(code, env=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=env or user_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ----------------------------------------------------------------------------
# The filter and the import hook.


def test_filter_applies_tensorflow_log_level_to_startup_lines():
    text = BANNER + INFO + GUARD + BANNER + INFO + WARN + ERROR + CUDA_NOISE + PY_WARNING
    assert quiet_tensorflow.filter_startup_log(text, 2) == ERROR + PY_WARNING
    assert quiet_tensorflow.filter_startup_log(text, 1) == WARN + ERROR + PY_WARNING
    assert quiet_tensorflow.filter_startup_log(text, 0) == INFO + GUARD + INFO + WARN + ERROR + PY_WARNING
    assert quiet_tensorflow.filter_startup_log(text, 3) == PY_WARNING
    assert quiet_tensorflow.filter_startup_log("plain text before any record\n", 2) == "plain text before any record\n"


def test_hook_keeps_real_errors_and_python_warnings(tmp_path):
    """A stand-in `tensorflow` package writes absl-style chatter, a real error and a Python
    warning to file descriptor 2 while it is imported; only the last two must reach stderr."""
    package = tmp_path / "fake" / "tensorflow"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        textwrap.dedent(f"""
        import os, warnings
        os.write(2, {(BANNER + INFO + GUARD + WARN + ERROR).encode()!r})
        warnings.warn("a Python warning from the import")
        VALUE = 42
        """)
    )
    result = run_python(f"""
        import sys
        sys.path.insert(0, {str(tmp_path / "fake")!r})
        from utils import quiet_tensorflow
        quiet_tensorflow.install()
        import tensorflow
        print(tensorflow.VALUE, type(tensorflow.__loader__).__name__)
        """)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "42 SourceFileLoader\n"
    lines = result.stderr.splitlines()
    assert lines[0] == ERROR.strip()
    assert "UserWarning: a Python warning from the import" in lines[1]
    assert "absl" not in result.stderr and "port.cc" not in result.stderr and "native warning" not in result.stderr


def test_hook_keeps_what_a_failing_import_wrote(tmp_path):
    package = tmp_path / "fake" / "tensorflow"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        textwrap.dedent(f"""
        import os
        os.write(2, {(BANNER + INFO + ERROR).encode()!r})
        raise ImportError("libcudart.so.12: cannot open shared object file")
        """)
    )
    result = run_python(f"""
        import sys
        sys.path.insert(0, {str(tmp_path / "fake")!r})
        from utils import quiet_tensorflow
        quiet_tensorflow.install()
        try:
            import tensorflow
        except ImportError as error:
            print("failed:", error)
        """)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "failed: libcudart.so.12: cannot open shared object file\n"
    assert result.stderr == ERROR


def test_real_tensorflow_import_is_silent():
    """TensorFlow (through Keras, as our modules import it) writes nothing, whatever the CPU:
    user_env() forces oneDNN on, which makes TensorFlow 2.21 print its start-up lines on AMD
    and Intel machines alike, as the control run without the hook shows."""
    code = """
        from utils import quiet_tensorflow
        quiet_tensorflow.install()
        import keras
        import tensorflow as tf
        print(float(tf.reduce_sum(tf.ones([2, 2]))), keras.backend.backend())
        """
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "4.0 tensorflow\n"
    assert result.stderr == ""
    control = run_python("import tensorflow")
    assert "oneDNN custom operations are on" in control.stderr, control.stderr


# ----------------------------------------------------------------------------
# Every tool: exactly one stderr line and exit status 2 for bad flags (utils/cli.py's convention),
# and one line for bad input that is found after TensorFlow is loaded.


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train.py", "--bogus"], "train.py: error: unrecognized arguments: --bogus"),
        (["train.py", "--dry"], "train.py: error: unrecognized arguments: --dry"),  # No abbreviations (as absl).
        (["train.py", "--res", "abc"], "train.py: error: argument --res: invalid int value: 'abc'"),
        (["train.py", "--dry_run=maybe"], "train.py: error: argument --dry_run: expected true or false, got 'maybe'"),
        (
            ["dataset_tool.py", "create_shapes", "x", "--bogus"],
            "dataset_tool.py: error: unrecognized arguments: --bogus",
        ),
        (["dataset_tool.py", "nosuch"], "dataset_tool.py: error: argument command: invalid choice: 'nosuch'"),
        (["generate.py", "images", "--bogus"], "generate.py: error: "),
        (["evaluate_metrics.py", "--bogus"], "evaluate_metrics.py: error: "),
        (["benchmarks/train_speed.py", "--res", "12"], "train_speed.py: error: resolution must be a power of two"),
        (["benchmarks/networks.py", "--bogus"], "networks.py: error: unrecognized arguments: --bogus"),
        (["benchmarks/metrics.py", "--bogus"], "metrics.py: error: unrecognized arguments: --bogus"),
        (["benchmarks/metrics.py", "--resolution", "12"], "metrics.py: error: --resolution must be a power of two"),
        (["benchmarks/input_pipeline.py", "--res", "abc"], "input_pipeline.py: error: argument --res: invalid int"),
        (["benchmarks/gpu_check.py", "--bogus"], "gpu_check.py: error: unrecognized arguments: --bogus"),
    ],
)
def test_bad_flags_are_one_line(argv, message):
    result = subprocess.run(
        [sys.executable] + argv, cwd=REPO, env=user_env(), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message), result.stderr


def _write_truncated_dataset(path):
    from datasets.tfrecord_export import TFRecordExporter

    with TFRecordExporter(str(path), 4, print_progress=False) as tfr:
        for k in range(4):
            tfr.add_image(np.full((3, 8, 8), k * 40, np.uint8))
    for name in os.listdir(path):
        if name.endswith("r03.tfrecords"):
            data = (path / name).read_bytes()
            (path / name).write_bytes(data[: len(data) - 50])
    return path


@pytest.mark.slow
def test_tools_answer_bad_input_with_one_line(tmp_path):
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"\x80\x04 this is no pickle")
    truncated = _write_truncated_dataset(tmp_path / "truncated")
    cases = [
        (["dataset_tool.py", "extract", truncated, tmp_path / "extracted"], "dataset_tool.py: error: "),
        (["train.py", "--dataset", truncated, "--result_dir", tmp_path / "results"], "train.py: error: "),
        (["train.py", "--dataset", tmp_path / "missing", "--result_dir", tmp_path / "results"], "train.py: error: "),
        (
            ["generate.py", "images", "--network", garbage, "--seeds", "0-1", "--outdir", tmp_path / "out"],
            "generate.py: error: ",
        ),
        (
            ["evaluate_metrics.py", "--run", garbage, "--metrics", "swd", "--num_images", "8", "--dataset", truncated],
            "evaluate_metrics.py: error: ",
        ),
    ]
    for argv, prefix in cases:
        result = subprocess.run(
            [sys.executable] + [str(a) for a in argv],
            cwd=REPO,
            env=user_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 2, (argv, result.returncode, result.stdout[-500:])
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(prefix), (argv, result.stderr)
    assert not (tmp_path / "results").exists() or not os.listdir(tmp_path / "results")
    assert not (tmp_path / "out").exists() and not (tmp_path / "extracted").exists()


# ----------------------------------------------------------------------------
# Progress.


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_plain_lines_for_logs():
    stream, clock = io.StringIO(), FakeClock()
    progress = progress_lib.Progress(1000, stream=stream, live=False, interval=10, clock=clock)
    for done in range(0, 1001, 10):
        clock.now = done * 0.005  # 200 images/s, 5 s in all.
        progress.update(done)
    assert stream.getvalue() == ""  # A job shorter than one interval prints no progress line.
    clock.now = 0.0
    progress = progress_lib.Progress(1000, stream=stream, live=False, interval=10, clock=clock)
    for done in range(101):
        clock.now = done * 0.5  # 2 images/s for 50 s.
        progress.update(done)
    lines = stream.getvalue().splitlines(keepends=True)
    assert "\r" not in stream.getvalue() and all(line.endswith("\n") for line in lines)
    assert len(lines) == 5  # At 10, 20, 30, 40 and 50 s: one line per interval.
    assert lines[0] == "20 / 1000 images (2%), 2.0 images/s, ETA 8m 10s\n"
    progress.close()
    assert len(stream.getvalue().splitlines()) == 5


def test_progress_live_line_on_a_terminal():
    stream, clock = io.StringIO(), FakeClock()
    progress = progress_lib.Progress(100, unit="frames", stream=stream, live=True, clock=clock)
    for done in range(101):
        clock.now = done * 0.01
        progress.update(done)
    progress.close()
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("100 / 100 frames (100%), 100.0 frames/s\033[K\n")
    assert 4 <= text.count("\r") <= 7  # Redrawn every 0.2 s over 1 s, plus the first and last.


def test_progress_mode_follows_the_stream(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    master, slave = pty.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as terminal:
            assert progress_lib.is_live(terminal)
            monkeypatch.setenv("CI", "true")
            assert not progress_lib.is_live(terminal)
    finally:
        os.close(master)
        os.close(slave)
    assert not progress_lib.is_live(io.StringIO())


@pytest.mark.slow
def test_dataset_tool_progress_in_a_log_and_on_a_terminal(tmp_path):
    """create_shapes through a pipe (a log) has no carriage returns; on a pseudo-terminal it
    draws a live line."""
    argv = [
        sys.executable,
        "dataset_tool.py",
        "create_shapes",
        str(tmp_path / "log"),
        "--resolution",
        "8",
        "--num_images",
        "200",
    ]
    result = subprocess.run(argv, cwd=REPO, env=user_env(CI=""), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "\r" not in result.stdout and "Added 200 images." in result.stdout
    master, slave = pty.openpty()
    argv[3] = str(tmp_path / "tty")
    proc = subprocess.Popen(argv, cwd=REPO, env=user_env(CI="", TERM="xterm"), stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    output = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal.
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    assert proc.wait(timeout=300) == 0 and proc.stderr.read() == b""
    assert b"\r200 / 200 images (100%)" in output and b"Added 200 images." in output
