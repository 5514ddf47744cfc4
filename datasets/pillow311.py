"""Pillow 3.1.1's `resize(..., ANTIALIAS)` and `transform(..., QUAD, ..., BILINEAR)` in numpy.

The CelebA-HQ deltas only fit images computed by Pillow 3.1.1 (libImaging/Resample.c and
Geometry.c of that release). Later Pillow releases changed both algorithms, so this module
re-implements them bit for bit: every float32/double rounding step below mirrors the C code.

Images are numpy uint8 arrays; the public functions take and return [H, W, C] arrays, and the
`*_planar` variants take and return [C, H, W] arrays (what the resampling uses internally).
"""

import math

import numpy as np

from utils import blas_threads

_SUPPORT = np.float32(3.0)  # Lanczos-3 support (struct filter LANCZOS in Resample.c).
_U32 = 2.0**-24  # Unit roundoff of float32.
_BLOCK = 32  # Output samples per banded matrix block.
_ROWS_PER_CHUNK = 16  # Output rows per chunk of the quad transform (fits in L2).
_CHUNK_ELEMENTS = 1 << 21  # float32 elements of the source converted at a time.

# ----------------------------------------------------------------------------
# ANTIALIAS (Lanczos-3) resampling, Resample.c of Pillow 3.1.1.


