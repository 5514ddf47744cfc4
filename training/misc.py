"""Run directories, log files and image grids, laid out as the official misc.py does.

The official misc.py also held the image and time helpers; here they are utils.images
(`create_image_grid`, `to_uint8`, `to_pil`) and utils.progress (`format_time`).
"""

import os
import re
import resource
import sys

import numpy as np
import tensorflow as tf

from utils import files
from utils.images import create_image_grid
from utils.images import to_pil
from utils.images import to_uint8


def create_result_subdir(
    result_dir,  # Parent folder, e.g. 'results'.
    desc,  # Description, e.g. 'pgan-shapes-preset-v2-1gpu-fp32'.
    id_digits=3,  # ProGAN uses 3 digits (%03d), StyleGAN 5 (%05d).
):
    """Create `<result_dir>/<NNN>-<desc>` with NNN = 1 + the largest numeric prefix present."""
    os.makedirs(result_dir, exist_ok=True)
    run_id = 0
    for name in os.listdir(result_dir):
        match = re.match(r"^(\d+)-", name)
        if match:
            run_id = max(run_id, int(match.group(1)) + 1)
    while True:
        path = os.path.join(result_dir, f"{run_id:0{id_digits}d}-{desc}")
        try:
            os.makedirs(path)
            return path
        except FileExistsError:  # Another process took this id meanwhile.
            run_id += 1


class OutputLogger:
    """Tee stdout/stderr into a log file, as official `init_output_logging` does."""

    def __init__(self):
        self.file = None
        self.stdout, self.stderr = sys.stdout, sys.stderr

    def open(
        self,
        path,  # Log file to append to, or None for none.
        prefix="",  # Put before every line on the console (a non-chief worker's name).
    ):
        self.file = open(path, "a", encoding="utf-8") if path is not None else None
        sys.stdout = _Tee(self.stdout, self.file, prefix)
        sys.stderr = _Tee(self.stderr, self.file, prefix)

    def close(self):
        sys.stdout, sys.stderr = self.stdout, self.stderr
        if self.file is not None:
            self.file.close()
            self.file = None


class _Tee:
    def __init__(self, stream, file, prefix=""):
        self.stream, self.file, self.prefix = stream, file, prefix
        self.at_line_start = True

    def write(self, text):
        if self.prefix and text:
            lines = text.split("\n")
            text = "\n".join(
                (self.prefix + line) if line and (i or self.at_line_start) else line for i, line in enumerate(lines)
            )
            self.at_line_start = text.endswith("\n")
        self.stream.write(text)
        if self.file is not None:
            self.file.write(text)
            self.file.flush()

    def flush(self):
        self.stream.flush()
        if self.file is not None:
            self.file.flush()

    def isatty(self):
        return False


def grid_size_for(
    resolution,  # Image width and height.
    size="1080p",  # '1080p' or '4k', as the official setup_snapshot_image_grid.
):
    """Number of (columns, rows) of the snapshot grid."""
    if size == "1080p":
        return int(np.clip(1920 // resolution, 3, 32)), int(np.clip(1080 // resolution, 2, 32))
    if size == "4k":
        return int(np.clip(3840 // resolution, 7, 32)), int(np.clip(2160 // resolution, 4, 32))
    raise ValueError(f"unknown grid size {size!r}; use '1080p' or '4k'")


def save_image_grid(
    images,  # [N, H, W, C] images.
    path,  # Output PNG path (written atomically).
    drange,  # Dynamic range of the images.
    grid_size,  # (columns, rows).
):
    """Write an image grid PNG ('L' for one channel, 'RGB' for three)."""
    grid = create_image_grid(to_uint8(images, drange), grid_size)
    with files.atomic_path(path, suffix=".png") as tmp:
        to_pil(grid).save(tmp)


def peak_memory_gb():
    """Peak host memory of this process (ru_maxrss is KiB on Linux) and of GPU 0 if present."""
    host = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    try:
        if tf.config.list_logical_devices("GPU"):
            return host, tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**30
    except ValueError:  # A device without memory statistics.
        pass
    return host, None
