"""Progressive GAN generator and discriminator (official `G_paper` / `D_paper`).

Faithful Keras 3 ports of networks.py:144-313 of tkarras/progressive_growing_of_gans,
channels-last, built from named blocks that carry their official scopes, as in Table 2 of
the paper:

    G: GeneratorInputBlock '4x4', GeneratorBlock '8x8' ... 'RxR', ToRGB 'ToRGB_lodN' per level;
    D: FromRGB 'FromRGB_lodN' per level, DiscriminatorBlock 'RxR' ... '8x8',
       DiscriminatorEpilogue '4x4'.

Each network holds a non-trainable float32 scalar `lod` and by default evaluates the
official *recursive* structure through `base.run_at_level`: only the resolutions that the
current lod needs are computed. 'linear' (the official template graph) and 'nested' (the
official nested `tf.cond`s, literally) remain available. Outputs are float32 whatever the
compute dtype. The official-state protocol is `base.Network`'s.
"""

import collections

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from networks import base
from networks import layers as L

# ----------------------------------------------------------------------------
# Helpers.


def _official_variables(**layers):  # Official sublayer name -> layer, or (layer, separate Bias layer).
    """Ordered 'Name/weight', 'Name/bias' variables of a block's sublayers, in the order given."""
    items = []
    for name, layer in layers.items():
        layer, bias = layer if isinstance(layer, tuple) else (layer, None)
        items += base.prefixed(name, base.weight_and_bias(layer, bias))
    return collections.OrderedDict(items)


def _act(
    x,  # Features.
    use_leakyrelu=True,  # True = leaky ReLU (alpha 0.2), False = ReLU.
):
    """The official activation of both networks."""
    return ops.leaky_relu(x, 0.2) if use_leakyrelu else ops.relu(x)


def _cond(
    pred,  # Scalar boolean tensor.
    true_fn,  # Called when pred holds.
    false_fn,  # Called otherwise.
):
    """`tf.cond` in graphs; a plain Python branch when executing eagerly."""
    if tf.executing_eagerly():
        return true_fn() if bool(pred) else false_fn()
    return tf.cond(pred, true_fn, false_fn)


def _cset(
    cur_fn,  # Current lazily evaluated result.
    new_cond,  # When this holds, ...
    new_fn,  # ... this replaces it.
):
    """Lazily chain a conditional, as the official `cset` (networks.py:17)."""
    return lambda: _cond(new_cond, new_fn, cur_fn)


# ----------------------------------------------------------------------------
# Generator blocks.


class _GeneratorLayers(keras.layers.Layer):
    """Options shared by the generator blocks: each conv is followed by act and pixelnorm."""

    def __init__(
        self,
        use_wscale=True,  # Enable equalized learning rate?
        use_pixelnorm=True,  # Pixelwise feature vector normalization after each conv?
        pixelnorm_epsilon=1e-8,  # Constant epsilon for pixelwise feature vector normalization.
        use_leakyrelu=True,  # True = leaky ReLU, False = ReLU.
        **kwargs,  # Layer kwargs.
    ):
        super().__init__(**kwargs)
        self.use_wscale = bool(use_wscale)
        self.use_pixelnorm = bool(use_pixelnorm)
        self.pixelnorm_epsilon = float(pixelnorm_epsilon)
        self.use_leakyrelu = bool(use_leakyrelu)

    def _equalized(self, cls, *args, **kwargs):
        return cls(*args, use_wscale=self.use_wscale, dtype=self.dtype_policy, **kwargs)

    def _act_pn(self, x):
        x = _act(x, self.use_leakyrelu)
        if self.use_pixelnorm:
            x = L.pixel_norm(x, self.pixelnorm_epsilon)
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            use_wscale=self.use_wscale,
            use_pixelnorm=self.use_pixelnorm,
            pixelnorm_epsilon=self.pixelnorm_epsilon,
            use_leakyrelu=self.use_leakyrelu,
        )
        return config


