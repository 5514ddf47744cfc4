"""Train ProGAN or StyleGAN with the official configuration.

Examples:
    python train.py --dataset datasets/celebahq --res 1024                 # ProGAN, preset-v2-1gpu
    python train.py --dataset datasets/ffhq --arch stylegan --gpus 8       # StyleGAN, 8gpu preset
    python train.py --dataset datasets/shapes --res 32 --dry_run           # print resolved options
    python train.py --resume results/000-pgan-shapes-preset-v2-1gpu-fp32   # continue exactly

Several machines: run the same command on each with TensorFlow's TF_CONFIG naming the cluster
and this worker (README, "Several machines"); only the chief writes the run directory.
"""

import json
import os
import re

# TensorFlow enables its oneDNN kernels by default only on some CPUs; on this project's AMD
# machines they make training steps about 25% faster. TF_ENABLE_ONEDNN_OPTS=0 turns them off.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from absl import flags  # noqa: E402

from utils import cli  # noqa: E402
from utils import quiet_tensorflow  # noqa: E402

quiet_tensorflow.install()  # TensorFlow's start-up log stays off the terminal.

FLAGS = flags.FLAGS

# What to train.
flags.DEFINE_string("dataset", None, "TFRecord dataset folder made by dataset_tool.py.")
flags.DEFINE_integer("res", None, "Training resolution; defaults to the dataset's (a lower one uses its lower levels).")
flags.DEFINE_enum("arch", "progan", ["progan", "stylegan"], "Which system to train.")
flags.DEFINE_string("config", None, "Preset: preset-v1-1gpu, preset-v2-{1gpu,2gpus,4gpus,8gpus} (progan) or "
                    "{1,2,4,8}gpu (stylegan); ours: preset-cpu-quickstart (progan), cpu-quickstart "
                    "(stylegan). Default: the v2/stylegan preset for --gpus. Then, joined with '+', "
                    "the StyleGAN paper's configurations, each exactly its line of StyleGAN's train.py, "
                    "on top: wgangp; Table 1 tuned-baseline, add-mapping-and-styles, "
                    "remove-traditional-input, add-noise-inputs, mixing-regularization; Table 2 mix0, "
                    "mix50, mix90, mix100; Table 4 traditional-0, traditional-8, stylebased-{0,1,2,8} "
                    "(stylegan); Table 1 config A = stylegan-repo, the StyleGAN repository's ProGAN "
                    "(progan: G_wgan/D_wgan_gp and its training loop). E.g. '2gpu+tuned-baseline'; "
                    "a configuration alone ('--config mix50') goes on the preset for --gpus.")
flags.DEFINE_enum("precision", "fp32", ["fp32", "fp16", "bf16"], "Numeric precision (fp16 = official config).")
flags.DEFINE_float("total_kimg", None, "Length of training in thousands of real images (default: the preset's).")
flags.DEFINE_bool("mirror_augment", False, "Mirror reals horizontally at random.")
flags.DEFINE_string("max_label_size", "0", "Labels to use: 0, 'full' or N (official -cond = full).")
flags.DEFINE_integer("gpus", None, "Replicas for MirroredStrategy (default: all GPUs, or 1 CPU). "
                     "On a CPU-only machine N > 1 splits the CPU into N logical devices.")
flags.DEFINE_string("result_dir", "results", "Parent folder of run directories.")
flags.DEFINE_float("worker_timeout", 300.0, "With TF_CONFIG (several workers): seconds to wait for every worker "
                   "to start; a worker silent for a fifth of it (at least 10 s) counts as lost.")
flags.DEFINE_string("desc", None, "Run description (default: pgan-<dataset>-<preset>-<precision>).")
flags.DEFINE_string("resume", None, "Run directory or network snapshot .pkl to resume from.")
flags.DEFINE_float("resume_kimg", None, "Progress assumed when resuming from a pickle without exact state.")
flags.DEFINE_float("resume_time", 0.0, "Wallclock seconds assumed when resuming from a pickle without state.")
flags.DEFINE_bool("dry_run", False, "Print the resolved options and exit.")
flags.DEFINE_bool("deterministic", False, "Enable TF op determinism (bit-exact reruns and resumes).")
flags.DEFINE_integer("random_seed", 1000, "Seed for numpy (grid latents) and the training random streams.")

# Table 1 ablations (config.py:110-116).
for _name, _help in [("nogrowing", "Train at full resolution from the start."),
                     ("nopixelnorm", "No pixelwise feature normalisation in G."),
                     ("nowscale", "No equalized learning rate."), ("noleakyrelu", "ReLU instead of LeakyReLU in G."),
                     ("nosmoothing", "No Gs moving average."), ("norepeat", "minibatch_repeats = 1."),
                     ("noreset", "Do not reset the optimizers when a new lod starts.")]:
    flags.DEFINE_bool(_name, False, _help)

