"""What every tool needs of a generator, without importing TensorFlow: the one loader of Gs
from a network pickle, its description, and the official uint8 conversions of its images.

`load_generator` serves generate.py, the metrics and export alike; callers word their own
errors around it (a missing file, a pickle that is not a snapshot). TensorFlow is imported
only when a network is built from the pickle, so command-line tools can check their
arguments before paying for it.

The two official conversions differ: ProGAN's `Network.run(out_mul=127.5, out_add=127.5,
out_dtype=uint8)` rounds half to even (tfutil.py, `tf.round` then `tf.saturate_cast`),
StyleGAN's `convert_images_to_uint8` adds 0.5 and truncates (dnnlib/tflib/tfutil.py,
`tf.saturate_cast`). Both are kept, so a port image equals the official one bit for bit when
the floats agree.
"""

import numpy as np

from networks import official
from utils.images import box_downsample
from utils.images import to_uint8

FAMILIES = ("progan", "stylegan")

# ----------------------------------------------------------------------------
# Loading.


class SnapshotError(ValueError):
    """A network pickle that does not hold a (G, D, Gs) snapshot."""


def load_generator(path):  # Snapshot or official (G, D, Gs) pickle.
    """Gs of a network pickle; G and D are not built. Unreadable files raise ValueError."""
    states = official.read_pickle(path)
    if len(states) != 3:
        raise SnapshotError(f"{path} holds {len(states)} network(s); expected a snapshot (G, D, Gs)")
    return official.network_from_state(states[2], path)  # Only Gs is needed: skip building G and D.


# ----------------------------------------------------------------------------
# Inspection.


def generator_family(Gs):  # A ProGAN or StyleGAN generator (Keras model).
    """The network's `family`: 'progan' for G_paper, 'stylegan' for G_style."""
    family = getattr(Gs, "family", None)  # Anything else is not one of our networks.
    if family not in FAMILIES:
        raise ValueError(f"{type(Gs).__name__} is neither a ProGAN nor a StyleGAN generator")
    return family


def generator_info(Gs):  # A ProGAN or StyleGAN generator.
    """Dict of family, latent_size, label_size, resolution, num_channels (and num_layers for StyleGAN)."""
    family = generator_family(Gs)
    keys = ["latent_size", "label_size", "resolution", "num_channels"]
    if family == "stylegan":
        keys.append("num_layers")
    return dict({key: int(getattr(Gs, key)) for key in keys}, family=family)


# ----------------------------------------------------------------------------
# Official output transforms.


def official_uint8(
    images,  # [N, H, W, C] float generator output, nominally in [-1, 1].
    family,  # 'progan' or 'stylegan': which official conversion.
    shrink=1,  # Box-filter downscale factor applied first (official image_shrink).
):
    """Convert generator output to uint8 exactly as the official scripts of `family` do."""
    images = np.asarray(images, np.float32)
    if family == "progan":
        if shrink <= 1:
            return to_uint8(images, [-1, 1])  # rint(x * 127.5 + 127.5), clipped.
        # Network.run: multiply and add, then out_shrink, then round.
        scaled = images * np.float32(127.5) + np.float32(127.5)
        return to_uint8(box_downsample(scaled, int(shrink)), [0, 255])
    if family == "stylegan":
        # convert_images_to_uint8: shrink first, then x * 127.5 + 128 and saturate_cast (truncation).
        images = box_downsample(images, int(shrink)) * np.float32(127.5) + np.float32(128.0)
        return np.clip(images, 0, 255).astype(np.uint8)
    raise ValueError(f"unknown family {family!r}; use one of {FAMILIES}")