@keras.saving.register_keras_serializable(package="progan")
class GeneratorInputBlock(_GeneratorLayers):
    """The generator's '4x4' block: latents (with labels) -> [N, 4, 4, channels] features.

    Pixelnorm of the latents (optional), Dense to 4x4 features reshaped in NCHW order with its
    per-channel bias added after the reshape, act + pixelnorm, then a 3x3 Conv, act + pixelnorm
    (networks.py:190-198).
    """

    official_scope = "4x4"

    def __init__(
        self,
        channels,  # Feature maps, nf(1).
        normalize_latents=True,  # Normalize the latent vectors before the Dense?
        **kwargs,  # _GeneratorLayers options and Layer kwargs.
    ):
        kwargs.setdefault("name", self.official_scope)
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.normalize_latents = bool(normalize_latents)
        self.dense = self._equalized(
            L.EqualizedDense, self.channels * 16, gain=np.sqrt(2) / 4, use_bias=False, name="4x4_Dense"
        )
        self.dense_bias = L.Bias(name="4x4_Dense_bias", dtype=self.dtype_policy)
        self.conv = self._equalized(L.EqualizedConv2D, self.channels, 3, name="4x4_Conv")

    def build(self, input_shape):  # [N, latent_size + label_size].
        self.dense.build(input_shape)
        self.dense_bias.build((None, 4, 4, self.channels))
        self.conv.build((None, 4, 4, self.channels))

    def call(self, x):
        if self.normalize_latents:
            x = L.pixel_norm(x, self.pixelnorm_epsilon)
        x = self.dense(x)
        x = L.unflatten_nchw(x, x.shape[-1] // 16, 4, 4)  # [NHWC]
        x = self._act_pn(self.dense_bias(x))
        return self._act_pn(self.conv(x))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 4, 4, self.channels)

    def official_variables(self):
        """'Dense/weight', 'Dense/bias', 'Conv/weight', 'Conv/bias', relative to '4x4'."""
        return _official_variables(Dense=(self.dense, self.dense_bias), Conv=self.conv)

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, normalize_latents=self.normalize_latents)
        return config


