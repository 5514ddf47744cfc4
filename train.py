"""Train ProGAN or StyleGAN with the official configuration.

Examples:
    python train.py --dataset datasets/celebahq --res 1024                 # ProGAN, preset-v2-1gpu
    python train.py --dataset datasets/ffhq --arch stylegan --gpus 8       # StyleGAN, 8gpu preset
    python train.py --dataset datasets/shapes --res 32 --dry_run           # print resolved options
    python train.py --resume results/000-pgan-shapes-preset-v2-1gpu-fp32   # continue exactly

Several machines: run the same command on each with TensorFlow's TF_CONFIG naming the cluster
and this worker (README, "Several machines"); only the chief writes the run directory.
"""

import inspect
import json
import os
import re
import sys

# TensorFlow enables its oneDNN kernels by default only on some CPUs; on this project's AMD
# machines they make training steps about 25% faster. TF_ENABLE_ONEDNN_OPTS=0 turns them off.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import numpy as np  # noqa: E402

from utils import cli  # noqa: E402
from utils import quiet_tensorflow  # noqa: E402

quiet_tensorflow.install()  # TensorFlow's start-up log stays off the terminal.

# ----------------------------------------------------------------------------
# Options. Each is declared once, with its --help group and its target: where resolve_options
# puts its value (None: read by name). Schedule, loop, loss, network and optimizer options
# default to None, which means the preset's value.

GROUPS = {  # --help heading of each group, in order.
    "train": "what to train",
    "ablation": "ProGAN Table 1 ablations (config.py:110-116), on top of the preset (--arch progan)",
    "sched": "schedule (TrainingSchedule arguments; default: the preset's)",
    "loop": "training loop (training_loop arguments)",
    "loss": "losses",
    "network": "networks (G and D arguments; default: the preset's, else the network's)",
    "optimizer": "optimizers (Adam, both networks)",
    "run": "run directory, resuming and reproducibility",
}

# Targets: 'sched' (TrainingSchedule kwargs, through `convert`), 'train' (training_loop kwargs),
# 'loss' (loss kwargs, for the losses that take them), 'G+D', 'G', 'D', 'G_stylegan' (network
# kwargs; the last only with --arch stylegan), 'opt' (both optimizers), 'ablation'.


class Option:
    """One train.py option: its group, its target, and argparse's add_argument keywords."""

    def __init__(
        self,
        group,  # Key of GROUPS.
        name,  # Option name without '--'; also the target key.
        target=None,  # Where resolve_options puts the value (see above); None = read by name.
        convert=None,  # Callable applied to a given value before it goes to its target.
        **kwargs,  # add_argument keywords (type, default, choices, help, ...).
    ):
        self.group, self.name, self.target, self.convert, self.kwargs = group, name, target, convert, kwargs


def _parse_dict(text):
    text = text.strip()
    if text.startswith("{"):
        return {int(k): v for k, v in json.loads(text).items()}
    result = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition(":")
        number = float(value)
        result[int(key)] = int(number) if number.is_integer() and "." not in value else number
    return result


_DICT_HELP = "'RES:VALUE,...' (e.g. '4:128,8:64') or JSON; '' = empty"
_BOOL = dict(action=cli.BooleanFlag)

