"""StyleGAN layers and blocks (NVlabs/stylegan `training/networks_stylegan.py`).

The equalized-learning-rate convolutions and dense layers, bias, minibatch stddev and the
resampling functions shared with ProGAN live in `networks.layers`; this module adds what
only StyleGAN has: the blur filter, instance normalisation, the learned constant input,
style modulation and the per-layer epilogue with noise inputs; and the named blocks the
networks are built from, as in the paper's figure 1: `SynthesisInput` (4x4), one
`SynthesisBlock` per resolution and a `ToRGB` per resolution for G_synthesis;
`FromRGB`, one `DiscriminatorBlock` per resolution and `DiscriminatorEpilogue` (4x4) for
D_basic.

Tensors are NHWC. Variables keep the official names and shapes (NCHW where the official
variable is NCHW, e.g. the learned constant), so that official pickles map one to one:
layers expose `official_variables()`, an ordered dict from the official name relative to
the layer's scope to the Keras variable, and blocks also carry that scope
(`official_scope`, e.g. '8x8' or 'ToRGB_lod0').
"""

import collections

import keras
import numpy as np
from keras import ops

from networks import base
from networks import layers

PACKAGE = "stylegan"
SQRT2 = float(np.sqrt(2.0))


# ----------------------------------------------------------------------------------------
# Stateless ops.


def leaky_relu(
    x,  # Any tensor.
    alpha=0.2,  # Slope for negative inputs.
):
    """Official lrelu: max(x, alpha*x) (gradient 1 at x == 0, as the official custom grad)."""
    return ops.maximum(x, x * ops.cast(alpha, x.dtype))


def activation(name):
    """Return (function, gain) for the official `nonlinearity` names."""
    if name == "lrelu":
        return leaky_relu, SQRT2
    if name == "relu":
        return ops.relu, SQRT2
    raise ValueError(f"Unknown nonlinearity {name!r}: use 'lrelu' or 'relu'")


def blur_kernel(
    f,  # 1-D or 2-D filter taps.
    normalize=True,  # Scale the taps to sum to 1?
):
    """The 2-D blur kernel `_blur2d` builds: outer product of a 1-D filter, normalised."""
    f = np.asarray(f, dtype=np.float32)
    if f.ndim == 1:
        f = f[:, np.newaxis] * f[np.newaxis, :]
    if f.ndim != 2:
        raise ValueError(f"blur filter must be 1-D or 2-D, got shape {f.shape}")
    if normalize:
        f = f / np.sum(f)
    return f


def blur2d(
    x,  # [N, H, W, C]
    f=(1, 2, 1),  # Filter taps.
    normalize=True,  # Normalise the taps to sum 1?
):
    """Depthwise low-pass filter with zero 'SAME' padding, computed in float32 as official."""
    kernel = blur_kernel(f, normalize)
    if kernel.shape == (1, 1) and kernel[0, 0] == 1:
        return x
    channels = x.shape[-1]
    kernel = np.tile(kernel[:, :, np.newaxis, np.newaxis], [1, 1, channels, 1])
    orig_dtype = x.dtype
    y = ops.depthwise_conv(ops.cast(x, "float32"), ops.convert_to_tensor(kernel), strides=1, padding="same")
    return ops.cast(y, orig_dtype)


def instance_norm(
    x,  # [N, H, W, C]
    epsilon=1e-8,  # Added to the variance.
):
    """Per-sample, per-channel normalisation over H and W, computed in float32, no affine."""
    orig_dtype = x.dtype
    x = ops.cast(x, "float32")
    x = x - ops.mean(x, axis=[1, 2], keepdims=True)
    x = x * ops.rsqrt(ops.mean(ops.square(x), axis=[1, 2], keepdims=True) + epsilon)
    return ops.cast(x, orig_dtype)


# ----------------------------------------------------------------------------------------
# Synthesis-network layers.


