"""Progressive GAN generator and discriminator (official `G_paper` / `D_paper`).

Faithful Keras 3 ports of networks.py:144-313 of tkarras/progressive_growing_of_gans,
channels-last. Each network holds a non-trainable float32 scalar `lod` and by
default evaluates the official *recursive* structure: only the resolutions
that the current lod needs are computed. Eagerly the level is chosen in
Python; inside `tf.function` one `tf.switch_case` on the lod variable selects
it, so one trace serves every lod value and untaken levels cost nothing
(see `switch_on_level` for why this is not the official nested `tf.cond`,
which stays available as structure='nested'). Outputs are float32 whatever
the compute dtype.

Official-state protocol (used by `networks.official` for pickles):
`official_build_func_name`, `official_static_kwargs()`, `official_variables()`,
`set_official_values(values)`, `official_components()`.
"""

import collections

import numpy as np
import tensorflow as tf
import keras
from keras import ops

from networks import layers as L

#----------------------------------------------------------------------------
# Helpers shared by G and D.

_DTYPE_POLICIES = {
    "float32": "float32",
    "float16": "mixed_float16",
    "mixed_float16": "mixed_float16",
    "bfloat16": "mixed_bfloat16",
    "mixed_bfloat16": "mixed_bfloat16",
}

_OFFICIAL_DTYPES = {"float32": "float32", "mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


def dtype_policy(dtype):            # 'float32', 'float16', 'bfloat16' or a Keras mixed policy name.
    """Map an official dtype string to the Keras dtype policy that runs it."""
    if dtype not in _DTYPE_POLICIES:
        raise ValueError(f"unsupported dtype {dtype!r}: use one of {sorted(_DTYPE_POLICIES)}")
    return keras.DTypePolicy(_DTYPE_POLICIES[dtype])


def official_dtype(dtype):          # A dtype accepted by `dtype_policy`.
    """The dtype string that the official code uses for `dtype` ('float32' / 'float16' / 'bfloat16')."""
    return _OFFICIAL_DTYPES[_DTYPE_POLICIES[dtype]]


def resolution_log2(resolution):    # Output/input resolution, a power of two >= 4.
    """log2 of the resolution, validating that it is a power of two >= 4."""
    res_log2 = int(np.log2(resolution)) if resolution > 0 else 0
    if resolution < 4 or resolution != 2 ** res_log2:
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution}")
    return res_log2


def num_features(stage,             # Stage index (resolution 2^(stage+1) for G blocks).
                 fmap_base,         # Overall multiplier for the number of feature maps.
                 fmap_decay,        # log2 feature map reduction when doubling the resolution.
                 fmap_max):         # Maximum number of feature maps.
    """nf(stage) = min(int(fmap_base / 2^(stage*fmap_decay)), fmap_max) (networks.py:167)."""
    return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)


def cond(pred,                      # Scalar boolean tensor.
         true_fn,                   # Called when pred holds.
         false_fn):                 # Called otherwise.
    """`tf.cond` in graphs; a plain Python branch when executing eagerly."""
    if tf.executing_eagerly():
        return true_fn() if bool(pred) else false_fn()
    return tf.cond(pred, true_fn, false_fn)


def cset(cur_fn,                    # Current lazily evaluated result.
         new_cond,                  # When this holds, ...
         new_fn):                   # ... this replaces it.
    """Lazily chain a conditional, as the official `cset` (networks.py:17)."""
    return lambda: cond(new_cond, new_fn, cur_fn)


def check_structure(structure):     # None, 'recursive', 'linear' or 'nested'.
    """Validate the `structure` argument; None means 'recursive' as in the official code."""
    structure = "recursive" if structure is None else structure
    if structure not in ("recursive", "linear", "nested"):
        raise ValueError(f"structure must be 'recursive', 'linear' or 'nested', got {structure!r}")
    return structure


