"""TFRecordDataset: the tf.data reader of official multi-resolution datasets.

It reads what datasets/tfrecord_export.py writes, so it lives beside it: training, the metrics
and dataset_tool.py's display / extract / compare all read datasets through it.

Mirrors the official `dataset.TFRecordDataset` (ProGAN dataset.py:34-166, identical in
StyleGAN's training/dataset.py): the same arguments, attributes, file discovery, asserts
and label handling, with the batches served by `tf.data` and images in NHWC.

How the pipeline differs inside, and why:

* The official pipeline streams records through a 4096 MB shuffle buffer. Here, because
  every frame of a dataset file has the same length, the shuffle buffer holds only record
  INDICES (`Dataset.range(N).shuffle(...)`), with exactly the official window size in
  items (`ceil(shuffle_mb MiB / (C*H*W))`, which for B >= N is a full uniform shuffle),
  and each batch of indices is gathered (`tf.gather`) from the file, memory-mapped by
  TensorFlow itself (`ImmutableConst`), so no Python runs in the pipeline. The windowed
  shuffle thus costs 8 bytes per item instead of 4 GB of images, no cap is needed for
  it, no per-record protobuf parsing happens, and `skip_batches` is cheap: it skips
  integers, never reads images (resuming after millions of images takes seconds).
  Every gathered frame is checked against the first frame's bytes around the pixels, so
  a corrupt or foreign file fails loudly instead of feeding garbage. (Pixel bytes are
  not CRC-checked on this path.)
* Files whose frames are not all alike (not written by the official tool), or that the
  file system cannot memory-map, are streamed as in the official code
  (`tf.data.TFRecordDataset` + parse); there the shuffle buffer holds images, so its
  size is capped to `MEMORY_CAP_FRACTION` of physical memory, and `skip_batches` has to
  read through the skipped records.
* The NCHW => NHWC transpose of uint8 is the main CPU cost (a few hundred MB/s per
  thread). `num_threads='auto'` lets tf.data spread it over all cores; data_format='NCHW'
  skips it, for training steps that transpose on the accelerator.
* Prefetch: the official `prefetch_mb` bounds the memory that `prefetch(AUTOTUNE)` may
  use (`tf.data.Options.autotune.ram_budget`), capped the same way; 0 disables it.
* Without labels, the official code zips the images with a [2^20, 0] zero matrix and so
  silently truncates an unlabeled dataset to its first 1,048,576 images per epoch. That
  is a bug and is not replicated: every record is used.
"""

import glob
import os

import numpy as np
import tensorflow as tf

from datasets.errors import DatasetError
from datasets.tfrecord_format import RecordLayout

MEMORY_CAP_FRACTION = 1 / 8  # At most this share of physical memory for image buffers.

# ----------------------------------------------------------------------------


def _physical_memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 << 30


def _buffer_items(
    megabytes,  # Official buffer size in MiB.
    bytes_per_item,  # C*H*W.
):
    """The official item count `ceil(megabytes MiB / bytes_per_item)` (fractional megabytes allowed)."""
    return (int(megabytes * (1 << 20)) - 1) // int(bytes_per_item) + 1


def _capped_bytes(megabytes):
    return int(min(megabytes * (1 << 20), _physical_memory_bytes() * MEMORY_CAP_FRACTION))


# ----------------------------------------------------------------------------