@keras.saving.register_keras_serializable(package="progan")
class GeneratorBlock(_GeneratorLayers):
    """A generator block 'SxS': doubles the resolution of its input features.

    Conv0_up (fused nearest upscale + 3x3 conv) or upscale then Conv0; then Conv1; each conv
    followed by act + pixelnorm (networks.py:199-204).
    """

    def __init__(
        self,
        resolution,  # Output resolution S of this block.
        channels,  # Output feature maps, nf(log2(S) - 1).
        fused_scale=True,  # True = fused upscale2d + conv2d, False = separate upscale2d.
        **kwargs,  # _GeneratorLayers options and Layer kwargs.
    ):
        scope = f"{int(resolution)}x{int(resolution)}"
        kwargs.setdefault("name", scope)
        super().__init__(**kwargs)
        self.official_scope = scope
        self.resolution = int(resolution)
        self.channels = int(channels)
        self.fused_scale = bool(fused_scale)
        if self.fused_scale:
            self.conv0 = self._equalized(
                L.UpscaleConv2D, self.channels, 3, transposed_weight=True, name=f"{scope}_Conv0_up"
            )
        else:
            self.conv0 = self._equalized(L.EqualizedConv2D, self.channels, 3, name=f"{scope}_Conv0")
        self.conv1 = self._equalized(L.EqualizedConv2D, self.channels, 3, name=f"{scope}_Conv1")

    def build(self, input_shape):  # [N, S/2, S/2, C_in].
        size = self.resolution
        if self.fused_scale:
            self.conv0.build((None, size // 2, size // 2, input_shape[-1]))
        else:
            self.conv0.build((None, size, size, input_shape[-1]))
        self.conv1.build((None, size, size, self.channels))

    def call(self, x):
        if self.fused_scale:
            x = self._act_pn(self.conv0(x))
        else:
            x = self._act_pn(self.conv0(L.upscale2d(x)))
        return self._act_pn(self.conv1(x))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.resolution, self.resolution, self.channels)

    def official_variables(self):
        """'Conv0_up/...' (or 'Conv0/...') then 'Conv1/...', relative to 'SxS'."""
        conv0 = {"Conv0_up" if self.fused_scale else "Conv0": self.conv0}
        return _official_variables(**conv0, Conv1=self.conv1)

    def get_config(self):
        config = super().get_config()
        config.update(resolution=self.resolution, channels=self.channels, fused_scale=self.fused_scale)
        return config


# ----------------------------------------------------------------------------
# Discriminator blocks.


@keras.saving.register_keras_serializable(package="progan")
class DiscriminatorBlock(keras.layers.Layer):
    """A discriminator block 'SxS': halves the resolution of its input features.

    Conv0, then Conv1_down (fused 3x3 conv + 2x2 average pool) or Conv1 then downscale; each
    conv followed by leaky ReLU (networks.py:270-276).
    """

    def __init__(
        self,
        resolution,  # Input resolution S of this block.
        channels,  # Feature maps of Conv0, nf(log2(S) - 1).
        out_channels,  # Output feature maps, nf(log2(S) - 2).
        fused_scale=True,  # True = fused conv2d + downscale2d, False = separate downscale2d.
        use_wscale=True,  # Enable equalized learning rate?
        **kwargs,  # Layer kwargs.
    ):
        scope = f"{int(resolution)}x{int(resolution)}"
        kwargs.setdefault("name", scope)
        super().__init__(**kwargs)
        self.official_scope = scope
        self.resolution = int(resolution)
        self.channels = int(channels)
        self.out_channels = int(out_channels)
        self.fused_scale = bool(fused_scale)
        self.use_wscale = bool(use_wscale)
        common = dict(use_wscale=self.use_wscale, dtype=self.dtype_policy)
        self.conv0 = L.EqualizedConv2D(self.channels, 3, name=f"{scope}_Conv0", **common)
        if self.fused_scale:
            self.conv1 = L.Conv2DDownscale(self.out_channels, 3, name=f"{scope}_Conv1_down", **common)
        else:
            self.conv1 = L.EqualizedConv2D(self.out_channels, 3, name=f"{scope}_Conv1", **common)

    def build(self, input_shape):  # [N, S, S, C_in].
        size = self.resolution
        self.conv0.build((None, size, size, input_shape[-1]))
        self.conv1.build((None, size, size, self.channels))

    def call(self, x):
        x = _act(self.conv0(x))
        if self.fused_scale:
            return _act(self.conv1(x))
        return L.downscale2d(_act(self.conv1(x)))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.resolution // 2, self.resolution // 2, self.out_channels)

    def official_variables(self):
        """'Conv0/...' then 'Conv1_down/...' (or 'Conv1/...'), relative to 'SxS'."""
        conv1 = {"Conv1_down" if self.fused_scale else "Conv1": self.conv1}
        return _official_variables(Conv0=self.conv0, **conv1)

    def get_config(self):
        config = super().get_config()
        config.update(
            resolution=self.resolution,
            channels=self.channels,
            out_channels=self.out_channels,
            fused_scale=self.fused_scale,
            use_wscale=self.use_wscale,
        )
        return config


@keras.saving.register_keras_serializable(package="progan")
class DiscriminatorEpilogue(keras.layers.Layer):
    """The discriminator's '4x4' block: [N, 4, 4, C] features -> [N, 1 + label_size] outputs.

    Minibatch stddev (optional), 3x3 Conv, Dense0, each with leaky ReLU, then Dense1 with gain
    1: the score and the AC-GAN label logits (networks.py:277-283).
    """

    official_scope = "4x4"

    def __init__(
        self,
        channels,  # Feature maps of Conv, nf(1).
        dense_channels,  # Features of Dense0, nf(0).
        label_size=0,  # Dimensionality of the labels, 0 if no labels.
        mbstd_group_size=4,  # Group size for the minibatch standard deviation layer, <= 1 = off.
        use_wscale=True,  # Enable equalized learning rate?
        **kwargs,  # Layer kwargs.
    ):
        kwargs.setdefault("name", self.official_scope)
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.dense_channels = int(dense_channels)
        self.label_size = int(label_size)
        self.mbstd_group_size = int(mbstd_group_size)
        self.use_wscale = bool(use_wscale)
        common = dict(use_wscale=self.use_wscale, dtype=self.dtype_policy)
        self.conv = L.EqualizedConv2D(self.channels, 3, name="4x4_Conv", **common)
        self.dense0 = L.EqualizedDense(self.dense_channels, name="4x4_Dense0", **common)
        self.dense1 = L.EqualizedDense(1 + self.label_size, gain=1.0, name="4x4_Dense1", **common)

    def build(self, input_shape):  # [N, 4, 4, C_in].
        mbstd_channels = 1 if self.mbstd_group_size > 1 else 0
        self.conv.build((None, 4, 4, input_shape[-1] + mbstd_channels))
        self.dense0.build((None, self.channels * 16))
        self.dense1.build((None, self.dense_channels))

    def call(self, x):
        if self.mbstd_group_size > 1:
            x = L.minibatch_stddev(x, self.mbstd_group_size)
        x = _act(self.conv(x))
        x = _act(self.dense0(L.flatten_nchw(x)))
        return self.dense1(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1 + self.label_size)

    def official_variables(self):
        """'Conv/...', 'Dense0/...', 'Dense1/...', relative to '4x4'."""
        return _official_variables(Conv=self.conv, Dense0=self.dense0, Dense1=self.dense1)

    def get_config(self):
        config = super().get_config()
        config.update(
            channels=self.channels,
            dense_channels=self.dense_channels,
            label_size=self.label_size,
            mbstd_group_size=self.mbstd_group_size,
            use_wscale=self.use_wscale,
        )
        return config


# ----------------------------------------------------------------------------
# Networks.


class _ProGANNetwork(base.Network):
    """What G_paper and D_paper share: their config as attributes and official kwargs."""

    family = "progan"
    STRUCTURES = ("recursive", "linear", "nested")

    def _expose_config(self, config):
        """Normalise numbers to plain Python and expose each argument as an attribute (G.resolution, ...)."""
        for key in ("fmap_base", "fmap_max"):
            config[key] = base.plain_number(config[key])
        config["fmap_decay"] = float(config["fmap_decay"])
        self._config = config
        for key, value in config.items():
            if key != "dtype":  # Keras owns `dtype`; the argument stays in get_config().
                setattr(self, key, value)

    def _nf(self, stage):
        return base.num_features(stage, self.fmap_base, self.fmap_decay, self.fmap_max)

    def official_static_kwargs(self):
        """Constructor kwargs under their official names, as stored in a pickle."""
        return dict(self._config, dtype=base.official_dtype(self._config["dtype"]))

    def get_config(self):
        return dict(self._config, structure=self.structure, name=self.name)


@keras.saving.register_keras_serializable(package="progan")
class Generator(_ProGANNetwork):
    """ProGAN generator `G_paper` (networks.py:144-229), channels-last.

    `images = G(latents, labels)`: latents [N, latent_size], labels
    [N, label_size] (may be omitted when label_size == 0); returns float32
    images [N, resolution, resolution, num_channels] at full resolution,
    lower levels nearest-upscaled as the official graph does. The current
    level of detail is the variable `G.lod`. Blocks: `input_block` ('4x4'),
    `blocks[res - 3]` ('8x8' ...), `to_rgb[res - 2]` ('ToRGB_lod{R - res}').
    """

    official_build_func_name = "G_paper"

    def __init__(
        self,
        num_channels=1,  # Number of output color channels.
        resolution=32,  # Output resolution.
        label_size=0,  # Dimensionality of the labels, 0 if no labels.
        fmap_base=8192,  # Overall multiplier for the number of feature maps.
        fmap_decay=1.0,  # log2 feature map reduction when doubling the resolution.
        fmap_max=512,  # Maximum number of feature maps in any layer.
        latent_size=None,  # Dimensionality of the latent vectors. None = nf(0).
        normalize_latents=True,  # Normalize latent vectors (with labels) before the first layer?
        use_wscale=True,  # Enable equalized learning rate?
        use_pixelnorm=True,  # Enable pixelwise feature vector normalization?
        pixelnorm_epsilon=1e-8,  # Constant epsilon for pixelwise feature vector normalization.
        use_leakyrelu=True,  # True = leaky ReLU, False = ReLU.
        fused_scale=True,  # True = fused upscale2d + conv2d, False = separate upscale2d.
        dtype="float32",  # Activation dtype: 'float32', 'float16', 'bfloat16' (mixed).
        structure=None,  # 'recursive' (None) = only the levels lod needs; 'linear' = all
        # levels (official template graph); 'nested' = official nested tf.cond.
        name="G",  # Network name.
        **kwargs,  # Keras Model kwargs (e.g. trainable).
    ):
        super().__init__(name=name, dtype=base.dtype_policy(dtype), **kwargs)
        self.resolution_log2 = base.resolution_log2(resolution)
        self.structure = base.check_structure(structure, self.STRUCTURES)
        if latent_size is None:
            latent_size = base.num_features(0, fmap_base, fmap_decay, fmap_max)
        self._expose_config(
            dict(
                num_channels=int(num_channels),
                resolution=int(resolution),
                label_size=int(label_size),
                fmap_base=fmap_base,
                fmap_decay=fmap_decay,
                fmap_max=fmap_max,
                latent_size=int(latent_size),
                normalize_latents=bool(normalize_latents),
                use_wscale=bool(use_wscale),
                use_pixelnorm=bool(use_pixelnorm),
                pixelnorm_epsilon=float(pixelnorm_epsilon),
                use_leakyrelu=bool(use_leakyrelu),
                fused_scale=bool(fused_scale),
                dtype=dtype,
            )
        )
        nf, R = self._nf, self.resolution_log2
        layer_kwargs = dict(
            use_wscale=self.use_wscale,
            use_pixelnorm=self.use_pixelnorm,
            pixelnorm_epsilon=self.pixelnorm_epsilon,
            use_leakyrelu=self.use_leakyrelu,
            dtype=self.dtype_policy,
        )
        torgb = lambda res: L.ToRGB(R - res, self.num_channels, use_wscale=self.use_wscale, dtype=self.dtype_policy)

        # Built one after the other, as the official graph creates its variables.
        self.add_lod()
        self.input_block = GeneratorInputBlock(nf(1), normalize_latents=self.normalize_latents, **layer_kwargs)
        self.input_block.build((None, self.latent_size + self.label_size))
        self.to_rgb = [torgb(2)]
        self.to_rgb[0].build((None, 4, 4, nf(1)))
        self.blocks = []
        for res in range(3, R + 1):
            size = 2**res
            block = GeneratorBlock(size, nf(res - 1), fused_scale=self.fused_scale, **layer_kwargs)
            block.build((None, size // 2, size // 2, nf(res - 2)))
            self.blocks.append(block)
            self.to_rgb.append(torgb(res))
            self.to_rgb[-1].build((None, size, size, nf(res - 1)))
        self.built = True

    def official_blocks(self):
        """'4x4', 'ToRGB_lod{R-2}', then per resolution 'SxS', 'ToRGB_lod{R-res}': the official order."""
        order = [self.input_block, self.to_rgb[0]]
        for block, torgb in zip(self.blocks, self.to_rgb[1:]):
            order += [block, torgb]
        return order

    # Forward pass --------------------------------------------------------------

    def _block(self, x, res):
        return self.input_block(x) if res == 2 else self.blocks[res - 3](x)

    def _torgb(self, x, res):
        return self.to_rgb[res - 2](x)

    def _fade(self, t):
        return ops.cast(t, self.compute_dtype)

    def call(
        self,
        latents,  # [N, latent_size] latent vectors.
        labels=None,  # [N, label_size] labels; optional when label_size == 0.
        training=None,  # Unused; accepted for Keras.
    ):
        """Generate [N, H, W, C] float32 images at the current `lod`."""
        x = ops.cast(latents, self.compute_dtype)
        if self.label_size:
            if labels is None:
                raise ValueError(f"{self.name}: label_size={self.label_size} needs labels")
            x = ops.concatenate([x, ops.cast(labels, self.compute_dtype)], axis=1)
        lod_in = ops.convert_to_tensor(self.lod)
        structure = {"linear": self._linear, "nested": self._nested}.get(self.structure, self._recursive)
        return ops.cast(structure(x, lod_in), "float32")

    def _linear(self, x, lod_in):
        """Official linear structure (networks.py:206-215): every level, faded with lerp_clip."""
        R = self.resolution_log2
        x = self._block(x, 2)
        images = self._torgb(x, 2)
        for res in range(3, R + 1):
            x = self._block(x, res)
            images = L.lerp_clip(self._torgb(x, res), L.upscale2d(images), self._fade(lod_in - (R - res)))
        return images

    def _nested(self, x, lod_in):
        """Official recursive structure, literally (networks.py:218-225): nested conds on lod."""

        def grow(x, res, lod):
            y = self._block(x, res)
            img = lambda: L.upscale2d(self._torgb(y, res), 2**lod)
            if res > 2:
                img = _cset(
                    img,
                    lod_in > lod,
                    lambda: L.upscale2d(
                        L.lerp(self._torgb(y, res), L.upscale2d(self._torgb(x, res - 1)), self._fade(lod_in - lod)),
                        2**lod,
                    ),
                )
            if lod > 0:
                img = _cset(img, lod_in < lod, lambda: grow(y, res + 1, lod - 1))
            return img()

        return grow(x, 2, self.resolution_log2 - 2)

    def _recursive(self, x, lod_in):
        """Official recursive semantics, one level at a time (see `base.run_at_level`)."""
        R = self.resolution_log2

        def level(lvl):  # Output computed at res = R - lvl: blocks 2..res, faded with res-1.
            res = R - lvl

            def run():
                features = x
                for r in range(2, res + 1):
                    below, features = features, self._block(features, r)
                images = self._torgb(features, res)
                if res > 2:
                    t = base.fade_weight(lod_in, lvl)
                    if t is not None:
                        images = L.lerp(images, L.upscale2d(self._torgb(below, res - 1)), self._fade(t))
                return L.upscale2d(images, 2**lvl)

            return run

        return base.run_at_level(lod_in, R - 2, level)


# ----------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="progan")
class Discriminator(_ProGANNetwork):
    """ProGAN discriminator `D_paper` (networks.py:234-313), channels-last.

    `scores, label_logits = D(images)`: images [N, resolution, resolution,
    num_channels] at full resolution; returns float32 scores [N, 1] and the
    AC-GAN label logits [N, label_size] ([N, 0] when unconditional). The
    current level of detail is the variable `D.lod`. Blocks: `from_rgb[res - 2]`
    ('FromRGB_lod{R - res}'), `blocks[res - 3]` ('8x8' ...), `epilogue` ('4x4').
    """

    official_build_func_name = "D_paper"

    def __init__(
        self,
        num_channels=1,  # Number of input color channels.
        resolution=32,  # Input resolution.
        label_size=0,  # Dimensionality of the labels, 0 if no labels.
        fmap_base=8192,  # Overall multiplier for the number of feature maps.
        fmap_decay=1.0,  # log2 feature map reduction when doubling the resolution.
        fmap_max=512,  # Maximum number of feature maps in any layer.
        use_wscale=True,  # Enable equalized learning rate?
        mbstd_group_size=4,  # Group size for the minibatch standard deviation layer, <= 1 = off.
        fused_scale=True,  # True = fused conv2d + downscale2d, False = separate downscale2d.
        dtype="float32",  # Activation dtype: 'float32', 'float16', 'bfloat16' (mixed).
        structure=None,  # 'recursive' (None) = only the levels lod needs; 'linear' = all
        # levels (official template graph); 'nested' = official nested tf.cond.
        name="D",  # Network name.
        **kwargs,  # Keras Model kwargs (e.g. trainable).
    ):
        super().__init__(name=name, dtype=base.dtype_policy(dtype), **kwargs)
        self.resolution_log2 = base.resolution_log2(resolution)
        self.structure = base.check_structure(structure, self.STRUCTURES)
        self._expose_config(
            dict(
                num_channels=int(num_channels),
                resolution=int(resolution),
                label_size=int(label_size),
                fmap_base=fmap_base,
                fmap_decay=fmap_decay,
                fmap_max=fmap_max,
                use_wscale=bool(use_wscale),
                mbstd_group_size=int(mbstd_group_size),
                fused_scale=bool(fused_scale),
                dtype=dtype,
            )
        )
        nf, R = self._nf, self.resolution_log2
        common = dict(use_wscale=self.use_wscale, dtype=self.dtype_policy)

        def fromrgb(res):
            layer = L.FromRGB(R - res, nf(res - 1), **common)
            layer.build((None, 2**res, 2**res, self.num_channels))
            return layer

        # Built one after the other, as the official graph creates its variables.
        self.add_lod()
        from_rgb, blocks = {R: fromrgb(R)}, {}
        for res in range(R, 2, -1):
            size = 2**res
            blocks[res] = DiscriminatorBlock(size, nf(res - 1), nf(res - 2), fused_scale=self.fused_scale, **common)
            blocks[res].build((None, size, size, nf(res - 1)))
            from_rgb[res - 1] = fromrgb(res - 1)
        self.from_rgb = [from_rgb[res] for res in range(2, R + 1)]  # Indexed by res - 2.
        self.blocks = [blocks[res] for res in range(3, R + 1)]  # Indexed by res - 3.
        self.epilogue = DiscriminatorEpilogue(
            nf(1), nf(0), label_size=self.label_size, mbstd_group_size=self.mbstd_group_size, **common
        )
        self.epilogue.build((None, 4, 4, nf(1)))
        self.built = True

    def official_blocks(self):
        """'FromRGB_lod0', then per resolution 'SxS', 'FromRGB_lod{R-res+1}', then '4x4': the official order."""
        R = self.resolution_log2
        order = [self.from_rgb[R - 2]]
        for res in range(R, 2, -1):
            order += [self.blocks[res - 3], self.from_rgb[res - 3]]
        return order + [self.epilogue]

    # Forward pass --------------------------------------------------------------

    def _fromrgb(self, images, res):
        return _act(self.from_rgb[res - 2](images))

    def _block(self, x, res):
        return self.epilogue(x) if res == 2 else self.blocks[res - 3](x)

    def call(
        self,
        images,  # [N, H, W, C] images at full resolution.
        labels=None,  # Unused: the StyleGAN losses pass labels, as to the StyleGAN
        # repository's D_paper, which ignores them too.
        training=None,  # Unused; accepted for Keras.
    ):
        """Return (scores [N, 1], label_logits [N, label_size]) as float32 at the current `lod`."""
        images = ops.cast(images, self.compute_dtype)
        lod_in = ops.convert_to_tensor(self.lod)
        structure = {"linear": self._linear, "nested": self._nested}.get(self.structure, self._recursive)
        out = ops.cast(structure(images, lod_in), "float32")
        return out[:, :1], out[:, 1:]

    def _linear(self, images, lod_in):
        """Official linear structure (networks.py:288-298): every level, faded with lerp_clip."""
        R = self.resolution_log2
        x = self._fromrgb(images, R)
        for res in range(R, 2, -1):
            x = self._block(x, res)
            images = L.downscale2d(images)
            y = self._fromrgb(images, res - 1)
            x = L.lerp_clip(x, y, ops.cast(lod_in - (R - res), x.dtype))
        return self._block(x, 2)

    def _nested(self, images, lod_in):
        """Official recursive structure, literally (networks.py:301-308): nested conds on lod."""

        def grow(res, lod):
            x = lambda: self._fromrgb(L.downscale2d(images, 2**lod), res)
            if lod > 0:
                x = _cset(x, lod_in < lod, lambda: grow(res + 1, lod - 1))
            x = self._block(x(), res)
            y = lambda: x
            if res > 2:
                y = _cset(
                    y,
                    lod_in > lod,
                    lambda: L.lerp(
                        x,
                        self._fromrgb(L.downscale2d(images, 2 ** (lod + 1)), res - 1),
                        ops.cast(lod_in - lod, x.dtype),
                    ),
                )
            return y()

        return grow(2, self.resolution_log2 - 2)

    def _recursive(self, images, lod_in):
        """Official recursive semantics, one level at a time (see `base.run_at_level`)."""
        R = self.resolution_log2

        def level(lvl):  # Input enters at res = R - lvl, faded with res-1, then blocks res..2.
            res = R - lvl

            def run():
                x = self._block(self._fromrgb(L.downscale2d(images, 2**lvl), res), res)
                if res > 2:
                    t = base.fade_weight(lod_in, lvl)
                    if t is not None:
                        y = self._fromrgb(L.downscale2d(images, 2 ** (lvl + 1)), res - 1)
                        x = L.lerp(x, y, ops.cast(t, x.dtype))
                for r in range(res - 1, 1, -1):
                    x = self._block(x, r)
                return x

            return run

        return base.run_at_level(lod_in, R - 2, level)


# ----------------------------------------------------------------------------
