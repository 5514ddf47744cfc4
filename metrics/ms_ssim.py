"""Multi-scale structural similarity (MS-SSIM) between pairs of generated images.

Port of the official ProGAN `metrics/ms_ssim.py`, itself the TensorFlow-models compression
`msssim.py` (a NumPy port of Zhou Wang's MATLAB code): Gaussian window 11x11 with sigma 1.5
(shrunk for small images), k1 0.01, k2 0.03, max_val 255, 'valid' FFT convolution, 5 scales
weighted [0.0448, 0.2856, 0.3001, 0.2363, 0.1333] with 2x2 average downsampling in between.
The metric scores consecutive images (0 with 1, 2 with 3, ...) and averages over the pairs;
lower means more varied images.

Arithmetic follows the official code step by step (float32 images and downsampling, float64
filtered statistics from `scipy.signal.fftconvolve`), so results agree with it to rounding.
"""

import numpy as np
from scipy import signal

from metrics.metric_base import thread_pool

MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003 (do not sum to 1).
_PAIR_CHUNK_VALUES = 256 * 256 * 3  # Pixel values per image in one threaded job (cache-sized).

# ----------------------------------------------------------------------------


def _FSpecialGauss(
    size,  # Window size in pixels.
    sigma,  # Standard deviation in pixels.
):
    """Normalised 2-D Gaussian window like MATLAB's fspecial('gaussian')."""
    radius = size // 2
    offset = 0.0
    start, stop = -radius, radius + 1
    if size % 2 == 0:  # Even sizes are centred between pixels.
        offset = 0.5
        stop -= 1
    x, y = np.mgrid[offset + start : stop, offset + start : stop]
    g = np.exp(-((x**2 + y**2) / (2.0 * sigma**2)))
    return g / g.sum()


def _check_pair(img1, img2):
    if img1.shape != img2.shape:
        raise ValueError(f"images must have the same shape ({img1.shape} vs. {img2.shape})")
    if img1.ndim != 4:
        raise ValueError(f"images must be [N, H, W, C], got {img1.ndim} dimensions")


def _SSIMForMultiScale(
    img1,  # [N, H, W, C] first images.
    img2,  # [N, H, W, C] second images.
    max_val=255,  # Dynamic range of the images.
    filter_size=11,  # Gaussian window size (reduced for small images).
    filter_sigma=1.5,  # Gaussian sigma (reduced in proportion).
    k1=0.01,  # Stability constant of the luminance term.
    k2=0.03,  # Stability constant of the contrast-structure term.
):
    """Per-image (ssim, cs) at one scale, each [N] float64."""
    _check_pair(img1, img2)
    img1 = img1.astype(np.float32)
    img2 = img2.astype(np.float32)
    _, height, width, _ = img1.shape
    size = min(filter_size, height, width)
    sigma = size * filter_sigma / filter_size if filter_size else 0

    if filter_size:
        window = np.reshape(_FSpecialGauss(size, sigma), (1, size, size, 1))
        blur = lambda x: signal.fftconvolve(x, window, mode="valid", axes=(1, 2))
        mu1 = blur(img1)
        mu2 = blur(img2)
        sigma11 = blur(img1 * img1)
        sigma22 = blur(img2 * img2)
        sigma12 = blur(img1 * img2)
    else:
        mu1, mu2 = img1, img2
        sigma11 = img1 * img1
        sigma22 = img2 * img2
        sigma12 = img1 * img2

    mu11 = mu1 * mu1
    mu22 = mu2 * mu2
    mu12 = mu1 * mu2
    sigma11 -= mu11
    sigma22 -= mu22
    sigma12 -= mu12

    c1 = (k1 * max_val) ** 2
    c2 = (k2 * max_val) ** 2
    v1 = 2.0 * sigma12 + c2
    v2 = sigma11 + sigma22 + c2
    ssim = np.mean((((2.0 * mu12 + c1) * v1) / ((mu11 + mu22 + c1) * v2)), axis=(1, 2, 3))
    cs = np.mean(v1 / v2, axis=(1, 2, 3))
    return ssim, cs


def _HoxDownsample(img):
    """2x2 box downsampling (in the dtype of `img`, float32 here)."""
    return (img[:, 0::2, 0::2, :] + img[:, 1::2, 0::2, :] + img[:, 0::2, 1::2, :] + img[:, 1::2, 1::2, :]) * 0.25


