"""TFRecordExporter: writes the official multi-resolution TFRecord dataset format.

A dataset folder `<dir>` holds one `<basename(dir)>-rNN.tfrecords` file per resolution
2^NN, from the full resolution down to 4x4, and optionally `<basename(dir)>-rxx.labels`
(an `np.save` of float32 [num_images, label_size]). Every record is an uncompressed
`tf.train.Example` with `shape` (int64 [C, H, W]) and `data` (raw uint8 bytes in CHW
order), exactly as the official `dataset_tool.py` writes them, so that either side reads
the other's files.

Unlike the official exporter, this one never half-writes a dataset: everything goes to a
hidden temporary folder next to the destination that is renamed into place by a
successful `close()`; an exception inside the `with` block, or `abort()`, deletes it.
"""

import os
import shutil

import numpy as np

from datasets.errors import DatasetError
from datasets.tfrecord_format import example_prefix
from utils import files
from utils.progress import Progress

# ----------------------------------------------------------------------------

SHUFFLE_SEED = 123  # The official tool always shuffles with RandomState(123).


def shuffled_order(num_images):
    """The official shuffled order: `RandomState(123).shuffle(arange(num_images))`."""
    order = np.arange(num_images)
    np.random.RandomState(SHUFFLE_SEED).shuffle(order)
    return order


def tfrecord_file_name(
    tfrecord_dir,  # Dataset folder.
    resolution_log2,  # log2 of the resolution stored in the file.
):
    """Path of the file holding resolution 2**resolution_log2, named as the official tool does."""
    tfrecord_dir = os.path.normpath(tfrecord_dir)
    return os.path.join(tfrecord_dir, "%s-r%02d.tfrecords" % (os.path.basename(tfrecord_dir), resolution_log2))


def label_file_name(tfrecord_dir):
    """Path of the label file, named as the official tool does."""
    tfrecord_dir = os.path.normpath(tfrecord_dir)
    return os.path.join(tfrecord_dir, "%s-rxx.labels" % os.path.basename(tfrecord_dir))