def switch_on_level(lod_in,        # Scalar float32 lod.
                    res_log2,       # log2 of the network resolution, R.
                    level_fn):      # level_fn(res)() computes the network with its finest level at 2^res.
    """Run the network level that `lod_in` selects: res = clip(R - floor(lod), 2, R).

    This is exactly where the official recursion (networks.py:218-225, 301-308)
    stops descending. Eagerly the level is chosen in Python; in a graph one
    `tf.switch_case` selects it, so one trace serves every lod and only the
    selected level runs. We do not nest `tf.cond`s as the official code does:
    under nested GradientTapes (the gradient penalty) TF2 wraps every nested
    cond for higher-order gradients and tracing time grows about 2.5x per
    level (35 s at 16x16, 90 s at 32x32 on a busy 2-core CPU). Each switch
    branch is the straight-line network of its level, so the graph holds
    O(levels^2) blocks, but it traces in ~9 s at 16x16 and ~2 min at 1024x1024
    on the same machine. Outputs equal the official recursive ones.
    """
    levels = list(range(2, res_log2 + 1))
    if tf.executing_eagerly():
        res = int(np.clip(res_log2 - np.floor(float(lod_in)), 2, res_log2))
        return level_fn(res)()
    static_floor = L.current_static_lod_floor()
    if static_floor is not None:  # One level only (see layers.static_lod_floor).
        res = int(np.clip(res_log2 - static_floor, 2, res_log2))
        want = tf.clip_by_value(res_log2 - tf.floor(lod_in), 2, res_log2)
        check = tf.debugging.assert_equal(want, tf.cast(res, want.dtype),
                                          message="lod does not match the static level this step was traced for")
        with tf.control_dependencies([check]):
            return tf.identity(level_fn(res)())
    index = tf.cast(tf.clip_by_value(res_log2 - tf.floor(lod_in), 2, res_log2), tf.int32) - 2
    return tf.switch_case(index, [level_fn(res) for res in levels])


def fade_factor(lod_in,             # Scalar float32 lod.
                level_lod):         # lod of the level being faded in (R - res).
    """Weight of the coarser level at a fade: lod - level_lod clipped to [0, 1].

    Eagerly returns None when there is nothing to fade (whole lod), so the
    coarser level is not computed at all; in a graph it always returns a
    tensor (0 at whole lods, where the lerp returns the finer level exactly).
    """
    t = ops.clip(lod_in - level_lod, 0.0, 1.0)
    if tf.executing_eagerly():
        return t if float(t) > 0.0 else None
    return t


class _OfficialStateMixin:
    """Official-state protocol shared by G and D: a name map over the Keras variables."""

    official_build_func_name = None

    def _official_layer_map(self):
        """Ordered (official scope, {'weight': var, 'bias': var}) pairs; subclasses define it."""
        raise NotImplementedError

    def official_variables(self):
        """Ordered dict: official variable name -> Keras variable, in official creation order."""
        out = collections.OrderedDict(lod=self.lod)
        for scope, variables in self._official_layer_map():
            for kind in ("weight", "bias"):
                out[f"{scope}/{kind}"] = variables[kind]
        return out

    def official_components(self):
        """Sub-networks stored as `components` in an official pickle (none for ProGAN)."""
        return {}

    def set_official_values(self,
                            values):        # Mapping official name -> array (all variables, incl. `lod`).
        """Assign every variable from official arrays; strict about names and shapes."""
        targets = self.official_variables()
        unknown = [name for name in values if name not in targets]
        if unknown:
            raise ValueError(f"{self.name}: unknown variable {unknown[0]!r} (not in a "
                             f"{self.official_build_func_name} with these settings)")
        missing = [name for name in targets if name not in values]
        if missing:
            raise ValueError(f"{self.name}: missing variable {missing[0]!r}")
        arrays = {}
        for name, var in targets.items():
            array = np.asarray(values[name])
            if array.dtype.kind not in "fiub":
                raise ValueError(f"{self.name}: variable {name!r} has non-numeric dtype {array.dtype}")
            if tuple(array.shape) != tuple(var.shape):
                raise ValueError(f"{self.name}: variable {name!r} has shape {tuple(array.shape)}, "
                                 f"expected {tuple(var.shape)}")
            arrays[name] = array.astype(np.float32)
        for name, var in targets.items():
            var.assign(arrays[name])

    def _expose_config(self):
        """Normalise numbers to plain Python and expose each argument as an attribute (G.resolution, ...)."""
        for key in ("fmap_base", "fmap_decay", "fmap_max"):
            value = float(self._config[key])
            self._config[key] = int(value) if value.is_integer() and key != "fmap_decay" else value
        for key, value in self._config.items():
            if key != "dtype":      # Keras owns `dtype`; the argument stays in get_config().
                setattr(self, key, value)
        return self._config

    def _track(self, scope, layer):
        self._scopes[scope] = layer
        return layer

