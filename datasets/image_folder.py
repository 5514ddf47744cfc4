"""`create_from_images`: a dataset from a folder of square power-of-two images."""

import glob
import os

import numpy as np
import PIL.Image

from datasets.errors import DatasetError
from datasets.tfrecord_export import TFRecordExporter
from utils.parallel import ordered_map

SUPPORTED_MODES = {"L": 1, "RGB": 3}

# ----------------------------------------------------------------------------


def open_image(path):
    """Decode an image file completely; unreadable, non-image or truncated files raise DatasetError."""
    try:
        with PIL.Image.open(path) as img:
            img.load()
            return img.copy()  # Detached from the file, which the with-block closes.
    except (PIL.UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        reason = "not an image" if isinstance(err, PIL.UnidentifiedImageError) else str(err) or type(err).__name__
        raise DatasetError('cannot read image "%s" (%s); remove or replace the file' % (path, reason)) from None


def center_crop_square(img):
    """Crop a PIL image to the centred square of its shorter side (the official LSUN crop)."""
    width, height = img.size
    crop = min(width, height)
    return img.crop(((width - crop) // 2, (height - crop) // 2, (width + crop) // 2, (height + crop) // 2))


def to_chw(img):
    """PIL 'L' or 'RGB' image -> uint8 [C, H, W]."""
    array = np.asarray(img)
    return array[np.newaxis] if array.ndim == 2 else array.transpose(2, 0, 1)


def load_image(
    path,  # Image file.
    resize=None,  # Resize to resize x resize with Lanczos, None = keep the size.
    crop=False,  # Centre-crop to a square first.
):
    """Read one image as uint8 [C, H, W], checking what the official format can hold."""
    img = open_image(path)
    if img.mode not in SUPPORTED_MODES:
        raise DatasetError(
            'image "%s" has mode %s; only RGB and grayscale (L) images are supported, '
            "convert it first" % (path, img.mode)
        )
    if crop:
        img = center_crop_square(img)
    if resize is not None and img.size != (resize, resize):
        if img.size[0] != img.size[1]:
            raise DatasetError(
                'image "%s" is %dx%d, not square; pass --crop 1 to centre-crop before resizing'
                % (path, img.size[0], img.size[1])
            )
        img = img.resize((resize, resize), PIL.Image.LANCZOS)
    return to_chw(img)


def describe(shape):
    channels, height, width = shape
    return "%dx%d %s" % (
        width,
        height,
        "RGB" if channels == 3 else "grayscale" if channels == 1 else "%d-channel" % channels,
    )


def check_resize_argument(resize):
    if resize is not None and (resize < 4 or resize & (resize - 1)):
        raise DatasetError("--resize must be a power of two >= 4, got %d" % resize)


# ----------------------------------------------------------------------------


def list_image_files(image_dir):
    """Sorted paths of the files in `image_dir` (sub-folders and hidden files are ignored)."""
    if not os.path.isdir(image_dir):
        raise DatasetError('image folder "%s" does not exist' % image_dir)
    return sorted(path for path in glob.glob(os.path.join(image_dir, "*")) if os.path.isfile(path))


def create_from_images(
    tfrecord_dir,  # New dataset folder.
    image_dir,  # Folder of images (every file in it, sorted by name).
    shuffle=1,  # 1 = official shuffled order (RandomState(123)), 0 = file order.
    resize=None,  # Extension: resize every image to this power-of-two size.
    crop=0,  # Extension: centre-crop every image to a square first.
    num_threads=None,  # Decoding threads, None = one per core.
    overwrite=False,  # Replace an existing output folder.
):
    """Official `create_from_images`: every image must be the same square power-of-two size."""
    print('Loading images from "%s"' % image_dir)
    image_filenames = list_image_files(image_dir)
    if not image_filenames:
        raise DatasetError('no input images found in "%s"' % image_dir)
    check_resize_argument(resize)

    first = load_image(image_filenames[0], resize, crop)
    channels, height, width = first.shape
    if height != width:
        raise DatasetError(
            'image "%s" is %dx%d; input images must have the same width and height '
            "(pass --crop 1 to centre-crop)" % (image_filenames[0], width, height)
        )
    if height < 4 or height & (height - 1):
        raise DatasetError(
            'image "%s" is %dx%d; the resolution must be a power of two >= 4 '
            "(pass --resize N to resize)" % (image_filenames[0], width, height)
        )

    def load(idx):
        img = load_image(image_filenames[idx], resize, crop)
        if img.shape != first.shape:
            raise DatasetError(
                'image "%s" is %s but "%s" is %s; all images must have the same size and mode%s'
                % (
                    image_filenames[idx],
                    describe(img.shape),
                    image_filenames[0],
                    describe(first.shape),
                    "" if img.shape[0] != first.shape[0] else " (pass --resize N to resize them)",
                )
            )
        return img

    with TFRecordExporter(tfrecord_dir, len(image_filenames), overwrite=overwrite) as tfr:
        order = tfr.choose_shuffled_order() if shuffle else np.arange(len(image_filenames))
        for img in ordered_map(load, order, num_threads):
            tfr.add_image(img)


# ----------------------------------------------------------------------------
