"""Perceptual path length (PPL), as the official StyleGAN `metrics/perceptual_path_length.py`.

For each sample, two latents z0, z1 ~ N(0, I) and t ~ U(0, 1) ('full') or t = 0 ('end') are
drawn; the path is interpolated at t and t + epsilon, spherically in Z (then mapped) or linearly
in W (after mapping, on every layer's copy); both endpoints are synthesised with the same noise
(the noise maps are redrawn once per minibatch and `randomize_noise=False`), cropped to the face
region, box-downsampled to 256 if larger, mapped from [-1, 1] to [0, 255], and compared with the
LPIPS VGG16 distance; PPL is the mean of distance / epsilon^2 after dropping the samples below
the 1st and above the 99th percentile.

The generator interface is `Gs.mapping(latents, labels) -> [N, num_layers, dlatent_size]`,
`Gs.synthesis(dlatents, randomize_noise=False) -> [N, H, W, C]` in [-1, 1], `Gs.latent_size`,
`Gs.label_size`; the noise maps, if any, are the variables `Gs.synthesis.noise_maps`. The
distance is any callable `distance_fn(img0, img1) -> [N]` on NHWC float images in [0, 255];
`load_vgg16_perceptual` builds one from the official `vgg16_zhang_perceptual.pkl` (best effort:
the file was not available to check its variable layout and input normalisation against).
"""

import os

import numpy as np
import tensorflow as tf

from metrics.metric_base import downsample_to_256
from metrics.metric_base import to_numpy
from networks import official

VGG16_PERCEPTUAL_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan/networks/metrics/vgg16_zhang_perceptual.pkl"
VGG16_PERCEPTUAL_ENV_VAR = "VGG16_PERCEPTUAL"

# Official presets (metric_base.py): name -> keyword arguments of compute_ppl.
PPL_PRESETS = {
    "ppl_zfull": dict(num_samples=100000, epsilon=1e-4, space="z", sampling="full", minibatch_size=16),
    "ppl_wfull": dict(num_samples=100000, epsilon=1e-4, space="w", sampling="full", minibatch_size=16),
    "ppl_zend": dict(num_samples=100000, epsilon=1e-4, space="z", sampling="end", minibatch_size=16),
    "ppl_wend": dict(num_samples=100000, epsilon=1e-4, space="w", sampling="end", minibatch_size=16),
}

# ----------------------------------------------------------------------------


def normalize(
    v,  # [..., D] vectors.
):
    """Scale each vector to unit length (official, no epsilon)."""
    return v / np.sqrt(np.sum(np.square(v), axis=-1, keepdims=True))


def slerp(
    a,  # [N, D] start vectors (any length).
    b,  # [N, D] end vectors (any length).
    t,  # [N, 1] interpolation parameters.
):
    """Official spherical interpolation between the normalised a and b; returns unit vectors."""
    a = normalize(a)
    b = normalize(b)
    d = np.sum(a * b, axis=-1, keepdims=True)
    p = t * np.arccos(d)
    c = normalize(b - d * a)
    d = a * np.cos(p) + c * np.sin(p)
    return normalize(d)


def lerp(
    a,  # Start values.
    b,  # End values.
    t,  # Interpolation parameters (broadcast).
):
    """Official tflib.lerp: a + (b - a) * t."""
    return a + (b - a) * t


# ----------------------------------------------------------------------------


def randomize_noise_maps(
    Gs,  # Generator whose `synthesis.noise_maps` (if any) are redrawn.
    rng,  # np.random.RandomState.
):
    """Redraw the stored per-layer noise maps from N(0, 1), as rerunning their initializers."""
    for var in getattr(getattr(Gs, "synthesis", None), "noise_maps", None) or []:
        var.assign(rng.standard_normal(tuple(var.shape)).astype(np.float32))


