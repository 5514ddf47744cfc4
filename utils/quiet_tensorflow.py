"""Keep TensorFlow's native start-up log off the terminal, on every CPU.

TensorFlow 2.21 writes absl log lines to stderr while `import tensorflow` runs, before it has
read `TF_CPP_MIN_LOG_LEVEL` (on CPUs where it turns oneDNN on by itself, e.g. Intel, and wherever
`TF_ENABLE_ONEDNN_OPTS=1`):

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796117196.253829    5363 port.cc:153] oneDNN custom operations are on. ...

`install()` makes the first import of TensorFlow, wherever in the program it happens (our
modules import it lazily so that `--help` and argument errors stay fast), run with file
descriptor 2 captured. What it wrote is then filtered with the level TensorFlow itself would
have applied (`TF_CPP_MIN_LOG_LEVEL`, default 2 = errors only), and everything else (real errors,
Python warnings) is written to `sys.stderr` unchanged.
"""

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile

DEFAULT_MIN_LOG_LEVEL = "2"  # TensorFlow's own scale: 0 all, 1 no INFO, 2 no WARNING, 3 no ERROR.

# absl's record prefix: severity letter, MMDD, time, thread id, file:line].
_RECORD = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]\s]+:\d+\] ")
# A Python warning as `warnings` formats it: "path.py:12: UserWarning: message".
_PYTHON_WARNING = re.compile(r"^\S.*:\d+: \w*Warning: ")
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
# Printed once before absl is initialised: it announces the lines below, it is not one of them.
_ABSL_BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# ERROR-level records that CUDA builds print on every start and that mean nothing to a user
# (each plugin registers twice when TensorFlow and XLA both load it).
_BENIGN_ERRORS = (
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
)


def min_log_level():
    """TensorFlow's `TF_CPP_MIN_LOG_LEVEL` as a number (0-3)."""
    try:
        return min(max(int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", DEFAULT_MIN_LOG_LEVEL)), 0), 3)
    except ValueError:
        return int(DEFAULT_MIN_LOG_LEVEL)


def filter_startup_log(
    text,  # What was written to stderr while TensorFlow was imported.
    level,  # Minimum severity to keep, as TF_CPP_MIN_LOG_LEVEL (0-3).
):
    """The part of `text` that TensorFlow's log level lets through.

    The lines after a record that have no record prefix are its continuation (absl messages
    may span lines) and go with it; a Python warning starts a kept block of its own, and text
    before the first record is kept.
    """
    kept, keep_current = [], True
    for line in text.splitlines(keepends=True):
        if line.rstrip("\r\n") == _ABSL_BANNER:
            keep_current = False
            continue
        match = _RECORD.match(line)
        if match:
            keep_current = _SEVERITY[match.group(1)] >= level and not any(noise in line for noise in _BENIGN_ERRORS)
        elif _PYTHON_WARNING.match(line):
            keep_current = True
        if keep_current:
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def captured_stderr_fd():
    """Capture what anything (C++ included) writes to file descriptor 2; yields a list that
    receives the text when the block ends."""
    result = []
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # No stderr at all: nothing to protect.
        yield result
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield result
        finally:
            try:
                sys.stderr.flush()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            capture.seek(0)
            result.append(capture.read().decode("utf-8", errors="replace"))


def quiet_import(
    exec_module,  # Callable that executes the module (the real loader's exec_module).
    module,  # The module object being executed.
):
    """Execute `module` with stderr captured, then write the part the log level keeps (also when
    the import fails: what it wrote may say why)."""
    captured = []
    try:
        with captured_stderr_fd() as captured:
            exec_module(module)
    finally:
        kept = filter_startup_log("".join(captured), min_log_level())
        if kept:
            sys.stderr.write(kept)
            sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """Wraps TensorFlow's real loader; only execution is changed."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # Give the module its real loader back: importlib.resources and friends look at it.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        quiet_import(self._loader.exec_module, module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds the top-level module `name` as usual and wraps its loader, once."""

    def __init__(self, name):
        self.name = name

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # One-shot: the real finders take it from here.
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install(
    module_name="tensorflow",  # Top-level module whose first import is made quiet.
):
    """Make the first `import tensorflow` of this process quiet (see the module docstring).

    Call it before anything imports TensorFlow (Keras included); later calls, or a call after
    TensorFlow was imported, do nothing. Also sets TF_CPP_MIN_LOG_LEVEL to 2 unless the user
    chose a level, so TensorFlow's later native INFO and WARNING lines stay off the terminal too,
    and TensorFlow's Python logger to WARNING (INFO at level 0).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", DEFAULT_MIN_LOG_LEVEL)
    # TensorFlow's Python logger follows the same level: absl's handler (train.py) would otherwise
    # show its INFO lines ("Using MirroredStrategy with devices ...") on every run.
    logging.getLogger("tensorflow").setLevel(logging.INFO if min_log_level() == 0 else logging.WARNING)
    if module_name in sys.modules:
        return
    if any(isinstance(finder, _QuietFinder) and finder.name == module_name for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietFinder(module_name))
