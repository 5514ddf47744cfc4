"""Time and peak memory of the SWD and MS-SSIM metrics at paper scale.

The official evaluation scores 16384 images per set with SWD (reals pass, then fakes pass) and
MS-SSIM on the pairs of the generated images. This benchmark streams synthetic uint8 images
(smooth random structure plus noise, generated minibatch by minibatch so that the images are
never all in memory) through the streaming APIs in the official minibatch size
clip(8192 // resolution, 4, 256), and reports wall time and peak resident memory per metric.

Usage:
    python benchmarks/metrics.py --num_images=16384 --resolution=256
    python benchmarks/metrics.py --num_images=2048 --resolution=256 --metrics=swd
"""

import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from utils import cli  # noqa: E402
from utils import quiet_tensorflow  # noqa: E402

quiet_tensorflow.install()  # TensorFlow's start-up log stays off the terminal.

from metrics import ms_ssim  # noqa: E402
from metrics import sliced_wasserstein  # noqa: E402


def build_parser():
    """The benchmark's options."""
    parser = cli.ArgumentParser(
        prog="metrics.py", description=__doc__, allow_abbrev=False, formatter_class=cli.HelpFormatter
    )
    add = parser.add_argument
    add(
        "--num_images",
        type=int,
        default=16384,
        help="Images per set; SWD: reals and fakes each, MS-SSIM: num_images / 2 pairs (default: 16384).",
    )
    add("--resolution", type=int, default=256, help="Image resolution, a power of two >= 16 (default: 256).")
    add(
        "--minibatch",
        type=int,
        default=0,
        help="Images per feed; 0 = the official clip(8192 // resolution, 4, 256) (default: 0).",
    )
    # absl's DEFINE_list: comma-separated, blanks around items dropped.
    add(
        "--metrics",
        type=lambda text: [item.strip() for item in text.split(",") if item.strip()],
        default=["swd", "msssim"],
        help="Metrics to run, comma-separated: swd, msssim (default: swd,msssim).",
    )
    add("--seed", type=int, default=1000, help="Seed of the synthetic images and of the SWD draws (default: 1000).")
    return parser


FLAGS = None  # The parsed options (named as when this benchmark used absl flags).

# ----------------------------------------------------------------------------


class PeakRSS:
    """Samples the resident set size of this process every 20 ms between start() and stop()."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = None

    @staticmethod
    def current():
        """Resident set size in bytes (Linux /proc; 0 elsewhere)."""
        try:
            with open("/proc/self/statm") as file:
                return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            return 0

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            self._stop.wait(0.02)

    def start(self):
        self.peak = self.current()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.current())
        return self.peak


def synthetic_minibatches(
    num_images,  # Total number of images.
    resolution,  # Image resolution.
    minibatch,  # Images per minibatch.
    seed,  # Seed of this set.
    roughness,  # Amplitude of the per-pixel noise (sets differ by this).
):
    """Yield uint8 NHWC minibatches of smooth random images plus pixel noise."""
    rng = np.random.RandomState(seed)
    coarse = max(resolution // 16, 2)
    for begin in range(0, num_images, minibatch):
        count = min(minibatch, num_images - begin)
        base = rng.uniform(0, 255, (count, coarse, coarse, 3)).astype(np.float32)
        factor = resolution // coarse
        images = np.repeat(np.repeat(base, factor, axis=1), factor, axis=2)
        images += rng.normal(0, roughness, images.shape).astype(np.float32)
        yield np.clip(np.rint(images), 0, 255).astype(np.uint8)


def bench_swd(num_images, resolution, minibatch, seed):
    """Reals pass then fakes pass; returns (seconds, peak bytes, values, feed seconds, end seconds).

    Seconds exclude the generation of the synthetic images.
    """
    api = sliced_wasserstein.API(num_images, [resolution, resolution, 3], np.uint8, minibatch, random_state=seed)
    rss = PeakRSS().start()
    feed_time = end_time = 0.0
    for mode, set_seed, roughness in (("reals", seed + 1, 10.0), ("fakes", seed + 2, 20.0)):
        api.begin(mode)
        for images in synthetic_minibatches(num_images, resolution, minibatch, set_seed, roughness):
            t = time.time()
            api.feed(mode, images)
            feed_time += time.time() - t
        t = time.time()
        values = api.end(mode)
        end_time += time.time() - t
    seconds = feed_time + end_time
    return seconds, rss.stop(), dict(zip(api.get_metric_names(), values)), feed_time, end_time


def bench_msssim(num_images, resolution, minibatch, seed):
    """One pass over num_images images; returns (seconds without image generation, peak bytes, value)."""
    minibatch += minibatch % 2
    api = ms_ssim.API(num_images, [resolution, resolution, 3], np.uint8, minibatch)
    rss = PeakRSS().start()
    seconds = 0.0
    api.begin("fakes")
    for images in synthetic_minibatches(num_images, resolution, minibatch, seed + 3, 20.0):
        t = time.time()
        api.feed("fakes", images)
        seconds += time.time() - t
    value = api.end("fakes")[0]
    return seconds, rss.stop(), value


def main():
    """Run the chosen metrics' benchmarks."""
    res, num = FLAGS.resolution, FLAGS.num_images
    problems = [f"unknown metric {name!r} (use swd, msssim)" for name in FLAGS.metrics if name not in ("swd", "msssim")]
    if res < 16 or res & (res - 1):
        problems.append(f"--resolution must be a power of two >= 16, got {res}")
    if num < 2:
        problems.append(f"--num_images must be >= 2, got {num}")
    if problems:
        raise cli.UsageError("; ".join(problems))
    minibatch = FLAGS.minibatch or int(np.clip(8192 // res, 4, 256))
    print(
        f"{num} images at {res}x{res}, minibatch {minibatch}, {os.cpu_count()} CPUs; "
        f"RSS at start {PeakRSS.current() / 2**30:.2f} GiB"
    )
    for name in FLAGS.metrics:
        if name == "swd":
            seconds, peak, values, feed_time, end_time = bench_swd(num, res, minibatch, FLAGS.seed)
            levels = len(values) - 1
            desc_gib = 2 * levels * num * sliced_wasserstein.NHOODS_PER_IMAGE * 147 * 4 / 2**30
            print(
                f"SWD      {seconds:9.1f} s (feed {feed_time:.1f} s, end {end_time:.1f} s)  "
                f"peak RSS {peak / 2**30:6.2f} GiB (descriptors of both sets: {desc_gib:.2f} GiB)"
            )
            print("         " + "  ".join(f"{k} {v:.4f}" for k, v in values.items()))
        else:
            seconds, peak, value = bench_msssim(num, res, minibatch, FLAGS.seed)
            print(
                f"MS-SSIM  {seconds:9.1f} s  peak RSS {peak / 2**30:6.2f} GiB  ({num // 2} pairs)  MS-SSIM {value:.4f}"
            )


if __name__ == "__main__":
    _parser = build_parser()
    FLAGS = _parser.parse_args(cli.absl_spellings(sys.argv[1:], _parser))
    cli.run(main, input_errors=lambda: (ValueError,))  # Bad flag combinations.