def crop_face(
    images,  # [N, H, W, C] images.
):
    """The official face crop: rows 3H/8 .. 7H/8, columns 2W/8 .. 6W/8 (H/8 rounded down)."""
    c = images.shape[1] // 8
    return images[:, c * 3 : c * 7, c * 2 : c * 6, :]


def _labels(Gs, count, rng):
    """None for unconditional generators; random one-hot labels otherwise (extension)."""
    if not getattr(Gs, "label_size", 0):
        return None
    return np.eye(Gs.label_size, dtype=np.float32)[rng.randint(Gs.label_size, size=count)]


def path_length_samples(
    Gs,  # Generator (see module docstring).
    distance_fn,  # Callable(img0, img1) -> [N], NHWC float images in [0, 255].
    num_samples=100000,  # Samples to draw (rounded up to whole minibatches, as official).
    epsilon=1e-4,  # Step along the path.
    space="z",  # 'z' (slerp of latents) or 'w' (lerp of dlatents).
    sampling="full",  # 'full' (t ~ U(0, 1)) or 'end' (t = 0).
    crop=True,  # Face crop (the official code always crops).
    minibatch_size=16,  # Samples per minibatch (official: 16 per GPU).
    seed=None,  # Seed or RandomState of all draws.
):
    """The per-sample scaled distances d / epsilon^2, before outlier rejection.

    Per minibatch the draws are, in order: z [2 * minibatch, latent_size] (pairs interleaved),
    t [minibatch], (labels,) then the noise maps.
    """
    if space not in ("z", "w"):
        raise ValueError(f"space must be 'z' or 'w', got {space!r}")
    if sampling not in ("full", "end"):
        raise ValueError(f"sampling must be 'full' or 'end', got {sampling!r}")
    rng = seed if isinstance(seed, np.random.RandomState) else np.random.RandomState(seed)
    distances = []
    for _ in range(0, num_samples, minibatch_size):
        lat_t01 = rng.standard_normal([minibatch_size * 2, Gs.latent_size]).astype(np.float32)
        lerp_t = rng.uniform(0.0, 1.0 if sampling == "full" else 0.0, [minibatch_size]).astype(np.float32)
        labels = _labels(Gs, minibatch_size, rng)
        labels = None if labels is None else np.repeat(labels, 2, axis=0)  # Same label at both ends.

        if space == "w":
            dlat_t01 = to_numpy(Gs.mapping(lat_t01, labels))
            dlat_t0, dlat_t1 = dlat_t01[0::2], dlat_t01[1::2]
            dlat_e0 = lerp(dlat_t0, dlat_t1, lerp_t[:, np.newaxis, np.newaxis])
            dlat_e1 = lerp(dlat_t0, dlat_t1, lerp_t[:, np.newaxis, np.newaxis] + np.float32(epsilon))
            dlat_e01 = np.stack([dlat_e0, dlat_e1], axis=1).reshape(dlat_t01.shape)
        else:
            lat_t0, lat_t1 = lat_t01[0::2], lat_t01[1::2]
            lat_e0 = slerp(lat_t0, lat_t1, lerp_t[:, np.newaxis])
            lat_e1 = slerp(lat_t0, lat_t1, lerp_t[:, np.newaxis] + np.float32(epsilon))
            lat_e01 = np.stack([lat_e0, lat_e1], axis=1).reshape(lat_t01.shape)
            dlat_e01 = to_numpy(Gs.mapping(lat_e01, labels))

        randomize_noise_maps(Gs, rng)  # Same noise for the whole minibatch.
        images = to_numpy(Gs.synthesis(dlat_e01.astype(np.float32), randomize_noise=False))
        if crop:
            images = crop_face(images)
        images = downsample_to_256(images)
        images = (images + 1) * (255 / 2)
        img_e0, img_e1 = images[0::2], images[1::2]
        distances.append(np.asarray(to_numpy(distance_fn(img_e0, img_e1)), np.float64).reshape(-1) * (1 / epsilon**2))
    return np.concatenate(distances, axis=0)


