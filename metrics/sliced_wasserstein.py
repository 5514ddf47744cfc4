"""Sliced Wasserstein distance (SWD) between Laplacian-pyramid patches (ProGAN paper, section 5).

Faithful port of the official `metrics/sliced_wasserstein.py`: every pyramid level from the
image resolution down to 16x16 contributes 128 random 7x7 neighbourhoods per image; each set of
descriptors is normalised per channel with its own statistics; the distance is the mean, over
4 repeats of 128 random unit directions, of the 1-D Wasserstein distance between the sorted
projections. Values are reported x1e3 as `SWDx1e3_<res>` plus their average `SWDx1e3_avg`.

The building blocks keep their official names and the official NCHW layout (they are checked
bit for bit against the official arrays); the public entry points (`API`, `compute_swd`) take
uint8 NHWC images like the rest of the port.

Randomness: every draw comes from a `np.random.RandomState` (the global numpy generator when
none is given, as in the official code) and happens in the official order, so the same seed
gives the same neighbourhood centres and directions as the official code.

Speed and memory: the pyramid uses separable, polyphase 5-tap filtering in which every sum is
exact (float64, or float32 where uint8 input makes that exact), so the float32 levels equal
scipy's `ndimage.convolve` results bit for bit; images are processed in small chunks on worker
threads; directions are projected a block at a time with float32 matmuls and sorted along
contiguous rows on worker threads. Only the descriptors themselves are kept, which is inherent
to the metric: 147 float32 per neighbourhood, i.e. 75 KB per image and level (6.2 GB per set
for 16384 images at 256x256, 8.6 GB at 1024x1024).
"""

import numpy as np

from metrics.metric_base import minibatches
from metrics.metric_base import num_workers
from metrics.metric_base import thread_pool

NHOOD_SIZE = 7  # Neighbourhood (patch) size in pixels.
NHOODS_PER_IMAGE = 128  # Neighbourhoods drawn from each image at each level.
DIR_REPEATS = 4  # Independent draws of random directions.
DIRS_PER_REPEAT = 128  # Random directions per draw.
MIN_RESOLUTION = 16  # The pyramid stops at 16x16.

_CHUNK_VALUES = 1 << 22  # Pixels (x channels) per chunk when building the pyramid.

# ----------------------------------------------------------------------------
# Random numbers.


def _rng(random_state):
    """The generator to draw from: a RandomState, a seed (a fresh RandomState for this call),
    or None for the global numpy one."""
    if random_state is None:
        return np.random.mtrand._rand  # The RandomState behind np.random.randint/randn.
    if isinstance(random_state, np.random.RandomState):
        return random_state
    return np.random.RandomState(random_state)


def draw_nhood_centres(
    minibatch_shape,  # Shape [N, C, H, W] of the pyramid level.
    nhood_size,  # Neighbourhood size (odd).
    nhoods_per_image,  # Neighbourhoods per image.
    random_state=None,  # RandomState, seed, or None for the global numpy generator.
):
    """Draw the neighbourhood centres exactly as the official code does: all x, then all y.

    Returns (x, y), int64 arrays of shape [N * nhoods_per_image, 1, 1, 1].
    """
    rng = _rng(random_state)
    num = nhoods_per_image * minibatch_shape[0]
    half = nhood_size // 2
    x = rng.randint(half, minibatch_shape[3] - half, size=(num, 1, 1, 1))
    y = rng.randint(half, minibatch_shape[2] - half, size=(num, 1, 1, 1))
    return x, y


def draw_directions(
    num_components,  # Descriptor dimensionality (147).
    dirs_per_repeat,  # Number of directions.
    random_state=None,  # RandomState, seed, or None for the global numpy generator.
):
    """Random unit directions [num_components, dirs_per_repeat] (float32), as official."""
    dirs = _rng(random_state).randn(num_components, dirs_per_repeat)
    dirs /= np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))
    return dirs.astype(np.float32)


# ----------------------------------------------------------------------------
# Descriptors.


