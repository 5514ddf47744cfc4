"""Run BLAS single-threaded inside the CelebA-HQ kernels.

The resampling and blur kernels issue thousands of small matrix products; a multi-threaded
BLAS spends more time synchronising its threads than computing them (4-5x slower on a busy
2-core machine), and create_celebahq already runs one worker process per core. The results do
not depend on this (every product is certified or recomputed), only the speed does.
"""
import contextlib

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # Optional: without it BLAS keeps its default thread count.
    threadpool_limits = None


def single_threaded():
    """Context manager that limits BLAS to one thread while it is active."""
    if threadpool_limits is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
