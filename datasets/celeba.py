"""`create_celeba`: 128x128 crops of the aligned CelebA images."""

import glob
import os

import numpy as np

from datasets.errors import DatasetError
from datasets.image_folder import open_image
from datasets.tfrecord_export import TFRecordExporter
from utils.parallel import ordered_map

CELEBA_IMAGES = 202599
ALIGNED_SHAPE = (218, 178, 3)  # [H, W, C] of every img_align_celeba_png file.


def celeba_crop(
    path,  # One aligned CelebA PNG.
    cx,  # Centre column of the crop.
    cy,  # Centre row of the crop.
):
    """Official crop: rows cy-64..cy+63 and columns cx-64..cx+63, as uint8 [3, 128, 128]."""
    img = np.asarray(open_image(path))
    if img.shape != ALIGNED_SHAPE:
        raise DatasetError('"%s" is %s; aligned CelebA images are 178x218 RGB' % (path, "x".join(map(str, img.shape))))
    return img[cy - 64 : cy + 64, cx - 64 : cx + 64].transpose(2, 0, 1)


def create_celeba(
    tfrecord_dir,  # New dataset folder.
    celeba_dir,  # CelebA folder holding img_align_celeba_png/.
    cx=89,  # Crop centre column.
    cy=121,  # Crop centre row.
    num_threads=None,  # Decoding threads, None = one per core.
    overwrite=False,  # Replace an existing output folder.
    expected_images=CELEBA_IMAGES,  # Number of PNGs required (the official tool insists on all).
):
    """Official `create_celeba`: 128x128 crops of all 202599 aligned PNGs, shuffled (seed 123), no labels."""
    print('Loading CelebA from "%s"' % celeba_dir)
    if not 64 <= cx <= ALIGNED_SHAPE[1] - 64 or not 64 <= cy <= ALIGNED_SHAPE[0] - 64:
        raise DatasetError(
            "--cx must lie in 64..%d and --cy in 64..%d so that the 128x128 crop fits"
            % (ALIGNED_SHAPE[1] - 64, ALIGNED_SHAPE[0] - 64)
        )
    image_dir = os.path.join(celeba_dir, "img_align_celeba_png")
    if not os.path.isdir(image_dir):
        raise DatasetError('folder "%s" does not exist; extract the aligned CelebA PNGs there' % image_dir)
    image_filenames = sorted(glob.glob(os.path.join(image_dir, "*.png")))
    if len(image_filenames) != expected_images:
        raise DatasetError(
            'expected to find %d images in "%s", found %d' % (expected_images, image_dir, len(image_filenames))
        )

    with TFRecordExporter(tfrecord_dir, len(image_filenames), overwrite=overwrite) as tfr:
        order = tfr.choose_shuffled_order()
        for img in ordered_map(lambda idx: celeba_crop(image_filenames[idx], cx, cy), order, num_threads):
            tfr.add_image(img)