def gather_descriptors(
    minibatch,  # [N, C, H, W] pyramid level.
    x,  # [M, 1, 1, 1] centre columns.
    y,  # [M, 1, 1, 1] centre rows.
    image_index,  # [M] image of each neighbourhood, relative to `minibatch`.
    nhood_size,  # Neighbourhood size (odd).
):
    """The [M, C, nhood(x), nhood(y)] patches around the given centres (official index arithmetic)."""
    _, channels, height, width = minibatch.shape
    half = nhood_size // 2
    offsets = np.arange(-half, half + 1)
    chan = np.arange(channels)[np.newaxis, :, np.newaxis, np.newaxis]
    img = np.asarray(image_index)[:, np.newaxis, np.newaxis, np.newaxis]
    # As official (np.ogrid order nhood, chan, x, y): axis 2 walks columns, axis 3 rows, so the
    # patches come out transposed; the component order matters for seeded reproducibility.
    cols = x + offsets[np.newaxis, np.newaxis, :, np.newaxis]
    rows = y + offsets[np.newaxis, np.newaxis, np.newaxis, :]
    idx = ((img * channels + chan) * height + rows) * width + cols
    return np.take(minibatch.reshape(-1), idx)


def get_descriptors_for_minibatch(
    minibatch,  # [N, 3, H, W] pyramid level (official NCHW layout).
    nhood_size,  # Neighbourhood size (odd).
    nhoods_per_image,  # Neighbourhoods per image.
    random_state=None,  # RandomState, seed, or None for the global numpy generator.
):
    """Official `get_descriptors_for_minibatch`: random patches [N * nhoods, 3, nhood, nhood]."""
    if minibatch.ndim != 4 or minibatch.shape[1] != 3:
        raise ValueError(f"expected an [N, 3, H, W] minibatch, got shape {minibatch.shape}")
    x, y = draw_nhood_centres(minibatch.shape, nhood_size, nhoods_per_image, random_state)
    image_index = np.arange(x.shape[0]) // nhoods_per_image
    return gather_descriptors(minibatch, x, y, image_index, nhood_size)


def finalize_descriptors(
    desc,  # [M, C, h, w] float32 array or list of them (modified in place).
):
    """Official `finalize_descriptors`: per-channel standardisation, flattened to [M, C*h*w]."""
    if isinstance(desc, list):
        desc = np.concatenate(desc, axis=0)
    if desc.ndim != 4:
        raise ValueError(f"expected [M, C, h, w] descriptors, got shape {desc.shape}")
    desc -= np.mean(desc, axis=(0, 2, 3), keepdims=True)
    desc /= np.std(desc, axis=(0, 2, 3), keepdims=True)
    return desc.reshape(desc.shape[0], -1)


# ----------------------------------------------------------------------------
# Distance.


def _sorted_abs_diff_sum(projA, projB, rows):
    """Sort rows of both projections in place; return the float64 sum of |A - B| over them."""
    a, b = projA[rows], projB[rows]
    a.sort(axis=1)
    b.sort(axis=1)
    np.subtract(a, b, out=a)
    np.abs(a, out=a)
    return float(np.sum(a, dtype=np.float64))


def sliced_wasserstein_for_directions(
    A,  # [M, D] float32 descriptors of one set.
    B,  # [M, D] float32 descriptors of the other set.
    dirs,  # [D, K] float32 unit directions.
    block_size=64,  # Directions projected and sorted at a time (bounds memory).
):
    """Mean over directions and neighbourhoods of |sorted(A @ d) - sorted(B @ d)|.

    Projections are computed transposed ([K, M], C-contiguous) so that each direction sorts a
    contiguous row, rows are sorted on several threads, and the mean is accumulated in float64.
    """
    if A.ndim != 2 or A.shape != B.shape:
        raise ValueError(f"descriptor sets must have equal [M, D] shapes, got {A.shape} and {B.shape}")
    pool = thread_pool()
    total = 0.0
    for begin in range(0, dirs.shape[1], block_size):
        block = np.ascontiguousarray(dirs[:, begin : begin + block_size].T)
        projA = np.matmul(block, A.T)
        projB = np.matmul(block, B.T)
        num_rows = projA.shape[0]
        step = max(1, -(-num_rows // num_workers()))
        jobs = [
            pool.submit(_sorted_abs_diff_sum, projA, projB, slice(row, row + step)) for row in range(0, num_rows, step)
        ]
        total += sum(job.result() for job in jobs)
        del projA, projB
    return total / (A.shape[0] * dirs.shape[1])


def sliced_wasserstein(
    A,  # [M, D] float32 descriptors of one set.
    B,  # [M, D] float32 descriptors of the other set.
    dir_repeats,  # Independent draws of directions.
    dirs_per_repeat,  # Directions per draw.
    random_state=None,  # RandomState, seed, or None for the global numpy generator.
):
    """Official `sliced_wasserstein`: average over repeats of the distance along random directions."""
    if A.ndim != 2 or A.shape != B.shape:
        raise ValueError(f"descriptor sets must have equal [M, D] shapes, got {A.shape} and {B.shape}")
    results = []
    for _ in range(dir_repeats):
        dirs = draw_directions(A.shape[1], dirs_per_repeat, random_state)
        if A is B:  # Identical sets: the official code gets exactly 0 after the same draws.
            results.append(0.0)
        else:
            results.append(sliced_wasserstein_for_directions(A, B, dirs))
    return float(np.mean(results))


# ----------------------------------------------------------------------------
# Laplacian pyramid.

gaussian_filter = np.float32(np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1])) / 256.0  # As official.


