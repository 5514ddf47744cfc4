"""Ordered parallel map on threads or spawned processes, and the number of usable CPUs."""

import collections
import concurrent.futures
import os


def usable_cpus():
    """CPUs this process may run on (its affinity mask where the OS has one), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # Not Linux.
        return max(os.cpu_count() or 1, 1)


def ordered_map(
    func,  # Function applied to every item (picklable with processes).
    items,  # Iterable of inputs, consumed lazily.
    num_workers=None,  # Worker threads or processes, None = one per usable CPU.
    max_in_flight=None,  # Items submitted but not yet yielded, None = 4 per worker.
    mp_context=None,  # None = threads; a multiprocessing context = processes started by it.
):
    """Yield func(item) for every item, in input order, computed on a pool.

    Threads suit Pillow and NumPy work, which releases the GIL while decoding, resizing and
    averaging; processes suit work that holds the GIL or sets process-wide state. Memory
    stays flat: at most `max_in_flight` results are held. An exception in `func` is
    re-raised here, in order, and the remaining work is cancelled.
    """
    num_workers = num_workers or usable_cpus()
    max_in_flight = max(int(max_in_flight or 4 * num_workers), 1)
    if mp_context is None:
        pool = concurrent.futures.ThreadPoolExecutor(num_workers)
    else:
        pool = concurrent.futures.ProcessPoolExecutor(num_workers, mp_context=mp_context)
    pending = collections.deque()
    try:
        for item in items:
            pending.append(pool.submit(func, item))
            if len(pending) >= max_in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
