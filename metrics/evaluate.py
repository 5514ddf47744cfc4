"""Evaluate training runs and network snapshots with the ProGAN paper metrics.

The official `util_scripts.evaluate_metrics` (ProGAN, util_scripts.py:140-237) as a library:

1. The dataset is recreated from the run's `training_options.json` and read in file order
   (`shuffle_mb=0`); reals are mirrored at random when the run used mirror augment.
2. The minibatch is clip(8192 // resolution, 4, 256).
3. Each metric ('swd', 'msssim', 'fid', 'is') is warmed up with uniform noise.
4. A 'Reals' row scores the first `num_images` reals in 'reals' mode (the reference), and a
   'Reals2' row the next `num_images` in 'fakes' mode when `real_passes=2` (a noise floor).
5. Every `network-snapshot-*.pkl` of the run (not `network-final.pkl`) is scored, newest first,
   on Gs's images from random latents and the labels of the reals pass, converted to uint8 as
   the official code of the network's family does (ProGAN: rint(x * 127.5 + 127.5), clipped;
   StyleGAN: validation call without truncation, random noise, x * 127.5 + 128 truncated);
   grayscale is tiled to RGB.
6. The table (`Snapshot` (kimg), `Time_eval`, then the metric columns in the official formats)
   is appended to `<run dir>/metric-<names>-<count>.txt`, or the `log_file` given.

Random numbers come from `np.random.RandomState` objects seeded from `seed`, with each stream
restarted for every row, so that a snapshot's row does not depend on which other snapshots are
evaluated, in which order, or on `real_passes` (the official harness draws everything from
one global stream, so its rows depend on all of these):

* latents: `latent_random_state(seed).randn(num_images, latent_size)`, the same for every
  snapshot (as the official `generate_fake_images`, RandomState(1000) by default);
* SWD neighbourhoods and directions: `metric_random_state(seed)` from the start of the 'Reals'
  pass, restored to its state after that pass for every snapshot, so that a snapshot's SWD
  equals `compute_swd(reals, fakes, seed=metric_random_state(seed), minibatch_size=mb)`;
* mirror augment: `mirror_random_state(seed)`, continued over the real passes.

Deliberate differences from the official harness, each documented where it happens: the
warm-up is one tiny minibatch (the official 10 minibatches only compiled TF graphs); the real
passes read one continuous file-order stream (the official reader restarted the file whenever
the minibatch size changed, e.g. for a short last minibatch); the labels of the fakes are
those of the 'Reals' pass (the official code kept those of the last real pass); the real FID
statistics are cached per dataset and image count.

Public API: `evaluate_run`, `evaluate_snapshot`, `Evaluator`, `METRICS`, `parse_metrics`,
`default_minibatch_size`, `default_log_name`, `list_snapshots`, `snapshot_kimg`, `snapshot_title`,
`run_dataset_args`, `load_generator`, `generate_uint8`, `apply_mirror_augment`,
`latent_random_state`, `metric_random_state`, `mirror_random_state`, `EvaluationError`.

Importing this module does not import TensorFlow: the metric modules, the dataset reader and
TensorFlow itself are imported where an evaluation first needs them, so that evaluate_metrics.py
checks its arguments (and reports bad ones) in a fraction of a second.
"""

import collections
import hashlib
import importlib
import json
import os
import re
import time

import numpy as np

from networks import generators
from utils import files
from utils.progress import format_time

# Metric name -> (module, API constructor takes the Inception graph).
METRICS = collections.OrderedDict(
    [
        ("swd", ("metrics.sliced_wasserstein", False)),
        ("msssim", ("metrics.ms_ssim", False)),
        ("fid", ("metrics.frechet_inception_distance", True)),
        ("is", ("metrics.inception_score", True)),
    ]
)
DEFAULT_SEED = 1000  # Official train.py seeds numpy with config.random_seed = 1000.
WARMUP_IMAGES = 2  # Images in the warm-up minibatch (even, for MS-SSIM).
IS_SPLITS = 10  # Official Inception-score splits.
CACHE_DIR_NAME = "_metric_cache"
SNAPSHOT_PATTERN = re.compile(r"network-snapshot-(\d+)\.pkl$")

