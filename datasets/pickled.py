"""Datasets distributed as Python pickles: CIFAR-10, CIFAR-100 and the official SVHN pickles."""

import os
import pickle

import numpy as np

from datasets.errors import DatasetError
from datasets.tfrecord_export import TFRecordExporter

# ----------------------------------------------------------------------------


def _load_pickle(
    path,  # File to unpickle (only open files you trust: pickles can run code).
    what,  # Dataset name for messages.
):
    if not os.path.isfile(path):
        raise DatasetError('%s file "%s" not found; download and extract %s into that folder' % (what, path, what))
    try:
        with open(path, "rb") as file:
            return pickle.load(file, encoding="latin1")
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, AttributeError, ImportError, IndexError) as err:
        raise DatasetError('cannot read %s file "%s" (%s); download it again' % (what, path, err)) from None


def _check(images, labels, num_classes, what):
    """Validate [N, 3, 32, 32] uint8 images and integer labels in 0..num_classes-1."""
    if images.ndim != 4 or images.shape[1:] != (3, 32, 32) or images.dtype != np.uint8:
        raise DatasetError(
            "%s images have shape %s and dtype %s; expected uint8 [N, 3, 32, 32]" % (what, images.shape, images.dtype)
        )
    if labels.shape != (images.shape[0],) or labels.dtype.kind not in "ui":
        raise DatasetError(
            "%s labels have shape %s; expected one integer per image (%d)" % (what, labels.shape, images.shape[0])
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DatasetError("%s labels must lie in 0..%d" % (what, num_classes - 1))


def export_labeled(
    tfrecord_dir,  # New dataset folder.
    images,  # uint8 [N, C, H, W].
    labels,  # int [N] class indices.
    num_classes,  # Width of the one-hot label matrix.
    overwrite,  # Replace an existing output folder.
):
    """Write images and one-hot labels in the official shuffled order."""
    onehot = np.zeros((labels.size, num_classes), dtype=np.float32)
    onehot[np.arange(labels.size), labels] = 1.0
    with TFRecordExporter(tfrecord_dir, images.shape[0], overwrite=overwrite) as tfr:
        order = tfr.choose_shuffled_order()
        for idx in order:
            tfr.add_image(images[idx])
        tfr.add_labels(onehot[order])


# ----------------------------------------------------------------------------


def _cifar_images(data, what):
    try:
        return np.asarray(data["data"]).reshape(-1, 3, 32, 32)
    except (KeyError, TypeError, ValueError):
        raise DatasetError('%s pickle lacks a [N, 3072] "data" array; download it again' % what) from None


def create_cifar10(
    tfrecord_dir,  # New dataset folder.
    cifar10_dir,  # Folder holding data_batch_1 ... data_batch_5 (python version).
    overwrite=False,  # Replace an existing output folder.
):
    """Official `create_cifar10`: 3x32x32 images, one-hot labels [N, 10], shuffled (seed 123).

    The official tool asserts exactly 50000 images; any count is accepted here.
    """
    print('Loading CIFAR-10 from "%s"' % cifar10_dir)
    images, labels = [], []
    for batch in range(1, 6):
        data = _load_pickle(os.path.join(cifar10_dir, "data_batch_%d" % batch), "CIFAR-10")
        images.append(_cifar_images(data, "CIFAR-10"))
        labels.append(np.asarray(data.get("labels", []) if isinstance(data, dict) else [], dtype=np.int64))
    images, labels = np.concatenate(images), np.concatenate(labels)
    _check(images, labels, 10, "CIFAR-10")
    export_labeled(tfrecord_dir, images, labels, 10, overwrite)


def create_cifar100(
    tfrecord_dir,  # New dataset folder.
    cifar100_dir,  # Folder holding the `train` pickle (python version).
    overwrite=False,  # Replace an existing output folder.
):
    """Official `create_cifar100`: fine labels, one-hot [N, 100], shuffled (seed 123)."""
    print('Loading CIFAR-100 from "%s"' % cifar100_dir)
    data = _load_pickle(os.path.join(cifar100_dir, "train"), "CIFAR-100")
    images = _cifar_images(data, "CIFAR-100")
    labels = np.asarray(data.get("fine_labels", []) if isinstance(data, dict) else [], dtype=np.int64)
    _check(images, labels, 100, "CIFAR-100")
    export_labeled(tfrecord_dir, images, labels, 100, overwrite)


def create_svhn(
    tfrecord_dir,  # New dataset folder.
    svhn_dir,  # Folder holding train_1.pkl ... train_3.pkl.
    overwrite=False,  # Replace an existing output folder.
):
    """Official `create_svhn` from its pre-converted pickles, each a tuple (uint8 [N, 3, 32, 32], labels [N]).

    Produces one-hot labels [N, 10], shuffled (seed 123). The official tool asserts 73257
    images; any count is accepted here.
    """
    print('Loading SVHN from "%s"' % svhn_dir)
    images, labels = [], []
    for batch in range(1, 4):
        data = _load_pickle(os.path.join(svhn_dir, "train_%d.pkl" % batch), "SVHN")
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise DatasetError('SVHN pickle "train_%d.pkl" is not an (images, labels) tuple' % batch)
        images.append(np.asarray(data[0]))
        labels.append(np.asarray(data[1]).reshape(-1))
    images, labels = np.concatenate(images), np.concatenate(labels)
    _check(images, labels, 10, "SVHN")
    export_labeled(tfrecord_dir, images, labels, 10, overwrite)


# ----------------------------------------------------------------------------
