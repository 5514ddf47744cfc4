"""Ordered parallel map for decoding and resizing images on all cores."""
import collections
import concurrent.futures
import os


def default_num_threads():
    """One worker per core the process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:
        return max(os.cpu_count() or 1, 1)


def ordered_map(func,                 # Function applied to every item.
                items,                # Iterable of inputs, consumed lazily.
                num_threads=None,     # Worker threads, None = one per core.
                max_in_flight=None,   # Items submitted but not yet yielded, None = 4 per thread.
                ):
    """Yield func(item) for every item, in input order, computed on a thread pool.

    Threads suffice because Pillow and NumPy release the GIL while decoding, resizing and
    averaging. Memory stays flat: at most `max_in_flight` results are held. An exception
    in `func` is re-raised here, in order, and the remaining work is cancelled.
    """
    num_threads = num_threads or default_num_threads()
    max_in_flight = max(max_in_flight or 4 * num_threads, 1)
    pool = concurrent.futures.ThreadPoolExecutor(num_threads)
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