def _sinc(x):  # float32 array -> float32 array, as sinc_filter(float).
    """sinc_filter: x*M_PI is rounded to float, sin and the division run in double."""
    xpi = (x.astype(np.float64) * math.pi).astype(np.float32).astype(np.float64)
    # math.sin is the C library's sin, like the original; numpy's SIMD sin may differ by an ulp.
    sin = np.fromiter(map(math.sin, xpi.ravel().tolist()), np.float64, xpi.size).reshape(xpi.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (sin / xpi).astype(np.float32)
    return np.where(x == 0, np.float32(1.0), out)


def _lanczos(x):  # float32 array -> float32 array, as lanczos_filter(float).
    inside = (x >= -3.0) & (x < 3.0)
    value = _sinc(x) * _sinc(x / np.float32(3.0))
    return np.where(inside, value, np.float32(0.0))


def antialias_coefficients(
    in_size,  # Input length along the resampled axis.
    out_size,  # Output length.
):
    """Filter taps of ImagingResampleHorizontal (Pillow 3.1.1) for one axis.

    Returns `(xmin, kk)`: for output sample i, input samples `xmin[i] + t` are weighted by
    `kk[i, t]` (float32, zero beyond the clipped support) and summed in order of t.
    """
    scale = np.float32(in_size) / np.float32(out_size)
    filterscale = max(scale, np.float32(1.0))
    support = _SUPPORT * filterscale
    kmax = int(math.ceil(support)) * 2 + 1
    center = ((np.arange(out_size, dtype=np.float64) + 0.5) * np.float64(scale)).astype(np.float32)
    ss = np.float32(1.0 / np.float64(filterscale))
    xmin = np.maximum(np.floor(center - support).astype(np.int64), 0)
    xmax = np.minimum(np.ceil(center + support).astype(np.int64), in_size)
    taps = xmin[:, None] + np.arange(kmax)[None, :]
    valid = taps < xmax[:, None]
    # (x - center + 0.5) * ss: float subtraction, then double, then rounded to the float argument.
    offset = (taps.astype(np.float32) - center[:, None]).astype(np.float64)
    arg = ((offset + 0.5) * np.float64(ss)).astype(np.float32)
    kk = np.where(valid, _lanczos(arg) * ss, np.float32(0.0))
    ww = np.zeros(out_size, np.float32)
    for t in range(kmax):  # float32 running sum in tap order, as in the C loop.
        ww += kk[:, t]
    kk = np.where(ww[:, None] != 0, kk / np.where(ww == 0, np.float32(1.0), ww)[:, None], kk)
    return xmin, kk.astype(np.float32)


def _clip8(acc):  # float array -> uint8, as clip8(float): truncate, clamp.
    return np.clip(acc, 0, 255).astype(np.uint8)


def _accumulate_exact(
    src,  # [in, M] float32 source samples (may be a strided view).
    xmin,  # [n] first tap of each requested output.
    kk,  # [n, kmax] float32 taps.
    cols,  # [n] column of each requested output.
):
    """Pillow's float32 sum 0.5 + sum_t pixel * k, accumulated sequentially in tap order."""
    acc = np.full(xmin.shape, 0.5, np.float32)
    last = src.shape[0] - 1
    for t in range(kk.shape[1]):
        acc += src[np.minimum(xmin + t, last), cols] * kk[:, t]  # Taps past the end weigh 0.
    return acc


def _band_blocks(
    xmin,  # [out] first tap of each output.
    kk,  # [out, kmax] float32 taps.
    in_size,  # Input length.
):
    """Split the banded [out, in] filter matrix into dense blocks of _BLOCK output rows."""
    kmax = kk.shape[1]
    blocks = []
    for o0 in range(0, xmin.shape[0], _BLOCK):
        o1 = min(o0 + _BLOCK, xmin.shape[0])
        lo = int(xmin[o0])
        hi = min(int(xmin[o1 - 1]) + kmax, in_size)  # xmin is non-decreasing.
        taps = xmin[o0:o1, None] - lo + np.arange(kmax)[None, :]
        keep = taps < hi - lo  # Drops only taps past the end (weight 0).
        band = np.zeros((o1 - o0, hi - lo), np.float32)
        band[np.nonzero(keep)[0], taps[keep]] = kk[o0:o1][keep]
        blocks.append((o0, o1, lo, hi, band))
    return blocks


def resample(
    src,  # 2-D uint8 array; exact integers.
    out_size,  # Output length along `axis`.
    axis,  # Axis to resample (0 or 1).
    exact=False,  # Sequential tap loop everywhere (reference path, slow).
):
    """One ANTIALIAS pass of Pillow 3.1.1 (ImagingResampleHorizontal) along `axis`, bit-exact.

    Pillow sums 0.5 + sum_t pixel * k in float32, sequentially in tap order, then truncates.
    Here the sums are banded float32 matrix products (BLAS, any order). Either sum lies within
    (kmax + 1) * u * (0.5 + 255 * sum|k|) of the exact value (u = 2^-24, whatever the order);
    wherever truncation is not decided within twice the sum of both bounds, the sample is
    recomputed with the sequential float32 loop. The output is therefore identical to Pillow's.
    """
    with blas_threads.single_threaded():
        return _resample(src, out_size, axis, exact)


def _resample(src, out_size, axis, exact):
    in_size = src.shape[axis]
    other = src.shape[1 - axis]
    xmin, kk = antialias_coefficients(in_size, out_size)
    kmax = kk.shape[1]
    bound = 0.5 + 255.0 * np.abs(kk.astype(np.float64)).sum(axis=1)
    margin = (4.0 * (kmax + 2) * _U32 * bound).astype(np.float32)[:, None]
    blocks = _band_blocks(xmin, kk, in_size)
    out = np.empty((out_size, other) if axis == 0 else (other, out_size), np.uint8)
    step = max(1, _CHUNK_ELEMENTS // in_size)
    for m0 in range(0, other, step):
        m1 = min(m0 + step, other)
        if axis == 0:
            piece = src[:, m0:m1].astype(np.float32)  # [in, m]
            taps = piece
        else:
            piece = src[m0:m1].astype(np.float32)  # [m, in]
            taps = piece.T  # [in, m] view for the exact loop.
        total = np.zeros((out_size, m1 - m0), np.float32)
        if exact:
            unsure = np.nonzero(np.ones(total.shape, bool))  # Every sample takes the exact loop.
        else:
            for o0, o1, lo, hi, band in blocks:
                if axis == 0:
                    np.matmul(band, piece[lo:hi], out=total[o0:o1])
                else:
                    total[o0:o1] = (piece[:, lo:hi] @ band.T).T
            total += np.float32(0.5)
            unsure = np.nonzero(_clip8(total - margin) != _clip8(total + margin))
        result = _clip8(total)
        if unsure[0].size:
            rows = unsure[0]
            result[unsure] = _clip8(_accumulate_exact(taps, xmin[rows], kk[rows], unsure[1]))
        if axis == 0:
            out[:, m0:m1] = result
        else:
            out[m0:m1] = result.T
    return out


def resize_planar(
    img,  # [C, H, W] uint8 image.
    size,  # (width, height) of the result, as PIL's resize takes it.
    exact=False,  # Use the sequential reference loop everywhere (slow).
):
    """`Image.resize(size, ANTIALIAS)` of Pillow 3.1.1 on a planar image: [C, h, w] uint8.

    Pillow runs the horizontal pass, transposes, and runs the same pass on the columns, with a
    uint8 result in between.
    """
    channels, height, width = img.shape
    out_w, out_h = int(size[0]), int(size[1])
    if (out_w, out_h) == (width, height):
        return img.copy()
    across = resample(img.reshape(channels * height, width), out_w, 1, exact)
    across = across.reshape(channels, height, out_w)
    return np.stack([resample(plane, out_h, 0, exact) for plane in across])


def resize(
    img,  # [H, W, C] uint8 image.
    size,  # (width, height), as PIL's resize takes it.
    exact=False,  # Use the sequential reference loop everywhere (slow).
):
    """`Image.resize(size, ANTIALIAS)` of Pillow 3.1.1: [h, w, C] uint8."""
    out = resize_planar(np.ascontiguousarray(img.transpose(2, 0, 1)), size, exact)
    return np.ascontiguousarray(out.transpose(1, 2, 0))


# ----------------------------------------------------------------------------
# QUAD transform with BILINEAR sampling, Image.py + Geometry.c of Pillow 3.1.1.


def quad_coefficients(
    size,  # (width, height) of the output.
    data,  # 8 corner coordinates NW, SW, SE, NE as float32 values.
):
    """Coefficients that Image._transform computes for QUAD, with numpy 1.x scalar types.

    The corner differences are float32 (numpy scalars from the official float32 quad), and
    multiplying them by the Python float 1/w promoted them to double under numpy 1.x.
    """
    d = [np.float32(v) for v in data]
    nw, sw, se, ne = d[0:2], d[2:4], d[4:6], d[6:8]
    x0, y0 = nw
    As = 1.0 / size[0]
    At = 1.0 / size[1]
    return (
        float(x0),
        float(ne[0] - x0) * As,
        float(sw[0] - x0) * At,
        float(se[0] - sw[0] - ne[0] + x0) * As * At,
        float(y0),
        float(ne[1] - y0) * As,
        float(sw[1] - y0) * At,
        float(se[1] - sw[1] - ne[1] + y0) * As * At,
    )


def transform_quad_planar(
    img,  # [H, W, C] uint8 source image.
    size,  # (width, height) of the output.
    data,  # 8 corner coordinates NW, SW, SE, NE (float32 values).
):
    """`img.transform(size, QUAD, data, BILINEAR)` of Pillow 3.1.1; returns [C, h, w] uint8.

    Output pixel (x, y) samples the source at a0 + a1*x + a2*y + a3*x*y (and likewise for y),
    evaluated in double at the integer pixel corner; samples outside the source are 0.
    """
    height, width, channels = img.shape
    out_w, out_h = int(size[0]), int(size[1])
    a0, a1, a2, a3, a4, a5, a6, a7 = quad_coefficients(size, data)
    packed = np.zeros((height * width, 4), np.uint8)
    packed[:, :channels] = img.reshape(-1, channels)
    packed = packed.view(np.uint32).ravel()  # One gather fetches every band of a pixel.
    xs = np.arange(out_w, dtype=np.float64)
    ax, bx = a0 + a1 * xs, a3 * xs  # a0 + a1*x and a3*x, shared by all rows.
    ay, by = a4 + a5 * xs, a7 * xs
    out = np.empty((channels, out_h, out_w), np.uint8)
    for r0 in range(0, out_h, _ROWS_PER_CHUNK):
        ys = np.arange(r0, min(r0 + _ROWS_PER_CHUNK, out_h), dtype=np.float64)[:, None]
        xin = ((ax + a2 * ys) + bx * ys).ravel()  # C: ((a0 + a1*x) + a2*y) + (a3*x)*y.
        yin = ((ay + a6 * ys) + by * ys).ravel()
        outside = (xin < 0.0) | (xin >= width) | (yin < 0.0) | (yin >= height)
        xin -= 0.5
        yin -= 0.5
        xf = np.floor(xin)
        yf = np.floor(yin)
        dx = xin - xf
        dy = yin - yf
        x0 = xf.astype(np.int64)
        y0 = yf.astype(np.int64)
        x1 = np.minimum(x0 + 1, width - 1)
        np.maximum(x0, 0, out=x0)
        np.minimum(x0, width - 1, out=x0)
        row1 = np.minimum(y0 + 1, height - 1)  # Past the last row: v2 = v1, as in C.
        np.clip(y0, 0, height - 1, out=y0)
        row0 = y0 * width
        row1 *= width

        def fetch(index):  # [C, n] float64 samples.
            bands = packed[index].view(np.uint8).reshape(-1, 4)
            return np.array(bands[:, :channels].T, dtype=np.float64, order="C")

        p00, p01 = fetch(row0 + x0), fetch(row0 + x1)
        p10, p11 = fetch(row1 + x0), fetch(row1 + x1)
        p01 -= p00
        p01 *= dx
        p00 += p01  # v1 = a + (b - a) * dx
        p11 -= p10
        p11 *= dx
        p10 += p11  # v2
        p10 -= p00
        p10 *= dy
        p00 += p10  # v1 + (v2 - v1) * dy
        if outside.any():
            p00[:, outside] = 0.0
        out[:, r0 : r0 + ys.shape[0], :] = p00.astype(np.uint8).reshape(channels, -1, out_w)
    return out


def transform_quad(
    img,  # [H, W, C] uint8 source image.
    size,  # (width, height) of the output.
    data,  # 8 corner coordinates NW, SW, SE, NE (float32 values).
):
    """`img.transform(size, QUAD, data, BILINEAR)` of Pillow 3.1.1: [h, w, C] uint8."""
    return np.ascontiguousarray(transform_quad_planar(img, size, data).transpose(1, 2, 0))
