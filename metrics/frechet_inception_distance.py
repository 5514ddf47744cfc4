"""Frechet Inception distance (FID), as the official ProGAN `metrics/frechet_inception_distance.py`.

Features are the 2048-D `pool_3` activations of the 2015-12-05 Inception graph (see
`metrics/inception.py`) for uint8 NHWC images fed at native resolution; each set is summarised
by its mean and covariance (`np.cov`, ddof 1) and

    FID = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2)),

with `scipy.linalg.sqrtm(disp=False)` (its equivalent on SciPy >= 1.16) and the real part of the result (TTUR). Statistics of
real images can be cached as .npz files (mu, sigma) keyed by dataset path and image count.
"""

import hashlib
import inspect
import os
import warnings

import numpy as np
import scipy.linalg

from metrics import inception
from metrics.metric_base import minibatches
from utils import files

# ----------------------------------------------------------------------------


def _sqrtm(matrix):
    """scipy.linalg.sqrtm as `sqrtm(disp=False)`: the root only, no diagnostics.

    SciPy >= 1.16 deprecates `disp` (the root is returned alone and problems are warnings),
    so the argument is passed only to versions whose default is still a bool.
    """
    if isinstance(inspect.signature(scipy.linalg.sqrtm).parameters["disp"].default, bool):
        return scipy.linalg.sqrtm(matrix, disp=False)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return scipy.linalg.sqrtm(matrix)


