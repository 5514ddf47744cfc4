"""Building blocks of the official ProGAN / StyleGAN networks as Keras 3 layers.

Every layer works on channels-last tensors ([N, H, W, C] or [N, C]) but stores
its variables in EXACTLY the official shapes (conv kernels HWIO [k,k,in,out],
dense [in,out], the ProGAN G fused up-conv [k,k,out,in]) so that arrays from an
official pickle load without reshuffling. Where the official graph depends on
the NCHW memory order (flattening before a dense layer, reshaping a dense
output to a feature map) the helpers `flatten_nchw` / `unflatten_nchw` do the
reordering inside the graph.

Equalized learning rate (networks.py:22-29; SG networks_stylegan.py:135-149):
the stored `weight` is N(0, 1/lrmul) when use_wscale, and the runtime weight
is weight * gain/sqrt(fan_in) * lrmul, computed in float32 and only then cast
to the compute dtype. Without wscale the weight is N(0, he_std/lrmul) times
lrmul at runtime. Bias is zero-initialised, added after the linear op and
multiplied by lrmul.
"""

import collections

import keras
import numpy as np
from keras import ops

PACKAGE = "progan"
SQRT2 = float(np.sqrt(2))  # The He gain of ReLU-like activations.

# ----------------------------------------------------------------------------
# Free functions: the maths, usable from any network's call().


def lerp(
    a,  # Tensor returned at t = 0.
    b,  # Tensor returned at t = 1.
    t,  # Interpolation factor (scalar or broadcastable).
):
    """Linear interpolation a + (b - a) * t (networks.py:15)."""
    return a + (b - a) * t


def lerp_clip(
    a,  # Tensor returned at t <= 0.
    b,  # Tensor returned at t >= 1.
    t,  # Interpolation factor, clipped to [0, 1].
):
    """Linear interpolation with t clipped to [0, 1]: the lod fade (networks.py:16)."""
    return a + (b - a) * ops.clip(t, 0.0, 1.0)


def upscale2d(
    x,  # [N, H, W, C] feature maps.
    factor=2,  # Integer upscaling factor.
):
    """Nearest-neighbour upscaling: every pixel becomes a factor x factor block."""
    if not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"upscale2d factor must be a positive integer, got {factor!r}")
    factor = int(factor)
    if factor == 1:
        return x
    x = ops.repeat(x, factor, axis=1)
    return ops.repeat(x, factor, axis=2)


def downscale2d(
    x,  # [N, H, W, C] feature maps.
    factor=2,  # Integer downscaling factor.
):
    """Box-filter downscaling: average over factor x factor blocks (avg_pool VALID)."""
    if not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"downscale2d factor must be a positive integer, got {factor!r}")
    factor = int(factor)
    if factor == 1:
        return x
    return ops.average_pool(x, pool_size=factor, strides=factor, padding="valid")


def pixel_norm(
    x,  # [..., C] features; normalised over the last axis.
    epsilon=1e-8,  # Constant added to the mean square.
):
    """Pixelwise feature vector normalisation (networks.py:120-122)."""
    return x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + ops.cast(epsilon, x.dtype))


def flatten_nchw(x):  # [N, H, W, C] feature maps.
    """Flatten to [N, C*H*W] in the official NCHW order (index c*H*W + h*W + w)."""
    if len(x.shape) == 2:
        return x
    x = ops.transpose(x, (0, 3, 1, 2))
    return ops.reshape(x, (-1, int(np.prod(x.shape[1:]))))


def unflatten_nchw(
    x,  # [N, C*H*W] vector in NCHW order.
    channels,  # C.
    height,  # H.
    width,  # W.
):
    """Inverse of `flatten_nchw`: reshape as [C, H, W] row-major, return [N, H, W, C]."""
    x = ops.reshape(x, (-1, channels, height, width))
    return ops.transpose(x, (0, 2, 3, 1))