def image_pyramid(img):
    """Yield the quantised levels that the official exporter stores for one image.

    Level 0 is `rint(img)` clipped to uint8. Each further level is the 2x2 box mean of the
    previous level's UNROUNDED float32 image, so that every level is the rounded exact box
    mean of the original (float32 holds those means exactly down to 4x4 from 1024x1024).
    For uint8 input the same values come from exact integer block sums, which is faster.
    """
    resolution_log2 = int(np.log2(img.shape[1]))
    if img.dtype == np.uint8:
        yield img
        sums = img
        for lod in range(1, resolution_log2 - 1):
            c, h, w = sums.shape
            sums = sums.reshape(c, h // 2, 2, w // 2, 2).sum(axis=(2, 4), dtype=np.int32)
            yield np.rint(sums * (0.25**lod)).astype(np.uint8)
        return
    for lod in range(resolution_log2 - 1):
        if lod:
            img = img.astype(np.float32)
            img = (img[:, 0::2, 0::2] + img[:, 0::2, 1::2] + img[:, 1::2, 0::2] + img[:, 1::2, 1::2]) * 0.25
        yield np.rint(img).clip(0, 255).astype(np.uint8)


def check_image_shape(
    shape,  # Shape of the image, [C, H, W].
    what="image",  # How to name the image in the message.
):
    """Raise DatasetError unless `shape` is one the official format can store."""
    if len(shape) != 3:
        raise DatasetError("%s must be a [channels, height, width] array, got shape %s" % (what, tuple(shape)))
    channels, height, width = shape
    if channels not in (1, 3):
        raise DatasetError("%s has %d channels; only 1 (grayscale) or 3 (RGB) are supported" % (what, channels))
    if height != width:
        raise DatasetError("%s is %dx%d; images must be square (width == height)" % (what, width, height))
    if height < 4 or height & (height - 1):
        raise DatasetError("%s is %dx%d; the resolution must be a power of two, at least 4" % (what, width, height))


# ----------------------------------------------------------------------------


class TFRecordExporter:
    """Writes images (and optional labels) as an official multi-resolution TFRecord dataset.

    Usage:
        with TFRecordExporter(tfrecord_dir, expected_images) as tfr:
            order = tfr.choose_shuffled_order()
            for idx in order:
                tfr.add_image(images[idx])    # uint8 [C, H, W]
            tfr.add_labels(labels[order])     # optional, float32 [N, L]

    The destination appears only when `close()` succeeds (leaving the `with` block
    normally); an exception in the block or `abort()` removes every trace. An existing
    non-empty destination is refused unless `overwrite=True`, in which case it is replaced
    only once the new dataset is complete.
    """

    def __init__(
        self,
        tfrecord_dir,  # Destination folder; its basename prefixes every file name.
        expected_images,  # Number of images that will be added (progress and shuffled order).
        print_progress=True,  # Print progress and a summary to stdout.
        progress_interval=10,  # Consider printing progress every this many images.
        overwrite=False,  # Replace an existing non-empty destination folder.
    ):
        self.tfrecord_dir = os.path.normpath(tfrecord_dir)
        self.tfr_prefix = os.path.join(self.tfrecord_dir, os.path.basename(self.tfrecord_dir))
        self.expected_images = int(expected_images)
        self.cur_images = 0
        self.shape = None
        self.resolution_log2 = None
        self.tfr_writers = []
        self._prefixes = []  # Serialized record bytes before the pixels, per level.
        self.print_progress = print_progress
        self.progress_interval = max(int(progress_interval), 1)
        self.overwrite = overwrite
        self._tmp_dir = None
        self._created_parents = []
        self._progress = None  # utils.progress.Progress, made when the first image arrives.
        self._closed = False

        self._check_destination()
        parent = os.path.dirname(os.path.abspath(self.tfrecord_dir))
        self._make_parents(parent)
        try:
            self._tmp_dir = files.temp_directory(self.tfrecord_dir)
        except OSError as err:
            self._remove_created_parents()
            raise DatasetError('cannot create a folder next to "%s": %s' % (self.tfrecord_dir, err.strerror)) from None
        if self.print_progress:
            print('Creating dataset "%s"' % tfrecord_dir)

    # ------------------------------------------------------------------------

    def _check_destination(self):
        path = self.tfrecord_dir
        if os.path.exists(path) or os.path.islink(path):
            if not os.path.isdir(path):
                raise DatasetError('output path "%s" exists and is not a folder; choose another path' % path)
            if os.listdir(path) and not self.overwrite:
                raise DatasetError(
                    'output folder "%s" already exists and is not empty; choose another path or pass --overwrite' % path
                )

    def _make_parents(self, parent):
        missing = []
        while parent and not os.path.isdir(parent):
            missing.append(parent)
            parent = os.path.dirname(parent)
        for path in reversed(missing):
            try:
                os.mkdir(path)
            except OSError as err:
                self._remove_created_parents()
                raise DatasetError('cannot create folder "%s": %s' % (path, err.strerror)) from None
            self._created_parents.append(path)

    def _remove_created_parents(self):
        for path in reversed(self._created_parents):
            try:
                os.rmdir(path)
            except OSError:
                break
        self._created_parents = []

    def _tmp_prefix(self):
        return os.path.join(self._tmp_dir, os.path.basename(self.tfr_prefix))

    def _finish_progress(self):
        if self._progress is not None:
            self._progress.close(self.cur_images)
            self._progress = None

    def _report_progress(self, force=False):
        if self._progress is None:
            self._progress = Progress(self.expected_images, unit="images")
        self._progress.update(self.cur_images, force=force)

    # ------------------------------------------------------------------------

    def choose_shuffled_order(self):
        """The official order, `RandomState(123).shuffle(arange(expected_images))`.

        Images and labels must be added in this order.
        """
        return shuffled_order(self.expected_images)

    def add_image(
        self,
        img,  # [C, H, W] image, uint8 (or numbers rounded to uint8).
    ):
        """Append one image to every resolution file."""
        if self._closed:
            raise RuntimeError("TFRecordExporter.add_image() called after close() or abort()")
        img = np.asarray(img)
        if img.dtype.kind not in "uif":
            raise DatasetError("images must hold numbers (uint8 preferred), got dtype %s" % img.dtype)
        if self.shape is None:
            check_image_shape(img.shape, what="the first image")
            self._open_writers(img.shape)
        elif img.shape != self.shape:
            raise DatasetError(
                "image %d has shape %s but the first image had %s; all images must have the same "
                "size and channel count" % (self.cur_images, img.shape, self.shape)
            )
        if self.print_progress and self.cur_images % self.progress_interval == 0:
            self._report_progress()
        for level, writer, prefix in zip(image_pyramid(img), self.tfr_writers, self._prefixes):
            writer.write(prefix + level.tobytes())
        self.cur_images += 1

    def _open_writers(self, shape):
        import tensorflow as tf  # Imported on first use so that argument errors stay fast.

        self.shape = tuple(int(s) for s in shape)
        self.resolution_log2 = int(np.log2(self.shape[1]))
        for lod in range(self.resolution_log2 - 1):
            path = self._tmp_prefix() + "-r%02d.tfrecords" % (self.resolution_log2 - lod)
            self.tfr_writers.append(tf.io.TFRecordWriter(path))
            self._prefixes.append(example_prefix((self.shape[0], self.shape[1] >> lod, self.shape[2] >> lod)))

    def add_labels(
        self,
        labels,  # [num_images, label_size] labels in the order the images were added.
    ):
        """Store the label matrix as float32 `<name>-rxx.labels`."""
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.shape[0] != self.cur_images:
            raise DatasetError(
                "labels must be a [num_images, label_size] array with one row per added image "
                "(%d), got shape %s" % (self.cur_images, labels.shape)
            )
        with open(self._tmp_prefix() + "-rxx.labels", "wb") as file:
            np.save(file, labels.astype(np.float32))

    def close(self):
        """Flush every file and move the finished dataset into place."""
        if self._closed:
            return
        try:
            for writer in self.tfr_writers:
                writer.close()
            self.tfr_writers = []
            if self.cur_images == 0:
                raise DatasetError('no images were added to "%s"; nothing was written' % self.tfrecord_dir)
            self._move_into_place()
        except BaseException:
            self.abort()
            raise
        self._closed = True
        if self.print_progress:
            self._finish_progress()
            print("Added %d images." % self.cur_images)

    def _move_into_place(self):
        self._check_destination()
        files.replace_directory(self._tmp_dir, self.tfrecord_dir)
        self._tmp_dir = None

    def abort(self):
        """Discard everything written so far; the destination is left untouched."""
        if self._closed:
            return
        self._closed = True
        for writer in self.tfr_writers:
            try:
                writer.close()
            except Exception:  # The data is being discarded anyway.
                pass
        self.tfr_writers = []
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
            self._tmp_dir = None
        self._remove_created_parents()
        if self.print_progress:
            self._finish_progress()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


# ----------------------------------------------------------------------------
