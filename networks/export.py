"""Export of a generator for serving, and the TensorFlow twin of the official uint8 transforms.

A trained (or official) generator `Gs` leaves the project in two forms:

* a TensorFlow SavedModel whose `serving_default` signature takes `latents`
  float32 [None, latent_size] (plus `labels` float32 [None, label_size] when the
  network is conditional, plus a scalar `truncation_psi` for StyleGAN) and
  returns `images` uint8 [None, H, W, C], converted exactly as the official
  scripts convert them (`official_uint8`);
* a native Keras `.keras` file of `Gs` (reload with `load_keras`).

The conversions themselves, `generator_family` and `generator_info` live in
`networks.generators` (no TensorFlow) and are re-exported here.

Public API: `generator_family`, `generator_info`, `official_uint8`,
`official_uint8_tf`, `GeneratorServer`, `export_saved_model`, `export_keras`,
`load_keras`.
"""

import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from networks import progan  # noqa: F401  (registers the serializable classes that load_keras reads)
from networks import stylegan  # noqa: F401  (likewise)
from networks.generators import FAMILIES
from networks.generators import generator_family
from networks.generators import generator_info
from networks.generators import official_uint8  # noqa: F401  (public API of this module, as before)
from utils import files

NOISE_MODES = ("const", "random")

# ----------------------------------------------------------------------------
# Official output transforms.


def official_uint8_tf(
    images,  # [N, H, W, C] float32 tensor.
    family,  # 'progan' or 'stylegan'.
):
    """The TensorFlow twin of `official_uint8` (without shrink), for serving graphs."""
    images = tf.cast(images, tf.float32)
    if family == "progan":
        return tf.saturate_cast(tf.round(images * 127.5 + 127.5), tf.uint8)
    if family == "stylegan":
        return tf.saturate_cast(images * 127.5 + 128.0, tf.uint8)
    raise ValueError(f"unknown family {family!r}; use one of {FAMILIES}")


# ----------------------------------------------------------------------------
# SavedModel.


def _serving_network(Gs):
    """The network traced for serving: at lod 0 a StyleGAN generator is rebuilt with the
    'fixed' structure (the plain chain that 'recursive' reduces to at lod 0), which traces
    several times faster and serves without conds; otherwise Gs itself."""
    if generator_family(Gs) != "stylegan" or float(np.asarray(Gs.lod)) != 0.0:
        return Gs
    if float(np.asarray(Gs.synthesis.lod)) != 0.0:
        return Gs
    clone = type(Gs).from_config(dict(Gs.get_config(), structure="fixed"))
    clone.copy_official_values(Gs)
    return clone


class GeneratorServer(tf.Module):
    """A tf.Module around a generator whose `serve` function returns official uint8 images.

    `serve(latents[, labels][, truncation_psi])` -> {'images': uint8 [N, H, W, C]}. For
    StyleGAN, truncation is G_style's (`Generator.truncate`: layers < the network's
    `truncation_cutoff` are pulled toward `dlatent_avg`; psi == 1 disables it exactly) and the noise inputs are the
    stored maps (`noise_mode='const'`) or fresh draws (`'random'`).
    """

    def __init__(
        self,
        Gs,  # ProGAN or StyleGAN generator.
        noise_mode="const",  # StyleGAN: 'const' = stored noise maps, 'random' = fresh noise.
        name=None,  # Module name.
    ):
        super().__init__(name=name)
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        self.info = generator_info(Gs)
        self.family = self.info["family"]
        self.noise_mode = noise_mode
        self.net = _serving_network(Gs)
        specs = [tf.TensorSpec([None, self.info["latent_size"]], tf.float32, name="latents")]
        if self.info["label_size"]:
            specs.append(tf.TensorSpec([None, self.info["label_size"]], tf.float32, name="labels"))
        if self.family == "stylegan":
            specs.append(tf.TensorSpec([], tf.float32, name="truncation_psi"))
        self.serve = tf.function(self._serve, input_signature=specs)

    def _serve(
        self,
        latents,  # [N, latent_size] float32.
        *args,  # labels [N, label_size] if conditional, then truncation_psi if StyleGAN.
    ):
        args = list(args)
        labels = args.pop(0) if self.info["label_size"] else None
        if self.family == "progan":
            images = self.net(latents, labels)
        else:
            images = self._stylegan(latents, labels, args.pop(0))
        return {"images": official_uint8_tf(images, self.family)}

    def _stylegan(
        self,
        latents,  # [N, latent_size] float32.
        labels,  # [N, label_size] float32 or None.
        psi,  # Scalar truncation_psi tensor.
    ):
        net = self.net
        dlatents = net.mapping(latents, labels)
        cutoff = net.truncation_cutoff
        if cutoff is not None and cutoff > 0:
            dlatents = net.truncate(dlatents, psi, cutoff)  # G_style's; psi == 1 is exactly untruncated.
        net.synthesis.lod.assign(net.lod)
        return net.synthesis(dlatents, randomize_noise=self.noise_mode == "random")


def export_saved_model(
    Gs,  # ProGAN or StyleGAN generator.
    path,  # Output SavedModel directory (replaced when complete).
    noise_mode="const",  # StyleGAN noise inputs baked into the signature.
):
    """Write a SavedModel with a `serving_default` signature returning uint8 `images`; return path."""
    path = os.path.abspath(os.fspath(path))
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    server = GeneratorServer(Gs, noise_mode=noise_mode)
    tmp = files.temp_directory(path)
    try:
        tf.saved_model.save(server, tmp, signatures={"serving_default": server.serve.get_concrete_function()})
        files.replace_directory(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


# ----------------------------------------------------------------------------
# Native Keras file.


def export_keras(
    Gs,  # ProGAN or StyleGAN generator.
    path,  # Output path ending in '.keras' (replaced when complete).
):
    """Save Gs as a native Keras archive (config + weights, including lod); return path."""
    path = os.path.abspath(os.fspath(path))
    if not path.endswith(".keras"):
        raise ValueError(f"{path}: a Keras archive must end in .keras")
    with files.atomic_path(path, suffix=".keras") as tmp:  # Keras saves only to names ending in .keras.
        Gs.save(tmp)
    return path


def load_keras(path):  # A .keras file written by `export_keras`.
    """Load a generator saved by `export_keras` (registers the ProGAN and StyleGAN classes first)."""
    return keras.saving.load_model(os.fspath(path), compile=False)


# ----------------------------------------------------------------------------