OPTIONS = [
    Option("train", "dataset", metavar="DIR", help="TFRecord dataset folder made by dataset_tool.py (required)."),
    Option(
        "train",
        "res",
        type=int,
        metavar="N",
        help="Training resolution, a power of two; a lower one than the dataset's uses its lower levels "
        "(default: the dataset's).",
    ),
    Option(
        "train",
        "arch",
        default="progan",
        choices=["progan", "stylegan"],
        help="Which system to train (default: progan).",
    ),
    Option(
        "train",
        "config",
        metavar="NAME",
        help="Preset: preset-v1-1gpu, preset-v2-{1gpu,2gpus,4gpus,8gpus} (progan) or {1,2,4,8}gpu "
        "(stylegan); ours: preset-cpu-quickstart (progan), cpu-quickstart (stylegan). Then, joined "
        "with '+', the StyleGAN paper's configurations, each exactly its line of StyleGAN's train.py, "
        "on top: wgangp; Table 1 tuned-baseline, add-mapping-and-styles, remove-traditional-input, "
        "add-noise-inputs, mixing-regularization; Table 2 mix0, mix50, mix90, mix100; Table 4 "
        "traditional-0, traditional-8, stylebased-{0,1,2,8} (stylegan); Table 1 config A = "
        "stylegan-repo, the StyleGAN repository's ProGAN (progan: G_wgan/D_wgan_gp and its training "
        "loop). E.g. '2gpu+tuned-baseline'; a configuration alone ('--config mix50') goes on the "
        "preset for --gpus (default: the v2 / StyleGAN preset for --gpus, preset-v2-1gpu or 1gpu).",
    ),
    Option(
        "train",
        "precision",
        default="fp32",
        choices=["fp32", "fp16", "bf16"],
        help="Numeric precision; fp16 is the official config's fp16 line (default: fp32).",
    ),
    Option(
        "train",
        "max_label_size",
        default="0",
        metavar="N",
        help="Labels to use: 0, 'full' or N; the official -cond is full (default: 0).",
    ),
    Option(
        "train",
        "gpus",
        type=int,
        metavar="N",
        help="Replicas for MirroredStrategy; on a CPU-only machine N > 1 splits the CPU into N logical "
        "devices (default: 1).",
    ),
    Option("train", "dry_run", **_BOOL, help="Print the resolved options and exit (default: false)."),
    Option(
        "ablation", "nogrowing", "ablation", **_BOOL, help="Train at full resolution from the start (default: false)."
    ),
    Option(
        "ablation", "nopixelnorm", "ablation", **_BOOL, help="No pixelwise feature normalisation in G (default: false)."
    ),
    Option("ablation", "nowscale", "ablation", **_BOOL, help="No equalized learning rate (default: false)."),
    Option("ablation", "noleakyrelu", "ablation", **_BOOL, help="ReLU instead of LeakyReLU in G (default: false)."),
    Option("ablation", "nosmoothing", "ablation", **_BOOL, help="No Gs moving average (default: false)."),
    Option("ablation", "norepeat", "ablation", **_BOOL, help="minibatch_repeats = 1 (default: false)."),
    Option(
        "ablation",
        "noreset",
        "ablation",
        **_BOOL,
        help="Do not reset the optimizers when a new lod starts (default: false).",
    ),
    # Two of the schedule's numbers are integers that absl read as floats ('8.0' works); kept so.
    Option(
        "sched",
        "lod_initial_resolution",
        "sched",
        int,
        type=float,
        metavar="N",
        help="Resolution at which training starts (default: the preset's; official 4; StyleGAN presets 8).",
    ),
    Option(
        "sched",
        "lod_training_kimg",
        "sched",
        type=float,
        metavar="KIMG",
        help="Thousands of real images to train at each resolution before its fade (default: the preset's; official 600; "
        "preset-v1 800).",
    ),
    Option(
        "sched",
        "lod_transition_kimg",
        "sched",
        type=float,
        metavar="KIMG",
        help="Thousands of real images of each fade-in of a new resolution (default: the preset's; official 600; preset-v1 800).",
    ),
    Option(
        "sched",
        "minibatch_base",
        "sched",
        int,
        type=float,
        metavar="N",
        help="Minibatch size at the resolutions that minibatch_dict does not name (default: the preset's; official 16; "
        "preset-v2-1gpu and 1gpu 4, 2 GPUs 8, 4 GPUs 16, 8 GPUs 32).",
    ),
    Option(
        "sched",
        "minibatch_dict",
        "sched",
        _parse_dict,
        metavar="DICT",
        help=f"Minibatch size per resolution, {_DICT_HELP} (default: the preset's; official {{}}; the v2 and StyleGAN presets "
        f"set one per GPU count).",
    ),
    Option(
        "sched",
        "max_minibatch_per_gpu",
        "sched",
        _parse_dict,
        metavar="DICT",
        help=f"Largest minibatch per GPU per resolution, {_DICT_HELP} (default: the preset's; official {{}}; ProGAN fp32 "
        f"{{256: 16, 512: 8, 1024: 4}}, fp16 {{512: 16, 1024: 8}}).",
    ),
    Option(
        "sched",
        "G_lrate_base",
        "sched",
        type=float,
        metavar="LR",
        help="G learning rate at the resolutions that G_lrate_dict does not name (default: the preset's; official 0.001).",
    ),
    Option(
        "sched",
        "G_lrate_dict",
        "sched",
        _parse_dict,
        metavar="DICT",
        help=f"G learning rate per resolution, {_DICT_HELP} (default: the preset's; official {{}}; the v2 and StyleGAN presets "
        f"raise it at high resolutions).",
    ),
    Option(
        "sched",
        "D_lrate_base",
        "sched",
        type=float,
        metavar="LR",
        help="D learning rate at the resolutions that D_lrate_dict does not name (default: the preset's; official 0.001).",
    ),
    Option(
        "sched",
        "D_lrate_dict",
        "sched",
        _parse_dict,
        metavar="DICT",
        help=f"D learning rate per resolution, {_DICT_HELP} (default: the preset's, as G_lrate_dict).",
    ),
    Option(
        "sched",
        "lrate_rampup_kimg",
        "sched",
        type=float,
        metavar="KIMG",
        help="Ramp the learning rates up linearly over this many kimg of each resolution; 0 = off "
        "(default: the preset's; official 0).",
    ),
    Option(
        "sched",
        "tick_kimg_base",
        "sched",
        type=float,
        metavar="KIMG",
        help="Thousands of real images per tick at the resolutions that tick_kimg_dict does not name "
        "(default: the preset's; official 160).",
    ),
    Option(
        "sched",
        "tick_kimg_dict",
        "sched",
        _parse_dict,
        metavar="DICT",
        help=f"Thousands of real images per tick per resolution, {_DICT_HELP} (default: the preset's; official {{4: 160, 8: 140, "
        f"16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 20, 1024: 10}}; StyleGAN's ends 512: 30, "
        f"1024: 20).",
    ),
    Option(
        "loop",
        "total_kimg",
        "train",
        type=float,
        metavar="KIMG",
        help="Length of training in thousands of real images (default: the preset's, 12000 in "
        "preset-v2, 25000 in StyleGAN's).",
    ),
    Option("loop", "mirror_augment", "train", **_BOOL, help="Mirror reals horizontally at random (default: false)."),
    Option(
        "loop",
        "G_smoothing",
        "train",
        type=float,
        metavar="BETA",
        help="ProGAN: Gs decay per D step, 0 = no moving average (default: the preset's, 0.999).",
    ),
    Option(
        "loop",
        "G_smoothing_kimg",
        "train",
        type=float,
        metavar="KIMG",
        help="StyleGAN: half-life of Gs in kimg; overrides G_smoothing (default: the preset's, 10 for "
        "StyleGAN and stylegan-repo, unset for ProGAN).",
    ),
    Option(
        "loop",
        "D_repeats",
        "train",
        type=int,
        metavar="N",
        help="How many times D is trained per G iteration (default: 1).",
    ),
    Option(
        "loop",
        "minibatch_repeats",
        "train",
        type=int,
        metavar="N",
        help="Number of minibatches to run before adjusting training parameters (default: 4).",
    ),
    Option(
        "loop",
        "image_snapshot_ticks",
        "train",
        type=int,
        metavar="N",
        help="Ticks between image snapshots, fakes*.png (default: 1).",
    ),
    Option(
        "loop",
        "network_snapshot_ticks",
        "train",
        type=int,
        metavar="N",
        help="Ticks between network snapshots (default: the preset's, 10; 5 in the cpu-quickstart ones).",
    ),
    Option(
        "loop",
        "grid_size",
        "train",
        choices=["1080p", "4k"],
        help="Snapshot grid size (default: 1080p for ProGAN, 4k for StyleGAN).",
    ),
    Option(
        "loop",
        "grid_layout",
        "train",
        default="random",
        choices=["random", "row_per_class"],
        help="Snapshot grid layout (default: random).",
    ),
    Option(
        "loop",
        "random_seed",
        "train",
        type=int,
        default=1000,
        help="Seed for numpy (grid latents) and the training random streams (default: 1000).",
    ),
    Option(
        "loss",
        "G_loss",
        metavar="NAME",
        help="Generator loss (default: the preset's, G_wgan_acgan for ProGAN, G_logistic_nonsaturating for StyleGAN).",
    ),
    Option(
        "loss",
        "D_loss",
        metavar="NAME",
        help="Discriminator loss (default: the preset's, D_wgangp_acgan for ProGAN, D_logistic_simplegp for StyleGAN).",
    ),
    Option(
        "loss",
        "wgan_lambda",
        "loss",
        type=float,
        help="Weight of the WGAN-GP gradient penalty, for the losses that take it (default: the loss's, 10).",
    ),
    Option(
        "loss",
        "wgan_epsilon",
        "loss",
        type=float,
        help="Weight of the epsilon (drift) penalty on real scores, for the losses that take it "
        "(default: the loss's, 0.001).",
    ),
    Option(
        "loss",
        "wgan_target",
        "loss",
        type=float,
        help="Target gradient norm of the WGAN-GP penalty, for the losses that take it (default: the loss's, 1).",
    ),
    Option(
        "loss",
        "cond_weight",
        "loss",
        type=float,
        help="Weight of the AC-GAN conditioning terms, for the losses that take it (default: the loss's, 1).",
    ),
    Option(
        "loss",
        "r1_gamma",
        "loss",
        type=float,
        help="R1 regularization weight (gradient penalty on reals), for the losses that take it "
        "(default: the preset's, 10 for StyleGAN).",
    ),
    Option(
        "loss",
        "r2_gamma",
        "loss",
        type=float,
        help="R2 regularization weight (gradient penalty on fakes), for the losses that take it "
        "(default: the loss's, 0).",
    ),
    Option(
        "network",
        "fmap_base",
        "G+D",
        type=int,
        metavar="N",
        help="Overall multiplier for the number of feature maps, both networks (default: 8192).",
    ),
    Option(
        "network",
        "fmap_max",
        "G+D",
        type=int,
        metavar="N",
        help="Maximum number of feature maps in any layer, both networks (default: 512).",
    ),
    Option(
        "network",
        "fmap_decay",
        "G+D",
        type=float,
        help="log2 feature map reduction when doubling the resolution, both networks (default: 1.0).",
    ),
    Option(
        "network",
        "fused_scale",
        "G+D",
        action=cli.BooleanFlag,
        default=None,
        help="Fused up/down-scaling convolutions, both networks (default: the network's, True for ProGAN).",
    ),
    Option(
        "network",
        "latent_size",
        "G",
        type=int,
        metavar="N",
        help="Dimensionality of the latent vectors (default: the preset's, else min(fmap_base, fmap_max) "
        "for ProGAN, 512 for StyleGAN).",
    ),
    Option(
        "network",
        "mbstd_group_size",
        "D",
        type=int,
        metavar="N",
        help="D's minibatch-stddev group size; <= 1 disables the layer (default: 4; 16 in preset-v1).",
    ),
    Option(
        "network",
        "dlatent_size",
        "G_stylegan",
        type=int,
        metavar="N",
        help="StyleGAN: dimensionality of the disentangled latents w (default: 512).",
    ),
    Option(
        "network",
        "mapping_layers",
        "G_stylegan",
        type=int,
        metavar="N",
        help="StyleGAN: number of mapping layers (default: 8).",
    ),
    Option(
        "network",
        "mapping_fmaps",
        "G_stylegan",
        type=int,
        metavar="N",
        help="StyleGAN: number of activations in the mapping layers (default: 512).",
    ),
    Option(
        "network",
        "style_mixing_prob",
        "G_stylegan",
        type=float,
        help="StyleGAN: probability of mixing styles during training; 0 = off (default: 0.9).",
    ),
    Option(
        "network",
        "G_arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Any generator argument as name=value (repeatable; JSON values: 8, 0.5, true, null, [1,2,1], "
        "or a word), e.g. --G_arg use_noise=false --G_arg blur_filter=null. Applied after the preset "
        "and the named options (default: none).",
    ),
    Option(
        "network",
        "D_arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Any discriminator argument as name=value (repeatable), as --G_arg (default: none).",
    ),
    Option("optimizer", "beta1", "opt", type=float, help="Adam beta1 (default: 0.0)."),
    Option("optimizer", "beta2", "opt", type=float, help="Adam beta2 (default: 0.99)."),
    Option("optimizer", "epsilon", "opt", type=float, help="Adam epsilon (default: 1e-08)."),
    Option(
        "run",
        "result_dir",
        default="results",
        metavar="DIR",
        help="Parent folder of run directories (default: results).",
    ),
    Option(
        "run",
        "desc",
        metavar="TEXT",
        help="Run description (default: pgan|sgan-<dataset>-<config>-<precision>[-<ablations>]).",
    ),
    Option(
        "run",
        "resume",
        metavar="PATH",
        help="Run directory or network snapshot .pkl to resume from (default: none, a new run).",
    ),
    Option(
        "run",
        "resume_kimg",
        type=float,
        metavar="KIMG",
        help="Progress assumed when resuming from a pickle without exact state (default: the snapshot's "
        "kimg from its file name, else 0).",
    ),
    Option(
        "run",
        "resume_time",
        type=float,
        default=0.0,
        metavar="SEC",
        help="Wallclock seconds assumed when resuming from a pickle without state (default: 0.0).",
    ),
    Option(
        "run",
        "deterministic",
        **_BOOL,
        help="Enable TF op determinism, for bit-exact reruns and resumes (default: false).",
    ),
    Option(
        "run",
        "worker_timeout",
        type=float,
        default=300.0,
        metavar="SEC",
        help="With TF_CONFIG (several workers): seconds to wait for every worker to start; a worker "
        "silent for a fifth of it (at least 10 s) counts as lost (default: 300.0).",
    ),
]