# Schedule knobs (TrainingSchedule); None = the preset's value.
for _name in ["lod_initial_resolution", "lod_training_kimg", "lod_transition_kimg", "minibatch_base",
              "tick_kimg_base"]:
    flags.DEFINE_float(_name, None, f"TrainingSchedule {_name}.")
for _name in ["G_lrate_base", "D_lrate_base", "lrate_rampup_kimg"]:
    flags.DEFINE_float(_name, None, f"TrainingSchedule {_name}.")
for _name in ["minibatch_dict", "max_minibatch_per_gpu", "G_lrate_dict", "D_lrate_dict", "tick_kimg_dict"]:
    flags.DEFINE_string(_name, None, f"TrainingSchedule {_name}, e.g. '4:128,8:64' or JSON.")

# Loop knobs.
flags.DEFINE_float("G_smoothing", None, "ProGAN Gs decay per D step (default 0.999).")
flags.DEFINE_float("G_smoothing_kimg", None, "StyleGAN Gs half-life in kimg (default 10).")
flags.DEFINE_integer("D_repeats", None, "D steps per G step (default 1).")
flags.DEFINE_integer("minibatch_repeats", None, "Minibatches between schedule updates (default 4).")
flags.DEFINE_integer("image_snapshot_ticks", None, "Ticks between fakes*.png (default 1).")
flags.DEFINE_integer("network_snapshot_ticks", None, "Ticks between network snapshots (default 10).")
flags.DEFINE_enum("grid_size", None, ["1080p", "4k"], "Snapshot grid size (default 1080p ProGAN, 4k StyleGAN).")
flags.DEFINE_enum("grid_layout", "random", ["random", "row_per_class"], "Snapshot grid layout.")

# Loss knobs.
flags.DEFINE_string("G_loss", None, "Generator loss (default G_wgan_acgan / G_logistic_nonsaturating).")
flags.DEFINE_string("D_loss", None, "Discriminator loss (default D_wgangp_acgan / D_logistic_simplegp).")
for _name in ["wgan_lambda", "wgan_epsilon", "wgan_target", "cond_weight", "r1_gamma", "r2_gamma"]:
    flags.DEFINE_float(_name, None, f"Loss argument {_name} (only for losses that take it).")

# Network and optimizer knobs.
for _name in ["fmap_base", "fmap_max", "latent_size", "mbstd_group_size", "dlatent_size", "mapping_layers",
              "mapping_fmaps"]:
    flags.DEFINE_integer(_name, None, f"Network argument {_name}.")
flags.DEFINE_float("fmap_decay", None, "Network argument fmap_decay.")
flags.DEFINE_float("style_mixing_prob", None, "StyleGAN style mixing probability (default 0.9).")
flags.DEFINE_bool("fused_scale", None, "Fused up/down-scaling convolutions (ProGAN default True).")
flags.DEFINE_multi_string("G_arg", [], "Any generator argument as name=value (repeatable; JSON values: 8, 0.5, "
                          "true, null, [1,2,1], or a word), e.g. --G_arg use_noise=false --G_arg blur_filter=null. "
                          "Applied after the preset and the named flags.")
flags.DEFINE_multi_string("D_arg", [], "Any discriminator argument as name=value (repeatable), as --G_arg.")
for _name in ["beta1", "beta2", "epsilon"]:
    flags.DEFINE_float(_name, None, f"Adam {_name}.")


class UserError(Exception):
    """An error in the command line or inputs, reported as one line."""


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


def _set_if(target, name, value):
    if value is not None:
        target[name] = value