def msssim_per_image(
    img1,  # [N, H, W, C] first images (any numeric dtype, 0..max_val).
    img2,  # [N, H, W, C] second images.
    max_val=255,  # Dynamic range of the images.
    filter_size=11,  # Gaussian window size (reduced for small images).
    filter_sigma=1.5,  # Gaussian sigma (reduced in proportion).
    k1=0.01,  # Stability constant of the luminance term.
    k2=0.03,  # Stability constant of the contrast-structure term.
    weights=None,  # Per-scale weights; None = the 5 weights of the paper.
):
    """MS-SSIM of each pair, [N] float64: prod(cs_i ** w_i, i < last) * ssim_last ** w_last."""
    _check_pair(img1, img2)
    weights = np.array(weights if weights else MSSSIM_WEIGHTS)
    im1, im2 = [x.astype(np.float32) for x in (img1, img2)]
    mssim = []
    mcs = []
    for _ in range(weights.size):
        ssim, cs = _SSIMForMultiScale(im1, im2, max_val, filter_size, filter_sigma, k1, k2)
        mssim.append(ssim)
        mcs.append(cs)
        im1, im2 = [_HoxDownsample(x) for x in (im1, im2)]
    mssim = np.clip(np.asarray(mssim), 0.0, np.inf)  # Negative values would give NaNs.
    mcs = np.clip(np.asarray(mcs), 0.0, np.inf)
    return np.prod(mcs[:-1, :] ** weights[:-1, np.newaxis], axis=0) * (mssim[-1, :] ** weights[-1])


def msssim(
    img1,  # [N, H, W, C] first images.
    img2,  # [N, H, W, C] second images.
    **kwargs,  # As msssim_per_image.
):
    """Official `msssim`: the mean over pairs of the per-pair MS-SSIM."""
    return float(np.mean(msssim_per_image(img1, img2, **kwargs)))


def msssim_pairs(
    img1,  # [N, H, W, C] first images.
    img2,  # [N, H, W, C] second images.
):
    """`msssim_per_image` with the default parameters, a few pairs at a time on worker threads.

    Every pair is computed independently (the FFTs run over the spatial axes only), so the
    values are identical to one call on the whole batch.
    """
    _check_pair(img1, img2)
    pairs = max(1, _PAIR_CHUNK_VALUES // max(1, int(np.prod(img1.shape[1:]))))
    if img1.shape[0] <= pairs:
        return msssim_per_image(img1, img2)
    pool = thread_pool()
    jobs = [
        pool.submit(msssim_per_image, img1[i : i + pairs], img2[i : i + pairs]) for i in range(0, img1.shape[0], pairs)
    ]
    return np.concatenate([job.result() for job in jobs])


# ----------------------------------------------------------------------------


class API:
    """The official metric API: `begin(mode)`, `feed(mode, minibatch)`, `end(mode)` -> [MS-SSIM].

    Each minibatch (uint8 NHWC, even size) contributes its pairs (0,1), (2,3), ...; the result is
    the mean over all pairs fed since `begin`.
    """

    def __init__(
        self,
        num_images=None,  # Images per pass (official API argument; must be even).
        image_shape=None,  # [H, W, C] (official API argument; unused).
        image_dtype=np.uint8,  # Image dtype (official API argument; unused).
        minibatch_size=None,  # Images per feed (official API argument; must be even).
    ):
        if (num_images is not None and num_images % 2) or (minibatch_size is not None and minibatch_size % 2):
            raise ValueError(f"MS-SSIM needs even num_images and minibatch_size, got {num_images} and {minibatch_size}")
        self.num_images = num_images
        self.sum = 0.0
        self.num_pairs = 0

    def get_metric_names(self):
        """Names of the values `end` returns."""
        return ["MS-SSIM"]

    def get_metric_formatting(self):
        """printf formats of the values, as official."""
        return ["%-10.4f"]

    def begin(self, mode):
        """Start a pass."""
        if mode not in ("warmup", "reals", "fakes"):
            raise ValueError(f"mode must be 'warmup', 'reals' or 'fakes', got {mode!r}")
        self.sum = 0.0
        self.num_pairs = 0

    def feed(self, mode, minibatch):
        """Score the consecutive pairs of one uint8 NHWC minibatch."""
        minibatch = np.asarray(minibatch)
        if minibatch.ndim != 4 or minibatch.shape[0] % 2:
            raise ValueError(f"expected an even number of NHWC images, got shape {minibatch.shape}")
        score = float(np.mean(msssim_pairs(minibatch[0::2], minibatch[1::2])))
        self.sum += score * (minibatch.shape[0] // 2)
        self.num_pairs += minibatch.shape[0] // 2

    def end(self, mode):
        """Finish a pass; returns [mean MS-SSIM over the pairs]."""
        if self.num_pairs == 0:
            raise ValueError("no image pairs were fed")
        return [self.sum / self.num_pairs]


# ----------------------------------------------------------------------------


def compute_msssim(
    images,  # uint8 [N, H, W, C] array (N even), or an iterable of such minibatches.
    minibatch_size=64,  # Images per step when an array is given (memory only; must be even).
):
    """Mean MS-SSIM over the pairs (0,1), (2,3), ... of `images`."""
    if minibatch_size % 2:
        raise ValueError(f"minibatch_size must be even, got {minibatch_size}")
    api = API(minibatch_size=minibatch_size)
    api.begin("fakes")
    if isinstance(images, np.ndarray):
        if images.shape[0] % 2:
            raise ValueError(f"MS-SSIM needs an even number of images, got {images.shape[0]}")
        batches = (images[i : i + minibatch_size] for i in range(0, images.shape[0], minibatch_size))
    else:
        batches = images
    for minibatch in batches:
        api.feed("fakes", minibatch)
    return float(api.end("fakes")[0])


# ----------------------------------------------------------------------------
