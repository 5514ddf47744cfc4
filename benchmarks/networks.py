"""Time ProGAN G / D forward and forward+backward passes on whatever device is present.

Example:
    python benchmarks/networks.py --net both --resolution 64 --batch 4
    python benchmarks/networks.py --net G --resolution 1024 --lod 6

Reports, per network: trace time of the tf.function (first call), median
milliseconds per batch for the forward pass and for forward+backward
(gradients w.r.t. every trainable variable) after one warm-up call, and peak
memory: device memory from tf.config.experimental.get_memory_info on a GPU,
otherwise the process's peak RSS (resource.getrusage).
"""

import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from utils import cli  # noqa: E402
from utils import quiet_tensorflow  # noqa: E402

quiet_tensorflow.install()  # TensorFlow's start-up log stays off the terminal.

import numpy as np  # noqa: E402  (after quiet_tensorflow.install, which must precede TensorFlow)
import tensorflow as tf  # noqa: E402

from networks.progan import Discriminator  # noqa: E402
from networks.progan import Generator  # noqa: E402


def build_parser():
    """The benchmark's options."""
    parser = cli.ArgumentParser(
        prog="networks.py", description=__doc__, allow_abbrev=False, formatter_class=cli.HelpFormatter
    )
    add = parser.add_argument
    add("--net", default="both", choices=["G", "D", "both"], help="Which network(s) to time (default: both).")
    add("--resolution", type=int, default=1024, help="Network resolution, a power of two >= 4 (default: 1024).")
    add("--lod", type=float, default=0.0, help="Level of detail assigned to the network's lod variable (default: 0.0).")
    add("--batch", type=int, default=4, help="Minibatch size (default: 4).")
    add(
        "--dtype",
        default="float32",
        help="Network dtype: float32, float16, bfloat16 (mixed precision) (default: float32).",
    )
    add(
        "--fmap_base", type=int, default=8192, help="Overall multiplier for the number of feature maps (default: 8192)."
    )
    add("--fmap_max", type=int, default=512, help="Maximum number of feature maps in any layer (default: 512).")
    add("--iters", type=int, default=5, help="Timed iterations per measurement, median reported (default: 5).")
    add("--num_channels", type=int, default=3, help="Image channels (default: 3).")
    return parser


FLAGS = None  # The parsed options (named as when this benchmark used absl flags).


def _device():
    gpus = tf.config.list_physical_devices("GPU")
    return ("GPU:0", gpus[0].name) if gpus else ("CPU:0", "CPU")


def _peak_memory_mb(device):
    if device.startswith("GPU"):
        return tf.config.experimental.get_memory_info(device)["peak"] / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB.


def _median_ms(
    fn,  # Zero-argument callable returning tensors.
    iters,  # Number of timed calls.
):
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), fn())  # Wait for the device.
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def _benchmark(
    name,  # 'G' or 'D'.
    device,  # TF device string.
):
    kwargs = dict(
        num_channels=FLAGS.num_channels,
        resolution=FLAGS.resolution,
        fmap_base=FLAGS.fmap_base,
        fmap_max=FLAGS.fmap_max,
        dtype=FLAGS.dtype,
    )
    rng = np.random.default_rng(0)
    with tf.device(device):
        if name == "G":
            net = Generator(**kwargs)
            latent_size = net.official_static_kwargs()["latent_size"]
            inputs = tf.constant(rng.standard_normal((FLAGS.batch, latent_size)).astype(np.float32))
            forward = tf.function(lambda x: net(x))
        else:
            net = Discriminator(**kwargs, mbstd_group_size=min(4, FLAGS.batch))
            shape = (FLAGS.batch, FLAGS.resolution, FLAGS.resolution, FLAGS.num_channels)
            inputs = tf.constant(rng.standard_normal(shape).astype(np.float32))
            forward = tf.function(lambda x: net(x)[0])

        @tf.function
        def forward_backward(x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.cast(forward(x), tf.float32))
            return loss, tape.gradient(loss, net.trainable_variables)

        net.lod.assign(FLAGS.lod)
        if device.startswith("GPU"):
            tf.config.experimental.reset_memory_stats(device)
        start = time.perf_counter()
        forward(inputs).numpy()
        forward_backward(inputs)[0].numpy()
        trace_s = time.perf_counter() - start
        forward_ms = _median_ms(lambda: forward(inputs), FLAGS.iters)
        backward_ms = _median_ms(lambda: forward_backward(inputs), FLAGS.iters)
    params = sum(int(np.prod(v.shape)) for v in net.trainable_variables)
    print(
        f"{name}  res={FLAGS.resolution} lod={FLAGS.lod:g} batch={FLAGS.batch} dtype={FLAGS.dtype} "
        f"params={params / 1e6:.2f}M  first calls (trace) {trace_s:.1f} s  "
        f"forward {forward_ms:.1f} ms  forward+backward {backward_ms:.1f} ms  "
        f"peak memory {_peak_memory_mb(device):.0f} MiB"
    )


def main():
    """Time the chosen networks."""
    device, description = _device()
    print(f"device: {description}; tensorflow {tf.__version__}")
    for name in ["G", "D"] if FLAGS.net == "both" else [FLAGS.net]:
        _benchmark(name, device)


if __name__ == "__main__":
    _parser = build_parser()
    FLAGS = _parser.parse_args(cli.absl_spellings(sys.argv[1:], _parser))
    cli.run(main, input_errors=lambda: (ValueError,))  # Bad flag combinations (e.g. resolution).