def resolve_options(
    replicas=None,      # Replicas of the strategy (several workers); None = --gpus.
):
    """Turn the flags into the training_loop configuration (the official config.py logic)."""
    from training import presets
    from datasets.tfrecord_reader import TFRecordDataset

    if not FLAGS.dataset:
        raise UserError("--dataset is required: a folder made by dataset_tool.py (e.g. create_shapes)")
    arch = FLAGS.arch
    gpus = FLAGS.gpus or replicas or 1
    config_name = presets.full_name(FLAGS.config, arch, gpus) if FLAGS.config else presets.default_name(arch, gpus)
    ablations = [name for name in presets.PROGAN_ABLATIONS if FLAGS[name].value]
    if ablations and arch != "progan":
        raise UserError(f"--{ablations[0]} is a ProGAN ablation; it does not apply to --arch stylegan")
    try:
        config = presets.get_preset(config_name, FLAGS.precision, arch=arch, ablations=ablations)
    except ValueError as error:
        raise UserError(str(error)) from None

    max_label_size = FLAGS.max_label_size
    max_label_size = int(max_label_size) if max_label_size.isdigit() else max_label_size
    if max_label_size not in ("full",) and not isinstance(max_label_size, int):
        raise UserError(f"--max_label_size must be 0, 'full' or a number, got {FLAGS.max_label_size!r}")
    dataset_args = dict(tfrecord_dir=FLAGS.dataset, max_label_size=max_label_size)
    try:
        probe = TFRecordDataset(FLAGS.dataset, max_label_size=max_label_size)
    except (ValueError, OSError) as error:
        raise UserError(str(error)) from None
    if FLAGS.res is not None:
        if FLAGS.res < 4 or FLAGS.res & (FLAGS.res - 1):
            raise UserError(f"--res must be a power of two >= 4, got {FLAGS.res}")
        if FLAGS.res > probe.resolution:
            raise UserError(f"--res {FLAGS.res} is higher than the dataset's resolution {probe.resolution}; "
                            f"use --res {probe.resolution} or a dataset built at {FLAGS.res}")
        dataset_args["resolution"] = FLAGS.res

    sched = dict(config.get("sched", {}))
    for name in ["lod_initial_resolution", "lod_training_kimg", "lod_transition_kimg", "minibatch_base",
                 "tick_kimg_base", "G_lrate_base", "D_lrate_base", "lrate_rampup_kimg"]:
        value = FLAGS[name].value
        if value is not None:
            sched[name] = int(value) if name in ("lod_initial_resolution", "minibatch_base") else value
    for name in ["minibatch_dict", "max_minibatch_per_gpu", "G_lrate_dict", "D_lrate_dict", "tick_kimg_dict"]:
        if FLAGS[name].value is not None:
            try:
                sched[name] = _parse_dict(FLAGS[name].value)
            except ValueError:
                raise UserError(f"--{name} must look like '4:128,8:64' or a JSON object") from None

    G_args, D_args = dict(config.get("G", {})), dict(config.get("D", {}))
    for name in ["fmap_base", "fmap_max", "fmap_decay", "fused_scale"]:
        _set_if(G_args, name, FLAGS[name].value)
        _set_if(D_args, name, FLAGS[name].value)
    _set_if(G_args, "latent_size", FLAGS.latent_size)
    _set_if(D_args, "mbstd_group_size", FLAGS.mbstd_group_size)
    for name in ["dlatent_size", "mapping_layers", "mapping_fmaps", "style_mixing_prob"]:
        if FLAGS[name].value is not None:
            if arch != "stylegan":
                raise UserError(f"--{name} only applies to --arch stylegan")
            G_args[name] = FLAGS[name].value
    from training import network_args
    try:
        G_args.update(network_args.parse_args(FLAGS.G_arg, "G", arch))
        D_args.update(network_args.parse_args(FLAGS.D_arg, "D", arch))
    except ValueError as error:
        raise UserError(str(error)) from None
    # Without styles G has one w input and nothing to mix; the official graph fails in training.
    if arch == "stylegan" and G_args.get("use_styles", True) is False and G_args.get("style_mixing_prob", 0.9):
        raise UserError("style mixing needs use_styles=true: with use_styles=false set --style_mixing_prob 0 "
                        "(the Table 1/4 traditional configurations do)")

    opt_args = dict(beta1=0.0, beta2=0.99, epsilon=1e-8)
    for name in ["beta1", "beta2", "epsilon"]:
        _set_if(opt_args, name, FLAGS[name].value)
    G_opt_args = dict(opt_args, **config.get("G_opt", {}))
    D_opt_args = dict(opt_args, **config.get("D_opt", {}))

    if arch == "progan":
        G_loss = dict(config.get("G_loss", dict(func_name="G_wgan_acgan")))
        D_loss = dict(config.get("D_loss", dict(func_name="D_wgangp_acgan")))
    else:
        G_loss = dict(config.get("G_loss", dict(func_name="G_logistic_nonsaturating")))
        D_loss = dict(config.get("D_loss", dict(func_name="D_logistic_simplegp", r1_gamma=10.0)))
    _set_if(G_loss, "func_name", FLAGS.G_loss)
    _set_if(D_loss, "func_name", FLAGS.D_loss)
    import inspect
    from training import loss as loss_lib
    for args, table in ((G_loss, loss_lib.G_LOSSES), (D_loss, loss_lib.D_LOSSES)):
        if args["func_name"] not in table:
            raise UserError(f"unknown loss {args['func_name']!r}; choose one of {', '.join(table)}")
        if arch == "stylegan" and args["func_name"] in loss_lib.ACGAN_LOSSES:
            raise UserError(f"{args['func_name']} needs ProGAN's D with AC-GAN outputs (--arch progan)")
        params = inspect.signature(table[args["func_name"]]).parameters
        for name in [name for name in args if name != "func_name" and name not in params]:
            del args[name]  # A preset's kwarg (r1_gamma) that another chosen loss does not take.
        for name in ["wgan_lambda", "wgan_epsilon", "wgan_target", "cond_weight", "r1_gamma", "r2_gamma"]:
            if FLAGS[name].value is not None and name in params:
                args[name] = FLAGS[name].value

    train = dict(config.get("train", {}))
    train.setdefault("total_kimg", config["total_kimg"])
    if arch == "stylegan":
        train.setdefault("G_smoothing_kimg", 10.0)
        train.setdefault("snapshot_at_first_tick", True)
        train.setdefault("grid_size", "4k")
    for name in ["total_kimg", "G_smoothing", "G_smoothing_kimg", "D_repeats", "minibatch_repeats",
                 "image_snapshot_ticks", "network_snapshot_ticks", "grid_size"]:
        _set_if(train, name, FLAGS[name].value)
    train.update(mirror_augment=FLAGS.mirror_augment, grid_layout=FLAGS.grid_layout, random_seed=FLAGS.random_seed)

    dataset_name = os.path.basename(os.path.normpath(FLAGS.dataset))
    precision = FLAGS.precision
    desc = FLAGS.desc or "-".join(["pgan" if arch == "progan" else "sgan", dataset_name,
                                   config_name.replace("+", "-"), precision] + ablations)
    return dict(arch=arch, config=config_name, precision=precision, num_gpus=gpus, desc=desc,
                dataset_args=dataset_args, G_args=G_args, D_args=D_args, G_opt_args=G_opt_args,
                D_opt_args=D_opt_args, G_loss_args=G_loss, D_loss_args=D_loss, sched_args=sched, train=train)