# ----------------------------------------------------------------------------
# Errors and small helpers.


class EvaluationError(ValueError):
    """Bad input for an evaluation (missing run, dataset, metric...), in one line saying what to do."""


def parse_metrics(
    metrics,  # 'swd,fid' or a sequence of names.
):
    """Validated list of metric names, in the given order, without duplicates."""
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    names = [str(name).strip().lower() for name in names if str(name).strip()]
    if not names:
        raise EvaluationError(f"no metric given; choose from {', '.join(METRICS)}")
    for name in names:
        if name not in METRICS:
            raise EvaluationError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}")
    return list(collections.OrderedDict.fromkeys(names))


def default_minibatch_size(
    resolution,  # Image resolution.
):
    """Official minibatch for evaluation: clip(8192 // resolution, 4, 256)."""
    return int(np.clip(8192 // int(resolution), 4, 256))


def default_log_name(
    metrics,  # Metric names.
    num_images,  # Images per pass.
):
    """'metric-<names>-<count>.txt' as the official configs name them (16384 -> '16k', 10000 -> '10k')."""
    count = int(num_images)
    label = f"{count // 1000}k" if count >= 1000 and (count % 1000 == 0 or count % 1024 == 0) else str(count)
    return "metric-%s-%s.txt" % ("-".join(parse_metrics(metrics)), label)


def latent_random_state(seed):  # Evaluation seed.
    """The RandomState the latents of every snapshot are drawn from (one randn per minibatch)."""
    return np.random.RandomState(seed)


def metric_random_state(seed):  # Evaluation seed.
    """The RandomState of the metrics' own draws (SWD neighbourhoods and directions)."""
    return np.random.RandomState([seed, 1])


def mirror_random_state(seed):  # Evaluation seed.
    """The RandomState of the mirror-augment coin flips of the reals."""
    return np.random.RandomState([seed, 2])


def apply_mirror_augment(
    images,  # uint8 [N, H, W, C] minibatch.
    random_state,  # RandomState of the coin flips.
):
    """Official `misc.apply_mirror_augment`: each image flipped left-right with probability 1/2."""
    mask = random_state.rand(images.shape[0]) < 0.5
    images = np.array(images)
    images[mask] = images[mask, :, ::-1]
    return images


def _rgb(images):
    """Grayscale tiled to RGB, as the official harness does before feeding the metrics."""
    return np.tile(images, [1, 1, 1, 3]) if images.shape[-1] == 1 else images


def _append_lines(
    path,  # Text file to extend.
    lines,  # Lines to add (without newlines).
):
    """Append complete lines via a temporary file and a rename, so the file is never half-written."""
    try:
        old = ""
        if os.path.exists(path):
            with open(path) as file:
                old = file.read()
        with files.atomic_path(path) as tmp:
            with open(tmp, "w") as file:
                file.write(old + "".join(line + "\n" for line in lines))
    except OSError as error:
        raise EvaluationError(
            f"cannot write the metric log {path} ({error.strerror or error}); pass a writable log file"
        ) from None


# ----------------------------------------------------------------------------
# Runs, snapshots and datasets.


def snapshot_kimg(
    path,  # Path of a network pickle.
):
    """The kimg in a 'network-snapshot-<kimg>.pkl' name, or None for other names."""
    match = SNAPSHOT_PATTERN.search(os.path.basename(str(path)))
    return int(match.group(1)) if match else None


def snapshot_title(
    path,  # Path of a network pickle.
):
    """Row title of a pickle: the kimg of a snapshot (official), else the file name without .pkl."""
    kimg = snapshot_kimg(path)
    return str(kimg) if kimg is not None else os.path.splitext(os.path.basename(str(path)))[0]


def list_snapshots(
    run_dir,  # Training run directory.
):
    """Every network-snapshot-*.pkl of the run (network-final.pkl excluded), newest first."""
    if not os.path.isdir(run_dir):
        raise EvaluationError(f"run directory {run_dir} does not exist; pass a run directory or a snapshot .pkl")
    names = [name for name in os.listdir(run_dir) if SNAPSHOT_PATTERN.fullmatch(name)]
    if not names:
        raise EvaluationError(
            f"{run_dir} holds no network-snapshot-*.pkl; pass a run directory with snapshots or a .pkl file"
        )
    names.sort(key=lambda name: (snapshot_kimg(name), name), reverse=True)
    return [os.path.join(run_dir, name) for name in names]


def run_dataset_args(
    run_dir,  # Run directory (may lack training_options.json if `dataset` is given).
    dataset=None,  # Dataset folder overriding the run's (required without training options).
    mirror_augment=None,  # None = as the run was trained (False without training options).
):
    """(TFRecordDataset kwargs, mirror_augment) for evaluating the run's snapshots."""
    options_path = os.path.join(run_dir, "training_options.json")
    options = None
    if os.path.isfile(options_path):
        try:
            with open(options_path) as file:
                options = json.load(file)
            dataset_args = dict(options["dataset_args"])
            if "tfrecord_dir" not in dataset_args:
                raise KeyError("tfrecord_dir")
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise EvaluationError(
                f"{options_path} is unreadable or lacks dataset_args ({type(error).__name__}); pass --dataset DIR"
            ) from None
    if options is None:
        if dataset is None:
            raise EvaluationError(
                f"{run_dir} has no training_options.json, so its dataset is unknown; "
                f"pass the dataset folder with --dataset DIR"
            )
        dataset_args = dict(max_label_size="full")  # Any labels the network may need.
    if dataset is not None:
        dataset_args["tfrecord_dir"] = dataset
    elif not os.path.isdir(dataset_args["tfrecord_dir"]):
        raise EvaluationError(
            f"dataset folder {dataset_args['tfrecord_dir']} named in {options_path} does not exist; "
            f"pass its new location with --dataset DIR"
        )
    if mirror_augment is None:
        mirror_augment = bool(options and dict(options.get("train", {})).get("mirror_augment", False))
    dataset_args.pop("class_name", None)
    return dataset_args, bool(mirror_augment)


def load_generator(
    pkl_path,  # Snapshot or official (G, D, Gs) pickle.
):
    """Gs of a network pickle (G and D are not built), by the loader generate.py and export share."""
    if not os.path.isfile(pkl_path):
        raise EvaluationError(f"snapshot {pkl_path} does not exist; pass a run directory or a network .pkl")
    try:
        return generators.load_generator(pkl_path)
    except generators.SnapshotError as error:
        raise EvaluationError(str(error)) from None


def generate_uint8(
    generate,  # Callable (latents, labels) -> float [N, H, W, C] in [-1, 1].
    latents,  # [N, latent_size] float32.
    labels,  # [N, label_size] float32.
    family,  # 'progan' or 'stylegan': which official uint8 conversion.
):
    """Gs images as official uint8 NHWC, grayscale tiled to RGB."""
    images = generate(latents, labels)
    images = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    return _rgb(generators.official_uint8(images, family))


# ----------------------------------------------------------------------------
# Evaluation.


class _RealStream:
    """Reals and labels in file order, as one continuous stream across passes."""

    def __init__(self, dataset, minibatch_size):
        self._iterator = iter(dataset.get_dataset(minibatch_size, 0))
        self._images = self._labels = None

    def take(self, count):
        images, labels = [], []
        while count > 0:
            if self._images is None or len(self._images) == 0:
                batch_images, batch_labels = next(self._iterator)
                self._images, self._labels = batch_images.numpy(), batch_labels.numpy()
            n = min(count, len(self._images))
            images.append(self._images[:n])
            labels.append(self._labels[:n])
            self._images, self._labels = self._images[n:], self._labels[n:]
            count -= n
        return np.concatenate(images), np.concatenate(labels)


class Evaluator:
    """The official evaluate_metrics harness for one dataset: real passes once, then any snapshots.

    Example:
        >>> ev = Evaluator(dict(tfrecord_dir="datasets/celebahq"), ["swd"], 16384)
        >>> ev.run_reals(real_passes=2)           # 'Reals' and 'Reals2' rows.
        >>> ev.evaluate("results/000-pgan-celebahq/network-snapshot-012000.pkl")
        {'SWDx1e3_1024': ..., ..., 'SWDx1e3_avg': ...}

    Keep one Evaluator to score many snapshots: the reals (SWD descriptors, FID statistics,
    labels) are computed once.
    """

    def __init__(
        self,
        dataset_args,  # TFRecordDataset kwargs (tfrecord_dir, max_label_size, resolution...).
        metrics,  # Metric names: 'swd', 'msssim', 'fid', 'is' (list or comma string).
        num_images,  # Images per pass.
        mirror_augment=False,  # Mirror reals at random (as the run was trained).
        minibatch_size=None,  # None = clip(8192 // resolution, 4, 256).
        inception_graph=None,  # Inception graph for fid/is; None = $INCEPTION_GRAPH.
        seed=DEFAULT_SEED,  # Seed of every random stream (see the module docstring).
        cache_dir=None,  # Folder caching the reals' FID statistics; None = no cache.
        log=print,  # Callable receiving table and progress lines.
        log_file=None,  # Text file the table is appended to; None = none.
        progress_sec=30.0,  # Print a progress line at most this often within a pass.
        title_width=10,  # Width of the Snapshot column (official 10; more for long file names).
    ):
        self.metric_names = parse_metrics(metrics)
        self.num_images = int(num_images)
        if self.num_images < 1:
            raise EvaluationError(f"num_images must be at least 1, got {num_images}")
        self.mirror_augment = bool(mirror_augment)
        self.seed = int(seed)
        self.cache_dir = cache_dir
        self.log = log or (lambda line: None)
        self.log_file = log_file
        self.progress_sec = float(progress_sec)
        self.title_width = max(10, int(title_width))
        self.inception_graph = None
        if any(METRICS[name][1] for name in self.metric_names):
            from metrics import inception  # Lazy: it imports TensorFlow (see the module docstring).

            try:
                self.inception_graph = inception.resolve_graph_path(inception_graph)
            except inception.InceptionGraphError as error:
                raise EvaluationError(str(error)) from None

        from datasets.tfrecord_reader import TFRecordDataset  # Lazy: it imports TensorFlow (see the module docstring).

        dataset_args = dict(dataset_args)
        for key in ("shuffle_mb", "repeat", "seed"):
            dataset_args.pop(key, None)
        self.dataset_args = dataset_args
        self.dataset = TFRecordDataset(**dataset_args, shuffle_mb=0, repeat=True)
        self.resolution = self.dataset.resolution
        self.minibatch_size = int(minibatch_size) if minibatch_size else default_minibatch_size(self.resolution)
        self._check_arguments()

        self.apis = collections.OrderedDict()
        self.metric_rng = metric_random_state(self.seed)
        self.mirror_rng = mirror_random_state(self.seed)
        for name in self.metric_names:
            self.apis[name] = self._create_api(name)
        self._warmup()
        self.reals_state = None  # metric_rng state after the 'Reals' pass.
        self.labels = None  # Labels of the 'Reals' pass.
        self._stream = _RealStream(self.dataset, min(self.minibatch_size, self.num_images))
        self._header_written = False
        self.rows = collections.OrderedDict()

    def _check_arguments(self):
        names, n, mb = self.metric_names, self.num_images, self.minibatch_size
        if mb < 1:
            raise EvaluationError(f"minibatch_size must be at least 1, got {mb}")
        if "swd" in names and self.resolution < 16:
            raise EvaluationError(
                f"SWD needs images of at least 16x16; the dataset is {self.resolution}x{self.resolution}"
            )
        if "msssim" in names and (n % 2 or mb % 2):
            raise EvaluationError(
                f"MS-SSIM pairs consecutive images: num_images ({n}) and minibatch_size ({mb}) must be even"
            )
        if "is" in names and n < IS_SPLITS:
            raise EvaluationError(
                f"the Inception score splits the images in {IS_SPLITS}: num_images must be "
                f"at least {IS_SPLITS}, got {n}"
            )
        if "fid" in names and n < 2:
            raise EvaluationError(f"FID needs a covariance: num_images must be at least 2, got {n}")

    def _create_api(self, name):
        module_name, takes_graph = METRICS[name]
        module = importlib.import_module(module_name)
        kwargs = dict(
            num_images=self.num_images,
            image_shape=[self.resolution, self.resolution, 3],
            image_dtype=np.uint8,
            minibatch_size=self.minibatch_size,
        )
        if takes_graph:
            kwargs["graph_path"] = self.inception_graph
        if name == "swd":
            kwargs["random_state"] = self.metric_rng
        try:
            return module.API(**kwargs)
        except RuntimeError as error:  # InceptionGraphError: the file is unusable.
            raise EvaluationError(str(error).splitlines()[0]) from None

    def _warmup(self):
        # The official 10 minibatches of noise per metric only compiled its TF graphs; one tiny
        # minibatch exercises every code path (and imports the Inception graph) before the
        # long passes, without touching the random streams or the reference statistics.
        state = self.metric_rng.get_state()
        noise = np.random.RandomState(0).randint(
            0, 256, [WARMUP_IMAGES, self.resolution, self.resolution, 3], dtype=np.uint8
        )
        for api in self.apis.values():
            api.begin("warmup")
            api.feed("warmup", noise)
        self.metric_rng.set_state(state)

    # ------------------------------------------------------------------------
    # Table.

    def header_lines(self):
        """The official two header lines: names and dashes."""
        names = "%-*s%-12s" % (self.title_width, "Snapshot", "Time_eval")
        dashes = "%-*s%-12s" % (self.title_width, "---", "---")
        for api in self.apis.values():
            for name, fmt in zip(api.get_metric_names(), api.get_metric_formatting()):
                names += "%-*s" % (len(fmt % 0), name)
                dashes += "%-*s" % (len(fmt % 0), "---")
        return [names, dashes]

    def _row_line(self, title, seconds, values):
        line = "%-*s%-12s" % (self.title_width, title, format_time(seconds))
        if len(title) >= self.title_width:  # Never glue a long title to the time.
            line = "%s %-12s" % (title, format_time(seconds))
        for api, vals in zip(self.apis.values(), values):
            for val, fmt in zip(vals, api.get_metric_formatting()):
                line += fmt % val
        return line

    def _emit(self, lines):
        for line in lines:
            self.log(line)
        if self.log_file is not None:
            _append_lines(self.log_file, lines)

    def _ensure_header(self):
        if self._header_written:
            return
        self._header_written = True
        ds = self.dataset
        preamble = [
            "",
            f"Evaluating {', '.join(self.metric_names)} on {self.num_images} images per pass "
            f"(dataset {self.dataset_args['tfrecord_dir']}, shape {list(ds.shape)}, label size "
            f"{ds.label_size}, mirror_augment {self.mirror_augment}, minibatch {self.minibatch_size}, "
            f"seed {self.seed})",
            "",
        ]
        self._emit(preamble + self.header_lines())

    def _record(self, title, seconds, values):
        results = collections.OrderedDict()
        for api, vals in zip(self.apis.values(), values):
            results.update(zip(api.get_metric_names(), (float(v) for v in vals)))
        self._emit([self._row_line(title, seconds, values)])
        self.rows[str(title)] = results
        return results

    # ------------------------------------------------------------------------
    # Passes.

    def _run_pass(self, title, mode, source, next_minibatch, skip=()):
        """Feed num_images from `next_minibatch(begin, count)` (its time shown as `source`) through
        every metric except `skip`; returns (values per metric, seconds)."""
        start = time.time()
        timers = collections.OrderedDict([(source, 0.0)] + [(name, 0.0) for name in self.apis])
        for api in self.apis.values():
            api.begin(mode)
        last_progress = start
        done = 0
        while done < self.num_images:
            count = min(self.minibatch_size, self.num_images - done)
            tic = time.time()
            images = next_minibatch(done, count)
            timers[source] += time.time() - tic
            for name, api in self.apis.items():
                if name not in skip:
                    tic = time.time()
                    api.feed(mode, images)
                    timers[name] += time.time() - tic
            done += count
            if time.time() - last_progress >= self.progress_sec and done < self.num_images:
                last_progress = time.time()
                self.log(f"  {title}: {done}/{self.num_images} images, {format_time(last_progress - start)}")
        values = []
        for name, api in self.apis.items():
            tic = time.time()
            values.append(None if name in skip else api.end(mode))
            timers[name] += time.time() - tic
        seconds = time.time() - start
        self.log(
            f"  {title}: {self.num_images} images in {format_time(seconds)} ("
            + ", ".join(f"{name} {format_time(sec)}" for name, sec in timers.items())
            + ")"
        )
        return values, seconds

    def _next_reals(self, labels):
        def next_minibatch(begin, count):
            images, labels[begin : begin + count] = self._stream.take(count)
            if self.mirror_augment:
                images = apply_mirror_augment(images, self.mirror_rng)
            return _rgb(images)

        return next_minibatch

    def _fid_cache_path(self):
        """Cache file of the reals' FID statistics: everything that decides the real images is in the key."""
        if self.cache_dir is None or "fid" not in self.apis:
            return None
        tfrecord_dir = os.path.abspath(self.dataset_args["tfrecord_dir"])
        files = sorted(name for name in os.listdir(tfrecord_dir) if name.endswith(".tfrecords"))
        stats = [os.stat(os.path.join(tfrecord_dir, name)) for name in files]
        key = [tfrecord_dir, f"res={self.resolution}", f"num={self.num_images}", f"graph={self.inception_graph}"]
        key += [f"{name}:{st.st_size}:{st.st_mtime_ns}" for name, st in zip(files, stats)]  # A rewritten dataset.
        if self.mirror_augment:  # The flips depend on the seed only (their own stream).
            key.append(f"mirror={self.seed}")
        digest = hashlib.md5("|".join(key).encode("utf-8")).hexdigest()[:16]
        name = os.path.basename(os.path.normpath(self.dataset_args["tfrecord_dir"])) or "dataset"
        return os.path.join(self.cache_dir, f"fid-{name}-{self.resolution}-{self.num_images}-{digest}.npz")

    def run_reals(
        self,
        real_passes=1,  # 1 = 'Reals' row; 2 = also 'Reals2' (next reals scored as fakes).
    ):
        """Score the reals: sets the reference of every metric and records the labels for the fakes.

        Returns {'Reals': {...}} (and 'Reals2') with the metric values of each row.
        """
        if real_passes not in (1, 2):
            raise EvaluationError(f"real_passes must be 1 or 2, got {real_passes}")
        if self.reals_state is not None:
            raise EvaluationError("the reals were already evaluated; create a new Evaluator")
        from metrics import frechet_inception_distance as fid_lib  # Lazy: it imports TensorFlow.

        self._ensure_header()
        if self.num_images > self.dataset.num_images * (1 if real_passes == 1 else 0.5):
            self.log(
                f"  note: {real_passes * self.num_images} reals asked for, the dataset has "
                f"{self.dataset.num_images}; the stream wraps around"
            )
        rows = collections.OrderedDict()
        for title, mode in [("Reals", "reals"), ("Reals2", "fakes")][:real_passes]:
            labels = np.zeros([self.num_images, self.dataset.label_size], np.float32)
            cache_path = self._fid_cache_path() if mode == "reals" else None
            cached = fid_lib.load_statistics(cache_path) if cache_path and os.path.isfile(cache_path) else None
            values, seconds = self._run_pass(
                title, mode, "reals", self._next_reals(labels), skip=("fid",) if cached is not None else ()
            )
            if "fid" in self.apis and mode == "reals":
                api = self.apis["fid"]
                if cached is not None:
                    api.mu_real, api.sigma_real = cached
                    values[list(self.apis).index("fid")] = [fid_lib.frechet_distance(*cached, *cached)]
                    self.log(f"  FID statistics of the reals read from {cache_path}")
                elif cache_path:
                    fid_lib.save_statistics(cache_path, api.mu_real, api.sigma_real)
            if mode == "reals":
                self.reals_state = self.metric_rng.get_state()
                self.labels = labels
            rows[title] = self._record(title, seconds, values)
        return rows

    def evaluate(
        self,
        network,  # Network pickle path (ours or official), or a Gs network in memory.
        title=None,  # Row title; None = the snapshot's kimg, or the file name ('Gs' for a network).
    ):
        """Score one generator against the reals (running `run_reals()` first if needed).

        Returns {metric column: value} and appends the row to the table.
        """
        if self.reals_state is None:
            self.run_reals()
        is_path = isinstance(network, (str, os.PathLike))
        if title is None:
            title = snapshot_title(network) if is_path else "Gs"
        start = time.time()
        Gs = load_generator(os.fspath(network)) if is_path else network
        generate, family, latent_size = self._generator_fn(Gs, os.fspath(network) if is_path else title)
        latent_rng = latent_random_state(self.seed)

        def next_minibatch(begin, count):
            latents = latent_rng.randn(count, latent_size).astype(np.float32)
            return generate_uint8(generate, latents, self.labels[begin : begin + count], family)

        self.metric_rng.set_state(self.reals_state)
        values, seconds = self._run_pass(title, "fakes", "Gs", next_minibatch)
        return self._record(title, time.time() - start, values)

    def _generator_fn(self, Gs, what):
        import tensorflow as tf  # Lazy: this module stays light, so evaluate_metrics.py checks its arguments first.

        info = generators.generator_info(Gs)
        if info["resolution"] != self.resolution:
            raise EvaluationError(
                f"{what} generates {info['resolution']}x{info['resolution']} images but the "
                f"dataset is {self.resolution}x{self.resolution}; pass the matching --dataset"
            )
        if info["label_size"] not in (0, self.dataset.label_size):
            raise EvaluationError(
                f"{what} needs {info['label_size']} label columns but the dataset gives "
                f"{self.dataset.label_size}; pass the run's labelled --dataset"
            )
        kwargs = dict(validation=True, randomize_noise=True) if info["family"] == "stylegan" else {}
        label_size, batch = info["label_size"], min(self.minibatch_size, self.num_images)
        fn = tf.function(lambda z, c: Gs(z, c, **kwargs))

        def generate(latents, labels):
            # A short last minibatch is padded, so that the function is traced once.
            count = len(latents)
            latents = np.concatenate([latents, np.zeros([batch - count, latents.shape[1]], np.float32)])
            labels = np.concatenate([labels[:, :label_size], np.zeros([batch - count, label_size], np.float32)])
            return fn(tf.constant(latents), tf.constant(labels)).numpy()[:count]

        return generate, info["family"], info["latent_size"]


# ----------------------------------------------------------------------------
# One-call entry points.


def _resolve_log_file(run_dir, log_file, metrics, num_images):
    name = log_file if log_file else default_log_name(metrics, num_images)
    return os.path.join(run_dir, name)  # As official: relative to the run directory.


def _default_cache_dir(run_dir):
    """'<results>/_metric_cache' beside the run directory (official ProGAN caches in results/_inception*)."""
    return os.path.join(os.path.dirname(os.path.abspath(run_dir)), CACHE_DIR_NAME)


def evaluate_run(
    run_dir_or_pkl,  # Run directory (every snapshot) or one network .pkl.
    metrics=("swd",),  # Metric names ('swd', 'msssim', 'fid', 'is') or 'swd,fid'.
    num_images=16384,  # Images per pass (official: swd 16384, fid 10000/50000, is 50000, msssim 20000).
    real_passes=1,  # 2 adds the 'Reals2' row (official swd-16k).
    minibatch_size=None,  # None = clip(8192 // resolution, 4, 256).
    log_file=None,  # Table file, relative to the run dir; None = metric-<names>-<count>.txt.
    dataset=None,  # Dataset folder overriding the run's (needed for pkls outside a run).
    mirror_augment=None,  # None = as the run was trained.
    inception_graph=None,  # Inception graph for fid/is; None = $INCEPTION_GRAPH.
    seed=DEFAULT_SEED,  # Seed of every random stream.
    cache_dir="auto",  # FID statistics cache; 'auto' = <results>/_metric_cache, None = off.
    log=print,  # Callable receiving table and progress lines.
):
    """Official `evaluate_metrics`: Reals row(s), then every snapshot newest first (or the one pkl).

    Returns an OrderedDict row title -> {metric column: value}, titles 'Reals', 'Reals2' and the
    snapshots' kimg (or file name) as strings; the table is appended to the log file.
    """
    log = log or (lambda line: None)
    metrics = parse_metrics(metrics)
    path = os.fspath(run_dir_or_pkl)
    if os.path.isdir(path):
        run_dir, pkls = path, list_snapshots(path)
    elif os.path.isfile(path):
        run_dir, pkls = os.path.dirname(os.path.abspath(path)), [path]
    else:
        raise EvaluationError(f"{path} does not exist; pass a run directory or a network snapshot .pkl")
    dataset_args, mirror = run_dataset_args(run_dir, dataset, mirror_augment)
    log_path = _resolve_log_file(run_dir, log_file, metrics, num_images)
    log(f"Logging output to {log_path}")
    evaluator = Evaluator(
        dataset_args,
        metrics,
        num_images,
        mirror_augment=mirror,
        minibatch_size=minibatch_size,
        inception_graph=inception_graph,
        seed=seed,
        cache_dir=_default_cache_dir(run_dir) if cache_dir == "auto" else cache_dir,
        log=log,
        log_file=log_path,
        title_width=max(len(snapshot_title(pkl)) + 1 for pkl in pkls),
    )
    evaluator.run_reals(real_passes)
    for pkl in pkls:
        evaluator.evaluate(pkl)
    return evaluator.rows


def evaluate_snapshot(
    pkl_path,  # Network pickle to score.
    metrics,  # Metric names ('swd', 'msssim', 'fid', 'is') or 'swd,fid'.
    num_images,  # Images per pass.
    dataset_args=None,  # TFRecordDataset kwargs; None = from the pkl's run directory.
    minibatch_size=None,  # None = clip(8192 // resolution, 4, 256).
    real_passes=1,  # 2 also scores a second set of reals (logged only).
    inception_graph=None,  # Inception graph for fid/is; None = $INCEPTION_GRAPH.
    seed=DEFAULT_SEED,  # Seed of every random stream.
    log=print,  # Callable receiving table and progress lines.
    mirror_augment=None,  # None = as the run was trained (False with explicit dataset_args).
    log_file=None,  # Table file to append to; None = none.
    cache_dir=None,  # FID statistics cache folder; None = off.
):
    """Score one snapshot: the real pass(es), then Gs; returns {metric column: value} of the snapshot.

    Example (e.g. at a snapshot tick of the training loop):
        >>> evaluate_snapshot(os.path.join(run_dir, "network-snapshot-000140.pkl"), ["swd"], 1024)
        {'SWDx1e3_32': ..., 'SWDx1e3_16': ..., 'SWDx1e3_avg': ...}

    The result equals that snapshot's row in `evaluate_run` with the same arguments.
    """
    pkl_path = os.fspath(pkl_path)
    if not os.path.isfile(pkl_path):
        raise EvaluationError(f"snapshot {pkl_path} does not exist; pass a network .pkl")
    if dataset_args is None:
        dataset_args, mirror = run_dataset_args(os.path.dirname(os.path.abspath(pkl_path)), None, mirror_augment)
    else:
        mirror = bool(mirror_augment)
    evaluator = Evaluator(
        dataset_args,
        metrics,
        num_images,
        mirror_augment=mirror,
        minibatch_size=minibatch_size,
        inception_graph=inception_graph,
        seed=seed,
        cache_dir=cache_dir,
        log=log,
        log_file=log_file,
        title_width=len(snapshot_title(pkl_path)) + 1,
    )
    evaluator.run_reals(real_passes)
    return evaluator.evaluate(pkl_path)


# ----------------------------------------------------------------------------