def targeted(target):  # A target of OPTIONS ('sched', 'train', ...).
    """The options whose values resolve_options puts into `target`, in declaration order."""
    return [option for option in OPTIONS if option.target == target]


def build_parser():
    """train.py's argparse parser: OPTIONS under their GROUPS headings."""
    # No abbreviations: absl took none, so '--dry' stays an unknown option, not --dry_run.
    parser = cli.ArgumentParser(
        prog="train.py",
        description=__doc__,
        allow_abbrev=False,
        usage="python train.py --dataset DIR [option ...]",
        formatter_class=cli.HelpFormatter,
    )
    groups = {key: parser.add_argument_group(title) for key, title in GROUPS.items()}
    for option in OPTIONS:
        groups[option.group].add_argument("--" + option.name, **option.kwargs)
    return parser


def parse_args(argv):  # Command-line arguments without the program name.
    """The parsed options of a train.py command line (bad ones end the process: one line, exit 2)."""
    parser = build_parser()
    return parser.parse_args(cli.absl_spellings(argv, parser))


def _set_if(target, name, value):
    if value is not None:
        target[name] = value


def resolve_options(
    args,  # Parsed options (parse_args).
    replicas=None,  # Replicas of the strategy (several workers); None = --gpus.
):
    """Turn the options into the training_loop configuration (the official config.py logic)."""
    # Lazy, as every project import in train.py: --help and bad options then need no TensorFlow.
    from datasets.tfrecord_reader import TFRecordDataset
    from training import presets

    if not args.dataset:
        raise cli.UsageError("--dataset is required: a folder made by dataset_tool.py (e.g. create_shapes)")
    arch = args.arch
    gpus = args.gpus or replicas or 1
    config_name = presets.full_name(args.config, arch, gpus) if args.config else presets.default_name(arch, gpus)
    ablations = [option.name for option in targeted("ablation") if getattr(args, option.name)]
    if ablations and arch != "progan":
        raise cli.UsageError(f"--{ablations[0]} is a ProGAN ablation; it does not apply to --arch stylegan")
    try:
        config = presets.get_preset(config_name, args.precision, arch=arch, ablations=ablations)
    except ValueError as error:
        raise cli.UsageError(str(error)) from None

    max_label_size = args.max_label_size
    max_label_size = int(max_label_size) if max_label_size.isdigit() else max_label_size
    if max_label_size not in ("full",) and not isinstance(max_label_size, int):
        raise cli.UsageError(f"--max_label_size must be 0, 'full' or a number, got {args.max_label_size!r}")
    dataset_args = dict(tfrecord_dir=args.dataset, max_label_size=max_label_size)
    try:
        probe = TFRecordDataset(args.dataset, max_label_size=max_label_size)
    except (ValueError, OSError) as error:
        raise cli.UsageError(str(error)) from None
    if args.res is not None:
        if args.res < 4 or args.res & (args.res - 1):
            raise cli.UsageError(f"--res must be a power of two >= 4, got {args.res}")
        if args.res > probe.resolution:
            raise cli.UsageError(
                f"--res {args.res} is higher than the dataset's resolution {probe.resolution}; "
                f"use --res {probe.resolution} or a dataset built at {args.res}"
            )
        dataset_args["resolution"] = args.res

    sched = dict(config.get("sched", {}))
    for option in targeted("sched"):
        value = getattr(args, option.name)
        if value is None:
            continue
        try:
            sched[option.name] = option.convert(value) if option.convert else value
        except ValueError:
            if option.convert is not _parse_dict:
                raise
            raise cli.UsageError(f"--{option.name} must look like '4:128,8:64' or a JSON object") from None

    G_args, D_args = dict(config.get("G", {})), dict(config.get("D", {}))
    for option in targeted("G+D"):
        _set_if(G_args, option.name, getattr(args, option.name))
        _set_if(D_args, option.name, getattr(args, option.name))
    for option in targeted("G"):
        _set_if(G_args, option.name, getattr(args, option.name))
    for option in targeted("D"):
        _set_if(D_args, option.name, getattr(args, option.name))
    for option in targeted("G_stylegan"):
        if getattr(args, option.name) is not None:
            if arch != "stylegan":
                raise cli.UsageError(f"--{option.name} only applies to --arch stylegan")
            G_args[option.name] = getattr(args, option.name)
    from training import network_args

    try:
        G_args.update(network_args.parse_args(args.G_arg, "G", arch))
        D_args.update(network_args.parse_args(args.D_arg, "D", arch))
    except ValueError as error:
        raise cli.UsageError(str(error)) from None
    # Without styles G has one w input and nothing to mix; the official graph fails in training.
    if arch == "stylegan" and G_args.get("use_styles", True) is False and G_args.get("style_mixing_prob", 0.9):
        raise cli.UsageError(
            "style mixing needs use_styles=true: with use_styles=false set --style_mixing_prob 0 "
            "(the Table 1/4 traditional configurations do)"
        )

    opt_args = dict(beta1=0.0, beta2=0.99, epsilon=1e-8)
    for option in targeted("opt"):
        _set_if(opt_args, option.name, getattr(args, option.name))
    G_opt_args = dict(opt_args, **config.get("G_opt", {}))
    D_opt_args = dict(opt_args, **config.get("D_opt", {}))

    if arch == "progan":
        G_loss = dict(config.get("G_loss", dict(func_name="G_wgan_acgan")))
        D_loss = dict(config.get("D_loss", dict(func_name="D_wgangp_acgan")))
    else:
        G_loss = dict(config.get("G_loss", dict(func_name="G_logistic_nonsaturating")))
        D_loss = dict(config.get("D_loss", dict(func_name="D_logistic_simplegp", r1_gamma=10.0)))
    _set_if(G_loss, "func_name", args.G_loss)
    _set_if(D_loss, "func_name", args.D_loss)
    from training import loss as loss_lib

    for loss_args, table in ((G_loss, loss_lib.G_LOSSES), (D_loss, loss_lib.D_LOSSES)):
        if loss_args["func_name"] not in table:
            raise cli.UsageError(f"unknown loss {loss_args['func_name']!r}; choose one of {', '.join(table)}")
        if arch == "stylegan" and loss_args["func_name"] in loss_lib.ACGAN_LOSSES:
            raise cli.UsageError(f"{loss_args['func_name']} needs ProGAN's D with AC-GAN outputs (--arch progan)")
        params = inspect.signature(table[loss_args["func_name"]]).parameters
        for name in [name for name in loss_args if name != "func_name" and name not in params]:
            del loss_args[name]  # A preset's kwarg (r1_gamma) that another chosen loss does not take.
        for option in targeted("loss"):
            if getattr(args, option.name) is not None and option.name in params:
                loss_args[option.name] = getattr(args, option.name)

    train = dict(config.get("train", {}))
    train.setdefault("total_kimg", config["total_kimg"])
    if arch == "stylegan":
        train.setdefault("G_smoothing_kimg", 10.0)
        train.setdefault("snapshot_at_first_tick", True)
        train.setdefault("grid_size", "4k")
    for option in targeted("train"):
        _set_if(train, option.name, getattr(args, option.name))

    dataset_name = os.path.basename(os.path.normpath(args.dataset))
    precision = args.precision
    desc = args.desc or "-".join(
        ["pgan" if arch == "progan" else "sgan", dataset_name, config_name.replace("+", "-"), precision] + ablations
    )
    return dict(
        arch=arch,
        config=config_name,
        precision=precision,
        num_gpus=gpus,
        desc=desc,
        dataset_args=dataset_args,
        G_args=G_args,
        D_args=D_args,
        G_opt_args=G_opt_args,
        D_opt_args=D_opt_args,
        G_loss_args=G_loss,
        D_loss_args=D_loss,
        sched_args=sched,
        train=train,
    )


