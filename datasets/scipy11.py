"""scipy 1.1's `ndimage.gaussian_filter` (mode 'reflect'), bit for bit, and fast.

create_celebahq blurs the padded border with `scipy.ndimage.gaussian_filter(img, [s, s, 0])` on
a float32 image. scipy runs a 1-D correlation per axis (axis 0, then axis 1), each summing in
double in a fixed order and storing float32. Two things make stock modern scipy a poor
stand-in: its kernel formula changed in scipy 1.3 (the last bit of many weights differs), and
its C loop is slow (about 1.5 s per pass on a padded CelebA-HQ image) and fused into FMAs on
some platforms. This module computes the scipy 1.1 kernel, evaluates the correlation as banded
double matrix products, and recomputes in scipy's exact summation order every sample whose
float32 rounding the matrix product cannot decide. The result equals scipy 1.1 on x86-64.
"""

import decimal

import numpy as np
import scipy.ndimage

from utils import blas_threads

_U64 = 2.0**-53  # Unit roundoff of double.
_BLOCK = 32  # Output samples per banded matrix block.
_CHUNK_ELEMENTS = 1 << 21  # float64 elements of padded source handled at a time.


def _exp_correctly_rounded(
    values,  # float64 array.
):
    """exp rounded to nearest, as the libm of the official stack computed it."""
    with decimal.localcontext() as context:
        context.prec = 60
        return np.array([float(decimal.Decimal(float(v)).exp()) for v in values.ravel()], np.float64).reshape(
            values.shape
        )


def gaussian_kernel(
    sigma,  # Standard deviation in pixels (float64).
    truncate=4.0,  # Radius in standard deviations, as gaussian_filter1d.
):
    """Correlation weights that scipy 1.0-1.2 `gaussian_filter1d(sigma)` passes to correlate1d.

    scipy 1.1 evaluates the exponent with numpy.polynomial (Horner: (c*x)*x), then exp, then
    divides by the (pairwise) sum. Returns float64 [2r+1] with r = int(truncate*sigma + 0.5).
    """
    sd = float(sigma)
    radius = int(truncate * sd + 0.5)
    c2 = -0.5 / (sd * sd)
    x = np.arange(-radius, radius + 1).astype(np.float64)
    phi = _exp_correctly_rounded((c2 * x) * x)
    phi /= phi.sum()
    return phi[::-1].copy()  # gaussian_filter1d reverses the kernel (symmetric anyway).


def _exact_samples(
    ext,  # [n + 2r, M] float64 reflect-extended lines.
    weights,  # [2r+1] float64 weights.
    rows,  # [k] output positions along the line.
    cols,  # [k] line index.
):
    """NI_Correlate1D's symmetric loop: w0*x0, then += (x[-j] + x[j]) * w[-j] for j = r..1."""
    radius = weights.shape[0] // 2
    centre = rows + radius
    acc = ext[centre, cols] * weights[radius]
    for j in range(radius, 0, -1):
        acc += (ext[centre - j, cols] + ext[centre + j, cols]) * weights[radius - j]
    return acc


def correlate(
    src,  # 2-D float32 array.
    weights,  # [2r+1] float64 symmetric weights.
    axis,  # Axis along which the lines run (0 or 1).
    exact=False,  # Use scipy's sequential loop for every sample (slow).
):
    """scipy `correlate1d(src, weights, axis, mode='reflect')` with a float32 output.

    Banded matrix products give each double sum to within (r + 2 + K) * u * sum|w*x| of both
    the exact value and scipy's sequential sum (K = inner dimension of the product, u =
    2^-53); where rounding to float32 is not decided within twice that margin, the sample is
    recomputed in scipy's order, so the output equals scipy's.
    """
    with blas_threads.single_threaded():
        return _correlate(src, weights, axis, exact)


def _correlate(src, weights, axis, exact):
    n = src.shape[axis]
    other = src.shape[1 - axis]
    radius = weights.shape[0] // 2
    if not np.array_equal(weights, weights[::-1]):
        raise ValueError("correlate handles symmetric weights only")
    if radius >= n:  # Lines shorter than the kernel reflect more than once: scipy's own loop.
        return scipy.ndimage.correlate1d(np.asarray(src, np.float32), weights, axis, mode="reflect")
    span = _BLOCK + 2 * radius
    toeplitz = np.zeros((_BLOCK, span), np.float64)
    for b in range(_BLOCK):
        toeplitz[b, b : b + 2 * radius + 1] = weights
    factor = 2.0 * (radius + 2 + span) * _U64 * np.abs(weights).sum()
    out = np.empty(src.shape, np.float32)
    step = max(1, _CHUNK_ELEMENTS // (n + 2 * radius))
    for m0 in range(0, other, step):
        m1 = min(m0 + step, other)
        if axis == 0:
            piece = src[:, m0:m1].astype(np.float64)  # [n, m]
            ext = np.pad(piece, ((radius, radius), (0, 0)), mode="symmetric")  # scipy 'reflect'.
            lines = ext  # [n + 2r, m]
        else:
            piece = src[m0:m1].astype(np.float64)  # [m, n]
            ext = np.pad(piece, ((0, 0), (radius, radius)), mode="symmetric")
            lines = ext.T
        total = np.empty((n, m1 - m0), np.float64)  # [n, m]
        if exact:
            unsure = np.nonzero(np.ones(total.shape, bool))
        else:
            for o0 in range(0, n, _BLOCK):
                o1 = min(o0 + _BLOCK, n)
                band = toeplitz[: o1 - o0, : o1 - o0 + 2 * radius]
                if axis == 0:
                    np.matmul(band, ext[o0 : o1 + 2 * radius], out=total[o0:o1])
                else:
                    total[o0:o1] = (ext[:, o0 : o1 + 2 * radius] @ band.T).T
            margin = factor * np.abs(piece).max(initial=0.0)
            unsure = np.nonzero((total - margin).astype(np.float32) != (total + margin).astype(np.float32))
        result = total.astype(np.float32)
        if unsure[0].size:
            result[unsure] = _exact_samples(lines, weights, unsure[0], unsure[1])
        if axis == 0:
            out[:, m0:m1] = result
        else:
            out[m0:m1] = result.T
    return out


def gaussian_filter_planar(
    img,  # [C, H, W] float32 image.
    sigma,  # Standard deviation along H and W (C is not blurred).
    exact=False,  # Use scipy's sequential loop for every sample (slow).
):
    """scipy 1.1 `gaussian_filter(img, [0, sigma, sigma])` on a planar float32 image.

    Rows (H) first, then columns (W), each stored as float32, as scipy does.
    """
    weights = gaussian_kernel(sigma)
    return np.stack([correlate(correlate(plane, weights, 0, exact), weights, 1, exact) for plane in img])


def gaussian_filter(
    img,  # [H, W, C] float32 image.
    sigma,  # Standard deviation for axes 0 and 1 (axis 2 is not blurred).
    exact=False,  # Use scipy's sequential loop for every sample (slow).
):
    """scipy 1.1 `scipy.ndimage.gaussian_filter(img, [sigma, sigma, 0])` on float32 [H, W, C]."""
    planar = np.ascontiguousarray(np.asarray(img, np.float32).transpose(2, 0, 1))
    return np.ascontiguousarray(gaussian_filter_planar(planar, sigma, exact).transpose(1, 2, 0))