@keras.saving.register_keras_serializable(package=PACKAGE)
class Blur2D(keras.layers.Layer):
    """Official `blur2d`: [1,2,1] x [1,2,1] / 16 depthwise filter, zero 'SAME' padding."""

    def __init__(
        self,
        blur_filter=(1, 2, 1),  # Filter taps.
        normalize=True,  # Normalise the taps to sum 1?
        **kwargs,  # Base Layer arguments.
    ):
        super().__init__(**kwargs)
        self.blur_filter = np.asarray(blur_filter, dtype=np.float64).tolist()
        self.normalize = bool(normalize)

    def call(self, x):
        return blur2d(ops.cast(x, self.compute_dtype), self.blur_filter, self.normalize)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "blur_filter": self.blur_filter, "normalize": self.normalize}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ConstantInput(keras.layers.Layer):
    """Official learned constant `const` [1, C, 4, 4] (NCHW, ones), tiled over the batch.

    Output is NHWC [N, 4, 4, C]; the batch size is taken from the reference input.
    """

    def __init__(
        self,
        channels,  # C.
        size=4,  # Spatial size.
        **kwargs,  # Base Layer arguments.
    ):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.size = int(size)

    def build(
        self,
        input_shape=None,  # Unused: the constant's shape is fixed.
    ):
        self.const = self.add_weight(
            name="const",
            shape=(1, self.channels, self.size, self.size),
            initializer="ones",
            dtype="float32",
            autocast=False,
        )

    def call(
        self,
        reference,  # Any tensor whose first dimension is the minibatch size.
    ):
        x = ops.transpose(ops.cast(self.const, self.compute_dtype), [0, 2, 3, 1])
        return ops.tile(x, [ops.shape(reference)[0], 1, 1, 1])

    def official_variables(self):
        return collections.OrderedDict([("const", self.const)])

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "size": self.size}


@keras.saving.register_keras_serializable(package=PACKAGE)
class StyleMod(keras.layers.Layer):
    """Official `style_mod`: affine dlatent -> (scale, bias) per channel; x*(scale+1) + bias."""

    def __init__(
        self,
        channels,  # C of the modulated activations.
        use_wscale=True,  # Equalized learning rate for the affine layer?
        **kwargs,  # Base Layer arguments.
    ):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.use_wscale = bool(use_wscale)
        self.dense = layers.EqualizedDense(
            2 * self.channels,
            gain=1.0,
            use_wscale=self.use_wscale,
            use_bias=True,
            dtype=self.dtype_policy,
            name="dense",
        )

    def build(
        self,
        x_shape,  # [N, H, W, C]
        dlatent_shape,  # [N, dlatent_size]
    ):
        self.dense.build(dlatent_shape)

    def call(
        self,
        x,  # [N, H, W, C] activations.
        dlatent,  # [N, dlatent_size] style of this layer.
    ):
        x = ops.cast(x, self.compute_dtype)
        style = self.dense(dlatent)  # [N, 2C]
        scale = style[:, : self.channels][:, None, None, :]
        shift = style[:, self.channels :][:, None, None, :]
        return x * (scale + ops.cast(1, x.dtype)) + shift

    def official_variables(self):
        return base.weight_and_bias(self.dense)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "use_wscale": self.use_wscale}


@keras.saving.register_keras_serializable(package=PACKAGE)
class LayerEpilogue(keras.layers.Layer):
    """What follows every synthesis conv (official `layer_epilogue`):
    noise (per-channel `Noise/weight`, zeros) -> `bias` -> activation -> pixel norm ->
    instance norm -> `StyleMod`, each according to its switch."""

    def __init__(
        self,
        channels,  # C.
        use_noise=True,  # Add scaled noise?
        use_styles=True,  # Apply style modulation?
        use_pixel_norm=False,  # Pixelwise feature normalisation?
        use_instance_norm=True,  # Instance normalisation?
        nonlinearity="lrelu",  # 'lrelu' or 'relu'.
        use_wscale=True,  # Equalized learning rate for StyleMod?
        **kwargs,  # Base Layer arguments.
    ):
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
            self.style_mod = StyleMod(
                self.channels, use_wscale=self.use_wscale, dtype=self.dtype_policy, name="style_mod"
            )

    def build(
        self,
        x_shape,  # [N, H, W, C]
        dlatent_shape=None,  # [N, dlatent_size] (with use_styles)
    ):
        self.noise_strength = None
        if self.use_noise:
            self.noise_strength = self.add_weight(
                name="noise_strength", shape=(self.channels,), initializer="zeros", dtype="float32", autocast=False
            )
        self.bias = self.add_weight(
            name="bias", shape=(self.channels,), initializer="zeros", dtype="float32", autocast=False
        )
        if self.use_styles:
            self.style_mod.build(x_shape, dlatent_shape)

    def call(
        self,
        x,  # [N, H, W, C] conv output.
        dlatent=None,  # [N, dlatent_size] style of this layer.
        noise=None,  # [N or 1, H, W, 1] noise image.
    ):
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
        return {
            **super().get_config(),
            "channels": self.channels,
            "use_noise": self.use_noise,
            "use_styles": self.use_styles,
            "use_pixel_norm": self.use_pixel_norm,
            "use_instance_norm": self.use_instance_norm,
            "nonlinearity": self.nonlinearity,
            "use_wscale": self.use_wscale,
        }