class TFRecordDataset:
    """Multi-resolution TFRecord dataset reader (official semantics, NHWC output).

    Attributes:
        shape:            [C, H, W] at the (possibly lowered) dataset resolution, as official.
        resolution:       H (= W) of the highest level used.
        resolution_log2:  log2(resolution).
        num_channels:     C (1 or 3).
        num_images:       records per file.
        label_size:       number of label columns (0 without labels).
        label_dtype:      'float32'.
        dynamic_range:    [0, 255].
        dtype:            'uint8'.
    """

    def __init__(
        self,
        tfrecord_dir,  # Folder holding <name>-rNN.tfrecords files.
        resolution=None,  # Dataset resolution, None = autodetect (the largest file).
        label_file=None,  # Labels file (absolute or relative to tfrecord_dir), None = autodetect.
        max_label_size=0,  # 0 = no labels (even if a file exists), 'full' = all columns, <int> = first N.
        repeat=True,  # Repeat the dataset indefinitely.
        shuffle_mb=4096,  # Shuffle window in MiB of images, 0 = no shuffling.
        prefetch_mb=2048,  # Memory for prefetching in MiB, 0 = no prefetching.
        buffer_mb=256,  # Read buffer in MiB (streamed files only).
        num_threads=2,  # Batches loaded in parallel; 'auto' = tf.data.AUTOTUNE.
        seed=None,  # Shuffle seed; None = a different order every run, as official.
        data_format="NHWC",  # 'NHWC', or 'NCHW' to skip the CPU transpose (do it on the accelerator).
    ):
        self.tfrecord_dir = tfrecord_dir
        self.resolution = None
        self.resolution_log2 = None
        self.shape = []
        self.dtype = "uint8"
        self.dynamic_range = [0, 255]
        self.label_file = label_file
        self.label_size = None
        self.label_dtype = None
        self.num_images = None
        self.repeat = repeat
        self.shuffle_mb = shuffle_mb
        self.prefetch_mb = prefetch_mb
        self.buffer_mb = buffer_mb
        self.num_threads = num_threads
        self.seed = seed
        if data_format not in ("NHWC", "NCHW"):
            raise ValueError("data_format must be 'NHWC' or 'NCHW', got %r" % (data_format,))
        self.data_format = data_format
        self._np_labels = None
        self._tf_labels = None
        self._layouts = {}  # lod -> RecordLayout
        self._cur_minibatch = -1
        self._cur_lod = -1
        self._iterator = None

        # List tfrecords files and inspect their shapes.
        if not os.path.isdir(tfrecord_dir):
            raise DatasetError('dataset folder "%s" does not exist; create it with dataset_tool.py' % tfrecord_dir)
        tfr_files = sorted(glob.glob(os.path.join(tfrecord_dir, "*.tfrecords")))
        if not tfr_files:
            raise DatasetError('no *.tfrecords files in "%s"; create the dataset with dataset_tool.py' % tfrecord_dir)
        layouts = [RecordLayout(path) for path in tfr_files]
        tfr_shapes = [layout.shape for layout in layouts]

        # Autodetect the label file.
        if self.label_file is None:
            guess = sorted(glob.glob(os.path.join(tfrecord_dir, "*.labels")))
            if guess:
                self.label_file = guess[0]
        elif not os.path.isfile(self.label_file):
            guess = os.path.join(tfrecord_dir, self.label_file)
            if os.path.isfile(guess):
                self.label_file = guess

        # Determine shape and resolution.
        max_shape = max(tfr_shapes, key=lambda shape: int(np.prod(shape)))
        self.resolution = int(resolution) if resolution is not None else int(max_shape[1])
        self.resolution_log2 = int(np.log2(self.resolution))
        if self.resolution < 4 or self.resolution != 2**self.resolution_log2:
            raise DatasetError("resolution %d is not a power of two >= 4" % self.resolution)
        self.shape = [int(max_shape[0]), self.resolution, self.resolution]
        self.num_channels = self.shape[0]
        for layout in layouts:
            c, h, w = layout.shape
            if c != max_shape[0]:
                raise DatasetError(
                    '"%s" has %d channels but another file has %d; the folder mixes datasets'
                    % (layout.path, c, max_shape[0])
                )
            if h != w or h < 1 or h & (h - 1):
                raise DatasetError('"%s" holds %dx%d images; expected square power-of-two images' % (layout.path, w, h))
        tfr_lods = [self.resolution_log2 - int(np.log2(shape[1])) for shape in tfr_shapes]
        for lod in range(self.resolution_log2 - 1):
            if lod not in tfr_lods:
                raise DatasetError(
                    '"%s" lacks the %dx%d file; every resolution from %d down to 4 is needed'
                    % (tfrecord_dir, self.resolution >> lod, self.resolution >> lod, self.resolution)
                )
        for layout, lod in zip(layouts, tfr_lods):
            if lod >= 0:
                if lod in self._layouts:
                    raise DatasetError('"%s" holds two %dx%d files' % (tfrecord_dir, layout.shape[1], layout.shape[2]))
                self._layouts[lod] = layout
        counts = {layout.num_records for layout in self._layouts.values()}
        if len(counts) != 1:
            raise DatasetError(
                'the files in "%s" hold different numbers of images %s; recreate the dataset'
                % (tfrecord_dir, sorted(counts))
            )
        self.num_images = counts.pop()

        # Load labels.
        if not (max_label_size == "full" or (isinstance(max_label_size, (int, np.integer)) and max_label_size >= 0)):
            raise ValueError("max_label_size must be 0, 'full' or a positive int, got %r" % (max_label_size,))
        labels = np.zeros([self.num_images, 0], dtype=np.float32)
        if self.label_file is not None and max_label_size != 0:
            if not os.path.isfile(self.label_file):
                raise DatasetError('label file "%s" not found' % self.label_file)
            try:
                labels = np.load(self.label_file)
            except (OSError, ValueError) as err:
                raise DatasetError('cannot read label file "%s" (%s)' % (self.label_file, err)) from None
            if labels.ndim != 2:
                raise DatasetError(
                    'label file "%s" holds shape %s; expected [num_images, label_size]'
                    % (self.label_file, labels.shape)
                )
            if labels.shape[0] != self.num_images:
                raise DatasetError(
                    'label file "%s" has %d rows but the dataset has %d images'
                    % (self.label_file, labels.shape[0], self.num_images)
                )
        if max_label_size != "full" and labels.shape[1] > max_label_size:
            labels = labels[:, :max_label_size]
        self._np_labels = labels.astype(np.float32)
        self.label_size = int(labels.shape[1])
        self.label_dtype = self._np_labels.dtype.name
        self._tf_labels = tf.constant(self._np_labels)

    # ------------------------------------------------------------------------

    def _check_lod(self, lod):
        lod = int(np.floor(lod))
        if lod not in self._layouts:
            raise ValueError("lod %s is outside 0..%d for this dataset" % (lod, max(self._layouts)))
        return lod

    def _can_map(self, layout):
        """Whether TensorFlow can memory-map the file (local file systems can; some remote ones cannot)."""
        try:
            tf.raw_ops.ImmutableConst(
                dtype=tf.uint8, shape=[layout.num_records, layout.frame_bytes], memory_region_name=layout.path
            )
            return True
        except (tf.errors.OpError, ValueError):
            return False

    def _shuffle_items(self, lod):
        return _buffer_items(self.shuffle_mb, self._layouts[lod].data_bytes)

    def get_dataset(
        self,
        minibatch_size,  # Images per batch.
        lod,  # Level of detail; floor(lod) selects the file.
        skip_batches=0,  # Start after this many batches (exact resume).
        seed=None,  # Shuffle seed of this stream, None = the constructor's seed.
        shard=None,  # (start, stop): read only these rows of every batch; None = all.
    ):
        """A tf.data.Dataset of (uint8 [mb, h, w, C] images, float32 [mb, label_size] labels).

        Images are [mb, C, h, w] instead with data_format='NCHW'. With `shard`, every batch
        holds only rows start..stop-1 of the full batch: a worker of a multi-worker run reads
        just its replicas' part of each global minibatch, the same rows a single process
        would hand to those replicas.

        Deterministic when a seed is set (here or in the constructor): two calls give
        identical streams, and the one with skip_batches=k equals the other from its
        (k+1)-th batch on.
        """
        lod = self._check_lod(lod)
        if minibatch_size < 1:
            raise ValueError("minibatch_size must be >= 1, got %s" % minibatch_size)
        layout = self._layouts[lod]
        seed = self.seed if seed is None else seed
        start, stop = (0, minibatch_size) if shard is None else (int(shard[0]), int(shard[1]))
        if not 0 <= start < stop <= minibatch_size:
            raise ValueError(
                "shard must be (start, stop) with 0 <= start < stop <= %d, got %r" % (minibatch_size, shard)
            )
        rows = None if (start, stop) == (0, minibatch_size) else (start, stop)
        if layout.frame_bytes is None or not self._can_map(layout):
            dset = self._streamed_dataset(lod, minibatch_size, skip_batches, seed, rows)
        else:
            dset = self._indexed_dataset(lod, minibatch_size, skip_batches, seed, rows)
        options = tf.data.Options()
        options.deterministic = True
        if self.prefetch_mb > 0:
            options.autotune.ram_budget = _capped_bytes(self.prefetch_mb)
            dset = dset.prefetch(tf.data.AUTOTUNE)
        return dset.with_options(options)

    def _indexed_dataset(self, lod, minibatch_size, skip_batches, seed, rows):
        layout = self._layouts[lod]
        num_records = layout.num_records
        dset = tf.data.Dataset.range(num_records)
        if self.shuffle_mb > 0:
            # A window >= N is a full shuffle; capping at N leaves the order unchanged.
            dset = dset.shuffle(min(self._shuffle_items(lod), num_records), seed=seed, reshuffle_each_iteration=True)
        if self.repeat:
            dset = dset.repeat()
        if skip_batches:
            dset = dset.skip(int(skip_batches) * int(minibatch_size))
        dset = dset.batch(minibatch_size, drop_remainder=self.repeat)
        if rows is not None:  # Only this worker's rows: their images are never read.
            dset = dset.map(lambda indices: indices[rows[0] : rows[1]])
        labels = self._tf_labels
        start, stop = layout.data_start, layout.data_start + layout.data_bytes
        head = tf.constant(layout.head)
        tail = tf.constant(layout.tail)
        message = '"%s" holds a record unlike its first one; the file is corrupt, recreate the dataset' % layout.path

        def load(indices):
            # The file, memory-mapped by TensorFlow (no Python runs per batch), as [N, frame_bytes].
            frames = tf.raw_ops.ImmutableConst(
                dtype=tf.uint8, shape=[num_records, layout.frame_bytes], memory_region_name=layout.path
            )
            rows = tf.gather(frames, indices)
            # Every frame must repeat the first one's bytes around the pixels (same length,
            # shape and layout); anything else means a corrupt or foreign file.
            same = tf.logical_and(
                tf.reduce_all(tf.equal(rows[:, :start], head)),
                tf.reduce_all(tf.equal(rows[:, stop : stop + len(layout.tail)], tail)),
            )
            with tf.control_dependencies([tf.debugging.Assert(same, [message])]):
                images = self._to_format(rows[:, start:stop], layout.shape)
            return images, tf.gather(labels, indices)

        dset = dset.map(load, num_parallel_calls=self._parallel_calls())
        batch = minibatch_size if rows is None else rows[1] - rows[0]
        return dset.map(lambda images, labels: self._set_batch_shape(images, labels, batch, layout.shape))

    def _streamed_dataset(self, lod, minibatch_size, skip_batches, seed, rows):
        layout = self._layouts[lod]
        dset = tf.data.TFRecordDataset(layout.path, compression_type="", buffer_size=int(self.buffer_mb) << 20)
        if self.label_size > 0:
            dset = tf.data.Dataset.zip((dset, tf.data.Dataset.from_tensor_slices(self._tf_labels)))
        else:
            dset = dset.map(lambda record: (record, tf.zeros([0], tf.float32)))
        if self.shuffle_mb > 0:
            items = _buffer_items(_capped_bytes(self.shuffle_mb) / (1 << 20), layout.data_bytes)
            dset = dset.shuffle(items, seed=seed, reshuffle_each_iteration=True)
        if self.repeat:
            dset = dset.repeat()
        if skip_batches:
            dset = dset.skip(int(skip_batches) * int(minibatch_size))
        dset = dset.batch(minibatch_size, drop_remainder=self.repeat)
        if rows is not None:  # The stream reads every record; only this worker's rows are parsed.
            dset = dset.map(lambda records, labels: (records[rows[0] : rows[1]], labels[rows[0] : rows[1]]))

        def parse(records, labels):
            features = tf.io.parse_example(
                records, {"shape": tf.io.FixedLenFeature([3], tf.int64), "data": tf.io.FixedLenFeature([], tf.string)}
            )
            return self._to_format(tf.io.decode_raw(features["data"], tf.uint8), layout.shape), labels

        dset = dset.map(parse, num_parallel_calls=self._parallel_calls())
        batch = minibatch_size if rows is None else rows[1] - rows[0]
        return dset.map(lambda images, labels: self._set_batch_shape(images, labels, batch, layout.shape))

    def _parallel_calls(self):
        return tf.data.AUTOTUNE if self.num_threads == "auto" else max(int(self.num_threads), 1)

    def _to_format(self, pixels, shape):
        if self.data_format == "NCHW":
            return tf.reshape(pixels, [-1, *shape])
        return _chw_to_hwc(pixels, shape)

    def _set_batch_shape(self, images, labels, minibatch_size, shape):
        c, h, w = shape
        batch = minibatch_size if self.repeat else None
        images = tf.ensure_shape(images, [batch, h, w, c] if self.data_format == "NHWC" else [batch, c, h, w])
        return images, tf.ensure_shape(labels, [batch, self.label_size])

    # ------------------------------------------------------------------------

    def configure(
        self,
        minibatch_size,  # Images per batch.
        lod=0,  # Level of detail; floor(lod) selects the file.
    ):
        """Use this minibatch size and lod for get_minibatch_tf(); restarts only when they change."""
        lod = self._check_lod(lod)
        if minibatch_size < 1:
            raise ValueError("minibatch_size must be >= 1, got %s" % minibatch_size)
        if self._cur_minibatch != minibatch_size or self._cur_lod != lod:
            self._iterator = iter(self.get_dataset(minibatch_size, lod))
            self._cur_minibatch = minibatch_size
            self._cur_lod = lod

    def get_minibatch_tf(self):
        """Next (images, labels) batch as tensors; raises tf.errors.OutOfRangeError at the end."""
        if self._iterator is None:
            raise RuntimeError("call configure(minibatch_size, lod) first")
        return self._iterator.get_next()

    def get_minibatch_np(
        self,
        minibatch_size,  # Images per batch.
        lod=0,  # Level of detail.
    ):
        """Next (uint8 [mb, h, w, C], float32 [mb, label_size]) batch as NumPy arrays."""
        self.configure(minibatch_size, lod)
        images, labels = self.get_minibatch_tf()
        return images.numpy(), labels.numpy()

    def get_label_matrix(self):
        """The float32 [num_labels, label_size] matrix random labels are drawn from ([1, 0] without labels)."""
        if self.label_size > 0:
            return self._np_labels
        return np.zeros([1, 0], np.float32)

    def get_random_labels_tf(
        self,
        minibatch_size,  # Number of label rows.
    ):
        """Uniformly random rows of the label matrix as a tensor ([mb, 0] without labels)."""
        if self.label_size > 0:
            rows = tf.random.uniform([minibatch_size], 0, self._np_labels.shape[0], dtype=tf.int32)
            return tf.gather(self._tf_labels, rows)
        return tf.zeros([minibatch_size, 0], self.label_dtype)

    def get_random_labels_np(
        self,
        minibatch_size,  # Number of label rows.
    ):
        """Uniformly random rows of the label matrix (np.random) ([mb, 0] without labels)."""
        if self.label_size > 0:
            return self._np_labels[np.random.randint(self._np_labels.shape[0], size=[minibatch_size])]
        return np.zeros([minibatch_size, 0], self.label_dtype)


