"""StyleGAN-specific layers (NVlabs/stylegan `training/networks_stylegan.py`).

The equalized-learning-rate convolutions and dense layers, bias, minibatch stddev and the
resampling functions shared with ProGAN live in `networks.layers`; this module adds what
only StyleGAN has: the blur filter, instance normalisation, the learned constant input,
style modulation and the per-layer epilogue with noise inputs.

Tensors are NHWC. Variables keep the official names and shapes (NCHW where the official
variable is NCHW, e.g. the learned constant), so that official pickles map one to one:
layers expose `official_variables()`, an ordered dict from the official name relative to
the layer's scope to the Keras variable.
"""
import collections

import keras
import numpy as np
from keras import ops

from networks import layers

PACKAGE = "stylegan"
SQRT2 = float(np.sqrt(2.0))


# ----------------------------------------------------------------------------------------
# Stateless ops.

def leaky_relu(x,                  # Any tensor.
               alpha=0.2):         # Slope for negative inputs.
    """Official lrelu: max(x, alpha*x) (gradient 1 at x == 0, as the official custom grad)."""
    return ops.maximum(x, x * ops.cast(alpha, x.dtype))


def activation(name):
    """Return (function, gain) for the official `nonlinearity` names."""
    if name == "lrelu":
        return leaky_relu, SQRT2
    if name == "relu":
        return ops.relu, SQRT2
    raise ValueError(f"Unknown nonlinearity {name!r}: use 'lrelu' or 'relu'")


def blur_kernel(f,                 # 1-D or 2-D filter taps.
                normalize=True):   # Scale the taps to sum to 1?
    """The 2-D blur kernel `_blur2d` builds: outer product of a 1-D filter, normalised."""
    f = np.asarray(f, dtype=np.float32)
    if f.ndim == 1:
        f = f[:, np.newaxis] * f[np.newaxis, :]
    if f.ndim != 2:
        raise ValueError(f"blur filter must be 1-D or 2-D, got shape {f.shape}")
    if normalize:
        f = f / np.sum(f)
    return f


def blur2d(x,                      # [N, H, W, C]
           f=(1, 2, 1),            # Filter taps.
           normalize=True):        # Normalise the taps to sum 1?
    """Depthwise low-pass filter with zero 'SAME' padding, computed in float32 as official."""
    kernel = blur_kernel(f, normalize)
    if kernel.shape == (1, 1) and kernel[0, 0] == 1:
        return x
    channels = x.shape[-1]
    kernel = np.tile(kernel[:, :, np.newaxis, np.newaxis], [1, 1, channels, 1])
    orig_dtype = x.dtype
    y = ops.depthwise_conv(ops.cast(x, "float32"), ops.convert_to_tensor(kernel),
                           strides=1, padding="same")
    return ops.cast(y, orig_dtype)


def instance_norm(x,               # [N, H, W, C]
                  epsilon=1e-8):   # Added to the variance.
    """Per-sample, per-channel normalisation over H and W, computed in float32, no affine."""
    orig_dtype = x.dtype
    x = ops.cast(x, "float32")
    x = x - ops.mean(x, axis=[1, 2], keepdims=True)
    x = x * ops.rsqrt(ops.mean(ops.square(x), axis=[1, 2], keepdims=True) + epsilon)
    return ops.cast(x, orig_dtype)


def official_weight_bias(layer,       # A `networks.layers` equalized layer (or Bias).
                         bias=None):  # Separate `networks.layers.Bias` holding the bias.
    """Official `weight` / `bias` variables of a shared equalized layer, in official order."""
    items = []
    if getattr(layer, "weight", None) is not None:
        items.append(("weight", layer.weight))
    owner = layer if bias is None else bias
    if getattr(owner, "bias", None) is not None:
        items.append(("bias", owner.bias))
    return collections.OrderedDict(items)


# ----------------------------------------------------------------------------------------
# Synthesis-network layers.

@keras.saving.register_keras_serializable(package=PACKAGE)
class Blur2D(keras.layers.Layer):
    """Official `blur2d`: [1,2,1] x [1,2,1] / 16 depthwise filter, zero 'SAME' padding."""

    def __init__(self,
                 blur_filter=(1, 2, 1),  # Filter taps.
                 normalize=True,         # Normalise the taps to sum 1?
                 **kwargs):              # Base Layer arguments.
        super().__init__(**kwargs)
        self.blur_filter = np.asarray(blur_filter, dtype=np.float64).tolist()
        self.normalize = bool(normalize)

    def call(self, x):
        return blur2d(ops.cast(x, self.compute_dtype), self.blur_filter, self.normalize)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "blur_filter": self.blur_filter,
                "normalize": self.normalize}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ConstantInput(keras.layers.Layer):
    """Official learned constant `const` [1, C, 4, 4] (NCHW, ones), tiled over the batch.

    Output is NHWC [N, 4, 4, C]; the batch size is taken from the reference input.
    """

    def __init__(self,
                 channels,           # C.
                 size=4,             # Spatial size.
                 **kwargs):          # Base Layer arguments.
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.size = int(size)

    def build(self,
              input_shape=None):   # Unused: the constant's shape is fixed.
        self.const = self.add_weight(name="const", shape=(1, self.channels, self.size, self.size),
                                     initializer="ones", dtype="float32", autocast=False)

    def call(self,
             reference):   # Any tensor whose first dimension is the minibatch size.
        x = ops.transpose(ops.cast(self.const, self.compute_dtype), [0, 2, 3, 1])
        return ops.tile(x, [ops.shape(reference)[0], 1, 1, 1])

    def official_variables(self):
        return collections.OrderedDict([("const", self.const)])

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "size": self.size}