def _along(axis, ndim, index):
    """Index tuple applying `index` along `axis`."""
    key = [slice(None)] * ndim
    key[axis] = index
    return tuple(key)


def _blur_down_axis(x, axis):
    """[1,4,6,4,1] filter with mirror borders along `axis`, keeping every second sample (x16)."""
    n = x.shape[axis]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (2, 2)
    xp = np.pad(x, pad, mode="reflect")  # scipy.ndimage 'mirror' == numpy 'reflect'.
    tap = lambda k: xp[_along(axis, x.ndim, slice(k, k + n, 2))]
    out = tap(0) + tap(4)
    out += 4.0 * (tap(1) + tap(3))
    out += 6.0 * tap(2)
    return out


def _blur_up_axis(x, axis):
    """Zero insertion then [1,4,6,4,1] filter with mirror borders along `axis` (x8).

    On the zero-inserted signal z (z[2i] = x[i]), even outputs see x[i-1] + 6 x[i] + x[i+1] and
    odd outputs 4 x[i] + 4 x[i+1]; mirroring z about its ends makes x[-1] = x[1] at the start
    but x[n] = x[n-1] at the end.
    """
    n = x.shape[axis]
    nd = x.ndim
    first = x[_along(axis, nd, slice(1, 2))] if n > 1 else x[_along(axis, nd, slice(0, 1))]
    xp = np.concatenate([first, x, x[_along(axis, nd, slice(n - 1, n))]], axis=axis)
    prev = xp[_along(axis, nd, slice(0, n))]
    cur = xp[_along(axis, nd, slice(1, n + 1))]
    nxt = xp[_along(axis, nd, slice(2, n + 2))]
    shape = list(x.shape)
    shape[axis] = 2 * n
    out = np.empty(shape, x.dtype)
    even = out[_along(axis, nd, slice(0, None, 2))]
    np.add(prev, nxt, out=even)
    even += 6.0 * cur
    odd = out[_along(axis, nd, slice(1, None, 2))]
    np.add(cur, nxt, out=odd)
    odd *= 4.0
    return out


def pyr_down(
    minibatch,  # [N, C, H, W] float32.
    work_dtype=np.float64,  # Arithmetic dtype; float64 makes every step exact.
):
    """Official `pyr_down` (like cv2.pyrDown): binomial blur with mirror borders, then [::2, ::2]."""
    x = np.asarray(minibatch, dtype=work_dtype)
    out = _blur_down_axis(_blur_down_axis(x, 2), 3)
    out *= 1.0 / 256.0
    return out.astype(np.float32, copy=False)


def pyr_up(
    minibatch,  # [N, C, H, W] float32.
    work_dtype=np.float64,  # Arithmetic dtype; float64 makes every step exact.
):
    """Official `pyr_up` (like cv2.pyrUp): zero insertion, then the binomial blur x4."""
    x = np.asarray(minibatch, dtype=work_dtype)
    out = _blur_up_axis(_blur_up_axis(x, 2), 3)
    out *= 1.0 / 64.0
    return out.astype(np.float32, copy=False)