# ----------------------------------------------------------------------------


def _chw_to_hwc(
    pixels,  # uint8 [b, C*H*W] raw CHW pixel bytes of a batch.
    shape,  # (C, H, W).
):
    """uint8 [b, H, W, C] images.

    This transpose is the pipeline's main CPU cost (uint8 interleaving runs at a few
    hundred MB/s per thread); `num_threads='auto'` spreads it over all cores, and
    data_format='NCHW' leaves it to the accelerator.
    """
    channels, height, width = shape
    if channels == 1:
        return tf.reshape(pixels, [-1, height, width, 1])
    return tf.transpose(tf.reshape(pixels, [-1, channels, height, width]), [0, 2, 3, 1])


def load_dataset(
    data_dir=None,  # Prefix for tfrecord_dir, as official.
    verbose=False,  # Print shape, dynamic range and label size.
    **kwargs,  # TFRecordDataset arguments.
):
    """Construct a TFRecordDataset like the official `dataset.load_dataset`."""
    kwargs = dict(kwargs)
    kwargs.pop("class_name", None)
    if "tfrecord_dir" in kwargs and data_dir is not None:
        kwargs["tfrecord_dir"] = os.path.join(data_dir, kwargs["tfrecord_dir"])
    if verbose:
        print("Streaming data using datasets.tfrecord_reader.TFRecordDataset...")
    dataset = TFRecordDataset(**kwargs)
    if verbose:
        print("Dataset shape =", np.int32(dataset.shape).tolist())
        print("Dynamic range =", dataset.dynamic_range)
        print("Label size    =", dataset.label_size)
    return dataset


# ----------------------------------------------------------------------------
