"""`create_mnist` and `create_mnistrgb` from the original MNIST idx files."""

import gzip
import os
import struct
import zlib

import numpy as np

from datasets.errors import DatasetError
from datasets.tfrecord_export import TFRecordExporter
from datasets.tfrecord_export import shuffled_order

IMAGES_FILE = "train-images-idx3-ubyte.gz"
LABELS_FILE = "train-labels-idx1-ubyte.gz"

# ----------------------------------------------------------------------------


def _read_idx(
    path,  # A gzipped idx file.
    magic,  # Expected magic number (2051 images, 2049 labels).
):
    """Read an idx array (header dims checked against the payload size)."""
    if not os.path.isfile(path):
        raise DatasetError('MNIST file "%s" not found; download it from the MNIST site into that folder' % path)
    try:
        with gzip.open(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError, zlib.error) as err:
        raise DatasetError('cannot read "%s" (%s); download it again' % (path, err)) from None
    ndim = magic & 0xFF
    if len(data) < 4 + 4 * ndim or struct.unpack(">i", data[:4])[0] != magic:
        raise DatasetError('"%s" is not an MNIST idx file of the expected kind; download it again' % path)
    dims = struct.unpack(">%di" % ndim, data[4 : 4 + 4 * ndim])
    count = int(np.prod(dims))
    if len(data) != 4 + 4 * ndim + count:
        raise DatasetError(
            '"%s" is truncated or corrupt (%d bytes for shape %s); download it again' % (path, len(data), dims)
        )
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist_images(mnist_dir):
    """MNIST training images, zero-padded by 2 pixels to uint8 [N, 32, 32] as official."""
    images = _read_idx(os.path.join(mnist_dir, IMAGES_FILE), 2051)
    if images.shape[1:] != (28, 28):
        raise DatasetError('"%s" holds %s images; expected 28x28' % (IMAGES_FILE, images.shape[1:]))
    return np.pad(images, [(0, 0), (2, 2), (2, 2)], "constant", constant_values=0)


def load_mnist_labels(mnist_dir):
    """MNIST training labels, uint8 [N] in 0..9."""
    labels = _read_idx(os.path.join(mnist_dir, LABELS_FILE), 2049)
    if labels.size and labels.max() > 9:
        raise DatasetError('"%s" holds labels above 9; download it again' % LABELS_FILE)
    return labels


# ----------------------------------------------------------------------------


def create_mnist(
    tfrecord_dir,  # New dataset folder.
    mnist_dir,  # Folder holding train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz.
    num_images=None,  # Extension: keep only the first N records of the official dataset.
    overwrite=False,  # Replace an existing output folder.
):
    """Official `create_mnist`: 1x32x32 digits, one-hot float32 labels [N, 10], shuffled (seed 123).

    With `num_images=n` the result is exactly the first n records (and label rows) of the
    full official dataset: the order is still the seed-123 shuffle of all 60000 images,
    truncated. A quick subset thus trains on the same images the full dataset starts with.
    """
    print('Loading MNIST from "%s"' % mnist_dir)
    images = load_mnist_images(mnist_dir)
    labels = load_mnist_labels(mnist_dir)
    if images.shape[0] != labels.shape[0]:
        raise DatasetError(
            "MNIST has %d images but %d labels; download both files again" % (images.shape[0], labels.shape[0])
        )
    onehot = np.zeros((labels.size, 10), dtype=np.float32)
    onehot[np.arange(labels.size), labels] = 1.0

    order = shuffled_order(images.shape[0])
    if num_images is not None:
        if not 1 <= num_images <= images.shape[0]:
            raise DatasetError("--num_images must be between 1 and %d, got %d" % (images.shape[0], num_images))
        order = order[:num_images]
    with TFRecordExporter(tfrecord_dir, order.size, overwrite=overwrite) as tfr:
        for idx in order:
            tfr.add_image(images[idx][np.newaxis])
        tfr.add_labels(onehot[order])


def create_mnistrgb(
    tfrecord_dir,  # New dataset folder.
    mnist_dir,  # Folder holding train-images-idx3-ubyte.gz.
    num_images=1000000,  # Number of composite images.
    random_seed=123,  # Seed of the digit draws.
    overwrite=False,  # Replace an existing output folder.
):
    """Official `create_mnistrgb`: each image stacks 3 random digits as R, G, B; no labels, no shuffle."""
    print('Loading MNIST from "%s"' % mnist_dir)
    images = load_mnist_images(mnist_dir)
    if num_images < 1:
        raise DatasetError("--num_images must be at least 1, got %d" % num_images)
    with TFRecordExporter(tfrecord_dir, num_images, overwrite=overwrite) as tfr:
        rnd = np.random.RandomState(random_seed)
        for _ in range(num_images):
            tfr.add_image(images[rnd.randint(images.shape[0], size=3)])


# ----------------------------------------------------------------------------
