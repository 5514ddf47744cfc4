"""`display`, `extract` and `compare`: looking into existing datasets."""

import itertools
import os

import numpy as np

from datasets.errors import DatasetError
from datasets.tfrecord_reader import TFRecordDataset
from utils.images import create_image_grid
from utils.images import to_pil
from utils.progress import Progress

# ----------------------------------------------------------------------------


def _open_dataset(tfrecord_dir, max_label_size):
    print('Loading dataset "%s"' % tfrecord_dir)
    return TFRecordDataset(tfrecord_dir, max_label_size=max_label_size, repeat=False, shuffle_mb=0, prefetch_mb=0)


def iterate_images(
    dataset,  # TFRecordDataset opened with repeat=False, shuffle_mb=0.
    batch_size=64,  # Images read at once.
):
    """Yield (uint8 [H, W, C] image, float32 [label_size] label) at full resolution, in file order."""
    for images, labels in dataset.get_dataset(batch_size, 0):
        yield from zip(images.numpy(), labels.numpy())


def _describe_image_difference(idx, image_a, image_b):
    if image_a.shape != image_b.shape:
        return "Image %d is different: shape %s vs %s" % (idx, image_a.shape, image_b.shape)
    diff = np.argwhere(image_a != image_b)
    first = tuple(diff[0])
    return "Image %d is different: %d of %d bytes differ, first at [y, x, c] = %s (%d vs %d)" % (
        idx,
        len(diff),
        image_a.size,
        list(first),
        image_a[first],
        image_b[first],
    )


# ----------------------------------------------------------------------------


def display(
    tfrecord_dir,  # Dataset folder.
    out=None,  # PNG to write, None = <dataset name>-display.png in the current folder.
    num=64,  # Number of images in the grid.
    columns=8,  # Grid width in images.
):
    """Headless `display`: print idx and label of the first `num` images and save them as a grid PNG."""
    dataset = _open_dataset(tfrecord_dir, "full")
    if num < 1 or columns < 1:
        raise DatasetError("--num and --columns must be at least 1")
    shown = []
    for idx, (image, label) in enumerate(itertools.islice(iterate_images(dataset), num)):
        print("idx = %-8d label = %s" % (idx, label.tolist()))
        shown.append(image)
    columns = min(columns, len(shown))
    rows = (len(shown) - 1) // columns + 1
    grid = create_image_grid(np.stack(shown), (columns, rows))
    if out is None:
        out = "%s-display.png" % os.path.basename(os.path.normpath(tfrecord_dir))
    to_pil(grid).save(out)
    print('Displayed %d images in "%s".' % (len(shown), out))


def extract(
    tfrecord_dir,  # Dataset folder.
    output_dir,  # Folder for img%08d.png files (created if missing).
):
    """Official `extract`: every full-resolution image as img%08d.png, in file order."""
    dataset = _open_dataset(tfrecord_dir, 0)
    print('Extracting images to "%s"' % output_dir)
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as err:
        raise DatasetError('cannot create folder "%s" (%s)' % (output_dir, err.strerror)) from None
    idx = 0
    progress = Progress(dataset.num_images)
    for idx, (image, _label) in enumerate(iterate_images(dataset), 1):
        to_pil(image).save(os.path.join(output_dir, "img%08d.png" % (idx - 1)))
        progress.update(idx)
    progress.close()
    print("Extracted %d images." % idx)


def compare(
    tfrecord_dir_a,  # First dataset folder.
    tfrecord_dir_b,  # Second dataset folder.
    ignore_labels=0,  # 1 = compare images only.
):
    """Official `compare`: per-index equality of images (and labels); reports the first difference.

    Returns (identical_images, identical_labels, num_compared).
    """
    max_label_size = 0 if ignore_labels else "full"
    dataset_a = _open_dataset(tfrecord_dir_a, max_label_size)
    dataset_b = _open_dataset(tfrecord_dir_b, max_label_size)
    print("Comparing datasets")
    identical_images = identical_labels = num = 0
    image_reported = label_reported = False
    missing = object()
    for item_a, item_b in itertools.zip_longest(
        iterate_images(dataset_a), iterate_images(dataset_b), fillvalue=missing
    ):
        if item_a is missing or item_b is missing:
            print("Datasets contain different number of images")
            break
        (image_a, label_a), (image_b, label_b) = item_a, item_b
        if image_a.shape == image_b.shape and np.array_equal(image_a, image_b):
            identical_images += 1
        elif not image_reported:
            image_reported = True
            print(_describe_image_difference(num, image_a, image_b))
        if label_a.shape == label_b.shape and np.array_equal(label_a, label_b):
            identical_labels += 1
        elif not label_reported:
            label_reported = True
            print("Label %d is different: %s vs %s" % (num, label_a.tolist(), label_b.tolist()))
        num += 1
    print("Identical images: %d / %d" % (identical_images, num))
    if not ignore_labels:
        print("Identical labels: %d / %d" % (identical_labels, num))
    return identical_images, identical_labels, num


# ----------------------------------------------------------------------------
