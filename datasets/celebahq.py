"""`create_celebahq`: the official CelebA-HQ dataset, bit-exact on a modern stack.

The official tool (dataset_tool.py:454-594 of tkarras/progressive_growing_of_gans) rebuilds
each 1024x1024 image from a CelebA original and adds an encrypted per-image delta (uint8,
modulo 256). A delta only fits the exact pre-delta image that Pillow 3.1.1 + libjpeg 8d +
numpy 1.x + scipy 1.1 computed, so this module reproduces that stack bit for bit:

- decoding: genuine IJG libjpeg 8d (`datasets.jpeg8d`, PyPI package `jpeglib`);
- resizing and the quad transform: Pillow 3.1.1's C code re-implemented (`datasets.pillow311`);
- the border blur: scipy 1.1's gaussian_filter (`datasets.scipy11`);
- the landmark geometry and the pad mask: the official expressions with the scalar types that
  numpy 1.x gave them (numpy 2 promotes them differently; see `oriented_crop`, `_pad_and_blend`).

Both MD5 checks of the official tool are kept: the decoded `000001.jpg` (libjpeg check) and every
processed image before (`proc_md5`) and after (`final_md5`) its delta. Any mismatch stops the run
with one line naming the image; no delta is ever added to a wrong base, and no dataset is left.
"""

import base64
import bz2
import concurrent.futures
import glob
import hashlib
import math
import multiprocessing
import os
import zipfile

import numpy as np

from datasets import jpeg8d
from datasets import pillow311
from datasets import scipy11
from datasets.errors import DatasetError
from datasets.tfrecord_export import TFRecordExporter
from utils import blas_threads
from utils.parallel import ordered_map

CELEBA_IMAGES = 202599  # img_celeba/*.jpg files and landmark rows.
CELEBAHQ_IMAGES = 30000  # Rows of image_list.txt.
IMAGES_PER_ZIP = 1000  # deltas%05d.zip holds delta%05d.dat for 1000 indices.
LIBJPEG_CHECK = ("000001.jpg", "9cad8178d6cb0196b36f7b34bc5eb6d3")  # Official decoder check.
IMAGE_LIST_FIELDS = ("idx", "orig_idx", "orig_file", "proc_md5", "final_md5")
RESOLUTION = 1024
TRANSFORM_SIZE = 4096  # The quad is sampled at 4x and then ANTIALIAS-resized.
PBKDF2_ITERATIONS = 100000

# ----------------------------------------------------------------------------
# Per-image processing (process_func of the official tool, before the delta).


def _rot90(v):
    return np.array([-v[1], v[0]])


def oriented_crop(
    landmarks,  # 10 numbers: (x, y) of left eye, right eye, nose, mouth corners.
):
    """The official oriented crop rectangle: (quad float32 [4, 2], zoom float64).

    numpy 1.x evaluated `np.hypot(...) * 2.0` and `1024 / (...)` on float32 scalars in double;
    numpy 2 keeps them float32. The double values are reproduced explicitly here.
    """
    with np.errstate(invalid="ignore", divide="ignore"):  # Degenerate landmarks: checked by the caller.
        return _oriented_crop(np.float32(np.asarray(landmarks, dtype=np.float64)).reshape(5, 2))


def _oriented_crop(lm):
    eye_avg = (lm[0] + lm[1]) * 0.5 + 0.5
    mouth_avg = (lm[3] + lm[4]) * 0.5 + 0.5
    eye_to_eye = lm[1] - lm[0]
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - _rot90(eye_to_mouth)
    x /= np.hypot(*x)
    scale = max(float(np.hypot(*eye_to_eye)) * 2.0, float(np.hypot(*eye_to_mouth)) * 1.8)
    x *= np.float32(scale)  # In-place float32 multiply by the double, cast as numpy 1.x did.
    y = _rot90(x)
    c = eye_avg + eye_to_mouth * 0.1
    quad = np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    zoom = 1024 / (float(np.hypot(*x)) * 2)
    return quad, zoom


def _bounds(quad):  # Integer bounding box (left, top, right, bottom) of the quad.
    return (
        int(np.floor(min(quad[:, 0]))),
        int(np.floor(min(quad[:, 1]))),
        int(np.ceil(max(quad[:, 0]))),
        int(np.ceil(max(quad[:, 1]))),
    )