def minibatch_stddev(
    x,  # [N, H, W, C] feature maps.
    group_size=4,  # Samples per group; min(group_size, N) is used.
    num_new_features=1,  # Feature maps appended (StyleGAN); ProGAN uses 1.
):
    """Minibatch standard deviation (networks.py:127-139, SG :283-296).

    Groups are STRIDED as in the official reshape to [G, M, ...]: sample
    n = g*M + m belongs to group m. Statistics are the population stddev over
    the group, computed in float32, averaged over pixels and channels (per new
    feature), and appended as the LAST channel(s).
    """
    n, h, w, c = x.shape
    if c % num_new_features:
        raise ValueError(f"minibatch_stddev: {c} channels not divisible by num_new_features={num_new_features}")
    if n is not None:
        group = min(group_size, n)
        if n % group:
            raise ValueError(f"minibatch_stddev: minibatch {n} is not divisible by the group size {group}")
    else:
        group = ops.minimum(group_size, ops.shape(x)[0])
    y = ops.reshape(x, (group, -1, h, w, num_new_features, c // num_new_features))  # [GMHWnc]
    y = ops.cast(y, "float32")
    y = y - ops.mean(y, axis=0, keepdims=True)
    y = ops.mean(ops.square(y), axis=0)  # [MHWnc]
    y = ops.sqrt(y + 1e-8)
    y = ops.mean(y, axis=(1, 2, 4))  # [Mn]
    y = ops.cast(y, x.dtype)
    y = ops.reshape(y, (-1, 1, 1, num_new_features))
    y = ops.tile(y, (group, h, w, 1))  # [NHWn]
    return ops.concatenate([x, y], axis=-1)


def _fused_kernel(w):  # [k, k, a, b] kernel.
    """Pad by one pixel and sum the four shifted copies: [k+1, k+1, a, b] (networks.py:89-90)."""
    w = ops.pad(w, ((1, 1), (1, 1), (0, 0), (0, 0)))
    return w[1:, 1:] + w[:-1, 1:] + w[1:, :-1] + w[:-1, :-1]


# ----------------------------------------------------------------------------
# Equalized learning rate base.


class _EqualizedLayer(keras.layers.Layer):
    """Shared weight/bias handling for the equalized-learning-rate layers."""

    def __init__(
        self,
        gain=SQRT2,  # Gain of the He initialisation.
        use_wscale=True,  # Scale the weight at runtime (equalized learning rate)?
        lrmul=1.0,  # Learning-rate multiplier (StyleGAN mapping network).
        use_bias=True,  # Create and add a `bias` variable?
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.gain = float(gain)
        self.use_wscale = bool(use_wscale)
        self.lrmul = float(lrmul)
        self.use_bias = bool(use_bias)

    def _make_weight(self, shape, fan_in):
        he_std = self.gain / np.sqrt(fan_in)
        if self.use_wscale:
            init_std, self.runtime_coef = 1.0 / self.lrmul, he_std * self.lrmul
        else:
            init_std, self.runtime_coef = he_std / self.lrmul, self.lrmul
        # autocast=False: the official code scales in float32, then casts.
        self.weight = self.add_weight(
            name="weight",
            shape=tuple(int(s) for s in shape),
            initializer=keras.initializers.RandomNormal(0.0, init_std),
            dtype="float32",
            autocast=False,
        )

    def _make_bias(self, channels):
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(int(channels),), initializer="zeros", dtype="float32", autocast=False
            )

    def _scaled_weight(self):
        w = ops.convert_to_tensor(self.weight)
        if self.runtime_coef != 1.0:
            w = w * np.float32(self.runtime_coef)
        return w

    def _add_bias(self, x):
        if self.bias is None:
            return x
        b = ops.convert_to_tensor(self.bias)
        if self.lrmul != 1.0:
            b = b * np.float32(self.lrmul)
        return x + ops.cast(b, x.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(gain=self.gain, use_wscale=self.use_wscale, lrmul=self.lrmul, use_bias=self.use_bias)
        return config


# ----------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class EqualizedDense(_EqualizedLayer):
    """Fully-connected layer with equalized learning rate; weight [in, units].

    Input must be rank 2; use `flatten_nchw` first for feature maps, as the
    official `dense` flattens in NCHW order.
    """

    def __init__(
        self,
        units,  # Number of output features.
        **kwargs,  # gain, use_wscale, lrmul, use_bias and Layer kwargs.
    ):
        super().__init__(**kwargs)
        self.units = int(units)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"{self.name}: EqualizedDense expects [N, features], got shape {tuple(input_shape)}")
        fan_in = int(input_shape[-1])
        self._make_weight((fan_in, self.units), fan_in)
        self._make_bias(self.units)

    def call(self, x):
        x = ops.cast(x, self.compute_dtype)
        x = ops.matmul(x, ops.cast(self._scaled_weight(), x.dtype))
        return self._add_bias(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config


# ----------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class EqualizedConv2D(_EqualizedLayer):
    """2-D convolution (stride 1, SAME) with equalized learning rate; weight HWIO [k,k,in,out]."""

    def __init__(
        self,
        filters,  # Number of output feature maps.
        kernel_size,  # Odd kernel size k.
        **kwargs,  # gain, use_wscale, lrmul, use_bias and Layer kwargs.
    ):
        super().__init__(**kwargs)
        if kernel_size < 1 or kernel_size % 2 != 1:
            raise ValueError(f"{self.name}: kernel_size must be odd, got {kernel_size}")
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)

    def build(self, input_shape):
        k, cin = self.kernel_size, int(input_shape[-1])
        self._make_weight((k, k, cin, self.filters), k * k * cin)
        self._make_bias(self.filters)

    def call(self, x):
        x = ops.cast(x, self.compute_dtype)
        x = ops.conv(x, ops.cast(self._scaled_weight(), x.dtype), strides=1, padding="same")
        return self._add_bias(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size)
        return config


# ----------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class UpscaleConv2D(_EqualizedLayer):
    """Fused nearest x2 upscale + conv as a transposed conv (networks.py:86-93).

    The ProGAN G stores its weight transposed, [k,k,out,in]
    (`transposed_weight=True`); StyleGAN stores [k,k,in,out] and transposes in
    the graph (SG :174-191). Either way fan_in = k*k*in. The scaled kernel is
    padded and shift-summed to (k+1)x(k+1) and applied with a stride-2 SAME
    transposed convolution.
    """

    def __init__(
        self,
        filters,  # Number of output feature maps.
        kernel_size,  # Odd kernel size k.
        transposed_weight=True,  # True: variable [k,k,out,in] (ProGAN); False: [k,k,in,out] (StyleGAN).
        **kwargs,  # gain, use_wscale, lrmul, use_bias and Layer kwargs.
    ):
        super().__init__(**kwargs)
        if kernel_size < 1 or kernel_size % 2 != 1:
            raise ValueError(f"{self.name}: kernel_size must be odd, got {kernel_size}")
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.transposed_weight = bool(transposed_weight)

    def build(self, input_shape):
        k, cin = self.kernel_size, int(input_shape[-1])
        shape = (k, k, self.filters, cin) if self.transposed_weight else (k, k, cin, self.filters)
        self._make_weight(shape, k * k * cin)
        self._make_bias(self.filters)

    def call(self, x):
        x = ops.cast(x, self.compute_dtype)
        w = self._scaled_weight()
        if not self.transposed_weight:
            w = ops.transpose(w, (0, 1, 3, 2))
        w = ops.cast(_fused_kernel(w), x.dtype)  # [k+1, k+1, out, in]
        x = ops.conv_transpose(x, w, strides=2, padding="same")
        return self._add_bias(x)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, transposed_weight=self.transposed_weight)
        return config


# ----------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class Conv2DDownscale(EqualizedConv2D):
    """Fused conv + 2x2 box downscale as one stride-2 conv (networks.py:109-115); weight [k,k,in,out]."""

    def call(self, x):
        x = ops.cast(x, self.compute_dtype)
        w = _fused_kernel(self._scaled_weight()) * np.float32(0.25)
        x = ops.conv(x, ops.cast(w, x.dtype), strides=2, padding="same")
        return self._add_bias(x)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        return (n, None if h is None else h // 2, None if w is None else w // 2, self.filters)


# ----------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class Bias(keras.layers.Layer):
    """Per-channel bias on the last axis (`apply_bias`), zero-initialised, times lrmul."""

    def __init__(
        self,
        lrmul=1.0,  # Learning-rate multiplier.
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.lrmul = float(lrmul)

    def build(self, input_shape):
        self.bias = self.add_weight(
            name="bias", shape=(int(input_shape[-1]),), initializer="zeros", dtype="float32", autocast=False
        )

    def call(self, x):
        x = ops.cast(x, self.compute_dtype)
        b = ops.convert_to_tensor(self.bias)
        if self.lrmul != 1.0:
            b = b * np.float32(self.lrmul)
        return x + ops.cast(b, x.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(lrmul=self.lrmul)
        return config


# ----------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class PixelNorm(keras.layers.Layer):
    """Pixelwise feature vector normalisation over the channel (last) axis."""

    def __init__(
        self,
        epsilon=1e-8,  # Constant added to the mean square.
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x):
        return pixel_norm(ops.cast(x, self.compute_dtype), self.epsilon)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(epsilon=self.epsilon)
        return config


# ----------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class MinibatchStddev(keras.layers.Layer):
    """Minibatch standard deviation layer; see `minibatch_stddev`."""

    def __init__(
        self,
        group_size=4,  # Samples per group (min(group_size, N) used).
        num_new_features=1,  # Number of appended feature maps.
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.group_size = int(group_size)
        self.num_new_features = int(num_new_features)

    def call(self, x):
        return minibatch_stddev(ops.cast(x, self.compute_dtype), self.group_size, self.num_new_features)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + self.num_new_features,)

    def get_config(self):
        config = super().get_config()
        config.update(group_size=self.group_size, num_new_features=self.num_new_features)
        return config


# ----------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class Upscale2D(keras.layers.Layer):
    """Nearest-neighbour upscaling by an integer factor."""

    def __init__(
        self,
        factor=2,  # Integer upscaling factor.
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, x):
        return upscale2d(ops.cast(x, self.compute_dtype), self.factor)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else h * self.factor, None if w is None else w * self.factor, c)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class Downscale2D(keras.layers.Layer):
    """Box-filter downscaling by an integer factor."""

    def __init__(
        self,
        factor=2,  # Integer downscaling factor.
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, x):
        return downscale2d(ops.cast(x, self.compute_dtype), self.factor)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else h // self.factor, None if w is None else w // self.factor, c)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor)
        return config


# ----------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class ToRGB(EqualizedConv2D):
    """`ToRGB_lod<lod>` of both papers: the linear 1x1 conv (gain 1, with bias) from features to an image."""

    def __init__(
        self,
        lod,  # Level of detail of its resolution (0 = full).
        num_channels=3,  # Image channels.
        use_wscale=True,  # Equalized learning rate?
        **kwargs,  # Layer kwargs.
    ):
        kwargs.setdefault("name", f"ToRGB_lod{int(lod)}")
        super().__init__(int(num_channels), 1, gain=1.0, use_wscale=use_wscale, use_bias=True, **kwargs)
        self.lod = int(lod)
        self.num_channels = int(num_channels)
        self.official_scope = f"ToRGB_lod{self.lod}"

    def official_variables(self):
        """'weight', 'bias', directly under the scope."""
        return collections.OrderedDict([("weight", self.weight), ("bias", self.bias)])

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "kernel_size", "gain", "lrmul", "use_bias"):  # Fixed by ToRGB.
            config.pop(key)
        return {**config, "lod": self.lod, "num_channels": self.num_channels}


@keras.saving.register_keras_serializable(package=PACKAGE)
class FromRGB(EqualizedConv2D):
    """`FromRGB_lod<lod>` of both papers: the 1x1 conv (He gain, with bias) from an image to features.

    The network applies its activation to the output (inside the same official scope), as each
    paper's code has its own nonlinearity.
    """

    def __init__(
        self,
        lod,  # Level of detail of its resolution (0 = full).
        channels,  # Output feature maps.
        use_wscale=True,  # Equalized learning rate?
        **kwargs,  # Layer kwargs.
    ):
        kwargs.setdefault("name", f"FromRGB_lod{int(lod)}")
        super().__init__(int(channels), 1, use_wscale=use_wscale, use_bias=True, **kwargs)
        self.lod = int(lod)
        self.channels = int(channels)
        self.official_scope = f"FromRGB_lod{self.lod}"

    def official_variables(self):
        """'weight', 'bias', directly under the scope."""
        return collections.OrderedDict([("weight", self.weight), ("bias", self.bias)])

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "kernel_size", "gain", "lrmul", "use_bias"):  # Fixed by FromRGB.
            config.pop(key)
        return {**config, "lod": self.lod, "channels": self.channels}


# ----------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class LerpClip(keras.layers.Layer):
    """The lod fade: `LerpClip()(a, b, t)` = a + (b - a) * clip(t, 0, 1)."""

    def call(self, a, b, t):
        a = ops.cast(a, self.compute_dtype)
        b = ops.cast(b, self.compute_dtype)
        return lerp_clip(a, b, ops.cast(t, self.compute_dtype))

    def compute_output_shape(self, a_shape, b_shape, t_shape):
        return tuple(a_shape)


# ----------------------------------------------------------------------------