def generate_laplacian_pyramid(
    minibatch,  # [N, C, H, W] images (uint8 or float).
    num_levels,  # Number of levels, the last being the Gaussian residual.
):
    """Official `generate_laplacian_pyramid`: float32 levels, finest first.

    The filters run in float64, where every sum is exact, so the float32 results round exactly
    as scipy's (double-accumulating) convolution does. For uint8 images the first level is
    exact even in float32, which halves the cost of the largest level: pyr_down sums at most
    256 * 255 as integers, and pyr_up of that result needs at most 64 * 65280 < 2**24 in units
    of 1/256, both exactly representable.
    """
    exact_in_float32 = np.asarray(minibatch).dtype == np.uint8
    pyramid = [np.asarray(minibatch, dtype=np.float32)]
    if pyramid[0] is minibatch:
        pyramid[0] = pyramid[0].copy()  # Never modify the caller's array.
    for level in range(1, num_levels):
        work_dtype = np.float32 if (exact_in_float32 and level == 1) else np.float64
        pyramid.append(pyr_down(pyramid[-1], work_dtype))
        pyramid[-2] -= pyr_up(pyramid[-1], work_dtype)
    return pyramid


def reconstruct_laplacian_pyramid(
    pyramid,  # List of levels from generate_laplacian_pyramid.
):
    """Official `reconstruct_laplacian_pyramid` (inverse of the above)."""
    minibatch = pyramid[-1]
    for level in pyramid[-2::-1]:
        minibatch = pyr_up(minibatch) + level
    return minibatch


def pyramid_resolutions(
    resolution,  # Image resolution.
):
    """The resolutions of the levels: resolution, resolution/2, ... down to 16."""
    resolutions = []
    res = int(resolution)
    while res >= MIN_RESOLUTION:
        resolutions.append(res)
        res //= 2
    return resolutions


# ----------------------------------------------------------------------------
# Streaming API.