def _pad_and_blend(
    img,  # [3, H, W] uint8 planar image.
    pad,  # int64 [4]: left, top, right, bottom.
    zoom,  # float64 zoom after super-resolution.
):
    """Reflect-pad, blend toward a blur and the median near the border: uint8 [3, h, w].

    Planar for speed; every operation is elementwise or per channel, so the values are those
    of the official [h, w, 3] code.
    """
    img = np.pad(np.float32(img), ((0, 0), (pad[1], pad[3]), (pad[0], pad[2])), "reflect")
    _, h, w = img.shape
    # numpy 1.x divided float32 coordinates by the int64 scalars pad[k] in float32.
    p = pad.astype(np.float32)
    col_min = np.minimum(np.arange(w, dtype=np.float32) / p[0], np.float32(w - 1 - np.arange(w)) / p[2])
    row_min = np.minimum(np.arange(h, dtype=np.float32) / p[1], np.float32(h - 1 - np.arange(h)) / p[3])
    mask = 1.0 - np.minimum(row_min[:, None], col_min[None, :])  # float32 [h, w]
    blur = 1024 * 0.02 / zoom  # float64, as under numpy 1.x.
    img += (scipy11.gaussian_filter_planar(img, blur) - img) * np.clip(mask * 3.0 + 1.0, 0.0, 1.0)
    img += (np.median(img, axis=(1, 2))[:, None, None] - img) * np.clip(mask, 0.0, 1.0)
    return np.uint8(np.clip(np.round(img), 0, 255))


def prepare_image(
    img,  # [H, W, 3] uint8 decoded original.
    landmarks,  # 10 landmark numbers of the image.
):
    """Shrink, crop, simulated super-resolution and pad of the official process_func.

    Returns `(img, quad, route)`: the uint8 [h, w, 3] image that the official code hands to
    `transform`, the float32 [4, 2] quad in its coordinates, and the stages taken, e.g.
    'crop+superres8+pad'.
    """
    quad, zoom = oriented_crop(landmarks)
    if not (math.isfinite(zoom) and zoom > 0 and np.isfinite(quad).all()):
        raise DatasetError(
            "the landmarks %s do not define a face rectangle" % np.asarray(landmarks, np.float64).ravel().tolist()
        )
    img = np.ascontiguousarray(img.transpose(2, 0, 1))  # Planar [3, H, W] internally.
    route = []

    # Shrink.
    shrink = int(np.floor(0.5 / zoom))
    if shrink > 1:
        size = (int(np.round(float(img.shape[2]) / shrink)), int(np.round(float(img.shape[1]) / shrink)))
        img = pillow311.resize_planar(img, size)
        quad /= shrink
        zoom *= shrink
        route.append("shrink%d" % shrink)

    # Crop.
    border = max(int(np.round(1024 * 0.1 / zoom)), 3)
    crop = _bounds(quad)
    crop = (
        max(crop[0] - border, 0),
        max(crop[1] - border, 0),
        min(crop[2] + border, img.shape[2]),
        min(crop[3] + border, img.shape[1]),
    )
    if crop[2] <= crop[0] or crop[3] <= crop[1]:
        raise DatasetError(
            "the landmarks %s put the face outside the %dx%d image"
            % (np.asarray(landmarks, np.float64).ravel().tolist(), img.shape[2], img.shape[1])
        )
    if crop[2] - crop[0] < img.shape[2] or crop[3] - crop[1] < img.shape[1]:
        img = np.ascontiguousarray(img[:, crop[1] : crop[3], crop[0] : crop[2]])
        quad -= crop[0:2]
        route.append("crop")

    # Simulate super-resolution.
    superres = int(np.exp2(np.ceil(np.log2(zoom))))
    if superres > 1:
        img = pillow311.resize_planar(img, (img.shape[2] * superres, img.shape[1] * superres))
        quad *= superres
        zoom /= superres
        route.append("superres%d" % superres)

    # Pad.
    pad = _bounds(quad)
    pad = (
        max(-pad[0] + border, 0),
        max(-pad[1] + border, 0),
        max(pad[2] - img.shape[2] + border, 0),
        max(pad[3] - img.shape[1] + border, 0),
    )
    if max(pad) > border - 4:
        pad = np.maximum(pad, int(np.round(1024 * 0.3 / zoom)))
        img = _pad_and_blend(img, pad, zoom)
        quad += pad[0:2]
        route.append("pad")
    return np.ascontiguousarray(img.transpose(1, 2, 0)), quad, "+".join(route)


