"""`create_lsun` and StyleGAN's `create_lsun_wide` from an LSUN LMDB database."""

import io
import os
import sys

import numpy as np
import PIL.Image

from datasets.errors import DatasetError
from datasets.image_folder import center_crop_square
from datasets.tfrecord_export import TFRecordExporter
from utils.parallel import ordered_map

# ----------------------------------------------------------------------------


def _open_lmdb(lmdb_dir):
    try:
        import lmdb  # Lazy: an optional dependency, needed by the LSUN commands only.
    except ImportError:
        raise DatasetError("reading LSUN needs the lmdb package: pip install lmdb") from None
    if not os.path.exists(lmdb_dir):
        raise DatasetError('LMDB database "%s" does not exist' % lmdb_dir)
    try:
        return lmdb.open(lmdb_dir, readonly=True, lock=False, readahead=False, subdir=os.path.isdir(lmdb_dir))
    except lmdb.Error as err:
        raise DatasetError('cannot open LMDB database "%s" (%s)' % (lmdb_dir, err)) from None


def decode_rgb(value):
    """Decode encoded image bytes to an RGB PIL image (grayscale is expanded, as cv2 IMREAD_COLOR does)."""
    img = PIL.Image.open(io.BytesIO(value))
    img.load()
    return img if img.mode == "RGB" else img.convert("RGB")


def lsun_square(
    value,  # Encoded image bytes.
    resolution,  # Output size.
):
    """Official LSUN processing: centre crop to a square, Lanczos (ANTIALIAS) resize, CHW."""
    img = center_crop_square(decode_rgb(value))
    img = img.resize((resolution, resolution), PIL.Image.LANCZOS)
    return np.asarray(img).transpose(2, 0, 1)


def lsun_wide(
    value,  # Encoded image bytes.
    width,  # Canvas size and output width.
    height,  # Output height, centred vertically on the width x width canvas.
):
    """StyleGAN `create_lsun_wide` processing; None for images it skips.

    Faithful to the official code, including its crop: it keeps the central
    round(width * h / w) rows of the ORIGINAL image (a count computed at the output
    scale), then resizes that to width x height, which distorts images wider than `width`.
    """
    img = decode_rgb(value)
    w, h = img.size
    ch = int(np.round(width * h / w))
    if w < width or ch < height:
        return None
    img = img.crop((0, (h - ch) // 2, w, (h + ch) // 2))
    img = np.asarray(img.resize((width, height), PIL.Image.LANCZOS)).transpose(2, 0, 1)
    canvas = np.zeros([3, width, width], dtype=np.uint8)
    canvas[:, (width - height) // 2 : (width + height) // 2] = img
    return canvas


def _safe(func):
    """Wrap per-image processing so that a broken image is reported and skipped, as official."""

    def run(value):
        try:
            return func(value)
        except Exception as err:  # The official tool prints any failure and goes on.
            return err

    return run


def _export_lmdb(tfrecord_dir, lmdb_dir, process, max_images, num_threads, overwrite):
    env = _open_lmdb(lmdb_dir)
    try:
        with env.begin(write=False) as txn:
            total_images = txn.stat()["entries"]
            if total_images == 0:
                raise DatasetError('LMDB database "%s" is empty' % lmdb_dir)
            if max_images is None:
                max_images = total_images
            if max_images < 1:
                raise DatasetError("--max_images must be at least 1, got %d" % max_images)
            skipped = 0
            with TFRecordExporter(tfrecord_dir, min(max_images, total_images), overwrite=overwrite) as tfr:
                values = (value for _key, value in txn.cursor())
                results = ordered_map(_safe(process), values, num_threads)
                try:
                    for result in results:
                        if isinstance(result, Exception):
                            print("\nSkipping an image: %s" % (result,), file=sys.stderr)
                            skipped += 1
                        elif result is None:
                            skipped += 1
                        else:
                            tfr.add_image(result)
                        if tfr.cur_images == max_images:
                            break
                finally:
                    results.close()
            if skipped:
                print("Skipped %d images." % skipped)
    finally:
        env.close()


# ----------------------------------------------------------------------------


def create_lsun(
    tfrecord_dir,  # New dataset folder.
    lmdb_dir,  # LMDB database of one LSUN category.
    resolution=256,  # Output resolution.
    max_images=None,  # Stop after this many images, None = all.
    num_threads=None,  # Decoding threads, None = one per core.
    overwrite=False,  # Replace an existing output folder.
):
    """Official `create_lsun`: LMDB key order (no shuffle), centre crop, Lanczos resize; no labels.

    Decoding uses Pillow (the official tool tries OpenCV first); both use libjpeg-turbo
    and libwebp, so the pixels agree, but resampling follows the installed Pillow.
    """
    print('Loading LSUN dataset from "%s"' % lmdb_dir)
    if resolution < 4 or resolution & (resolution - 1):
        raise DatasetError("--resolution must be a power of two >= 4, got %d" % resolution)
    _export_lmdb(
        tfrecord_dir, lmdb_dir, lambda value: lsun_square(value, resolution), max_images, num_threads, overwrite
    )


def create_lsun_wide(
    tfrecord_dir,  # New dataset folder.
    lmdb_dir,  # LMDB database of one LSUN category.
    width=512,  # Output width = canvas size (power of two).
    height=384,  # Output height (<= width).
    max_images=None,  # Stop after this many images, None = all.
    num_threads=None,  # Decoding threads, None = one per core.
    overwrite=False,  # Replace an existing output folder.
):
    """StyleGAN `create_lsun_wide`: width x height images centred on a black width x width canvas.

    Images narrower than `width`, or too short for `height` after scaling, are skipped.
    """
    print('Loading LSUN dataset from "%s"' % lmdb_dir)
    if width < 4 or width & (width - 1):
        raise DatasetError("--width must be a power of two >= 4, got %d" % width)
    if not 1 <= height <= width:
        raise DatasetError("--height must lie in 1..width (%d), got %d" % (width, height))
    _export_lmdb(
        tfrecord_dir, lmdb_dir, lambda value: lsun_wide(value, width, height), max_images, num_threads, overwrite
    )


# ----------------------------------------------------------------------------