#----------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="progan")
class Generator(_OfficialStateMixin, keras.Model):
    """ProGAN generator `G_paper` (networks.py:144-229), channels-last.

    `images = G(latents, labels)`: latents [N, latent_size], labels
    [N, label_size] (may be omitted when label_size == 0); returns float32
    images [N, resolution, resolution, num_channels] at full resolution,
    lower levels nearest-upscaled as the official graph does. The current
    level of detail is the variable `G.lod`.
    """

    official_build_func_name = "G_paper"

    def __init__(self,
                 num_channels=1,            # Number of output color channels.
                 resolution=32,             # Output resolution.
                 label_size=0,              # Dimensionality of the labels, 0 if no labels.
                 fmap_base=8192,            # Overall multiplier for the number of feature maps.
                 fmap_decay=1.0,            # log2 feature map reduction when doubling the resolution.
                 fmap_max=512,              # Maximum number of feature maps in any layer.
                 latent_size=None,          # Dimensionality of the latent vectors. None = nf(0).
                 normalize_latents=True,    # Normalize latent vectors (with labels) before the first layer?
                 use_wscale=True,           # Enable equalized learning rate?
                 use_pixelnorm=True,        # Enable pixelwise feature vector normalization?
                 pixelnorm_epsilon=1e-8,    # Constant epsilon for pixelwise feature vector normalization.
                 use_leakyrelu=True,        # True = leaky ReLU, False = ReLU.
                 fused_scale=True,          # True = fused upscale2d + conv2d, False = separate upscale2d.
                 dtype="float32",           # Activation dtype: 'float32', 'float16', 'bfloat16' (mixed).
                 structure=None,            # 'recursive' (None) = only the levels lod needs; 'linear' = all
                                            # levels (official template graph); 'nested' = official nested tf.cond.
                 name="G",                  # Network name.
                 **kwargs):                 # Keras Model kwargs (e.g. trainable).
        super().__init__(name=name, dtype=dtype_policy(dtype), **kwargs)
        self.resolution_log2 = resolution_log2(resolution)
        self.structure = check_structure(structure)
        nf = lambda stage: num_features(stage, fmap_base, fmap_decay, fmap_max)
        if latent_size is None:
            latent_size = nf(0)
        self._config = dict(num_channels=int(num_channels), resolution=int(resolution),
                            label_size=int(label_size), fmap_base=fmap_base, fmap_decay=fmap_decay,
                            fmap_max=fmap_max, latent_size=int(latent_size),
                            normalize_latents=bool(normalize_latents), use_wscale=bool(use_wscale),
                            use_pixelnorm=bool(use_pixelnorm), pixelnorm_epsilon=float(pixelnorm_epsilon),
                            use_leakyrelu=bool(use_leakyrelu), fused_scale=bool(fused_scale), dtype=dtype)
        c = self._expose_config()
        policy = self.dtype_policy
        common = dict(use_wscale=c["use_wscale"], dtype=policy)

        self.lod = self.add_weight(name="lod", shape=(), initializer="zeros", dtype="float32",
                                   trainable=False, autocast=False)
        self._scopes = {}
        R = self.resolution_log2

        # 4x4 block: the Dense bias is per channel, added after the NCHW reshape.
        dense = self._track("4x4/Dense", L.EqualizedDense(nf(1) * 16, gain=np.sqrt(2) / 4, use_bias=False,
                                                          name="4x4_Dense", **common))
        dense.build((None, c["latent_size"] + c["label_size"]))
        self.dense_bias = L.Bias(name="4x4_Dense_bias", dtype=policy)
        self.dense_bias.build((None, 4, 4, nf(1)))
        self._track("4x4/Conv", L.EqualizedConv2D(nf(1), 3, name="4x4_Conv", **common)).build((None, 4, 4, nf(1)))
        self._track(f"ToRGB_lod{R - 2}", L.EqualizedConv2D(c["num_channels"], 1, gain=1.0, name=f"ToRGB_lod{R - 2}",
                                                          **common)).build((None, 4, 4, nf(1)))
        for res in range(3, R + 1):
            size, fin, fout = 2 ** res, nf(res - 2), nf(res - 1)
            prefix = f"{size}x{size}"
            if c["fused_scale"]:
                up = L.UpscaleConv2D(fout, 3, transposed_weight=True, name=f"{prefix}_Conv0_up", **common)
                self._track(f"{prefix}/Conv0_up", up).build((None, size // 2, size // 2, fin))
            else:
                conv0 = L.EqualizedConv2D(fout, 3, name=f"{prefix}_Conv0", **common)
                self._track(f"{prefix}/Conv0", conv0).build((None, size, size, fin))
            conv1 = L.EqualizedConv2D(fout, 3, name=f"{prefix}_Conv1", **common)
            self._track(f"{prefix}/Conv1", conv1).build((None, size, size, fout))
            torgb = L.EqualizedConv2D(c["num_channels"], 1, gain=1.0, name=f"ToRGB_lod{R - res}", **common)
            self._track(f"ToRGB_lod{R - res}", torgb).build((None, size, size, fout))
        self.built = True

    # Official-state protocol ---------------------------------------------------

    def _official_layer_map(self):
        for scope, layer in self._scopes.items():
            bias = self.dense_bias.bias if scope == "4x4/Dense" else layer.bias
            yield scope, {"weight": layer.weight, "bias": bias}

    def official_static_kwargs(self):
        """Constructor kwargs under their official names, as stored in a pickle."""
        kwargs = dict(self._config)
        kwargs["dtype"] = official_dtype(kwargs["dtype"])
        return kwargs

    def get_config(self):
        return dict(self._config, structure=self.structure, name=self.name)

    # Forward pass --------------------------------------------------------------

    def _act_pn(self, x):
        x = ops.leaky_relu(x, 0.2) if self._config["use_leakyrelu"] else ops.relu(x)
        if self._config["use_pixelnorm"]:
            x = L.pixel_norm(x, self._config["pixelnorm_epsilon"])
        return x

    def _block(self, x, res):
        s = self._scopes
        if res == 2:
            if self._config["normalize_latents"]:
                x = L.pixel_norm(x, self._config["pixelnorm_epsilon"])
            x = s["4x4/Dense"](x)
            x = L.unflatten_nchw(x, x.shape[-1] // 16, 4, 4)
            x = self._act_pn(self.dense_bias(x))
            return self._act_pn(s["4x4/Conv"](x))
        prefix = f"{2 ** res}x{2 ** res}"
        if self._config["fused_scale"]:
            x = self._act_pn(s[f"{prefix}/Conv0_up"](x))
        else:
            x = self._act_pn(s[f"{prefix}/Conv0"](L.upscale2d(x)))
        return self._act_pn(s[f"{prefix}/Conv1"](x))

    def _torgb(self, x, res):
        return self._scopes[f"ToRGB_lod{self.resolution_log2 - res}"](x)

    def call(self,
             latents,                       # [N, latent_size] latent vectors.
             labels=None,                   # [N, label_size] labels; optional when label_size == 0.
             training=None):                # Unused; accepted for Keras.
        """Generate [N, H, W, C] float32 images at the current `lod`."""
        x = ops.cast(latents, self.compute_dtype)
        if self._config["label_size"]:
            if labels is None:
                raise ValueError(f"{self.name}: label_size={self._config['label_size']} needs labels")
            x = ops.concatenate([x, ops.cast(labels, self.compute_dtype)], axis=1)
        lod_in = ops.convert_to_tensor(self.lod)
        structure = {"linear": self._linear, "nested": self._nested}.get(self.structure, self._recursive)
        return ops.cast(structure(x, lod_in), "float32")

    def _fade(self, t):
        return ops.cast(t, self.compute_dtype)

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
            img = lambda: L.upscale2d(self._torgb(y, res), 2 ** lod)
            if res > 2:
                img = cset(img, lod_in > lod, lambda: L.upscale2d(
                    L.lerp(self._torgb(y, res), L.upscale2d(self._torgb(x, res - 1)), self._fade(lod_in - lod)),
                    2 ** lod))
            if lod > 0:
                img = cset(img, lod_in < lod, lambda: grow(y, res + 1, lod - 1))
            return img()
        return grow(x, 2, self.resolution_log2 - 2)

    def _recursive(self, x, lod_in):
        """Official recursive semantics with one switch on the output level (see `switch_on_level`)."""
        R = self.resolution_log2

        def level(res):             # Output computed at res: blocks 2..res, faded with res-1.
            def run():
                features = x
                for r in range(2, res + 1):
                    below, features = features, self._block(features, r)
                images = self._torgb(features, res)
                if res > 2:
                    t = fade_factor(lod_in, R - res)
                    if t is not None:
                        images = L.lerp(images, L.upscale2d(self._torgb(below, res - 1)), self._fade(t))
                return L.upscale2d(images, 2 ** (R - res))
            return run

        return switch_on_level(lod_in, R, level)

#----------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="progan")
class Discriminator(_OfficialStateMixin, keras.Model):
    """ProGAN discriminator `D_paper` (networks.py:234-313), channels-last.

    `scores, label_logits = D(images)`: images [N, resolution, resolution,
    num_channels] at full resolution; returns float32 scores [N, 1] and the
    AC-GAN label logits [N, label_size] ([N, 0] when unconditional). The
    current level of detail is the variable `D.lod`.
    """

    official_build_func_name = "D_paper"

    def __init__(self,
                 num_channels=1,            # Number of input color channels.
                 resolution=32,             # Input resolution.
                 label_size=0,              # Dimensionality of the labels, 0 if no labels.
                 fmap_base=8192,            # Overall multiplier for the number of feature maps.
                 fmap_decay=1.0,            # log2 feature map reduction when doubling the resolution.
                 fmap_max=512,              # Maximum number of feature maps in any layer.
                 use_wscale=True,           # Enable equalized learning rate?
                 mbstd_group_size=4,        # Group size for the minibatch standard deviation layer, <= 1 = off.
                 fused_scale=True,          # True = fused conv2d + downscale2d, False = separate downscale2d.
                 dtype="float32",           # Activation dtype: 'float32', 'float16', 'bfloat16' (mixed).
                 structure=None,            # 'recursive' (None) = only the levels lod needs; 'linear' = all
                                            # levels (official template graph); 'nested' = official nested tf.cond.
                 name="D",                  # Network name.
                 **kwargs):                 # Keras Model kwargs (e.g. trainable).
        super().__init__(name=name, dtype=dtype_policy(dtype), **kwargs)
        self.resolution_log2 = resolution_log2(resolution)
        self.structure = check_structure(structure)
        nf = lambda stage: num_features(stage, fmap_base, fmap_decay, fmap_max)
        self._config = dict(num_channels=int(num_channels), resolution=int(resolution),
                            label_size=int(label_size), fmap_base=fmap_base, fmap_decay=fmap_decay,
                            fmap_max=fmap_max, use_wscale=bool(use_wscale),
                            mbstd_group_size=int(mbstd_group_size), fused_scale=bool(fused_scale), dtype=dtype)
        c = self._expose_config()
        policy = self.dtype_policy
        common = dict(use_wscale=c["use_wscale"], dtype=policy)

        self.lod = self.add_weight(name="lod", shape=(), initializer="zeros", dtype="float32",
                                   trainable=False, autocast=False)
        self._scopes = {}
        R = self.resolution_log2

        def fromrgb(res):
            size = 2 ** res
            layer = L.EqualizedConv2D(nf(res - 1), 1, name=f"FromRGB_lod{R - res}", **common)
            self._track(f"FromRGB_lod{R - res}", layer).build((None, size, size, c["num_channels"]))

        fromrgb(R)
        for res in range(R, 2, -1):
            size, prefix = 2 ** res, f"{2 ** res}x{2 ** res}"
            conv0 = L.EqualizedConv2D(nf(res - 1), 3, name=f"{prefix}_Conv0", **common)
            self._track(f"{prefix}/Conv0", conv0).build((None, size, size, nf(res - 1)))
            if c["fused_scale"]:
                down = L.Conv2DDownscale(nf(res - 2), 3, name=f"{prefix}_Conv1_down", **common)
                self._track(f"{prefix}/Conv1_down", down).build((None, size, size, nf(res - 1)))
            else:
                conv1 = L.EqualizedConv2D(nf(res - 2), 3, name=f"{prefix}_Conv1", **common)
                self._track(f"{prefix}/Conv1", conv1).build((None, size, size, nf(res - 1)))
            fromrgb(res - 1)
        mbstd_channels = 1 if c["mbstd_group_size"] > 1 else 0
        conv = L.EqualizedConv2D(nf(1), 3, name="4x4_Conv", **common)
        self._track("4x4/Conv", conv).build((None, 4, 4, nf(1) + mbstd_channels))
        self._track("4x4/Dense0", L.EqualizedDense(nf(0), name="4x4_Dense0", **common)).build((None, nf(1) * 16))
        dense1 = L.EqualizedDense(1 + c["label_size"], gain=1.0, name="4x4_Dense1", **common)
        self._track("4x4/Dense1", dense1).build((None, nf(0)))
        self.built = True

    # Official-state protocol ---------------------------------------------------

    def _official_layer_map(self):
        for scope, layer in self._scopes.items():
            yield scope, {"weight": layer.weight, "bias": layer.bias}

    def official_static_kwargs(self):
        """Constructor kwargs under their official names, as stored in a pickle."""
        kwargs = dict(self._config)
        kwargs["dtype"] = official_dtype(kwargs["dtype"])
        return kwargs

    def get_config(self):
        return dict(self._config, structure=self.structure, name=self.name)

    # Forward pass --------------------------------------------------------------

    def _fromrgb(self, images, res):
        return ops.leaky_relu(self._scopes[f"FromRGB_lod{self.resolution_log2 - res}"](images), 0.2)

    def _block(self, x, res):
        s = self._scopes
        act = lambda v: ops.leaky_relu(v, 0.2)
        if res >= 3:
            prefix = f"{2 ** res}x{2 ** res}"
            x = act(s[f"{prefix}/Conv0"](x))
            if self._config["fused_scale"]:
                return act(s[f"{prefix}/Conv1_down"](x))
            return L.downscale2d(act(s[f"{prefix}/Conv1"](x)))
        if self._config["mbstd_group_size"] > 1:
            x = L.minibatch_stddev(x, self._config["mbstd_group_size"])
        x = act(s["4x4/Conv"](x))
        x = act(s["4x4/Dense0"](L.flatten_nchw(x)))
        return s["4x4/Dense1"](x)

    def call(self,
             images,                        # [N, H, W, C] images at full resolution.
             labels=None,                   # Unused: the StyleGAN losses pass labels, as to the StyleGAN
                                            # repository's D_paper, which ignores them too.
             training=None):                # Unused; accepted for Keras.
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
            x = lambda: self._fromrgb(L.downscale2d(images, 2 ** lod), res)
            if lod > 0:
                x = cset(x, lod_in < lod, lambda: grow(res + 1, lod - 1))
            x = self._block(x(), res)
            y = lambda: x
            if res > 2:
                y = cset(y, lod_in > lod, lambda: L.lerp(
                    x, self._fromrgb(L.downscale2d(images, 2 ** (lod + 1)), res - 1),
                    ops.cast(lod_in - lod, x.dtype)))
            return y()
        return grow(2, self.resolution_log2 - 2)

    def _recursive(self, images, lod_in):
        """Official recursive semantics with one switch on the input level (see `switch_on_level`)."""
        R = self.resolution_log2

        def level(res):             # Input enters at res, faded with res-1, then blocks res..2.
            def run():
                x = self._block(self._fromrgb(L.downscale2d(images, 2 ** (R - res)), res), res)
                if res > 2:
                    t = fade_factor(lod_in, R - res)
                    if t is not None:
                        y = self._fromrgb(L.downscale2d(images, 2 ** (R - res + 1)), res - 1)
                        x = L.lerp(x, y, ops.cast(t, x.dtype))
                for r in range(res - 1, 1, -1):
                    x = self._block(x, r)
                return x
            return run

        return switch_on_level(lod_in, R, level)

#----------------------------------------------------------------------------
