"""One BLAS thread: in this process (threadpoolctl) or in the worker processes it spawns (environment).

The CelebA-HQ resampling and blur kernels issue thousands of small matrix products; a
multi-threaded BLAS spends more time synchronising its threads than computing them (4-5x slower
on a busy 2-core machine), and create_celebahq already runs one worker process per core. The
results do not depend on this (every product is certified or recomputed), only the speed does.
"""

import contextlib
import os

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # Optional: without it BLAS keeps its default thread count.
    threadpool_limits = None

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def single_threaded():
    """Context manager that limits BLAS to one thread in this process while it is active."""
    if threadpool_limits is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


@contextlib.contextmanager
def single_threaded_children():
    """Spawned workers inherit this environment: one BLAS thread each, no oversubscription.

    The variables are read when a process loads its BLAS, so they act on processes started
    inside this context, not on this one; the previous values are restored afterwards.
    """
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: "1" for name in THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
