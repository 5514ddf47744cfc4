"""The main training loop, following the official ProGAN `train_progressive_gan` and StyleGAN
`training_loop` top to bottom: setup, resume, snapshot grid, loop, tick maintenance, snapshots.
"""

import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from networks import official
from training import misc
from training import network_args
from training import resume as resume_lib
from training import train_step as train_step_lib
from training.optimizer import Optimizer
from training.schedule import TrainingSchedule
from training.train_step import TrainSteps
from training.train_step import trainable_variables
from utils.images import create_image_grid
from utils.images import to_uint8
from utils.progress import format_time


def build_networks(
    arch,  # 'progan' or 'stylegan'.
    training_set,  # The dataset (for num_channels, resolution, label_size).
    G_args,  # Generator kwargs.
    D_args,  # Discriminator kwargs.
):
    """Construct G, D and Gs = a copy of G (`G.clone('Gs')`)."""
    Generator, Discriminator = network_args.network_classes(arch)
    common = dict(
        num_channels=training_set.shape[0], resolution=training_set.resolution, label_size=training_set.label_size
    )
    G = Generator(**common, **G_args, name="G")
    D = Discriminator(**common, **D_args, name="D")
    Gs = clone_network(G, "Gs")
    return G, D, Gs


def clone_network(net, name):
    """A new network of the same configuration holding the same values."""
    config = dict(net.get_config(), name=name)
    clone = type(net).from_config(config)
    clone.copy_official_values(net)
    return clone


def print_layers(net):
    """A table of the network's variables, in the spirit of the official print_layers."""
    print()
    print(f"{net.name:<40s}{'Params':<12s}{'Shape':<24s}")
    print(f"{'---':<40s}{'---':<12s}{'---':<24s}")
    total = 0
    for name, var in net.all_official_variables().items():
        count = int(np.prod(var.shape)) if var.trainable else 0
        total += count
        print(f"{name:<40s}{count if count else '-'!s:<12s}{str(list(var.shape)):<24s}")
    print(f"{'---':<40s}{'---':<12s}{'---':<24s}")
    print(f"{'Total':<40s}{total:<12d}")
    print()


def setup_grid_reals(
    training_set,  # The dataset.
    grid_size,  # (columns, rows) of the grid.
    layout="random",  # 'random', or 'row_per_class': row y shows class y mod label_size.
):
    """Reals and labels for the snapshot grid, drawn from the shuffled stream at full resolution."""
    gw, gh = grid_size
    count = gw * gh
    reals, labels = [], []
    stream = iter(training_set.get_dataset(1, 0, seed=0))
    while len(reals) < count:
        real, label = [np.asarray(t)[0] for t in next(stream)]
        row = len(reals) // gw
        if layout == "row_per_class" and training_set.label_size > 0 and label[row % training_set.label_size] == 0:
            continue
        reals.append(real)
        labels.append(label)
    return np.stack(reals).transpose(0, 2, 3, 1), np.stack(labels).astype(np.float32)


class GridGenerator:
    """Gs on the fixed grid latents/labels, compiled once, in fixed-size chunks (no retracing)."""

    def __init__(self, Gs, latents, labels, chunk=64, **kwargs):
        self.latents, self.labels, self.chunk = latents, labels, chunk
        self.fn = tf.function(lambda z, c: Gs(z, c, **kwargs))

    def __call__(self):
        out = []
        for start in range(0, len(self.latents), self.chunk):
            z, c = self.latents[start : start + self.chunk], self.labels[start : start + self.chunk]
            pad = self.chunk - len(z)
            z = np.concatenate([z, np.zeros([pad, z.shape[1]], z.dtype)]) if pad else z
            c = np.concatenate([c, np.zeros([pad, c.shape[1]], c.dtype)]) if pad else c
            out.append(np.asarray(self.fn(tf.constant(z), tf.constant(c)), np.float32)[: len(z) - pad])
        return np.concatenate(out)


