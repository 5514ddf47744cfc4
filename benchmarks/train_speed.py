"""Training speed: one D step + Gs update + one G step, as the official loop runs them.

Measures images/s, sec/kimg and peak memory at a fixed lod for a given configuration and
precision on whatever device is present, without the input pipeline (reals are a fixed uint8
batch), like the performance targets in DEVELOPERS.md. Examples:

    python benchmarks/train_speed.py --res 32 --lod 0 --batch 16 --fmap_base 2048 --fmap_max 256
    python benchmarks/train_speed.py --res 128 --lod 3 --batch 32 --fmap_base 1024 --fmap_max 128
    python benchmarks/train_speed.py --arch stylegan --res 32 --batch 16 --fmap_base 2048 --fmap_max 256 \
        --latent_size 256 --dlatent_size 256
    python benchmarks/train_speed.py --res 32 --all_lods        # every resolution of a schedule
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# TensorFlow enables its oneDNN kernels by default only on some CPUs; on this project's AMD
# machines they make training steps about 25% faster. TF_ENABLE_ONEDNN_OPTS=0 turns them off.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from utils import cli  # noqa: E402
from utils import quiet_tensorflow  # noqa: E402

quiet_tensorflow.install()  # TensorFlow's start-up log stays off the terminal.


def build_parser():
    """The benchmark's options."""
    parser = cli.ArgumentParser(
        prog="train_speed.py", description=__doc__, allow_abbrev=False, formatter_class=cli.HelpFormatter
    )
    add = parser.add_argument
    add(
        "--arch",
        default="progan",
        choices=["progan", "stylegan"],
        help="Which networks and default losses (default: progan).",
    )
    add("--res", type=int, default=32, help="Network resolution (default: 32).")
    add("--lod", type=float, default=0.0, help="Level of detail to train at; fractional = a fade (default: 0.0).")
    add(
        "--all_lods",
        action=cli.BooleanFlag,
        help="Measure every whole lod from the coarsest to 0 instead of --lod (default: false).",
    )
    add("--batch", type=int, default=16, help="Global minibatch size (default: 16).")
    add("--num_channels", type=int, default=3, help="Image channels (default: 3).")
    add("--fmap_base", type=int, default=8192, help="fmap_base of both networks (default: 8192).")
    add("--fmap_max", type=int, default=512, help="fmap_max of both networks (default: 512).")
    add("--latent_size", type=int, help="Latent size (default: the network's).")
    add("--dlatent_size", type=int, help="StyleGAN dlatent size (default: the network's).")
    add("--precision", default="fp32", choices=["fp32", "fp16", "bf16"], help="Compute precision (default: fp32).")
    add("--iters", type=int, default=10, help="Timed iterations, after 2 untimed ones (default: 10).")
    add("--xla", action=cli.BooleanFlag, help="Compile the steps with XLA, jit_compile (default: false).")
    add(
        "--count_flops",
        action=cli.BooleanFlag,
        help="Also print TensorFlow's static FLOP count of the compiled steps and the GFLOP/s they reach, "
        "to compare with the device's peak (default: false).",
    )
    return parser


FLAGS = None  # The parsed options (named as when this benchmark used absl flags).


