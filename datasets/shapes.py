"""`create_shapes`: a procedural dataset of coloured shapes (no download needed).

Each image is a plain or linear-gradient background with 1-4 circles, squares and
triangles of random colour, size, position and rotation. Edges are anti-aliased
analytically: a pixel's coverage is clip(0.5 - d / pixel_size, 0, 1) where d is the
signed distance from the pixel centre to the shape's outline, so the images look the same
at every power-of-two resolution. Image `i` depends only on (random_seed, i), which makes
the dataset deterministic however many threads draw it.
"""

import numpy as np

from datasets.errors import DatasetError
from datasets.tfrecord_export import TFRecordExporter
from utils.parallel import ordered_map

SHAPE_KINDS = ("circle", "square", "triangle")

# ----------------------------------------------------------------------------


def _circle_distance(x, y, radius):
    return np.hypot(x, y) - radius


def _square_distance(x, y, radius, angle):
    # Box signed distance in the square's own frame; `radius` is the circumradius.
    half = radius / np.sqrt(2.0)
    u = np.abs(x * np.cos(angle) + y * np.sin(angle)) - half
    v = np.abs(-x * np.sin(angle) + y * np.cos(angle)) - half
    return np.hypot(np.maximum(u, 0), np.maximum(v, 0)) + np.minimum(np.maximum(u, v), 0)


def _triangle_distance(x, y, radius, angle):
    # Equilateral triangle: the largest signed distance to its three edge lines (exact
    # inside and across the edges, which is all the anti-aliasing needs).
    distance = None
    for k in range(3):
        normal = angle + np.pi / 3 + k * 2 * np.pi / 3
        edge = x * np.cos(normal) + y * np.sin(normal) - radius / 2
        distance = edge if distance is None else np.maximum(distance, edge)
    return distance


def draw_shapes_image(
    rng,  # np.random.Generator for this image.
    resolution,  # Output size (power of two).
    num_channels,  # 1 (grayscale) or 3 (RGB).
    kind=None,  # Draw only this SHAPE_KINDS index, None = random kinds.
):
    """Draw one image as uint8 [num_channels, resolution, resolution]."""
    pixel = 1.0 / resolution
    coords = (np.arange(resolution, dtype=np.float32) + 0.5) * pixel
    y, x = coords[:, np.newaxis], coords[np.newaxis, :]

    # Background: plain, or a linear gradient between two colours at a random angle.
    color_a = rng.uniform(0.0, 1.0, num_channels).astype(np.float32)
    img = np.empty([num_channels, resolution, resolution], np.float32)
    if rng.uniform() < 0.5:
        img[:] = color_a[:, np.newaxis, np.newaxis]
    else:
        color_b = rng.uniform(0.0, 1.0, num_channels).astype(np.float32)
        angle = rng.uniform(0.0, 2 * np.pi)
        t = np.clip((x - 0.5) * np.cos(angle) + (y - 0.5) * np.sin(angle) + 0.5, 0.0, 1.0)
        img[:] = color_a[:, np.newaxis, np.newaxis] + (color_b - color_a)[:, np.newaxis, np.newaxis] * t

    for _ in range(rng.integers(1, 5)):
        shape_kind = rng.integers(len(SHAPE_KINDS)) if kind is None else kind
        radius = rng.uniform(0.08, 0.3)
        cx, cy = rng.uniform(0.1, 0.9, 2)
        angle = rng.uniform(0.0, 2 * np.pi)
        color = rng.uniform(0.0, 1.0, num_channels).astype(np.float32)

        # Only the shape's bounding box (plus an anti-aliasing margin) is touched.
        lo = np.clip(np.floor((np.array([cy, cx]) - radius) * resolution) - 1, 0, resolution).astype(int)
        hi = np.clip(np.ceil((np.array([cy, cx]) + radius) * resolution) + 1, 0, resolution).astype(int)
        dy, dx = y[lo[0] : hi[0]] - cy, x[:, lo[1] : hi[1]] - cx
        if shape_kind == 0:
            distance = _circle_distance(dx, dy, radius)
        elif shape_kind == 1:
            distance = _square_distance(dx, dy, radius, angle)
        else:
            distance = _triangle_distance(dx, dy, radius, angle)
        coverage = np.clip(0.5 - distance / pixel, 0.0, 1.0).astype(np.float32)
        region = img[:, lo[0] : hi[0], lo[1] : hi[1]]
        region += (color[:, np.newaxis, np.newaxis] - region) * coverage
    return np.rint(img * 255.0).clip(0, 255).astype(np.uint8)


def shapes_image(
    random_seed,  # Dataset seed.
    index,  # Image index.
    resolution,  # Output size.
    num_channels,  # 1 or 3.
    labels=False,  # Draw a single kind per image and return its class too.
):
    """Image `index` of the dataset (and its class index when `labels`)."""
    rng = np.random.default_rng([random_seed, index])
    if not labels:
        return draw_shapes_image(rng, resolution, num_channels)
    kind = int(rng.integers(len(SHAPE_KINDS)))
    return draw_shapes_image(rng, resolution, num_channels, kind), kind


# ----------------------------------------------------------------------------


def create_shapes(
    tfrecord_dir,  # New dataset folder.
    resolution=32,  # Output resolution (power of two >= 4).
    num_images=10000,  # Number of images.
    num_channels=3,  # 3 = RGB, 1 = grayscale.
    random_seed=123,  # Dataset seed; same seed => identical files.
    labels=0,  # 1 = one kind of shape per image, stored as a one-hot label [N, 3].
    num_threads=None,  # Drawing threads, None = one per core.
    overwrite=False,  # Replace an existing output folder.
):
    """Write the procedural shapes dataset (deterministic, no download)."""
    if resolution < 4 or resolution & (resolution - 1):
        raise DatasetError("--resolution must be a power of two >= 4, got %d" % resolution)
    if num_channels not in (1, 3):
        raise DatasetError("--num_channels must be 1 or 3, got %d" % num_channels)
    if num_images < 1:
        raise DatasetError("--num_images must be at least 1, got %d" % num_images)
    print("Drawing %d %dx%d shape images" % (num_images, resolution, resolution))
    kinds = []

    def draw(index):
        return shapes_image(random_seed, index, resolution, num_channels, bool(labels))

    with TFRecordExporter(tfrecord_dir, num_images, overwrite=overwrite) as tfr:
        for result in ordered_map(draw, range(num_images), num_threads):
            if labels:
                result, kind = result
                kinds.append(kind)
            tfr.add_image(result)
        if labels:
            onehot = np.zeros([num_images, len(SHAPE_KINDS)], np.float32)
            onehot[np.arange(num_images), kinds] = 1.0
            tfr.add_labels(onehot)


# ----------------------------------------------------------------------------
