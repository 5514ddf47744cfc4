"""Decode JPEG files with genuine IJG libjpeg 8d, the decoder the CelebA-HQ deltas expect.

Pillow wheels bundle libjpeg-turbo, whose 4:2:0 chroma upsampling differs from IJG 7-9; the
PyPI package `jpeglib` ships IJG 6b..9f and selects one per process, so call `decode` only from
processes that use no other libjpeg version through `jpeglib` (use processes, not threads).
"""

import hashlib

import numpy as np

from datasets.errors import DatasetError

LIBJPEG_VERSION = "8d"


def _jpeglib():
    try:
        import jpeglib  # Lazy: an optional dependency, needed by create_celebahq only.
    except ImportError:
        raise DatasetError("create_celebahq needs the IJG libjpeg 8d decoder: pip install jpeglib") from None
    if jpeglib.version.get() != LIBJPEG_VERSION:
        jpeglib.version.set(LIBJPEG_VERSION)  # Process-global in jpeglib.
    return jpeglib


def decode(
    path,  # Path of a JPEG file.
):
    """Decoded pixels of a JPEG file as libjpeg 8d (default settings, as Pillow used it) gives them.

    Returns [H, W, C] uint8 (C = 3 for colour files). Raises DatasetError for a missing or
    unreadable file.
    """
    jpeglib = _jpeglib()
    try:
        pixels = jpeglib.read_spatial(str(path)).spatial
    except FileNotFoundError:
        raise DatasetError(f"{path} does not exist") from None
    except Exception as exc:
        raise DatasetError(f"{path} is not a readable JPEG file ({exc}): restore the original file") from None
    return np.ascontiguousarray(pixels, dtype=np.uint8)


def decode_md5(
    path,  # Path of a JPEG file.
):
    """MD5 hex digest of the decoded pixel buffer, as the official libjpeg 8d check takes it."""
    return hashlib.md5(decode(path).tobytes()).hexdigest()