def make_strategy(
    num_gpus,           # Replicas on this machine (--gpus); with several workers, must be None.
    cluster=None,       # training.cluster.Cluster from TF_CONFIG, or None for one process.
    worker_timeout=300, # Seconds to wait for every worker (with a cluster).
):
    """The tf.distribute strategy; call before any other TensorFlow work.

    One process: MirroredStrategy over `num_gpus` devices (logical CPU devices when there is no
    GPU). With a cluster: MultiWorkerMirroredStrategy over all workers, each with all its
    GPUs, or its CPU.
    """
    import tensorflow as tf
    if cluster is not None:
        if num_gpus is not None and num_gpus > 1:
            raise UserError("--gpus does not apply with TF_CONFIG: every worker uses all its GPUs "
                            "(choose them with CUDA_VISIBLE_DEVICES)")
        from training import cluster as cluster_lib
        return cluster_lib.create_strategy(cluster, worker_timeout)
    num_gpus = num_gpus or 1
    gpus = tf.config.list_physical_devices("GPU")
    if num_gpus <= 1:
        return tf.distribute.get_strategy() if len(gpus) <= 1 else tf.distribute.OneDeviceStrategy("/gpu:0")
    if gpus:
        if len(gpus) < num_gpus:
            raise UserError(f"--gpus {num_gpus} asked for, but only {len(gpus)} GPU(s) are visible")
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
            raise UserError(f"nothing to resume in {path}: no {resume_lib.STATE_NAME} and no network snapshot")
        return None, os.path.join(path, pkls[-1]), None
    if not os.path.isfile(path):
        raise UserError(f"--resume {path}: no such run directory or snapshot file")
    run_dir = os.path.dirname(os.path.abspath(path))
    state = os.path.join(run_dir, resume_lib.STATE_NAME)
    if os.path.isfile(state):
        import numpy as np
        with np.load(state) as data:
            loop = json.loads(str(data["__loop_state__"]))
        if loop.get("snapshot") == os.path.basename(path):
            return run_dir, None, state
    return None, path, None