def filtered_mean(
    distances,  # [N] scaled distances.
):
    """Official outlier rejection: keep 1st percentile ('lower') <= d <= 99th ('higher'); mean."""
    lo = np.percentile(distances, 1, method="lower")
    hi = np.percentile(distances, 99, method="higher")
    return float(np.mean(np.extract(np.logical_and(lo <= distances, distances <= hi), distances)))


def compute_ppl(
    Gs,  # Generator (see module docstring).
    distance_fn,  # Callable(img0, img1) -> [N], NHWC float images in [0, 255].
    num_samples=100000,  # Samples to draw.
    epsilon=1e-4,  # Step along the path.
    space="z",  # 'z' or 'w'.
    sampling="full",  # 'full' or 'end'.
    crop=True,  # Face crop (the official code always crops).
    minibatch_size=16,  # Samples per minibatch.
    seed=None,  # Seed or RandomState of all draws.
):
    """Perceptual path length of `Gs` (float)."""
    return filtered_mean(
        path_length_samples(Gs, distance_fn, num_samples, epsilon, space, sampling, crop, minibatch_size, seed)
    )


# ----------------------------------------------------------------------------
# LPIPS (Zhang et al. 2018) on VGG16, the distance inside vgg16_zhang_perceptual.pkl.

# Channels of the 13 VGG16 3x3 convolutions; LPIPS reads the ReLU output of the last
# convolution of each of the 5 blocks.
VGG16_CONV_CHANNELS = [
    (3, 64),
    (64, 64),
    (64, 128),
    (128, 128),
    (128, 256),
    (256, 256),
    (256, 256),
    (256, 512),
    (512, 512),
    (512, 512),
    (512, 512),
    (512, 512),
    (512, 512),
]
VGG16_BLOCK_ENDS = (1, 3, 6, 9, 12)  # Indices of the convolutions whose outputs LPIPS compares.
LPIPS_CHANNELS = (64, 128, 256, 512, 512)


class LPIPSVGG16:
    """LPIPS distance: VGG16 features at 5 depths, unit-normalised over channels (eps 1e-10),
    squared differences weighted per channel by the linear heads, averaged over space and
    summed over depths.

    Input: NHWC float images in [0, 255]. They are mapped to [0, 1] and normalised with
    `input_mean` / `input_std` (ImageNet statistics by default; the normalisation inside the
    official pickle is UNCONFIRMED, see the spec, 5.6).
    """

    def __init__(
        self,
        conv_kernels,  # 13 HWIO [3, 3, in, out] kernels.
        conv_biases,  # 13 [out] biases.
        lpips_weights,  # 5 [channels] non-negative head weights.
        input_mean=(0.485, 0.456, 0.406),  # Per-channel mean of the [0, 1] input.
        input_std=(0.229, 0.224, 0.225),  # Per-channel standard deviation of the [0, 1] input.
    ):
        if len(conv_kernels) != 13 or len(conv_biases) != 13 or len(lpips_weights) != 5:
            raise ValueError("LPIPS VGG16 needs 13 conv kernels, 13 biases and 5 head weights")
        self._tf = tf
        self.conv_kernels = [tf.constant(np.asarray(k, np.float32)) for k in conv_kernels]
        self.conv_biases = [tf.constant(np.asarray(b, np.float32).reshape(-1)) for b in conv_biases]
        self.lpips_weights = [tf.constant(np.asarray(w, np.float32).reshape(-1)) for w in lpips_weights]
        self.input_mean = tf.constant(np.float32(input_mean))
        self.input_std = tf.constant(np.float32(input_std))
        self._distance = tf.function(self._graph, reduce_retracing=True)

    def _features(self, x):
        tf = self._tf
        x = (x / 255.0 - self.input_mean) / self.input_std
        features = []
        for idx, (kernel, bias) in enumerate(zip(self.conv_kernels, self.conv_biases)):
            x = tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME") + bias)
            if idx in VGG16_BLOCK_ENDS:
                features.append(x)
                if idx != VGG16_BLOCK_ENDS[-1]:  # pool5 is not used.
                    x = tf.nn.max_pool2d(x, 2, 2, "VALID")
        return features

    def _graph(self, img0, img1):
        tf = self._tf
        count = tf.shape(img0)[0]
        features = self._features(tf.concat([img0, img1], axis=0))
        score = 0.0
        for feature, weight in zip(features, self.lpips_weights):
            feature = feature / (tf.sqrt(tf.reduce_sum(tf.square(feature), axis=-1, keepdims=True)) + 1e-10)
            diff = tf.square(feature[:count] - feature[count:])
            score += tf.reduce_mean(tf.reduce_sum(diff * weight, axis=-1), axis=[1, 2])
        return score

    def __call__(self, img0, img1):
        """[N] distances between two batches of NHWC images in [0, 255]."""
        tf = self._tf
        return self._distance(tf.convert_to_tensor(img0, tf.float32), tf.convert_to_tensor(img1, tf.float32)).numpy()