@keras.saving.register_keras_serializable(package=PACKAGE)
class StyleMod(keras.layers.Layer):
    """Official `style_mod`: affine dlatent -> (scale, bias) per channel; x*(scale+1) + bias."""

    def __init__(self,
                 channels,             # C of the modulated activations.
                 use_wscale=True,      # Equalized learning rate for the affine layer?
                 **kwargs):            # Base Layer arguments.
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.use_wscale = bool(use_wscale)
        self.dense = layers.EqualizedDense(2 * self.channels, gain=1.0,
                                           use_wscale=self.use_wscale, use_bias=True,
                                           dtype=self.dtype_policy, name="dense")

    def build(self,
              x_shape,          # [N, H, W, C]
              dlatent_shape):   # [N, dlatent_size]
        self.dense.build(dlatent_shape)

    def call(self,
             x,                 # [N, H, W, C] activations.
             dlatent):          # [N, dlatent_size] style of this layer.
        x = ops.cast(x, self.compute_dtype)
        style = self.dense(dlatent)                       # [N, 2C]
        scale = style[:, :self.channels][:, None, None, :]
        shift = style[:, self.channels:][:, None, None, :]
        return x * (scale + ops.cast(1, x.dtype)) + shift

    def official_variables(self):
        return official_weight_bias(self.dense)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels,
                "use_wscale": self.use_wscale}


@keras.saving.register_keras_serializable(package=PACKAGE)
class LayerEpilogue(keras.layers.Layer):
    """What follows every synthesis conv (official `layer_epilogue`):
    noise (per-channel `Noise/weight`, zeros) -> `bias` -> activation -> pixel norm ->
    instance norm -> `StyleMod`, each according to its switch."""

    def __init__(self,
                 channels,                 # C.
                 use_noise=True,           # Add scaled noise?
                 use_styles=True,          # Apply style modulation?
                 use_pixel_norm=False,     # Pixelwise feature normalisation?
                 use_instance_norm=True,   # Instance normalisation?
                 nonlinearity="lrelu",     # 'lrelu' or 'relu'.
                 use_wscale=True,          # Equalized learning rate for StyleMod?
                 **kwargs):                # Base Layer arguments.
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.use_noise = bool(use_noise)
        self.use_styles = bool(use_styles)
        self.use_pixel_norm = bool(use_pixel_norm)
        self.use_instance_norm = bool(use_instance_norm)
        self.nonlinearity = nonlinearity
        self.use_wscale = bool(use_wscale)
        self.act, _ = activation(nonlinearity)
        self.style_mod = None
        if self.use_styles:
            self.style_mod = StyleMod(self.channels, use_wscale=self.use_wscale,
                                      dtype=self.dtype_policy, name="style_mod")

    def build(self,
              x_shape,              # [N, H, W, C]
              dlatent_shape=None):  # [N, dlatent_size] (with use_styles)
        self.noise_strength = None
        if self.use_noise:
            self.noise_strength = self.add_weight(name="noise_strength", shape=(self.channels,),
                                                  initializer="zeros", dtype="float32",
                                                  autocast=False)
        self.bias = self.add_weight(name="bias", shape=(self.channels,), initializer="zeros",
                                    dtype="float32", autocast=False)
        if self.use_styles:
            self.style_mod.build(x_shape, dlatent_shape)

    def call(self,
             x,                  # [N, H, W, C] conv output.
             dlatent=None,       # [N, dlatent_size] style of this layer.
             noise=None):        # [N or 1, H, W, 1] noise image.
        x = ops.cast(x, self.compute_dtype)
        if self.use_noise:
            x = x + ops.cast(noise, x.dtype) * ops.cast(self.noise_strength, x.dtype)
        x = self.act(x + ops.cast(self.bias, x.dtype))
        if self.use_pixel_norm:
            x = layers.pixel_norm(x)
        if self.use_instance_norm:
            x = instance_norm(x)
        if self.use_styles:
            x = self.style_mod(x, dlatent)
        return x

    def official_variables(self):
        items = []
        if self.use_noise:
            items.append(("Noise/weight", self.noise_strength))
        items.append(("bias", self.bias))
        if self.use_styles:
            items += [("StyleMod/" + k, v) for k, v in self.style_mod.official_variables().items()]
        return collections.OrderedDict(items)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "use_noise": self.use_noise,
                "use_styles": self.use_styles, "use_pixel_norm": self.use_pixel_norm,
                "use_instance_norm": self.use_instance_norm, "nonlinearity": self.nonlinearity,
                "use_wscale": self.use_wscale}