# ----------------------------------------------------------------------------------------
# G_synthesis blocks.


def _epilogue(
    name,  # Keras layer name.
    channels,  # Feature maps.
    nonlinearity,  # 'lrelu' or 'relu'.
    use_wscale,  # Equalized learning rate for StyleMod?
    epilogue,  # The other LayerEpilogue switches (use_noise, use_styles, ...).
    policy,  # Dtype policy.
):
    return LayerEpilogue(
        channels, nonlinearity=nonlinearity, use_wscale=use_wscale, dtype=policy, name=name, **epilogue
    )


def _pair(values):  # None or the two values of a block's layers.
    return (None, None) if values is None else tuple(values)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SynthesisInput(keras.layers.Layer):
    """The 4x4 start of G_synthesis (official scope '4x4'): the learned constant `Const`
    (or `Dense` from the first w, officially reshaped NCHW) and its epilogue, then the 3x3
    `Conv` and its epilogue.

    Call: `x = block(dlatents, styles, noises)` with dlatents [N, num_styles, dlatent_size],
    styles the two layers' w (or None without styles) and noises their noise images (or
    None without noise); x is [N, 4, 4, channels].
    """

    official_scope = "4x4"

    def __init__(
        self,
        channels,  # Feature maps (nf(1)).
        const_input_layer=True,  # Learned constant (else a dense layer from w)?
        nonlinearity="lrelu",  # 'lrelu' or 'relu'.
        use_wscale=True,  # Equalized learning rate?
        epilogue=None,  # Other LayerEpilogue switches (use_noise, use_styles, ...).
        **kwargs,  # Base Layer arguments.
    ):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.const_input_layer = bool(const_input_layer)
        self.nonlinearity = nonlinearity
        self.use_wscale = bool(use_wscale)
        self.epilogue = dict(epilogue or {})
        _, gain = activation(nonlinearity)
        policy = self.dtype_policy
        self.input_scope = "Const" if self.const_input_layer else "Dense"
        if self.const_input_layer:
            self.input_layer = ConstantInput(self.channels, dtype=policy, name="Const")
        else:  # Gain / 4 as officially (the Theano original's 4x4 dense).
            self.input_layer = layers.EqualizedDense(
                self.channels * 16,
                gain=gain / 4,
                use_wscale=self.use_wscale,
                use_bias=False,
                dtype=policy,
                name="Dense",
            )
        self.input_epilogue = _epilogue(
            self.input_scope + "_epilogue", self.channels, nonlinearity, self.use_wscale, self.epilogue, policy
        )
        self.conv = layers.EqualizedConv2D(
            self.channels, 3, gain=gain, use_wscale=self.use_wscale, use_bias=False, dtype=policy, name="Conv"
        )
        self.conv_epilogue = _epilogue(
            "Conv_epilogue", self.channels, nonlinearity, self.use_wscale, self.epilogue, policy
        )

    def build(
        self,
        dlatents_shape,  # [N, num_styles, dlatent_size]
        styles_shape=None,  # Unused: the styles are rows of `dlatents`.
        noises_shape=None,  # Unused.
    ):
        dlatent_shape = (None, dlatents_shape[-1])
        shape = (None, 4, 4, self.channels)
        if self.const_input_layer:
            self.input_layer.build()
        else:
            self.input_layer.build(dlatent_shape)
        self.input_epilogue.build(shape, dlatent_shape)
        self.conv.build(shape)
        self.conv_epilogue.build(shape, dlatent_shape)

    def call(
        self,
        dlatents,  # [N, num_styles, dlatent_size] W.
        styles=None,  # (w of the input layer, w of Conv), or None.
        noises=None,  # (noise of the input layer, noise of Conv), or None.
    ):
        style, noise = _pair(styles), _pair(noises)
        if self.const_input_layer:
            x = self.input_layer(dlatents)
        else:
            x = self.input_layer(dlatents[:, 0])
            x = layers.unflatten_nchw(x, self.channels, 4, 4)  # Official reshape is NCHW.
        x = self.input_epilogue(x, style[0], noise[0])
        return self.conv_epilogue(self.conv(x), style[1], noise[1])

    def official_variables(self):
        input_vars = (
            self.input_layer.official_variables() if self.const_input_layer else base.weight_and_bias(self.input_layer)
        )
        return collections.OrderedDict(
            base.prefixed(self.input_scope, input_vars)
            + base.prefixed(self.input_scope, self.input_epilogue.official_variables())
            + base.prefixed("Conv", base.weight_and_bias(self.conv))
            + base.prefixed("Conv", self.conv_epilogue.official_variables())
        )

    def get_config(self):
        return {
            **super().get_config(),
            "channels": self.channels,
            "const_input_layer": self.const_input_layer,
            "nonlinearity": self.nonlinearity,
            "use_wscale": self.use_wscale,
            "epilogue": self.epilogue,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class SynthesisBlock(keras.layers.Layer):
    """One resolution S = 2^res of G_synthesis (official scope 'SxS'): 2x upscale and the 3x3
    `Conv0_up` (one transposed conv when fused), blur, epilogue; the 3x3 `Conv1`, epilogue.

    Call: `x = block(x, styles, noises)` with x [N, S/2, S/2, C_in] -> [N, S, S, channels];
    styles and noises as for `SynthesisInput`.
    """

    def __init__(
        self,
        res,  # log2 of the output resolution (>= 3).
        channels,  # Output feature maps (nf(res - 1)).
        fused=False,  # Upscale and Conv0_up as one transposed conv?
        blur_filter=(1, 2, 1),  # Low-pass filter after upscaling (None = off).
        nonlinearity="lrelu",  # 'lrelu' or 'relu'.
        use_wscale=True,  # Equalized learning rate?
        epilogue=None,  # Other LayerEpilogue switches (use_noise, use_styles, ...).
        **kwargs,  # Base Layer arguments.
    ):
        super().__init__(**kwargs)
        self.res = int(res)
        self.channels = int(channels)
        self.fused = bool(fused)
        self.blur_filter = None if not blur_filter else list(blur_filter)
        self.nonlinearity = nonlinearity
        self.use_wscale = bool(use_wscale)
        self.epilogue = dict(epilogue or {})
        self.size = 2**self.res
        self.official_scope = f"{self.size}x{self.size}"
        _, gain = activation(nonlinearity)
        policy = self.dtype_policy
        conv_class = layers.UpscaleConv2D if self.fused else layers.EqualizedConv2D
        extra = {"transposed_weight": False} if self.fused else {}
        self.conv0_up = conv_class(
            self.channels,
            3,
            gain=gain,
            use_wscale=self.use_wscale,
            use_bias=False,
            dtype=policy,
            name="Conv0_up",
            **extra,
        )
        self.blur = None
        if self.blur_filter is not None:
            self.blur = Blur2D(self.blur_filter, dtype=policy, name="Blur")
        self.conv0_epilogue = _epilogue(
            "Conv0_up_epilogue", self.channels, nonlinearity, self.use_wscale, self.epilogue, policy
        )
        self.conv1 = layers.EqualizedConv2D(
            self.channels, 3, gain=gain, use_wscale=self.use_wscale, use_bias=False, dtype=policy, name="Conv1"
        )
        self.conv1_epilogue = _epilogue(
            "Conv1_epilogue", self.channels, nonlinearity, self.use_wscale, self.epilogue, policy
        )

    def build(
        self,
        x_shape,  # [N, S/2, S/2, C_in]
        styles_shape=None,  # The two styles' shapes, [N, dlatent_size] each.
        noises_shape=None,  # Unused.
    ):
        size, half = self.size, self.size // 2
        dlatent_shape = None if styles_shape is None else tuple(styles_shape[0])
        self.conv0_up.build((None, half, half, x_shape[-1]) if self.fused else (None, size, size, x_shape[-1]))
        shape = (None, size, size, self.channels)
        # Both convs before the epilogues: the order the variables were first created in,
        # so the same Keras seed gives the same initial values.
        self.conv1.build(shape)
        self.conv0_epilogue.build(shape, dlatent_shape)
        self.conv1_epilogue.build(shape, dlatent_shape)

    def call(
        self,
        x,  # [N, S/2, S/2, C_in] features of the resolution below.
        styles=None,  # (w of Conv0_up, w of Conv1), or None.
        noises=None,  # (noise of Conv0_up, noise of Conv1), or None.
    ):
        style, noise = _pair(styles), _pair(noises)
        x = self.conv0_up(x if self.fused else layers.upscale2d(x))
        if self.blur is not None:
            x = self.blur(x)
        x = self.conv0_epilogue(x, style[0], noise[0])
        return self.conv1_epilogue(self.conv1(x), style[1], noise[1])

    def official_variables(self):
        return collections.OrderedDict(
            base.prefixed("Conv0_up", base.weight_and_bias(self.conv0_up))
            + base.prefixed("Conv0_up", self.conv0_epilogue.official_variables())
            + base.prefixed("Conv1", base.weight_and_bias(self.conv1))
            + base.prefixed("Conv1", self.conv1_epilogue.official_variables())
        )

    def get_config(self):
        return {
            **super().get_config(),
            "res": self.res,
            "channels": self.channels,
            "fused": self.fused,
            "blur_filter": self.blur_filter,
            "nonlinearity": self.nonlinearity,
            "use_wscale": self.use_wscale,
            "epilogue": self.epilogue,
        }


# ----------------------------------------------------------------------------------------
# D_basic blocks.


@keras.saving.register_keras_serializable(package=PACKAGE)
class DiscriminatorBlock(keras.layers.Layer):
    """One resolution S = 2^res of D_basic (official scope 'SxS'): the 3x3 `Conv0`, blur, and
    the 3x3 `Conv1_down` with 2x downscale (one stride-2 conv when fused; else the
    downscale follows the conv and the bias follows the downscale, as officially).

    Call: `x = block(x)` with x [N, S, S, C_in] -> [N, S/2, S/2, channels].
    """

    def __init__(
        self,
        res,  # log2 of the input resolution (>= 3).
        conv0_channels,  # Conv0 feature maps (nf(res - 1), as its input's).
        channels,  # Output feature maps (nf(res - 2)).
        fused=False,  # Conv1_down and the downscale as one strided conv?
        blur_filter=(1, 2, 1),  # Low-pass filter before downscaling (None = off).
        nonlinearity="lrelu",  # 'lrelu' or 'relu'.
        use_wscale=True,  # Equalized learning rate?
        **kwargs,  # Base Layer arguments.
    ):
        super().__init__(**kwargs)
        self.res = int(res)
        self.conv0_channels = int(conv0_channels)
        self.channels = int(channels)
        self.fused = bool(fused)
        self.blur_filter = None if not blur_filter else list(blur_filter)
        self.nonlinearity = nonlinearity
        self.use_wscale = bool(use_wscale)
        self.size = 2**self.res
        self.official_scope = f"{self.size}x{self.size}"
        self.act, gain = activation(nonlinearity)
        policy = self.dtype_policy
        self.conv0 = layers.EqualizedConv2D(
            self.conv0_channels, 3, gain=gain, use_wscale=self.use_wscale, use_bias=True, dtype=policy, name="Conv0"
        )
        self.blur = None
        if self.blur_filter is not None:
            self.blur = Blur2D(self.blur_filter, dtype=policy, name="Blur")
        conv_class = layers.Conv2DDownscale if self.fused else layers.EqualizedConv2D
        self.conv1_down = conv_class(
            self.channels,
            3,
            gain=gain,
            use_wscale=self.use_wscale,
            use_bias=self.fused,
            dtype=policy,
            name="Conv1_down",
        )
        self.conv1_down_bias = None
        if not self.fused:
            self.conv1_down_bias = layers.Bias(dtype=policy, name="Conv1_down_bias")

    def build(
        self,
        x_shape,  # [N, S, S, C_in]
    ):
        size = self.size
        # Conv1_down (and its bias) before Conv0: the order the variables were first created
        # in, so the same Keras seed gives the same initial values.
        self.conv1_down.build((None, size, size, self.conv0_channels))
        if self.conv1_down_bias is not None:
            self.conv1_down_bias.build((None, size // 2, size // 2, self.channels))
        self.conv0.build((None, size, size, int(x_shape[-1])))

    def call(
        self,
        x,  # [N, S, S, C_in] features.
    ):
        x = self.act(self.conv0(x))
        if self.blur is not None:
            x = self.blur(x)
        x = self.conv1_down(x)
        if self.conv1_down_bias is not None:
            x = self.conv1_down_bias(layers.downscale2d(x))
        return self.act(x)

    def official_variables(self):
        return collections.OrderedDict(
            base.prefixed("Conv0", base.weight_and_bias(self.conv0))
            + base.prefixed("Conv1_down", base.weight_and_bias(self.conv1_down, self.conv1_down_bias))
        )

    def get_config(self):
        return {
            **super().get_config(),
            "res": self.res,
            "conv0_channels": self.conv0_channels,
            "channels": self.channels,
            "fused": self.fused,
            "blur_filter": self.blur_filter,
            "nonlinearity": self.nonlinearity,
            "use_wscale": self.use_wscale,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class DiscriminatorEpilogue(keras.layers.Layer):
    """The 4x4 end of D_basic (official scope '4x4'): minibatch stddev, the 3x3 `Conv`,
    `Dense0` and the linear `Dense1` to max(label_size, 1) outputs.

    Call: `scores = block(x)` with x [N, 4, 4, C] -> [N, max(label_size, 1)].
    """

    official_scope = "4x4"

    def __init__(
        self,
        channels,  # Conv feature maps (nf(1)).
        dense_channels,  # Dense0 features (nf(0)).
        label_size=0,  # Label dimensionality (0 = one score).
        mbstd_group_size=4,  # Minibatch-stddev group size (<= 1 = off).
        mbstd_num_features=1,  # Minibatch-stddev feature maps.
        nonlinearity="lrelu",  # 'lrelu' or 'relu'.
        use_wscale=True,  # Equalized learning rate?
        **kwargs,  # Base Layer arguments.
    ):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.dense_channels = int(dense_channels)
        self.label_size = int(label_size)
        self.mbstd_group_size = int(mbstd_group_size)
        self.mbstd_num_features = int(mbstd_num_features)
        self.nonlinearity = nonlinearity
        self.use_wscale = bool(use_wscale)
        self.act, gain = activation(nonlinearity)
        policy = self.dtype_policy
        self.mbstd = None
        if self.mbstd_group_size > 1:
            self.mbstd = layers.MinibatchStddev(
                self.mbstd_group_size, self.mbstd_num_features, dtype=policy, name="MinibatchStddev"
            )
        self.conv = layers.EqualizedConv2D(
            self.channels, 3, gain=gain, use_wscale=self.use_wscale, use_bias=True, dtype=policy, name="Conv"
        )
        self.dense0 = layers.EqualizedDense(
            self.dense_channels, gain=gain, use_wscale=self.use_wscale, use_bias=True, dtype=policy, name="Dense0"
        )
        self.dense1 = layers.EqualizedDense(
            max(self.label_size, 1), gain=1.0, use_wscale=self.use_wscale, use_bias=True, dtype=policy, name="Dense1"
        )

    def build(
        self,
        x_shape,  # [N, 4, 4, C]
    ):
        channels = int(x_shape[-1]) + (self.mbstd_num_features if self.mbstd is not None else 0)
        self.conv.build((None, 4, 4, channels))
        self.dense0.build((None, self.channels * 16))
        self.dense1.build((None, self.dense_channels))

    def call(
        self,
        x,  # [N, 4, 4, C] features.
    ):
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.act(self.conv(x))
        x = layers.flatten_nchw(x)  # Official Dense0 weight rows are in (C, H, W) order.
        x = self.act(self.dense0(x))
        return self.dense1(x)

    def official_variables(self):
        return collections.OrderedDict(
            base.prefixed("Conv", base.weight_and_bias(self.conv))
            + base.prefixed("Dense0", base.weight_and_bias(self.dense0))
            + base.prefixed("Dense1", base.weight_and_bias(self.dense1))
        )

    def get_config(self):
        return {
            **super().get_config(),
            "channels": self.channels,
            "dense_channels": self.dense_channels,
            "label_size": self.label_size,
            "mbstd_group_size": self.mbstd_group_size,
            "mbstd_num_features": self.mbstd_num_features,
            "nonlinearity": self.nonlinearity,
            "use_wscale": self.use_wscale,
        }