def training_loop(
    run_dir,  # Run directory (created by the caller); None = write nothing (non-chief worker).
    training_set,  # datasets.tfrecord_reader.TFRecordDataset.
    arch="progan",  # 'progan' or 'stylegan'.
    G_args={},  # Options for the generator network.
    D_args={},  # Options for the discriminator network.
    G_opt_args={},  # Options for the generator optimizer.
    D_opt_args={},  # Options for the discriminator optimizer.
    G_loss_args={},  # Generator loss: func_name and kwargs.
    D_loss_args={},  # Discriminator loss: func_name and kwargs.
    sched_args={},  # Options for TrainingSchedule.
    strategy=None,  # tf.distribute strategy; None = the default (one device).
    G_smoothing=0.999,  # ProGAN: fixed Gs decay per D step (0 = no smoothing).
    G_smoothing_kimg=None,  # StyleGAN: half-life of Gs in kimg (overrides G_smoothing).
    D_repeats=1,  # How many times D is trained per G iteration.
    minibatch_repeats=4,  # Number of minibatches to run before adjusting training parameters.
    reset_opt_for_new_lod=True,  # Reset optimizer internal state when new layers are introduced?
    total_kimg=15000,  # Total length of the training, in thousands of real images.
    mirror_augment=False,  # Enable mirror augment?
    drange_net=(-1, 1),  # Dynamic range used when feeding image data to the networks.
    image_snapshot_ticks=1,  # How often to export image snapshots?
    network_snapshot_ticks=10,  # How often to export network snapshots?
    snapshot_at_first_tick=False,  # StyleGAN also snapshots at tick 1.
    grid_size="1080p",  # Snapshot grid size, '1080p' or '4k'.
    grid_layout="random",  # 'random' or 'row_per_class'.
    random_seed=1000,  # Seed of numpy (grid latents) and of the training random streams.
    resume_pkl=None,  # Network pickle to start from (official or ours), or None.
    resume_state=None,  # A resume-state.npz for an exact continuation, or None.
    resume_kimg=0.0,  # Assumed progress when starting from a pickle without state.
    resume_time=0.0,  # Assumed wallclock time when starting from a pickle without state.
    progress_sec=60.0,  # Print an in-tick progress line at most this often.
    stop_after_ticks=None,  # Stop (without final snapshot) after this many ticks, for tests.
):
    """Train G and D with the official schedule; writes logs, grids and snapshots into run_dir.

    Under MultiWorkerMirroredStrategy every worker calls this with the same arguments; only
    the chief passes its run_dir, the others None. Each worker reads only its replicas' rows
    of every global minibatch.
    """
    if training_set.data_format != "NCHW":
        raise ValueError(
            "training_loop takes the stored CHW bytes (transposed on the device): "
            "open the dataset with TFRecordDataset(..., data_format='NCHW')"
        )
    strategy = strategy or tf.distribute.get_strategy()
    num_replicas = strategy.num_replicas_in_sync
    # This process's replicas own rows [first * per_replica, (first + count) * per_replica) of each minibatch.
    local_ids = train_step_lib.local_replica_ids(strategy)
    writes = run_dir is not None
    maintenance_start_time = time.time()
    # As the official main (np.random.seed(1000), TF seeded from numpy): weight init and grid are reproducible.
    keras.utils.set_random_seed(random_seed)

    # Networks and optimizers, under the strategy so variables are mirrored over replicas.
    with strategy.scope():
        if resume_pkl is not None:
            print(f'Loading networks from "{resume_pkl}"...')
            G, D, Gs = official.load_pickle(resume_pkl)
        else:
            print("Constructing networks...")
            G, D, Gs = build_networks(arch, training_set, G_args, D_args)
        G_opt = Optimizer(trainable_variables(G), name="TrainG", **G_opt_args)
        D_opt = Optimizer(trainable_variables(D), name="TrainD", **D_opt_args)
    if writes:
        print_layers(G)
        print_layers(D)

    print("Building TensorFlow graph...")
    label_matrix = training_set.get_label_matrix()
    steps = TrainSteps(
        strategy,
        G,
        D,
        Gs,
        G_opt,
        D_opt,
        G_loss_args,
        D_loss_args,
        label_matrix,
        mirror_augment,
        training_set.dynamic_range,
        list(drange_net),
    )
    state_vars = resume_lib.state_variables(G, D, Gs, G_opt, D_opt)
    lod_vars = [
        var for net in (G, D) for name, var in net.all_official_variables().items() if name.split("/")[-1] == "lod"
    ]
    fakes_kwargs = dict(truncation_psi=1.0) if arch == "stylegan" else {}

    # Snapshot grid: reals and labels from the dataset, latents from numpy seeded above.
    print("Setting up snapshot image grid...")
    gw, gh = misc.grid_size_for(training_set.resolution, grid_size)
    grid_latents = np.random.randn(gw * gh, G.latent_size).astype(np.float32)
    if writes:
        grid_reals, grid_labels = setup_grid_reals(training_set, (gw, gh), grid_layout)
        generate_grid = GridGenerator(Gs, grid_latents, grid_labels, **fakes_kwargs)

    # Loop state: fresh, or everything an exact resume needs.
    cur_nimg = int(resume_kimg * 1000)
    loop = dict(
        cur_nimg=cur_nimg,
        cur_tick=0,
        tick_start_nimg=cur_nimg,
        prev_lod=-1.0,
        rng_counter=0,
        data_key=None,
        data_batches=0,
        data_configures=0,
        total_time=resume_time,
    )
    if resume_state is not None:
        print(f'Restoring exact training state from "{resume_state}"...')
        loop.update(resume_lib.load_state(resume_state, state_vars))
    elif writes:
        misc.save_image_grid(grid_reals, os.path.join(run_dir, "reals.png"), training_set.dynamic_range, (gw, gh))
        grid_fakes = generate_grid()
        misc.save_image_grid(
            grid_fakes, os.path.join(run_dir, "fakes%06d.png" % (loop["cur_nimg"] // 1000)), drange_net, (gw, gh)
        )
    summary_writer = tf.summary.create_file_writer(run_dir) if writes else tf.summary.create_noop_writer()

    print("Training...")
    cur_nimg, cur_tick = loop["cur_nimg"], loop["cur_tick"]
    tick_start_nimg, prev_lod = loop["tick_start_nimg"], loop["prev_lod"]
    tick_start_time = time.time()
    train_start_time = tick_start_time - loop["total_time"]
    last_progress_time = tick_start_time
    iterator, data_key = None, loop["data_key"]
    tick_stats = {}

    def record(stats):
        for name, value in stats.items():
            tick_stats.setdefault(name, []).append(value)

    while cur_nimg < total_kimg * 1000:
        # Choose training parameters and configure training ops.
        sched = TrainingSchedule(cur_nimg, training_set.resolution_log2, num_gpus=num_replicas, **sched_args)
        key = [sched.minibatch, int(np.floor(sched.lod))]
        if key != data_key:  # A new configuration restarts the shuffled stream, as the official reader.
            loop["data_configures"] += 1
            loop["data_batches"] = 0
            data_key, iterator = key, None
        if iterator is None:
            per_replica = sched.minibatch // num_replicas
            shard = (local_ids[0] * per_replica, (local_ids[-1] + 1) * per_replica)
            iterator = iter(
                training_set.get_dataset(
                    sched.minibatch,
                    sched.lod,
                    skip_batches=loop["data_batches"],
                    seed=random_seed + loop["data_configures"],
                    shard=shard,
                )
            )
        if reset_opt_for_new_lod and (
            np.floor(sched.lod) != np.floor(prev_lod) or np.ceil(sched.lod) != np.ceil(prev_lod)
        ):
            G_opt.reset()
            D_opt.reset()
        prev_lod = sched.lod
        for var in lod_vars:
            var.assign(sched.lod)
        lod = tf.constant(sched.lod, tf.float32)
        if G_smoothing_kimg is not None:
            Gs_beta = 0.5 ** (sched.minibatch / (G_smoothing_kimg * 1000.0)) if G_smoothing_kimg > 0 else 0.0
        else:
            Gs_beta = G_smoothing
        Gs_beta = tf.constant(Gs_beta, tf.float32)

        # Run training ops.
        for _ in range(minibatch_repeats):
            for _ in range(D_repeats):
                reals, labels = next(iterator)
                loop["data_batches"] += 1
                seed = tf.constant([random_seed, loop["rng_counter"]], tf.int64)
                loop["rng_counter"] += 1
                record(steps.D_step(reals, labels, seed, lod, tf.constant(sched.D_lrate, tf.float32), Gs_beta))
                cur_nimg += sched.minibatch
            seed = tf.constant([random_seed, loop["rng_counter"]], tf.int64)
            loop["rng_counter"] += 1
            record(
                steps.G_step(sched.minibatch, int(np.floor(sched.lod)), seed, tf.constant(sched.G_lrate, tf.float32))
            )

        # In-tick progress for long ticks (CPU runs).
        now = time.time()
        done = cur_nimg >= total_kimg * 1000
        if progress_sec and now - last_progress_time >= progress_sec and not done:
            last_progress_time = now
            rate = (cur_nimg - tick_start_nimg) / max(now - tick_start_time, 1e-9)
            eta = max(total_kimg * 1000 - cur_nimg, 0) / max(rate, 1e-9)
            print(
                f"  ... kimg {cur_nimg / 1000:<8.1f} lod {sched.lod:<5.2f} img/s {rate:<7.1f} eta {format_time(eta)}",
                flush=True,
            )

        # Perform maintenance tasks once per tick.
        if cur_nimg >= tick_start_nimg + sched.tick_kimg * 1000 or done:
            cur_tick += 1
            cur_time = time.time()
            tick_kimg = (cur_nimg - tick_start_nimg) / 1000.0
            tick_start_nimg = cur_nimg
            tick_time = cur_time - tick_start_time
            total_time = cur_time - train_start_time
            maintenance_time = tick_start_time - maintenance_start_time
            maintenance_start_time = cur_time
            images_per_sec = tick_kimg * 1000.0 / max(tick_time, 1e-9)
            eta = max(total_kimg - cur_nimg / 1000.0, 0.0) * tick_time / max(tick_kimg, 1e-9)
            host_gb, gpu_gb = misc.peak_memory_gb()
            mem = f"mem {host_gb:<5.2f}GB" + (f" gpumem {gpu_gb:<5.2f}GB" if gpu_gb is not None else "")
            print(
                f"tick {cur_tick:<5d} kimg {cur_nimg / 1000.0:<8.1f} lod {sched.lod:<5.2f} "
                f"minibatch {sched.minibatch:<4d} time {format_time(total_time):<12s} "
                f"sec/tick {tick_time:<7.1f} sec/kimg {tick_time / tick_kimg:<7.2f} "
                f"maintenance {maintenance_time:<6.1f} img/s {images_per_sec:<7.1f} "
                f"eta {format_time(eta):<12s} {mem}",
                flush=True,
            )
            with summary_writer.as_default(step=cur_nimg):
                scalars = {
                    "Progress/tick": cur_tick,
                    "Progress/kimg": cur_nimg / 1000.0,
                    "Progress/lod": sched.lod,
                    "Progress/minibatch": sched.minibatch,
                    "Timing/total_sec": total_time,
                    "Timing/sec_per_tick": tick_time,
                    "Timing/sec_per_kimg": tick_time / tick_kimg,
                    "Timing/maintenance_sec": maintenance_time,
                    "Timing/total_hours": total_time / 3600.0,
                    "Timing/total_days": total_time / 86400.0,
                    "Resources/peak_host_mem_gb": host_gb,
                    "TrainG/learning_rate": sched.G_lrate,
                    "TrainD/learning_rate": sched.D_lrate,
                    "TrainG/loss_scaling_log2": float(G_opt.loss_scaling_log2.numpy()),
                    "TrainD/loss_scaling_log2": float(D_opt.loss_scaling_log2.numpy()),
                }
                for name, values in tick_stats.items():
                    values = np.array([float(v) for v in values])
                    values = values[np.isfinite(values)]  # The official autosummary drops non-finite values.
                    if name.endswith("/finite"):
                        name, values = name.replace("/finite", "/overflow_frequency"), 1.0 - values
                    if values.size:
                        scalars[name] = float(values.mean())
                for name, value in scalars.items():
                    tf.summary.scalar(name, value)
            tick_stats.clear()

            # Save snapshots.
            if writes and (cur_tick % image_snapshot_ticks == 0 or done):
                grid_fakes = generate_grid()
                path = os.path.join(run_dir, "fakes%06d.png" % (cur_nimg // 1000))
                misc.save_image_grid(grid_fakes, path, drange_net, (gw, gh))
                with summary_writer.as_default(step=cur_nimg):
                    grid = create_image_grid(to_uint8(grid_fakes, drange_net), (gw, gh))
                    tf.summary.image("fakes", grid[np.newaxis])
            summary_writer.flush()
            snapshot = cur_tick % network_snapshot_ticks == 0 or done or (snapshot_at_first_tick and cur_tick == 1)
            if writes and snapshot:
                pkl = os.path.join(run_dir, "network-snapshot-%06d.pkl" % (cur_nimg // 1000))
                official.save_pickle(pkl, G, D, Gs)
                loop.update(
                    cur_nimg=cur_nimg,
                    cur_tick=cur_tick,
                    tick_start_nimg=tick_start_nimg,
                    prev_lod=prev_lod,
                    data_key=data_key,
                    total_time=time.time() - train_start_time,
                    snapshot=os.path.basename(pkl),
                )
                resume_lib.save_state(os.path.join(run_dir, resume_lib.STATE_NAME), state_vars, loop)

            # Record start time of the next tick.
            tick_start_time = time.time()
            if stop_after_ticks is not None and cur_tick >= stop_after_ticks and not done:
                summary_writer.close()
                return G, D, Gs

    # Write final results.
    if writes:
        official.save_pickle(os.path.join(run_dir, "network-final.pkl"), G, D, Gs)
    summary_writer.close()
    if writes:
        open(os.path.join(run_dir, "_training-done.txt"), "w").close()
    print("Exiting...")
    return G, D, Gs


# The official TFRecordDataset's arguments that a run's dataset_args may carry.
_OFFICIAL_DATASET_ARGS = ("tfrecord_dir", "resolution", "label_file", "max_label_size")


def _python_literal(value):  # Plain option data (dicts, lists, numbers, strings, numpy scalars).
    """`value` with everything that is not a Python literal made a string, so `exec` of its repr works."""
    if isinstance(value, dict):
        return {_python_literal(k): _python_literal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_python_literal(v) for v in value)
    if isinstance(value, np.generic):
        return _python_literal(value.item())
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and np.isfinite(value):
        return value
    return str(value)


def save_options(
    run_dir,  # Run directory being created.
    options,  # Resolved options, as train.py's resolve_options returns them.
):
    """Write the resolved configuration as training_options.json and an official-style config.txt.

    config.txt has one `key = value` line per option, and the two lines that the official
    scripts read back: ProGAN's `misc.load_dataset_for_previous_run` and StyleGAN's
    `misc.parse_config_for_previous_run` (used by util_scripts.py, run_metrics.py) `exec` the
    lines starting `dataset =` (the TFRecordDataset arguments; tfrecord_dir made absolute,
    since they join it to their own data_dir) and `train =` (they read mirror_augment).
    """
    with open(os.path.join(run_dir, "training_options.json"), "w") as file:
        json.dump(options, file, indent=2, sort_keys=True, default=str)
    dataset = {key: options["dataset_args"][key] for key in _OFFICIAL_DATASET_ARGS if key in options["dataset_args"]}
    dataset["tfrecord_dir"] = os.path.abspath(dataset["tfrecord_dir"])
    official_lines = {"dataset": dataset, "train": dict(options.get("train", {}))}
    with open(os.path.join(run_dir, "config.txt"), "w") as file:
        for key in sorted(set(options) | set(official_lines)):
            value = repr(_python_literal(official_lines[key])) if key in official_lines else options[key]
            file.write(f"{key} = {value}\n")