def make_strategy(
    num_gpus,  # Replicas on this machine (--gpus); with several workers, must be None.
    cluster=None,  # training.cluster.Cluster from TF_CONFIG, or None for one process.
    worker_timeout=300,  # Seconds to wait for every worker (with a cluster).
):
    """The tf.distribute strategy; call before any other TensorFlow work.

    One process: MirroredStrategy over `num_gpus` devices (logical CPU devices when there is no
    GPU). With a cluster: MultiWorkerMirroredStrategy over all workers, each with all its
    GPUs, or its CPU.
    """
    import tensorflow as tf

    if cluster is not None:
        if num_gpus is not None and num_gpus > 1:
            raise cli.UsageError(
                "--gpus does not apply with TF_CONFIG: every worker uses all its GPUs "
                "(choose them with CUDA_VISIBLE_DEVICES)"
            )
        from training import cluster as cluster_lib

        return cluster_lib.create_strategy(cluster, worker_timeout)
    num_gpus = num_gpus or 1
    gpus = tf.config.list_physical_devices("GPU")
    if num_gpus <= 1:
        return tf.distribute.get_strategy() if len(gpus) <= 1 else tf.distribute.OneDeviceStrategy("/gpu:0")
    if gpus:
        if len(gpus) < num_gpus:
            raise cli.UsageError(f"--gpus {num_gpus} asked for, but only {len(gpus)} GPU(s) are visible")
        return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(num_gpus)])
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * num_gpus)
    return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(num_gpus)])