def frechet_distance(
    mu1,  # [D] mean of the first set.
    sigma1,  # [D, D] covariance of the first set.
    mu2,  # [D] mean of the second set.
    sigma2,  # [D, D] covariance of the second set.
):
    """Official `calculate_frechet_distance` (TTUR with sqrtm(disp=False) and the real part)."""
    mu1, mu2 = np.asarray(mu1), np.asarray(mu2)
    sigma1, sigma2 = np.asarray(sigma1), np.asarray(sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(
            f"mismatched statistics: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}"
        )
    m = np.square(mu1 - mu2).sum()
    s = _sqrtm(np.dot(sigma1, sigma2))
    dist = m + np.trace(sigma1 + sigma2 - 2 * s)
    return float(np.real(dist))


def statistics_from_features(
    features,  # [N, D] activations.
):
    """(mu, sigma) as official: mean over images and np.cov(rowvar=False) (ddof 1)."""
    features = np.asarray(features, np.float64)
    return np.mean(features, axis=0), np.cov(features, rowvar=False)


def compute_features(
    images,  # uint8 [N, H, W, C] array, or an iterable of such minibatches.
    graph_path=None,  # Inception graph (.pb or .tgz); None = $INCEPTION_GRAPH.
    minibatch_size=50,  # Images per graph call when an array is given.
):
    """[N, 2048] pool_3 features (float64, as the official code stores them)."""
    net = inception.load_inception(graph_path)
    parts = [net.features(batch) for batch in minibatches(images, minibatch_size)]
    if not parts:
        raise ValueError("no images given")
    return np.concatenate(parts, axis=0).astype(np.float64)


def compute_statistics(
    images,  # uint8 [N, H, W, C] array, or an iterable of such minibatches.
    graph_path=None,  # Inception graph (.pb or .tgz); None = $INCEPTION_GRAPH.
    minibatch_size=50,  # Images per graph call when an array is given.
):
    """(mu [2048], sigma [2048, 2048]) of the pool_3 features of `images`."""
    return statistics_from_features(compute_features(images, graph_path, minibatch_size))


# ----------------------------------------------------------------------------
# Cache of real-image statistics.


def statistics_cache_path(
    dataset_path,  # Dataset the reals come from (any string identifying it).
    num_images,  # Number of real images the statistics cover.
    cache_dir,  # Directory of the cache files.
):
    """Cache file for (dataset, num_images): '<cache_dir>/fid-<name>-<num>-<md5>.npz'."""
    key = f"{os.path.abspath(str(dataset_path))}|{int(num_images)}"
    digest = hashlib.md5(key.encode("utf-8")).hexdigest()[:16]
    name = os.path.basename(os.path.normpath(str(dataset_path))) or "dataset"
    return os.path.join(cache_dir, f"fid-{name}-{int(num_images)}-{digest}.npz")


def load_statistics(
    path,  # .npz file with arrays 'mu' and 'sigma'.
):
    """(mu, sigma) from a statistics file, with a one-line error when it is not one."""
    try:
        with np.load(path) as data:
            return data["mu"], data["sigma"]
    except (OSError, ValueError, KeyError, EOFError) as error:
        raise ValueError(
            f"{path!r} is not a FID statistics .npz with 'mu' and 'sigma' ({type(error).__name__}): delete it to recompute"
        ) from None


def save_statistics(
    path,  # Destination .npz.
    mu,  # [D] mean.
    sigma,  # [D, D] covariance.
):
    """Write (mu, sigma) atomically: to a temporary name, then rename."""
    with files.atomic_path(path, suffix=".npz") as tmp:  # np.savez appends .npz to other names.
        np.savez(tmp, mu=mu, sigma=sigma)


def cached_real_statistics(
    dataset_path,  # Dataset the reals come from (cache key).
    num_images,  # Number of real images (cache key).
    reals_fn,  # Callable returning uint8 NHWC minibatches of exactly num_images reals.
    cache_dir,  # Directory of the cache files.
    graph_path=None,  # Inception graph (.pb or .tgz); None = $INCEPTION_GRAPH.
):
    """(mu, sigma) of the reals, computed once per (dataset, num_images) and cached."""
    path = statistics_cache_path(dataset_path, num_images, cache_dir)
    if os.path.isfile(path):
        return load_statistics(path)
    features = compute_features(reals_fn(), graph_path)
    if features.shape[0] != num_images:
        raise ValueError(f"reals_fn gave {features.shape[0]} images, expected {num_images}")
    mu, sigma = statistics_from_features(features)
    save_statistics(path, mu, sigma)
    return mu, sigma


# ----------------------------------------------------------------------------


def _is_statistics(value):
    """A (mu [D], sigma [D, D]) pair, as opposed to images."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return False
    mu, sigma = (np.asarray(v) for v in value)
    return mu.ndim == 1 and sigma.shape == (mu.shape[0], mu.shape[0])


def compute_fid(
    reals_or_stats,  # Real uint8 NHWC images (array/iterable), a (mu, sigma) pair, or a .npz path.
    fakes,  # Generated uint8 NHWC images (array/iterable).
    graph_path=None,  # Inception graph (.pb or .tgz); None = $INCEPTION_GRAPH.
    minibatch_size=50,  # Images per graph call when arrays are given.
):
    """FID between the reals (or their statistics) and the fakes."""
    if isinstance(reals_or_stats, (str, os.PathLike)):
        mu_real, sigma_real = load_statistics(reals_or_stats)
    elif _is_statistics(reals_or_stats):
        mu_real, sigma_real = reals_or_stats
    else:
        mu_real, sigma_real = compute_statistics(reals_or_stats, graph_path, minibatch_size)
    mu_fake, sigma_fake = compute_statistics(fakes, graph_path, minibatch_size)
    return frechet_distance(mu_fake, sigma_fake, mu_real, sigma_real)


class API:
    """The official metric API: 'warmup'/'reals' passes set the reference statistics; `end` -> [FID]."""

    def __init__(
        self,
        num_images=None,  # Images per pass (official API argument; informational).
        image_shape=None,  # [H, W, C] (official API argument; unused).
        image_dtype=np.uint8,  # Image dtype (official API argument; unused).
        minibatch_size=None,  # Images per feed (official API argument; unused).
        graph_path=None,  # Inception graph (.pb or .tgz); None = $INCEPTION_GRAPH.
    ):
        self.net = inception.load_inception(graph_path)
        self.activations = []
        self.mu_real = self.sigma_real = None

    def get_metric_names(self):
        """Names of the values `end` returns."""
        return ["FID"]

    def get_metric_formatting(self):
        """printf formats of the values, as official."""
        return ["%-10.4f"]

    def begin(self, mode):
        """Start a pass."""
        if mode not in ("warmup", "reals", "fakes"):
            raise ValueError(f"mode must be 'warmup', 'reals' or 'fakes', got {mode!r}")
        self.activations = []

    def feed(self, mode, minibatch):
        """Add the features of one uint8 NHWC minibatch."""
        self.activations.append(self.net.features(minibatch).astype(np.float64))

    def end(self, mode):
        """Finish a pass; returns [FID against the reference]."""
        mu, sigma = statistics_from_features(np.concatenate(self.activations))
        self.activations = []
        if mode in ("warmup", "reals"):
            self.mu_real, self.sigma_real = mu, sigma
        if self.mu_real is None:
            raise ValueError("the 'fakes' pass needs a 'reals' (or 'warmup') pass first")
        return [frechet_distance(mu, sigma, self.mu_real, self.sigma_real)]


# ----------------------------------------------------------------------------
