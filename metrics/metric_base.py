"""Helpers shared by the metric modules."""

import concurrent.futures

import numpy as np

from utils.images import box_downsample
from utils.parallel import usable_cpus

_executor = None


def thread_pool():
    """Worker threads shared by the metrics (numpy sorts, ufuncs and scipy FFTs release the GIL)."""
    global _executor
    if _executor is None:
        _executor = concurrent.futures.ThreadPoolExecutor(max_workers=num_workers())
    return _executor


def num_workers():
    """Number of worker threads: the usable CPUs, at most 16."""
    return min(usable_cpus(), 16)


def minibatches(
    images,  # [N, ...] array, or an iterable of minibatches (passed through).
    minibatch_size,  # Images per minibatch when an array is given.
):
    """Yield minibatches of an array, or the items of an iterable of minibatches."""
    if isinstance(images, np.ndarray):
        for begin in range(0, images.shape[0], minibatch_size):
            yield images[begin : begin + minibatch_size]
    else:
        yield from images


def to_numpy(x):
    """A numpy array from a tensor (eager TF/Keras) or array-like."""
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def downsample_to_256(
    images,  # [N, H, W, C] images.
):
    """Official box downsampling to 256: mean over factor x factor blocks, factor = H // 256,
    when the images are larger than 256 (PPL and LS feed 256x256 networks)."""
    if images.shape[1] <= 256:
        return images
    return box_downsample(images, images.shape[1] // 256)