def locate_resume(path):
    """(run_dir for exact continuation or None, network pkl or None, state file or None)."""
    from training import resume as resume_lib

    if os.path.isdir(path):
        state = os.path.join(path, resume_lib.STATE_NAME)
        if os.path.isfile(state):
            return path, None, state
        pkls = sorted(name for name in os.listdir(path) if re.match(r"network-snapshot-\d+\.pkl$", name))
        final = os.path.join(path, "network-final.pkl")
        if os.path.isfile(final):
            return None, final, None
        if not pkls:
            raise cli.UsageError(f"nothing to resume in {path}: no {resume_lib.STATE_NAME} and no network snapshot")
        return None, os.path.join(path, pkls[-1]), None
    if not os.path.isfile(path):
        raise cli.UsageError(f"--resume {path}: no such run directory or snapshot file")
    run_dir = os.path.dirname(os.path.abspath(path))
    state = os.path.join(run_dir, resume_lib.STATE_NAME)
    if os.path.isfile(state):
        with np.load(state) as data:
            loop = json.loads(str(data["__loop_state__"]))
        if loop.get("snapshot") == os.path.basename(path):
            return run_dir, None, state
    return None, path, None


def main(
    args,  # Parsed options (parse_args).
):
    """Train (or, with --dry_run, print the resolved options); returns the exit status."""
    if args.gpus is not None and args.gpus < 1:
        raise cli.UsageError(f"--gpus must be at least 1, got {args.gpus}")
    from training import cluster as cluster_lib

    try:
        cluster = cluster_lib.from_environment()
    except cluster_lib.ClusterError as error:
        raise cli.UsageError(str(error)) from None

    resume_dir = resume_pkl = resume_state = None
    if args.resume:
        resume_dir, resume_pkl, resume_state = locate_resume(args.resume)
    options = None
    if resume_dir is not None:  # Exact continuation: the run's own options, in the run's own folder.
        with open(os.path.join(resume_dir, "training_options.json")) as file:
            options = json.load(file)
        if args.total_kimg is not None:
            options["train"]["total_kimg"] = args.total_kimg
        for key in ("sched_args",):
            for name, value in list(options[key].items()):
                if isinstance(value, dict):
                    options[key][name] = {int(k): v for k, v in value.items()}
    strategy = None
    if not args.dry_run:
        # Before the dataset probe below: it runs TensorFlow ops, and a strategy's devices
        # (logical CPUs, the cluster's servers) can only be set up before the first one.
        gpus = args.gpus if options is None else options["num_gpus"]
        strategy = make_strategy(None if cluster is not None else gpus, cluster, args.worker_timeout)
    if options is None:
        options = resolve_options(args, None if strategy is None or cluster is None else strategy.num_replicas_in_sync)
        if resume_pkl is not None:
            from networks import official

            official.read_pickle(resume_pkl)  # Fail before creating a run directory.
            options["train"]["resume_pkl"] = resume_pkl
            match = re.search(r"network-snapshot-(\d+)\.pkl$", resume_pkl)
            kimg = args.resume_kimg if args.resume_kimg is not None else (float(match.group(1)) if match else 0.0)
            options["train"].update(resume_kimg=kimg, resume_time=args.resume_time)
    if args.dry_run:
        print(json.dumps(options, indent=2, sort_keys=True, default=str))
        return 0

    import tensorflow as tf  # Imported late so that --help stays fast.

    if args.deterministic:
        tf.config.experimental.enable_op_determinism()
    from datasets.tfrecord_reader import TFRecordDataset
    from training import misc
    from training import precision as precision_lib
    from training import training_loop as loop_lib

    logger = misc.OutputLogger()
    if cluster is not None and not cluster.is_chief:
        # Only the chief writes the run directory; this worker says who it is on every line.
        run_dir = None
        logger.open(None, prefix=f"[{cluster.task_type} {cluster.task_index}] ")
        print(
            f"{cluster.num_workers} workers: this one ({cluster.tasks[cluster.id][2]}) trains, "
            f"{cluster.name(0)} writes the run directory"
            + (f" {resume_dir}" if resume_dir is not None else f" under {args.result_dir}")
        )
    else:
        if resume_dir is not None:
            run_dir = resume_dir
        else:
            run_dir = misc.create_result_subdir(
                args.result_dir, options["desc"], id_digits=3 if options["arch"] == "progan" else 5
            )
            loop_lib.save_options(run_dir, options)
        logger.open(os.path.join(run_dir, "log.txt"))
    try:
        if run_dir is not None:
            print(f"Run directory: {run_dir}")
        if cluster is not None:
            print(
                f"MultiWorkerMirroredStrategy: {cluster.num_workers} workers, "
                f"{strategy.num_replicas_in_sync} replicas in all"
            )
        else:
            print(
                f"Replicas: {strategy.num_replicas_in_sync} "
                f"({', '.join(strategy.extended.worker_devices) if options['num_gpus'] > 1 else 'default device'})"
            )
        precision_lib.warn_if_bf16_emulated("train.py", options.get("precision"))
        training_set = TFRecordDataset(**options["dataset_args"], data_format="NCHW", num_threads="auto")
        print(
            f"Dataset shape = {training_set.shape}, dynamic range = {training_set.dynamic_range}, "
            f"label size = {training_set.label_size}"
        )
        try:
            loop_lib.training_loop(
                run_dir,
                training_set,
                arch=options["arch"],
                G_args=options["G_args"],
                D_args=options["D_args"],
                G_opt_args=options["G_opt_args"],
                D_opt_args=options["D_opt_args"],
                G_loss_args=options["G_loss_args"],
                D_loss_args=options["D_loss_args"],
                sched_args=options["sched_args"],
                strategy=strategy,
                resume_state=resume_state,
                **options["train"],
            )
        except Exception as error:  # noqa: BLE001 -- re-raised unless a worker was lost.
            line = cluster_lib.peer_failure(error, cluster, run_dir or resume_dir) if cluster is not None else None
            if line is None:
                raise
            cluster_lib.exit_now(line)
    finally:
        logger.close()
    return 0


def _input_errors():
    """Exception types that mean bad input (dataset, pickle, resume state), not a bug."""
    from datasets.errors import DatasetError
    from networks.official import OfficialPickleError
    from training.resume import ResumeError

    return (DatasetError, OfficialPickleError, ResumeError)


def run(
    argv=None,  # Command-line arguments without the program name; None = sys.argv[1:].
):
    """Entry point: bad options and input errors end as one line on stderr and exit status 2."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    cli.run(lambda: main(args), input_errors=_input_errors, prog="train.py")


if __name__ == "__main__":
    run()