def transform_image(
    img,  # [h, w, 3] uint8 image from prepare_image.
    quad,  # float32 [4, 2] quad in img coordinates.
):
    """QUAD transform to 4096x4096 (BILINEAR), ANTIALIAS resize to 1024: uint8 [3, 1024, 1024]."""
    size = (TRANSFORM_SIZE, TRANSFORM_SIZE)
    big = pillow311.transform_quad_planar(img, size, (quad + 0.5).flatten())
    return pillow311.resize_planar(big, (RESOLUTION, RESOLUTION))


def celebahq_process(
    jpeg_path,  # Original in-the-wild CelebA JPEG (img_celeba/xxxxxx.jpg).
    landmarks,  # Its 10 landmark numbers (5 (x, y) points, [10] or [5, 2]).
):
    """The CelebA-HQ image before its delta is added: uint8 [3, 1024, 1024] (CHW).

    Bit-identical to the official tool on Pillow 3.1.1 + libjpeg 8d; its MD5 is `proc_md5`.
    Decodes with libjpeg 8d via jpeglib, which is process-global (use processes, not threads).
    """
    img = jpeg8d.decode(jpeg_path)
    if img.ndim != 3 or img.shape[2] != 3:
        raise DatasetError(
            "%s is not a colour JPEG (decoded shape %s); restore the original CelebA file" % (jpeg_path, img.shape)
        )
    img, quad, _ = prepare_image(img, landmarks)
    return transform_image(img, quad)


# ----------------------------------------------------------------------------
# Deltas.


def _crypto():
    try:
        from cryptography.fernet import Fernet  # Lazy: optional, for create_celebahq only.
        from cryptography.fernet import InvalidToken  # Lazy: optional, for create_celebahq only.
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    except ImportError:
        raise DatasetError("create_celebahq needs the cryptography package: pip install cryptography") from None
    return Fernet, InvalidToken, hashes, PBKDF2HMAC


def decrypt_delta(
    delta_bytes,  # Contents of delta%05d.dat.
    orig_bytes,  # Raw bytes of the original JPEG, the password.
    orig_file,  # Its file name, e.g. '000001.jpg', the salt.
):
    """Official delta decryption: PBKDF2-HMAC-SHA256 -> Fernet -> bz2 -> uint8 [3, 1024, 1024].

    Raises DatasetError if the delta does not decrypt with this JPEG or has the wrong size.
    """
    Fernet, InvalidToken, hashes, PBKDF2HMAC = _crypto()
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=bytes(orig_file, "ascii"), iterations=PBKDF2_ITERATIONS)
    key = base64.urlsafe_b64encode(kdf.derive(orig_bytes))
    try:
        raw = bz2.decompress(Fernet(key).decrypt(delta_bytes))
    except (InvalidToken, OSError, ValueError):
        raise DatasetError(
            "the delta of %s does not decrypt with img_celeba/%s: that JPEG is not the original "
            "CelebA file or the delta zip is damaged; re-download the one that is wrong" % (orig_file, orig_file)
        ) from None
    if len(raw) != 3 * RESOLUTION * RESOLUTION:
        raise DatasetError(
            "the delta of %s holds %d bytes instead of %d; re-download the delta zip"
            % (orig_file, len(raw), 3 * RESOLUTION * RESOLUTION)
        )
    return np.frombuffer(raw, dtype=np.uint8).reshape(3, RESOLUTION, RESOLUTION)


def _md5(array):
    return hashlib.md5(np.ascontiguousarray(array).tobytes()).hexdigest()


def delta_zip_name(idx):  # Index into image_list.txt.
    """Name of the zip that holds the delta of image `idx`, e.g. 'deltas29000.zip'."""
    return "deltas%05d.zip" % (idx - idx % IMAGES_PER_ZIP)