def main(argv):
    if len(argv) > 1:
        raise UserError(f"unexpected arguments {' '.join(argv[1:])}; see --help")
    if FLAGS.gpus is not None and FLAGS.gpus < 1:
        raise UserError(f"--gpus must be at least 1, got {FLAGS.gpus}")
    from training import cluster as cluster_lib
    try:
        cluster = cluster_lib.from_environment()
    except cluster_lib.ClusterError as error:
        raise UserError(str(error)) from None

    resume_dir = resume_pkl = resume_state = None
    if FLAGS.resume:
        resume_dir, resume_pkl, resume_state = locate_resume(FLAGS.resume)
    options = None
    if resume_dir is not None:  # Exact continuation: the run's own options, in the run's own folder.
        with open(os.path.join(resume_dir, "training_options.json")) as file:
            options = json.load(file)
        if FLAGS["total_kimg"].present:
            options["train"]["total_kimg"] = FLAGS.total_kimg
        for key in ("sched_args",):
            for name, value in list(options[key].items()):
                if isinstance(value, dict):
                    options[key][name] = {int(k): v for k, v in value.items()}
    strategy = None
    if not FLAGS.dry_run:
        # Before the dataset probe below: it runs TensorFlow ops, and a strategy's devices
        # (logical CPUs, the cluster's servers) can only be set up before the first one.
        gpus = FLAGS.gpus if options is None else options["num_gpus"]
        strategy = make_strategy(None if cluster is not None else gpus, cluster, FLAGS.worker_timeout)
    if options is None:
        options = resolve_options(None if strategy is None or cluster is None else strategy.num_replicas_in_sync)
        if resume_pkl is not None:
            from networks import official
            official.read_pickle(resume_pkl)  # Fail before creating a run directory.
            options["train"]["resume_pkl"] = resume_pkl
            match = re.search(r"network-snapshot-(\d+)\.pkl$", resume_pkl)
            kimg = FLAGS.resume_kimg if FLAGS.resume_kimg is not None else (float(match.group(1)) if match else 0.0)
            options["train"].update(resume_kimg=kimg, resume_time=FLAGS.resume_time)
    if FLAGS.dry_run:
        print(json.dumps(options, indent=2, sort_keys=True, default=str))
        return 0

    import tensorflow as tf  # Imported late so that --help stays fast.
    if FLAGS.deterministic:
        tf.config.experimental.enable_op_determinism()
    from training import misc
    from training import precision as precision_lib
    from training import training_loop as loop_lib
    from datasets.tfrecord_reader import TFRecordDataset

    logger = misc.OutputLogger()
    if cluster is not None and not cluster.is_chief:
        # Only the chief writes the run directory; this worker says who it is on every line.
        run_dir = None
        logger.open(None, prefix=f"[{cluster.task_type} {cluster.task_index}] ")
        print(f"{cluster.num_workers} workers: this one ({cluster.tasks[cluster.id][2]}) trains, "
              f"{cluster.name(0)} writes the run directory"
              + (f" {resume_dir}" if resume_dir is not None else f" under {FLAGS.result_dir}"))
    else:
        if resume_dir is not None:
            run_dir = resume_dir
        else:
            run_dir = misc.create_result_subdir(FLAGS.result_dir, options["desc"],
                                                id_digits=3 if options["arch"] == "progan" else 5)
            loop_lib.save_options(run_dir, options)
        logger.open(os.path.join(run_dir, "log.txt"))
    try:
        if run_dir is not None:
            print(f"Run directory: {run_dir}")
        if cluster is not None:
            print(f"MultiWorkerMirroredStrategy: {cluster.num_workers} workers, "
                  f"{strategy.num_replicas_in_sync} replicas in all")
        else:
            print(f"Replicas: {strategy.num_replicas_in_sync} "
                  f"({', '.join(strategy.extended.worker_devices) if options['num_gpus'] > 1 else 'default device'})")
        precision_lib.warn_if_bf16_emulated("train.py", options.get("precision"))
        training_set = TFRecordDataset(**options["dataset_args"], data_format="NCHW", num_threads="auto")
        print(f"Dataset shape = {training_set.shape}, dynamic range = {training_set.dynamic_range}, "
              f"label size = {training_set.label_size}")
        try:
            loop_lib.training_loop(run_dir, training_set, arch=options["arch"], G_args=options["G_args"],
                                   D_args=options["D_args"], G_opt_args=options["G_opt_args"],
                                   D_opt_args=options["D_opt_args"], G_loss_args=options["G_loss_args"],
                                   D_loss_args=options["D_loss_args"], sched_args=options["sched_args"],
                                   strategy=strategy, resume_state=resume_state, **options["train"])
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
    return (UserError, DatasetError, OfficialPickleError, ResumeError)


def run():
    """Entry point: absl parsing, with bad flags and input errors as one line on stderr and exit 2."""
    cli.run(main, input_errors=_input_errors, prog="train.py")


if __name__ == "__main__":
    run()
