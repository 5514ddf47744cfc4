"""A generator as generate.py uses it: loading Gs, latents and labels, and minibatched synthesis."""

import os

import numpy as np

from networks.generators import generator_info
from networks.generators import load_generator
from networks.generators import official_uint8
from utils import cli

DEFAULT_PSI = 0.7  # pretrained_example.py: Gs.run(..., truncation_psi=0.7).
MINIBATCH = 8  # Official minibatch_size of every generation script.


def load(path):  # Snapshot or official pickle.
    """(Gs, generator_info(Gs)) of a pickle; a missing or unreadable file is a cli.UsageError."""
    if not os.path.isfile(path):
        raise cli.UsageError(f"{path}: no such network file; give a network pickle (.pkl) with --network")
    print(f'Loading network from "{path}"...', flush=True)
    try:
        Gs = load_generator(path)
    except ValueError as error:
        raise cli.UsageError(str(error).splitlines()[0]) from None
    return Gs, generator_info(Gs)


def network_id(path):  # Network pickle path.
    """Official get_id_string_for_network_pkl: '<run dir>-<pkl stem>'."""
    parts = os.path.abspath(path).replace(".pkl", "").replace("\\", "/").split("/")
    return "-".join(parts[max(len(parts) - 2, 0) :])


def seed_latents(
    seed,  # Image seed.
    latent_size,  # Gs latent dimensionality.
):
    """The official per-seed latent: RandomState(seed).randn(1, latent_size), as float32."""
    return np.random.RandomState(seed).randn(1, latent_size).astype(np.float32)


def stacked_latents(
    seeds,  # Image seeds.
    latent_size,  # Gs latent dimensionality.
):
    """[len(seeds), latent_size] official per-seed latents."""
    return np.concatenate([seed_latents(seed, latent_size) for seed in seeds])


def make_labels(
    info,  # generator_info(Gs).
    count,  # Number of images that need a label.
    class_idx=None,  # --class: one-hot class index.
    labels_path=None,  # --labels: .npy of [label_size] or [count, label_size].
):
    """Labels [count, label_size] float32; conditional networks need --class or --labels."""
    size = info["label_size"]
    if size == 0:
        if class_idx is not None or labels_path is not None:
            raise cli.UsageError("the network is unconditional (label_size 0); drop --class / --labels")
        return np.zeros([count, 0], np.float32)
    if class_idx is not None and labels_path is not None:
        raise cli.UsageError("give either --class or --labels, not both")
    if class_idx is not None:
        if not 0 <= class_idx < size:
            raise cli.UsageError(f"--class {class_idx} is out of range: the network has {size} classes (0-{size - 1})")
        labels = np.zeros([count, size], np.float32)
        labels[:, class_idx] = 1.0
        return labels
    if labels_path is None:
        raise cli.UsageError(f"the network is conditional (label_size {size}); give --class K or --labels FILE.npy")
    try:
        labels = np.load(labels_path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise cli.UsageError(
            f"{labels_path}: cannot read labels ({type(error).__name__}: {error}); "
            f"give a .npy array of [label_size] or [count, label_size]"
        ) from None
    labels = np.asarray(labels, np.float32)
    if labels.shape == (size,):
        return np.tile(labels[np.newaxis], [count, 1])
    if labels.shape == (count, size):
        return labels
    raise cli.UsageError(f"{labels_path}: labels have shape {labels.shape}; expected ({size},) or ({count}, {size})")


def check_family_options(
    info,  # generator_info(Gs).
    args,  # Parsed arguments.
):
    """StyleGAN-only options on a ProGAN network are a cli.UsageError."""
    if info["family"] == "stylegan":
        return
    for name in ("truncation_psi", "truncation_cutoff", "noise_mode"):
        if getattr(args, name, None) is not None:
            raise cli.UsageError(f"--{name} applies to StyleGAN networks only; this is a ProGAN network")


def require_stylegan(
    info,  # generator_info(Gs).
    command,  # Command name for the message.
):
    """Figures of the StyleGAN paper need a StyleGAN network."""
    if info["family"] != "stylegan":
        raise cli.UsageError(f"'{command}' applies to StyleGAN networks only; this is a ProGAN network")


def set_noise_seed(
    Gs,  # StyleGAN generator.
    seed,  # Seed of the random noise inputs.
):
    """Restart the synthesis noise generator at `seed`, so random noise is reproducible."""
    Gs.synthesis.seed_generator.state.assign(
        np.array([seed, 0], np.int64).astype(Gs.synthesis.seed_generator.state.dtype)
    )


def synthesize(
    Gs,  # Generator.
    info,  # generator_info(Gs).
    latents,  # [N, latent_size] float32.
    labels,  # [N, label_size] float32.
    psi=None,  # StyleGAN truncation_psi (None = the network's).
    cutoff=None,  # StyleGAN truncation_cutoff (None = the network's).
    noise_mode="const",  # StyleGAN noise: 'const' stored maps, 'random' fresh draws.
):
    """Float NHWC images of Gs, in minibatches of the official size."""
    options = {}  # G_paper takes no truncation or noise options.
    if info["family"] == "stylegan":
        options = dict(truncation_psi=psi, truncation_cutoff=cutoff, randomize_noise=noise_mode == "random")
    out = []
    for begin in range(0, len(latents), MINIBATCH):
        z, c = latents[begin : begin + MINIBATCH], labels[begin : begin + MINIBATCH]
        out.append(np.asarray(Gs(z, c if info["label_size"] else None, **options), np.float32))
    return np.concatenate(out)


def to_uint8(
    images,  # [N, H, W, C] float generator output.
    info,  # generator_info(Gs): picks the official conversion.
    shrink=1,  # Box-filter downscale factor.
):
    """uint8 images converted as the official code of the network's family does."""
    return official_uint8(images, info["family"], shrink)


def mapping(
    Gs,  # StyleGAN generator.
    info,  # generator_info(Gs).
    latents,  # [N, latent_size] float32.
    labels,  # [N, label_size] float32.
):
    """dlatents [N, num_layers, dlatent_size] from Gs.mapping (no truncation), as float32."""
    out = []
    for begin in range(0, len(latents), MINIBATCH):
        c = labels[begin : begin + MINIBATCH] if info["label_size"] else None
        out.append(np.asarray(Gs.mapping(latents[begin : begin + MINIBATCH], c), np.float32))
    return np.concatenate(out)


def synthesis_uint8(
    Gs,  # StyleGAN generator.
    dlatents,  # [N, num_layers, dlatent_size].
):
    """uint8 images of Gs.synthesis with the stored noise (randomize_noise=False)."""
    out = []
    for begin in range(0, len(dlatents), MINIBATCH):
        out.append(
            np.asarray(
                Gs.synthesis(np.asarray(dlatents[begin : begin + MINIBATCH], np.float32), randomize_noise=False),
                np.float32,
            )
        )
    return official_uint8(np.concatenate(out), "stylegan")