def measure(lod):
    import numpy as np
    import tensorflow as tf

    from training import misc
    from training.optimizer import Optimizer
    from training.train_step import TrainSteps
    from training.train_step import trainable_variables

    precision = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}[FLAGS.precision]
    common = dict(
        num_channels=FLAGS.num_channels,
        resolution=FLAGS.res,
        fmap_base=FLAGS.fmap_base,
        fmap_max=FLAGS.fmap_max,
        dtype=precision,
    )
    if FLAGS.arch == "progan":
        from networks import progan as module

        G_args = dict(common, **({"latent_size": FLAGS.latent_size} if FLAGS.latent_size else {}))
        losses = dict(func_name="G_wgan_acgan"), dict(func_name="D_wgangp_acgan")
    else:
        from networks import stylegan as module

        G_args = dict(common)
        for name in ("latent_size", "dlatent_size"):
            if getattr(FLAGS, name):
                G_args[name] = getattr(FLAGS, name)
        if FLAGS.dlatent_size:
            G_args["mapping_fmaps"] = FLAGS.dlatent_size
        losses = dict(func_name="G_logistic_nonsaturating"), dict(func_name="D_logistic_simplegp", r1_gamma=10.0)
    G = module.Generator(**G_args)
    D = module.Discriminator(**common)
    Gs = module.Generator(**G_args, name="Gs")
    loss_scaling = FLAGS.precision == "fp16"
    G_opt = Optimizer(trainable_variables(G), use_loss_scaling=loss_scaling)
    D_opt = Optimizer(trainable_variables(D), use_loss_scaling=loss_scaling)
    steps = TrainSteps(
        tf.distribute.get_strategy(),
        G,
        D,
        Gs,
        G_opt,
        D_opt,
        losses[0],
        losses[1],
        np.zeros([1, 0], np.float32),
        False,
        [0, 255],
        [-1, 1],
    )
    if FLAGS.xla:
        steps.D_step = tf.function(steps._D_step, jit_compile=True)
        steps.G_step = tf.function(steps._G_step, jit_compile=True)
    for var in (G.lod, D.lod):
        var.assign(lod)
    floor_lod = int(np.floor(lod))
    size = FLAGS.res >> floor_lod
    reals = tf.constant(
        np.random.RandomState(0).randint(0, 256, [FLAGS.batch, FLAGS.num_channels, size, size]), tf.uint8
    )
    labels = tf.zeros([FLAGS.batch, 0])
    lod_t, lr, beta = tf.constant(lod), tf.constant(0.001), tf.constant(0.999)

    def iteration(i):
        seed = tf.constant([0, i], tf.int64)
        steps.D_step(reals, labels, seed, lod_t, lr, beta)
        out = steps.G_step(FLAGS.batch, floor_lod, seed + 1, lr)
        return float(out["Loss/G"])  # Forces completion.

    start = time.time()
    iteration(0)
    trace_sec = time.time() - start
    iteration(1)
    start = time.time()
    for i in range(FLAGS.iters):
        iteration(2 + i)
    seconds = (time.time() - start) / FLAGS.iters
    host_gb, gpu_gb = misc.peak_memory_gb()
    device = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    mem = f"peak host {host_gb:.2f} GB" + (f", peak GPU {gpu_gb:.2f} GB" if gpu_gb is not None else "")
    if FLAGS.count_flops:
        flops = static_flops(steps.D_step, reals, labels, tf.constant([0, 0], tf.int64), lod_t, lr, beta)
        flops += static_flops(steps.G_step, FLAGS.batch, floor_lod, tf.constant([1, 0], tf.int64), lr)
        print(
            f"static count {flops / FLAGS.batch / 1e9:.2f} GFLOP per image per iteration, "
            f"{flops / seconds / 1e9:.1f} GFLOP/s",
            flush=True,
        )
    print(
        f"{FLAGS.arch} res {FLAGS.res} lod {lod:g} ({size}x{size} reals) batch {FLAGS.batch} "
        f"fmap {FLAGS.fmap_base}/{FLAGS.fmap_max} {FLAGS.precision}{' xla' if FLAGS.xla else ''} on {device}: "
        f"{FLAGS.batch / seconds:.1f} img/s, {seconds * 1000 / FLAGS.batch:.2f} sec/kimg, "
        f"{seconds * 1000:.0f} ms/iteration, first call {trace_sec:.1f} s, {mem}",
        flush=True,
    )


def static_flops(
    step,  # A tf.function training step.
    *args,  # Its arguments (selects the trace).
):
    """Floating-point operations of one call, as TensorFlow's graph profiler counts them.

    Counts convolutions, matmuls and elementwise ops that register FLOP statistics, including
    any that grappler later prunes, so it is an upper estimate of the work done.
    """
    from tensorflow.python.profiler import model_analyzer
    from tensorflow.python.profiler import option_builder

    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    graph = step.get_concrete_function(*args).graph
    return model_analyzer.profile(graph, options=options).total_float_ops


def main():
    """Measure one lod, or every lod with --all_lods."""
    import numpy as np

    from training import precision as precision_lib

    precision_lib.warn_if_bf16_emulated("train_speed.py", FLAGS.precision)
    if FLAGS.all_lods:
        start = int(np.log2(FLAGS.res)) - 2 if FLAGS.arch == "progan" else int(np.log2(FLAGS.res)) - 3
        for lod in range(start, -1, -1):
            measure(float(lod))
    else:
        measure(FLAGS.lod)


if __name__ == "__main__":
    _parser = build_parser()
    FLAGS = _parser.parse_args(cli.absl_spellings(sys.argv[1:], _parser))
    cli.run(main, input_errors=lambda: (ValueError,))  # Bad flag combinations (e.g. resolution).