def _process_task(task):
    """One final CelebA-HQ image (official process_func); runs in a worker process."""
    idx, orig_file, landmarks, proc_md5, final_md5, image_dir, delta_dir = task
    orig_path = os.path.join(image_dir, orig_file)
    img = celebahq_process(orig_path, landmarks)
    actual = _md5(img)
    if actual != proc_md5:
        raise DatasetError(
            "image %d (img_celeba/%s): the processed image has MD5 %s, expected %s, so the delta cannot apply; "
            "restore the original CelebA JPEG (if it is the original, report this platform as a bug); "
            "nothing was written" % (idx, orig_file, actual, proc_md5)
        )
    zip_path = os.path.join(delta_dir, delta_zip_name(idx))
    try:
        with zipfile.ZipFile(zip_path, "r") as archive:
            delta_bytes = archive.read("delta%05d.dat" % idx)
    except (OSError, KeyError, zipfile.BadZipFile) as err:
        raise DatasetError(
            "cannot read delta%05d.dat from %s (%s); re-download that zip" % (idx, zip_path, err)
        ) from None
    with open(orig_path, "rb") as file:
        orig_bytes = file.read()
    img = img + decrypt_delta(delta_bytes, orig_bytes, orig_file)  # uint8: wraps modulo 256.
    actual = _md5(img)
    if actual != final_md5:
        raise DatasetError(
            "image %d (img_celeba/%s): the final image has MD5 %s, expected %s; %s is damaged, "
            "re-download it; nothing was written" % (idx, orig_file, actual, final_md5, zip_path)
        )
    return img


# ----------------------------------------------------------------------------
# Inputs.


def _read_landmarks(
    path,  # Anno/list_landmarks_celeba.txt
    expected,  # Number of rows required.
):
    """float32 [N, 10]: two header lines are skipped and the file name column dropped."""
    if not os.path.isfile(path):
        raise DatasetError('landmark file "%s" does not exist; extract CelebA\'s Anno folder there' % path)
    with open(path) as file:
        lines = file.readlines()[2:]
    rows = []
    for number, line in enumerate(lines, start=3):
        values = line.split()[1:]
        if len(values) != 10:
            if not line.strip():
                continue
            raise DatasetError(
                'line %d of "%s" does not hold a file name and 10 numbers; restore the original file' % (number, path)
            )
        try:
            rows.append([float(value) for value in values])
        except ValueError:
            raise DatasetError(
                'line %d of "%s" holds a value that is not a number; restore the original file' % (number, path)
            ) from None
    if len(rows) != expected:
        raise DatasetError(
            '"%s" holds %d landmark rows, expected %d; restore the original file' % (path, len(rows), expected)
        )
    return np.float32(rows)


def _read_image_list(
    path,  # delta_dir/image_list.txt
    expected,  # Number of rows required.
    num_landmarks,  # Number of CelebA images (bound of orig_idx).
):
    """The columns of image_list.txt as a dict of lists (columns ending in 'idx' as int)."""
    if not os.path.isfile(path):
        raise DatasetError('"%s" does not exist; it comes with the CelebA-HQ deltas' % path)
    with open(path) as file:
        lines = [line.split() for line in file if line.strip()]
    if not lines or any(field not in lines[0] for field in IMAGE_LIST_FIELDS):
        raise DatasetError(
            '"%s" lacks the header "%s"; restore the original file' % (path, " ".join(IMAGE_LIST_FIELDS))
        )
    fields = {name: [] for name in lines[0]}
    for number, line in enumerate(lines[1:], start=2):
        if len(line) != len(lines[0]):
            raise DatasetError(
                'line %d of "%s" has %d columns instead of %d; restore the original file'
                % (number, path, len(line), len(lines[0]))
            )
        for name, value in zip(lines[0], line):
            try:
                fields[name].append(int(value) if name.endswith("idx") else value)
            except ValueError:
                raise DatasetError(
                    'line %d of "%s": %s is not an integer; restore the original file' % (number, path, name)
                ) from None
    if len(fields["idx"]) != expected:
        raise DatasetError(
            '"%s" lists %d images, expected %d; restore the original file' % (path, len(fields["idx"]), expected)
        )
    if fields["idx"] != list(range(expected)):
        raise DatasetError(
            'the idx column of "%s" is not 0..%d in order; restore the original file' % (path, expected - 1)
        )
    if not all(0 <= i < num_landmarks for i in fields["orig_idx"]):
        raise DatasetError('"%s" refers to CelebA images that do not exist (orig_idx out of range)' % path)
    return fields


# ----------------------------------------------------------------------------
# Parallel processing.


def _ordered_process_map(
    func,  # Picklable function of one task.
    tasks,  # Iterable of picklable tasks.
    num_workers,  # Worker processes; <= 1 runs in this process.
    max_in_flight,  # Tasks submitted but not yet yielded.
):
    """Yield func(task) in submission order, computed by a pool of spawned processes.

    Processes, not threads: libjpeg 8d is selected process-wide in jpeglib and the numpy work
    holds the GIL often. An exception is re-raised here and the remaining work is cancelled.
    """
    if num_workers <= 1:
        for task in tasks:
            yield func(task)
        return
    with blas_threads.single_threaded_children():
        try:
            yield from ordered_map(
                func, tasks, num_workers, max(int(max_in_flight), 1), mp_context=multiprocessing.get_context("spawn")
            )
        except concurrent.futures.process.BrokenProcessPool:
            raise DatasetError(
                "a worker process died (out of memory? try a smaller --num_threads); nothing was written"
            ) from None


