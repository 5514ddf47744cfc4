"""Image arrays: uint8 conversion, grids, box downsampling and PIL images."""

import numpy as np
import PIL.Image


def to_uint8(
    images,  # Float or integer NHWC array.
    drange,  # Dynamic range of `images`, e.g. [-1, 1] or [0, 255].
):
    """Map images to [0,255] and round as the official convert_to_pil_image (rint, clip)."""
    images = np.asarray(images, np.float32)
    scale = (np.float32(255) - np.float32(0)) / (np.float32(drange[1]) - np.float32(drange[0]))
    bias = np.float32(0) - np.float32(drange[0]) * scale
    return np.clip(np.rint(images * scale + bias), 0, 255).astype(np.uint8)


def create_image_grid(
    images,  # [N, H, W, C] array.
    grid_size,  # (columns, rows); images fill rows left to right, top to bottom.
):
    """Tile images row-major into one [rows*H, cols*W, C] array."""
    gw, gh = grid_size
    num, height, width, channels = images.shape
    grid = np.zeros([gh * height, gw * width, channels], dtype=images.dtype)
    for idx in range(min(num, gw * gh)):
        x, y = (idx % gw) * width, (idx // gw) * height
        grid[y : y + height, x : x + width] = images[idx]
    return grid


def box_downsample(
    images,  # [N, H, W, C] float array.
    factor,  # Integer box-filter factor; H and W are cropped to multiples of it.
):
    """Mean over factor x factor blocks, in the dtype of `images` (the official `tf.nn.avg_pool` VALID)."""
    if factor <= 1:
        return images
    n, h, w, c = images.shape
    h, w = h // factor, w // factor
    images = images[:, : h * factor, : w * factor]
    return images.reshape(n, h, factor, w, factor, c).mean(axis=(2, 4))


def to_pil(
    image,  # [H, W, C] uint8, C = 1 or 3.
):
    """A PIL image: mode 'L' for one channel, 'RGB' for three."""
    return PIL.Image.fromarray(image[:, :, 0], "L") if image.shape[2] == 1 else PIL.Image.fromarray(image, "RGB")