def lpips_from_variables(
    variables,  # Ordered mapping name -> array, in creation order (official pickle).
    source="variables",  # Where they come from, for error messages.
):
    """Pick the VGG16 kernels, biases and LPIPS heads out of a network's variables by shape.

    Kernels are the 3x3 rank-4 arrays in order (HWIO, as TF stores them); each bias is the
    rank-1 array of the kernel's output size that follows it; the heads are the remaining
    arrays of 64, 128, 256, 512, 512 values, in order.
    """
    items = list(variables.items())
    kernels, biases, used = [], [], set()
    for idx, (_name, value) in enumerate(items):
        value = np.asarray(value)
        if value.ndim == 4 and value.shape[:2] == (3, 3):
            kernels.append(value)
            used.add(idx)
            out = value.shape[3]
            for later in range(idx + 1, len(items)):
                candidate = np.asarray(items[later][1])
                if later not in used and candidate.ndim == 1 and candidate.shape[0] == out:
                    biases.append(candidate)
                    used.add(later)
                    break
    shapes = [tuple(k.shape[2:]) for k in kernels]
    if shapes != VGG16_CONV_CHANNELS or len(biases) != 13:
        raise ValueError(
            f"{source}: not a VGG16 LPIPS network (3x3 kernels in/out {shapes}, {len(biases)} biases); "
            f"pass a distance_fn of your own or the official {VGG16_PERCEPTUAL_URL}"
        )
    heads = []
    for idx, (_name, value) in enumerate(items):
        value = np.asarray(value)
        if idx in used or len(heads) == 5 or value.size != LPIPS_CHANNELS[len(heads)]:
            continue
        if value.ndim == 1 or (value.ndim == 4 and value.shape[:2] == (1, 1)):
            heads.append(value.reshape(-1))
    if len(heads) != 5:
        raise ValueError(f"{source}: found the VGG16 trunk but not the 5 LPIPS heads of {LPIPS_CHANNELS} channels")
    return LPIPSVGG16(kernels, biases, heads)


def load_vgg16_perceptual(
    path=None,  # vgg16_zhang_perceptual.pkl; None = $VGG16_PERCEPTUAL.
):
    """The LPIPS distance of the official pickle, read safely (no code from the file runs)."""
    path = path or os.environ.get(VGG16_PERCEPTUAL_ENV_VAR)
    if not path or not os.path.isfile(path):
        raise FileNotFoundError(
            f"perceptual network {path or '(none given)'} not found: download {VGG16_PERCEPTUAL_URL} "
            f"and pass its path or set {VGG16_PERCEPTUAL_ENV_VAR}"
        )
    states = official.read_pickle(path)
    return lpips_from_variables(states[-1].variables, source=path)


# ----------------------------------------------------------------------------
