#!/usr/bin/env python3
"""Evaluate a training run's snapshots (or one network pickle) with the ProGAN paper metrics.

The official `util_scripts.evaluate_metrics` (see metrics/evaluate.py): a 'Reals' row (and
'Reals2' with --real_passes 2), then every network-snapshot-*.pkl of the run, newest first,
appended as a table to <run dir>/<--log>.

The official configurations (ProGAN config.py:134-138):

  python evaluate_metrics.py --run results/000-pgan-celebahq --metrics swd --num_images 16384 --real_passes 2 --log metric-swd-16k.txt
  python evaluate_metrics.py --run results/000-pgan-celebahq --metrics fid --num_images 10000 --log metric-fid-10k.txt
  python evaluate_metrics.py --run results/000-pgan-celebahq --metrics fid --num_images 50000 --log metric-fid-50k.txt
  python evaluate_metrics.py --run results/000-pgan-cifar10 --metrics is --num_images 50000 --log metric-is-50k.txt
  python evaluate_metrics.py --run results/000-pgan-celebahq --metrics msssim --num_images 20000 --log metric-msssim-20k.txt

An official pickle has no run directory: give its dataset with --dataset (and --mirror_augment
if it was trained with it):

  python evaluate_metrics.py --run karras2018iclr-celebahq-1024x1024.pkl --dataset datasets/celebahq --metrics swd --num_images 16384

FID and IS need the 2015 Inception graph (inception-2015-12-05.tgz or the
classify_image_graph_def.pb inside it): --inception_graph PATH or $INCEPTION_GRAPH.

Bad arguments or inputs print one line on stderr and exit with status 2.
"""

import argparse
import os
import sys

from cli_types import positive_int
from utils import cli
from utils import quiet_tensorflow

quiet_tensorflow.install()  # TensorFlow's start-up log stays off the terminal.


def build_parser():
    """The command-line parser."""
    parser = cli.ArgumentParser(
        prog="evaluate_metrics.py",
        formatter_class=cli.HelpFormatter,
        description="Evaluate a run's network snapshots (or one .pkl) with SWD, MS-SSIM, FID and IS,\n"
        "as the official ProGAN util_scripts.evaluate_metrics.",
        epilog="official configurations (ProGAN config.py):\n"
        "  swd-16k     --metrics swd --num_images 16384 --real_passes 2 --log metric-swd-16k.txt\n"
        "  fid-10k     --metrics fid --num_images 10000 --log metric-fid-10k.txt\n"
        "  fid-50k     --metrics fid --num_images 50000 --log metric-fid-50k.txt\n"
        "  is-50k      --metrics is --num_images 50000 --log metric-is-50k.txt\n"
        "  msssim-20k  --metrics msssim --num_images 20000 --log metric-msssim-20k.txt",
    )
    parser.add_argument(
        "--run",
        required=True,
        metavar="PATH",
        help="run directory (every network-snapshot-*.pkl, newest first) or one network .pkl",
    )
    parser.add_argument(
        "--metrics", required=True, metavar="LIST", help="comma-separated metrics: swd, msssim, fid, is"
    )
    parser.add_argument(
        "--num_images",
        required=True,
        type=positive_int,
        metavar="N",
        help="images per pass (official: swd 16384, fid 10000/50000, is 50000, msssim 20000)",
    )
    parser.add_argument(
        "--real_passes",
        type=int,
        choices=[1, 2],
        default=1,
        help="2 adds a 'Reals2' row scoring more reals against the first (default: 1)",
    )
    parser.add_argument(
        "--minibatch_size",
        type=positive_int,
        default=None,
        metavar="N",
        help="images per step (default: clip(8192 // resolution, 4, 256))",
    )
    parser.add_argument(
        "--inception_graph",
        default=None,
        metavar="PATH",
        help="inception-2015-12-05.tgz or classify_image_graph_def.pb for fid/is (default: $INCEPTION_GRAPH)",
    )
    parser.add_argument(
        "--dataset",
        default=None,
        metavar="DIR",
        help="dataset folder overriding the run's (default: the run's; required for a .pkl outside a run directory)",
    )
    parser.add_argument(
        "--mirror_augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="mirror the reals at random (default: as the run was trained; off without a run)",
    )
    parser.add_argument(
        "--seed", type=int, default=1000, help="seed of the latents and the metrics' random draws (default: 1000)"
    )
    parser.add_argument(
        "--log",
        default=None,
        metavar="NAME",
        help="table file, relative to the run directory (default: metric-<metrics>-<count>.txt)",
    )
    parser.add_argument(
        "--cache_dir",
        default=None,
        metavar="DIR",
        help="cache of the reals' FID statistics (default: <results>/_metric_cache; '' = off)",
    )
    return parser


def _user_errors():
    """Exception types that mean bad input (each carries a one-line message)."""
    # Lazy, as every project import here: --help then needs neither numpy nor TensorFlow (0.2 s, not 0.4 s).
    from datasets.errors import DatasetError
    from metrics.evaluate import EvaluationError
    from metrics.inception import InceptionGraphError
    from networks.official import OfficialPickleError

    return (cli.UsageError, EvaluationError, DatasetError, InceptionGraphError, OfficialPickleError)


def _fail(error):
    return cli.report("evaluate_metrics.py", cli.first_line(error))


def main(argv=None):  # Arguments without the program name; None = sys.argv[1:].
    """Run the command; returns the exit status (0, or 2 after a one-line error on stderr)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # cli.ArgumentParser.error (its line is on stderr already) or --help.
        return exit_.code
    try:
        from metrics import evaluate  # Light: TensorFlow is imported only once the arguments are valid.

        metrics = evaluate.parse_metrics(args.metrics)
        if not os.path.exists(args.run):
            raise cli.UsageError(f"--run {args.run}: no such run directory or snapshot .pkl")
        if args.dataset is not None and not os.path.isdir(args.dataset):
            raise cli.UsageError(f"--dataset {args.dataset}: no such folder; create it with dataset_tool.py")
    except (cli.UsageError, ValueError) as error:  # ValueError: EvaluationError from parse_metrics.
        return _fail(error)
    try:
        if any(evaluate.METRICS[name][1] for name in metrics):
            from metrics import inception  # Lazy: it imports TensorFlow.

            inception.resolve_graph_path(args.inception_graph)
        cache_dir = "auto" if args.cache_dir is None else (args.cache_dir or None)
        evaluate.evaluate_run(
            args.run,
            metrics=metrics,
            num_images=args.num_images,
            real_passes=args.real_passes,
            minibatch_size=args.minibatch_size,
            log_file=args.log,
            dataset=args.dataset,
            mirror_augment=args.mirror_augment,
            inception_graph=args.inception_graph,
            seed=args.seed,
            cache_dir=cache_dir,
            log=lambda line: print(line, flush=True),
        )
    except _user_errors() as error:
        return _fail(error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