# ----------------------------------------------------------------------------


def create_celebahq(
    tfrecord_dir,  # New dataset folder.
    celeba_dir,  # CelebA folder with img_celeba/ and Anno/list_landmarks_celeba.txt.
    delta_dir,  # Folder with deltas00000.zip..deltas29000.zip and image_list.txt.
    num_threads=4,  # Worker processes (the official tool used threads).
    num_tasks=100,  # Images in flight at most.
    overwrite=False,  # Replace an existing output folder.
    expected_celeba_images=CELEBA_IMAGES,  # For tests only: img_celeba size.
    expected_images=CELEBAHQ_IMAGES,  # For tests only: image_list.txt rows.
    libjpeg_check=LIBJPEG_CHECK,  # For tests only: (file, decoded MD5).
):
    """Official `create_celebahq`: 30000 images of 3x1024x1024, shuffled with seed 123, no labels.

    Every image is checked against `proc_md5` before its delta is added and against `final_md5`
    after; a mismatch raises DatasetError naming the image, and the output folder is not created.
    """
    print('Loading CelebA from "%s"' % celeba_dir)
    image_dir = os.path.join(celeba_dir, "img_celeba")
    if not os.path.isdir(image_dir):
        raise DatasetError(
            'folder "%s" does not exist; extract CelebA\'s in-the-wild images (img_celeba.7z) there' % image_dir
        )
    num_found = len(glob.glob(os.path.join(image_dir, "*.jpg")))
    if num_found != expected_celeba_images:
        raise DatasetError(
            'expected to find %d images in "%s", found %d; extract all of img_celeba.7z there'
            % (expected_celeba_images, image_dir, num_found)
        )
    landmarks = _read_landmarks(os.path.join(celeba_dir, "Anno", "list_landmarks_celeba.txt"), expected_celeba_images)

    print('Loading CelebA-HQ deltas from "%s"' % delta_dir)
    if not os.path.isdir(delta_dir):
        raise DatasetError('folder "%s" does not exist; download the CelebA-HQ deltas there' % delta_dir)
    expected_zips = -(-expected_images // IMAGES_PER_ZIP)
    zips = sorted(os.path.basename(p) for p in glob.glob(os.path.join(delta_dir, "delta*.zip")))
    wanted = [delta_zip_name(i * IMAGES_PER_ZIP) for i in range(expected_zips)]
    if zips != wanted:
        missing = sorted(set(wanted) - set(zips))
        raise DatasetError(
            'expected the %d zips %s..%s in "%s", found %d%s; download the missing ones'
            % (
                expected_zips,
                wanted[0],
                wanted[-1],
                delta_dir,
                len(zips),
                " (missing %s)" % ", ".join(missing[:3]) if missing else "",
            )
        )
    fields = _read_image_list(os.path.join(delta_dir, "image_list.txt"), expected_images, len(landmarks))
    _crypto()  # Fail before any work if the package is missing.

    # The official tool insists on libjpeg 8d by decoding 000001.jpg; keep that check.
    check_file, check_md5 = libjpeg_check
    check_path = os.path.join(image_dir, check_file)
    actual = jpeg8d.decode_md5(check_path)
    if actual != check_md5:
        raise DatasetError(
            "img_celeba/%s decodes to MD5 %s, expected %s: the file is not the original, or "
            "jpeglib does not provide IJG libjpeg 8d; restore the file or reinstall jpeglib"
            % (check_file, actual, check_md5)
        )

    indices = np.array(fields["idx"])
    with TFRecordExporter(tfrecord_dir, indices.size, overwrite=overwrite) as tfr:
        order = tfr.choose_shuffled_order()
        tasks = (
            (
                idx,
                fields["orig_file"][idx],
                landmarks[fields["orig_idx"][idx]].tolist(),
                fields["proc_md5"][idx],
                fields["final_md5"][idx],
                image_dir,
                delta_dir,
            )
            for idx in indices[order].tolist()
        )
        for img in _ordered_process_map(_process_task, tasks, num_threads, num_tasks):
            tfr.add_image(img)