class API:
    """The official metric API: `begin(mode)`, `feed(mode, minibatch)`, `end(mode)`.

    Modes are 'warmup', 'reals' and 'fakes'. 'warmup' and 'reals' store the descriptors as the
    reference (and return the reference against itself, i.e. zeros, drawing the same directions
    as the official code); 'fakes' returns the distances to the stored reference. `feed` takes
    uint8 NHWC minibatches (grayscale is tiled to RGB as the official harness does).
    """

    def __init__(
        self,
        num_images=None,  # Images per pass (informational, as in the official API).
        image_shape=None,  # [H, W, C] (or official [C, H, W]); None = from the first minibatch.
        image_dtype=np.uint8,  # Image dtype (official API argument; uint8).
        minibatch_size=None,  # Images per feed (official API argument; any size works).
        random_state=None,  # RandomState, seed, or None for the global numpy generator.
    ):
        self.num_images = num_images
        self.image_dtype = image_dtype
        self.minibatch_size = minibatch_size
        self.nhood_size = NHOOD_SIZE
        self.nhoods_per_image = NHOODS_PER_IMAGE
        self.dir_repeats = DIR_REPEATS
        self.dirs_per_repeat = DIRS_PER_REPEAT
        self.rng = _rng(random_state)
        self.resolutions = None
        if image_shape is not None:  # [H, W, C], or the official [C, H, W] (C is 1 or 3, H >= 16).
            self.resolutions = pyramid_resolutions(image_shape[1] if image_shape[0] in (1, 3) else image_shape[0])
        self.descriptors = None
        self.desc_real = None

    def get_metric_names(self):
        """Names of the values `end` returns."""
        if self.resolutions is None:
            raise ValueError("the resolution is unknown until image_shape is given or a minibatch is fed")
        return ["SWDx1e3_%d" % res for res in self.resolutions] + ["SWDx1e3_avg"]

    def get_metric_formatting(self):
        """printf formats of the values, as official."""
        return ["%-13.4f"] * len(self.get_metric_names())

    def begin(self, mode):
        """Start a pass."""
        if mode not in ("warmup", "reals", "fakes"):
            raise ValueError(f"mode must be 'warmup', 'reals' or 'fakes', got {mode!r}")
        self.descriptors = [[] for _ in self.resolutions] if self.resolutions else None

    def feed(self, mode, minibatch):
        """Add the descriptors of one uint8 NHWC minibatch."""
        minibatch = np.asarray(minibatch)
        if minibatch.ndim != 4 or minibatch.shape[1] != minibatch.shape[2]:
            raise ValueError(f"expected square NHWC images, got shape {minibatch.shape}")
        if minibatch.shape[3] == 1:
            minibatch = np.tile(minibatch, [1, 1, 1, 3])
        if minibatch.shape[3] != 3:
            raise ValueError(f"expected 1 or 3 channels, got {minibatch.shape[3]}")
        if self.resolutions is None:
            self.resolutions = pyramid_resolutions(minibatch.shape[1])
        if self.descriptors is None:
            self.descriptors = [[] for _ in self.resolutions]
        if minibatch.shape[1] != self.resolutions[0]:
            raise ValueError(f"expected {self.resolutions[0]}x{self.resolutions[0]} images, got {minibatch.shape}")

        # Centres for the whole minibatch, level by level, in the official draw order.
        num = minibatch.shape[0]
        centres = []
        for res in self.resolutions:
            centres.append(draw_nhood_centres([num, 3, res, res], self.nhood_size, self.nhoods_per_image, self.rng))
        image_of_nhood = np.arange(num * self.nhoods_per_image) // self.nhoods_per_image

        # The pyramid itself has no randomness, so it is built a few images at a time, on
        # several threads (numpy releases the GIL), each chunk gathering its own descriptors.
        pool = thread_pool()
        chunk = max(1, min(_CHUNK_VALUES // (3 * self.resolutions[0] ** 2), -(-num // num_workers())))

        def descriptors_of_chunk(begin):
            end = min(begin + chunk, num)
            images = np.ascontiguousarray(minibatch[begin:end].transpose(0, 3, 1, 2))
            pyramid = generate_laplacian_pyramid(images, len(self.resolutions))
            rows = slice(begin * self.nhoods_per_image, end * self.nhoods_per_image)
            return [
                gather_descriptors(level, x[rows], y[rows], image_of_nhood[rows] - begin, self.nhood_size)
                for level, (x, y) in zip(pyramid, centres)
            ]

        parts = [job.result() for job in [pool.submit(descriptors_of_chunk, b) for b in range(0, num, chunk)]]
        for lod in range(len(self.resolutions)):
            per_chunk = [part[lod] for part in parts]
            self.descriptors[lod].append(per_chunk[0] if len(per_chunk) == 1 else np.concatenate(per_chunk, axis=0))

    def end(self, mode):
        """Finish a pass; returns the per-level SWDx1e3 values and their average."""
        dist = []
        desc_real = self.desc_real if mode == "fakes" else []
        if mode == "fakes" and desc_real is None:
            raise ValueError("the 'fakes' pass needs a 'reals' (or 'warmup') pass first")
        for lod in range(len(self.resolutions)):
            # Finalise one level at a time so that only one level is ever duplicated in memory.
            desc = finalize_descriptors(self.descriptors[lod])
            self.descriptors[lod] = None
            if mode in ("warmup", "reals"):
                desc_real.append(desc)
                dist.append(sliced_wasserstein(desc, desc, self.dir_repeats, self.dirs_per_repeat, self.rng))
            else:
                dist.append(sliced_wasserstein(desc_real[lod], desc, self.dir_repeats, self.dirs_per_repeat, self.rng))
            del desc
        self.descriptors = None
        if mode in ("warmup", "reals"):
            self.desc_real = desc_real
        dist = [d * 1e3 for d in dist]
        return dist + [float(np.mean(dist))]


# ----------------------------------------------------------------------------
# One-call convenience.


def compute_swd(
    reals,  # uint8 [N, H, W, C] array, or an iterable of such minibatches.
    fakes,  # uint8 [N, H, W, C] array, or an iterable of such minibatches.
    seed=None,  # Seed / RandomState; None = the global numpy generator (official).
    minibatch_size=64,  # Images per feed when arrays are given (affects the draw order).
):
    """SWD between two image sets via the official reals-then-fakes protocol.

    Returns a dict {'SWDx1e3_<res>': ..., 'SWDx1e3_avg': ...}.
    """
    api = API(random_state=seed)
    for mode, images in (("reals", reals), ("fakes", fakes)):
        api.begin(mode)
        for minibatch in minibatches(images, minibatch_size):
            api.feed(mode, minibatch)
        values = api.end(mode)
    return dict(zip(api.get_metric_names(), values))


# ----------------------------------------------------------------------------
