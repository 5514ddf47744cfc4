"""StyleGAN networks (NVlabs/stylegan `training/networks_stylegan.py`) as Keras 3 models.

`Generator` is the official `G_style` wrapper around `MappingNetwork` (`G_mapping`) and
`SynthesisNetwork` (`G_synthesis`); `Discriminator` is `D_basic`. Images are NHWC. Every
variable is created in the constructor under its official name and shape, and the
networks implement the official-state protocol used by `networks.official`:
`official_build_func_name`, `official_static_kwargs()`, `official_variables()`,
`set_official_values(values)`, `official_components()`; `from_official_state(state)`
rebuilds a network from an official pickle's state.

Progressive growing follows the official 'recursive' structure: only the resolutions the
current `lod` needs are evaluated, selected by conditionals on the `lod` variable, so one
traced function serves every lod. The official code nests one tf.cond per level; here the
same evaluation is a flat chain of conds (see `SynthesisNetwork.call`), because nested
conds make TF2's second-order gradients (the R1 penalty) exponentially costly to build.
"""
import collections

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from networks import layers as L
from networks import stylegan_layers as sl

PACKAGE = "stylegan"

# Official keyword arguments of each build function (others are ignored, as officially).
G_STYLE_ARGS = ("truncation_psi", "truncation_cutoff", "truncation_psi_val",
                "truncation_cutoff_val", "dlatent_avg_beta", "style_mixing_prob")
MAPPING_ARGS = ("latent_size", "label_size", "dlatent_size", "dlatent_broadcast",
                "mapping_layers", "mapping_fmaps", "mapping_lrmul", "mapping_nonlinearity",
                "use_wscale", "normalize_latents")
SYNTHESIS_ARGS = ("dlatent_size", "num_channels", "resolution", "fmap_base", "fmap_decay",
                  "fmap_max", "use_styles", "const_input_layer", "use_noise", "randomize_noise",
                  "nonlinearity", "use_wscale", "use_pixel_norm", "use_instance_norm",
                  "fused_scale", "blur_filter", "structure")
D_BASIC_ARGS = ("num_channels", "resolution", "label_size", "fmap_base", "fmap_decay",
                "fmap_max", "nonlinearity", "use_wscale", "mbstd_group_size",
                "mbstd_num_features", "fused_scale", "blur_filter", "structure")
STRUCTURES = ("auto", "fixed", "linear", "recursive")


def _resolution_log2(resolution):
    log2 = int(np.log2(resolution))
    if resolution != 2 ** log2 or resolution < 4:
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution}")
    return log2


def _nf_function(fmap_base,    # Feature-map multiplier.
                 fmap_decay,   # log2 feature-map reduction per doubling.
                 fmap_max):    # Maximum feature maps.
    def nf(stage):
        return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)
    return nf


def _check_structure(structure):
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {STRUCTURES}, got {structure!r}")
    # Only the official template graph uses 'linear' under 'auto'; evaluation is recursive.
    return "recursive" if structure == "auto" else structure


def _resolve_fused(fused_scale,   # True, False or 'auto'.
                   auto):         # What 'auto' means here (the official size rule).
    if fused_scale not in (True, False, "auto"):
        raise ValueError(f"fused_scale must be True, False or 'auto', got {fused_scale!r}")
    return auto if fused_scale == "auto" else bool(fused_scale)


def _zeros(batch,      # Minibatch size (tensor or int).
           size,       # Spatial size.
           channels,   # Feature maps.
           dtype):     # Compute dtype.
    """Stand-in activations for a resolution the current lod does not use."""
    return ops.zeros((batch, size, size, channels), dtype=dtype)


def _static_level(level,        # Run-time level: int32 tensor.
                  max_level):   # Largest level of this network.
    """The level fixed by `layers.static_lod_floor` while tracing a graph, with the run-time
    assertion that `level` agrees; (None, None) outside that context or eagerly."""
    floor = L.current_static_lod_floor()
    if floor is None or tf.executing_eagerly():
        return None, None
    static = int(np.clip(floor, 0, max_level))
    check = tf.debugging.assert_equal(
        level, static, message="lod does not match the static level this step was traced for")
    return static, check


def _blur_config(blur_filter):
    return None if blur_filter is None or len(blur_filter) == 0 else list(blur_filter)


class ReplicaSeedGenerator(keras.random.SeedGenerator):
    """A Keras SeedGenerator whose draws differ between the replicas of a distribution strategy.

    A generator created under `strategy.scope()` holds one mirrored state, so every replica
    would draw the same noise, crossover and second latents. Here each replica folds its
    global `replica_id_in_sync_group` (distinct across the workers of a
    MultiWorkerMirroredStrategy too) into the drawn seed: the draws stay keyed by the
    generator state (saved in the resume state), so runs remain reproducible and resumable.
    With one replica the seed is unchanged, so single-device results are as before.
    """

    def next(self,
             ordered=True):     # As SeedGenerator.next.
        seed = super().next(ordered)
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return seed
        return tf.random.experimental.stateless_fold_in(seed, context.replica_id_in_sync_group)


def official_dtype_to_policy(dtype):
    """Map an official `dtype` kwarg ('float32', 'float16') to a Keras dtype policy name."""
    names = {"float32": None, "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}
    if dtype not in names:
        raise ValueError(f"Unsupported official dtype {dtype!r}: expected one of {list(names)}")
    return names[dtype]


def _policy_kwargs(kwargs):   # Base Model arguments; `dtype` may be an official dtype string.
    """Base Model arguments with an official activation dtype ('float16', 'bfloat16') turned
    into its mixed Keras policy: the official networks keep float32 variables and cast them to
    the activation dtype, so a plain 'float16' policy (float16 variables) would not be theirs."""
    dtype = kwargs.get("dtype")
    if isinstance(dtype, str) and dtype in ("float16", "bfloat16"):
        kwargs = dict(kwargs, dtype=official_dtype_to_policy(dtype))
    return kwargs


class _OfficialProtocol:
    """Shared part of the official-state protocol (see module docstring)."""

    official_build_func_name = None

    def official_components(self):
        """Sub-networks stored as official `components` (none by default)."""
        return {}

    def _dtype_static_kwargs(self):
        compute = keras.backend.standardize_dtype(self.compute_dtype)
        return {} if compute == "float32" else {"dtype": compute}

    def set_official_values(self,
                            values):   # Mapping official name -> array, exactly this net's.
        """Assign official variable values; raise ValueError on a missing, unexpected or
        mis-shaped variable (nothing is assigned then)."""
        own = self.official_variables()
        where = f"{self.official_build_func_name} network {self.name!r}"
        for name in values:
            if name not in own:
                raise ValueError(f"unexpected variable {name!r} for {where}")
        arrays = {}
        for name, var in own.items():
            if name not in values:
                raise ValueError(f"missing variable {name!r} for {where}")
            value = np.asarray(values[name])
            if tuple(value.shape) != tuple(var.shape):
                raise ValueError(f"variable {name!r} of {where} has shape {tuple(value.shape)}, "
                                 f"expected {tuple(var.shape)}")
            arrays[name] = value.astype(keras.backend.standardize_dtype(var.dtype))
        for name, var in own.items():
            var.assign(arrays[name])


def _prefixed(prefix,       # Official scope, e.g. '8x8/Conv1'.
              layer_vars):  # Ordered dict of names relative to the scope.
    return [(prefix + "/" + k, v) for k, v in layer_vars.items()]


# ----------------------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package=PACKAGE)
class MappingNetwork(_OfficialProtocol, keras.Model):
    """Official `G_mapping`: z (+ embedded labels) -> pixel norm -> `mapping_layers` dense
    layers with lr multiplier `mapping_lrmul` and lrelu (also after the last) -> w,
    broadcast to [N, dlatent_broadcast, dlatent_size] when `dlatent_broadcast` is set."""

    official_build_func_name = "G_mapping"

    def __init__(self,
                 latent_size=512,              # Z dimensionality.
                 label_size=0,                 # Label dimensionality, 0 = no labels.
                 dlatent_size=512,             # W dimensionality.
                 dlatent_broadcast=None,       # Broadcast W to this many layers (None = [N, W]).
                 mapping_layers=8,             # Number of dense layers.
                 mapping_fmaps=512,            # Width of the hidden layers.
                 mapping_lrmul=0.01,           # Learning-rate multiplier (weights and biases).
                 mapping_nonlinearity="lrelu",  # 'lrelu' or 'relu'.
                 use_wscale=True,              # Equalized learning rate?
                 normalize_latents=True,       # Pixel-normalise the input vector?
                 seed=None,                    # Unused (no randomness); kept for uniformity.
                 **kwargs):                    # Base Model arguments (name, dtype, trainable).
        super().__init__(**_policy_kwargs(kwargs))
        self.latent_size = int(latent_size)
        self.label_size = int(label_size)
        self.dlatent_size = int(dlatent_size)
        self.dlatent_broadcast = None if dlatent_broadcast is None else int(dlatent_broadcast)
        self.mapping_layers = int(mapping_layers)
        self.mapping_fmaps = int(mapping_fmaps)
        self.mapping_lrmul = float(mapping_lrmul)
        self.mapping_nonlinearity = mapping_nonlinearity
        self.use_wscale = bool(use_wscale)
        self.normalize_latents = bool(normalize_latents)
        self.seed = seed
        self.act, gain = sl.activation(mapping_nonlinearity)

        self.label_embedding = None
        if self.label_size:
            self.label_embedding = self.add_weight(
                name="label_embedding", shape=(self.label_size, self.latent_size),
                initializer=keras.initializers.RandomNormal(0.0, 1.0), dtype="float32",
                autocast=False)
        width = self.latent_size * (2 if self.label_size else 1)
        self.dense_layers = []
        for idx in range(self.mapping_layers):
            fmaps = self.dlatent_size if idx == self.mapping_layers - 1 else self.mapping_fmaps
            layer = L.EqualizedDense(fmaps, gain=gain, use_wscale=self.use_wscale,
                                     lrmul=self.mapping_lrmul, use_bias=True,
                                     dtype=self.dtype_policy, name=f"Dense{idx}")
            layer.build((None, width))
            self.dense_layers.append(layer)
            width = fmaps
        self.built = True

    def call(self,
             latents,          # [N, latent_size] Z.
             labels=None):     # [N, label_size] conditioning labels (None = no labels).
        x = ops.cast(latents, self.compute_dtype)
        if self.label_size:
            if labels is None:
                raise ValueError(f"{self.name}: label_size={self.label_size} needs labels")
            y = ops.matmul(ops.cast(labels, self.compute_dtype),
                           ops.cast(self.label_embedding, self.compute_dtype))
            x = ops.concatenate([x, y], axis=1)
        if self.normalize_latents:
            x = L.pixel_norm(x)
        for layer in self.dense_layers:
            x = self.act(layer(x))
        if self.dlatent_broadcast is not None:
            x = ops.tile(x[:, None, :], [1, self.dlatent_broadcast, 1])
        return x

    def official_static_kwargs(self):
        kwargs = {name: getattr(self, name) for name in MAPPING_ARGS}
        return {**kwargs, **self._dtype_static_kwargs()}

    def official_variables(self):
        items = []
        if self.label_size:
            items.append(("LabelConcat/weight", self.label_embedding))
        for idx, layer in enumerate(self.dense_layers):
            items += _prefixed(f"Dense{idx}", sl.official_weight_bias(layer))
        return collections.OrderedDict(items)

    def get_config(self):
        config = {name: getattr(self, name) for name in MAPPING_ARGS}
        return {**super().get_config(), **config, "seed": self.seed}


# ----------------------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package=PACKAGE)
class SynthesisNetwork(_OfficialProtocol, keras.Model):
    """Official `G_synthesis`: learned 4x4 constant, then per resolution an up-conv (fused
    from 128^2 under 'auto') + blur and a conv, each followed by noise, bias, lrelu,
    instance norm and style modulation by one w; ToRGB per resolution with lod fade.

    `noise<i>` are the stored noise images (non-trainable, NCHW [1, 1, res, res]) used
    when `randomize_noise` is False; otherwise fresh N(0, 1) noise is drawn per call.
    """

    official_build_func_name = "G_synthesis"

    def __init__(self,
                 dlatent_size=512,           # W dimensionality.
                 num_channels=3,             # Output colour channels.
                 resolution=1024,            # Output resolution.
                 fmap_base=8192,             # Feature-map multiplier.
                 fmap_decay=1.0,             # log2 feature-map reduction per doubling.
                 fmap_max=512,               # Maximum feature maps.
                 use_styles=True,            # Style modulation (else a single w input)?
                 const_input_layer=True,     # Learned constant input (else dense from w)?
                 use_noise=True,             # Noise inputs?
                 randomize_noise=True,       # Fresh noise per call (else the stored maps)?
                 nonlinearity="lrelu",       # 'lrelu' or 'relu'.
                 use_wscale=True,            # Equalized learning rate?
                 use_pixel_norm=False,       # Pixelwise feature normalisation?
                 use_instance_norm=True,     # Instance normalisation?
                 fused_scale="auto",         # Fused up-conv: True, False or 'auto' (>= 128^2).
                 blur_filter=(1, 2, 1),      # Low-pass filter after upscaling (None = off).
                 structure="auto",           # 'fixed', 'linear', 'recursive' or 'auto'.
                 seed=None,                  # Seed of the noise generator (None = random).
                 **kwargs):                  # Base Model arguments (name, dtype, trainable).
        super().__init__(**_policy_kwargs(kwargs))
        self.dlatent_size = int(dlatent_size)
        self.num_channels = int(num_channels)
        self.resolution = int(resolution)
        self.fmap_base = fmap_base
        self.fmap_decay = fmap_decay
        self.fmap_max = fmap_max
        self.use_styles = bool(use_styles)
        self.const_input_layer = bool(const_input_layer)
        self.use_noise = bool(use_noise)
        self.randomize_noise = bool(randomize_noise)
        self.nonlinearity = nonlinearity
        self.use_wscale = bool(use_wscale)
        self.use_pixel_norm = bool(use_pixel_norm)
        self.use_instance_norm = bool(use_instance_norm)
        self.fused_scale = fused_scale
        self.blur_filter = _blur_config(blur_filter)
        self.structure = structure
        self.seed = seed
        self._structure = _check_structure(structure)
        self.resolution_log2 = _resolution_log2(self.resolution)
        self.num_layers = self.resolution_log2 * 2 - 2
        self.num_styles = self.num_layers if self.use_styles else 1
        nf = _nf_function(fmap_base, fmap_decay, fmap_max)
        _, gain = sl.activation(nonlinearity)
        policy = self.dtype_policy
        dlatent_shape = (None, self.dlatent_size)

        self.lod = self.add_weight(name="lod", shape=(), initializer="zeros",
                                   trainable=False, autocast=False)
        self.noise_maps = []
        if self.use_noise:
            for idx in range(self.num_layers):
                size = 2 ** (idx // 2 + 2)
                self.noise_maps.append(self.add_weight(
                    name=f"noise{idx}", shape=(1, 1, size, size), trainable=False,
                    initializer=keras.initializers.RandomNormal(0.0, 1.0), autocast=False))
        self.seed_generator = ReplicaSeedGenerator(seed)

        def epilogue(name,        # Keras layer name.
                     channels,    # Feature maps.
                     size):       # Resolution.
            layer = sl.LayerEpilogue(channels, use_noise=self.use_noise,
                                     use_styles=self.use_styles,
                                     use_pixel_norm=self.use_pixel_norm,
                                     use_instance_norm=self.use_instance_norm,
                                     nonlinearity=nonlinearity, use_wscale=self.use_wscale,
                                     dtype=policy, name=name)
            layer.build((None, size, size, channels), dlatent_shape)
            return layer

        # 4x4: constant (or dense from w) and one conv.
        if self.const_input_layer:
            self.input_layer = sl.ConstantInput(nf(1), dtype=policy, name="4x4_Const")
            self.input_layer.build()
        else:
            self.input_layer = L.EqualizedDense(nf(1) * 16, gain=gain / 4,
                                                use_wscale=self.use_wscale, use_bias=False,
                                                dtype=policy, name="4x4_Dense")
            self.input_layer.build(dlatent_shape)
        self.input_epilogue = epilogue("4x4_" + self._input_scope(), nf(1), 4)
        self.conv4 = L.EqualizedConv2D(nf(1), 3, gain=gain, use_wscale=self.use_wscale,
                                       use_bias=False, dtype=policy, name="4x4_Conv")
        self.conv4.build((None, 4, 4, nf(1)))
        self.conv4_epilogue = epilogue("4x4_Conv", nf(1), 4)

        # Blocks 8x8 and up: [up-conv, blur, epilogue, conv, epilogue]; `fused_up[i]` says
        # whether block i's up-conv is the fused transposed conv (official: output >= 128).
        self.blocks = []
        self.fused_up = []
        for res in range(3, self.resolution_log2 + 1):
            size, fin, fout = 2 ** res, nf(res - 2), nf(res - 1)
            fused = _resolve_fused(fused_scale, size >= 128)
            conv_class = L.UpscaleConv2D if fused else L.EqualizedConv2D
            extra = {"transposed_weight": False} if fused else {}
            conv0 = conv_class(fout, 3, gain=gain, use_wscale=self.use_wscale, use_bias=False,
                               dtype=policy, name=f"{size}x{size}_Conv0_up", **extra)
            conv0.build((None, size // 2, size // 2, fin) if fused else (None, size, size, fin))
            blur = None
            if self.blur_filter is not None:
                blur = sl.Blur2D(self.blur_filter, dtype=policy, name=f"{size}x{size}_Blur")
            conv1 = L.EqualizedConv2D(fout, 3, gain=gain, use_wscale=self.use_wscale,
                                      use_bias=False, dtype=policy, name=f"{size}x{size}_Conv1")
            conv1.build((None, size, size, fout))
            self.fused_up.append(fused)
            self.blocks.append([conv0, blur, epilogue(f"{size}x{size}_Conv0_up", fout, size),
                                conv1, epilogue(f"{size}x{size}_Conv1", fout, size)])

        # ToRGB per resolution, index res - 2.
        self.to_rgb = []
        for res in range(2, self.resolution_log2 + 1):
            layer = L.EqualizedConv2D(self.num_channels, 1, gain=1.0,
                                      use_wscale=self.use_wscale, use_bias=True, dtype=policy,
                                      name=f"ToRGB_lod{self.resolution_log2 - res}")
            layer.build((None, 2 ** res, 2 ** res, nf(res - 1)))
            self.to_rgb.append(layer)
        self.built = True

    def _input_scope(self):
        return "Const" if self.const_input_layer else "Dense"

    # -- forward --------------------------------------------------------------------------

    def call(self,
             dlatents,                 # [N, num_styles, dlatent_size] W per layer.
             randomize_noise=None):    # None = the constructor's `randomize_noise`.
        randomize = self.randomize_noise if randomize_noise is None else bool(randomize_noise)
        dlatents = ops.cast(dlatents, self.compute_dtype)
        lod_in = ops.cast(self.lod, self.compute_dtype)
        batch = ops.shape(dlatents)[0]

        def noise(idx):
            if not self.use_noise:
                return None
            size = 2 ** (idx // 2 + 2)
            if randomize:
                return keras.random.normal((batch, size, size, 1), dtype=self.compute_dtype,
                                           seed=self.seed_generator)
            return ops.reshape(self.noise_maps[idx], (1, size, size, 1))

        def style(idx):
            return dlatents[:, idx] if self.use_styles else None

        # 4x4.
        if self.const_input_layer:
            x = self.input_layer(dlatents)
        else:
            x = self.input_layer(dlatents[:, 0])
            x = L.unflatten_nchw(x, x.shape[-1] // 16, 4, 4)  # Official reshape is NCHW.
        x = self.input_epilogue(x, style(0), noise(0))
        x = self.conv4_epilogue(self.conv4(x), style(1), noise(1))

        def block(res, x):
            conv0, blur, epi0, conv1, epi1 = self.blocks[res - 3]
            x = conv0(x if self.fused_up[res - 3] else L.upscale2d(x))
            if blur is not None:
                x = blur(x)
            x = epi0(x, style(res * 2 - 4), noise(res * 2 - 4))
            return epi1(conv1(x), style(res * 2 - 3), noise(res * 2 - 3))

        def torgb(res, x):
            return self.to_rgb[res - 2](x)

        log2 = self.resolution_log2
        if self._structure == "fixed":
            for res in range(3, log2 + 1):
                x = block(res, x)
            return torgb(log2, x)

        if self._structure == "linear":
            images = torgb(2, x)
            for res in range(3, log2 + 1):
                x = block(res, x)
                images = L.lerp_clip(torgb(res, x), L.upscale2d(images), lod_in - (log2 - res))
            return images

        # Recursive structure. The official recursion descends one level per tf.cond while
        # lod < level and stops at `level` = clip(floor(lod), 0, log2 - 3): blocks up to that
        # resolution run, and its ToRGB output is faded with the one below when lod > level.
        # Nested conds make TF2's second-order gradients (R1) exponentially costly to build,
        # so the same evaluation is laid out flat: one cond per block, one switch for the
        # output. Blocks the lod does not use yield zeros (a fill, no convolution). Inside
        # `layers.static_lod_floor` a graph holds only the one level the step runs at.
        if log2 == 2:  # 4x4 network: nothing to grow.
            return torgb(2, x)
        level = ops.cast(ops.clip(ops.floor(lod_in), 0, log2 - 3), "int32")
        features = {2: x}

        def output(lod):  # Image of the level `lod` from the features of its blocks.
            res = log2 - lod
            y, x = features[res], features[res - 1]

            def plain():
                return L.upscale2d(torgb(res, y), 2 ** lod)

            def fade():
                # Unclipped lerp, exactly as the official recursive structure.
                return L.upscale2d(L.lerp(torgb(res, y), L.upscale2d(torgb(res - 1, x)),
                                          lod_in - lod), 2 ** lod)

            if static_mode:
                # lod is asserted to lie in [level, level + 1): the lerp at t = 0 returns the
                # finer level exactly, so no cond (whose gradient races in TF under nested tapes).
                return fade if lod < log2 - 2 else plain
            return lambda: ops.cond(lod_in > lod, fade, plain)

        static, check = _static_level(level, log2 - 3)
        static_mode = static is not None
        if static_mode:  # Only this level (see layers.static_lod_floor).
            for res in range(3, log2 - static + 1):
                features[res] = block(res, features[res - 1])
            with tf.control_dependencies([check]):
                return tf.identity(output(static)())
        for res in range(3, log2 + 1):
            features[res] = ops.cond(
                level <= log2 - res,
                lambda res=res: block(res, features[res - 1]),
                lambda res=res: _zeros(batch, 2 ** res, self.blocks[res - 3][3].filters,
                                       self.compute_dtype))
        return ops.switch(level, [output(lod) for lod in range(log2 - 2)])

    # -- official protocol ------------------------------------------------------------------

    def official_static_kwargs(self):
        kwargs = {name: getattr(self, name) for name in SYNTHESIS_ARGS}
        return {**kwargs, **self._dtype_static_kwargs()}

    def official_variables(self):
        items = [("lod", self.lod)]
        items += [(f"noise{idx}", var) for idx, var in enumerate(self.noise_maps)]
        scope = "4x4/" + self._input_scope()
        items += _prefixed(scope, self.input_layer.official_variables()
                           if self.const_input_layer else sl.official_weight_bias(self.input_layer))
        items += _prefixed(scope, self.input_epilogue.official_variables())
        items += _prefixed("4x4/Conv", sl.official_weight_bias(self.conv4))
        items += _prefixed("4x4/Conv", self.conv4_epilogue.official_variables())
        items += _prefixed(self.to_rgb[0].name, sl.official_weight_bias(self.to_rgb[0]))
        for res, (conv0, _, epi0, conv1, epi1) in enumerate(self.blocks, start=3):
            scope = f"{2 ** res}x{2 ** res}"
            items += _prefixed(scope + "/Conv0_up", sl.official_weight_bias(conv0))
            items += _prefixed(scope + "/Conv0_up", epi0.official_variables())
            items += _prefixed(scope + "/Conv1", sl.official_weight_bias(conv1))
            items += _prefixed(scope + "/Conv1", epi1.official_variables())
            rgb = self.to_rgb[res - 2]
            items += _prefixed(rgb.name, sl.official_weight_bias(rgb))
        return collections.OrderedDict(items)

    def get_config(self):
        config = {name: getattr(self, name) for name in SYNTHESIS_ARGS}
        return {**super().get_config(), **config, "seed": self.seed}


# ----------------------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package=PACKAGE)
class Generator(_OfficialProtocol, keras.Model):
    """Official `G_style`: `mapping` (G_mapping) then `synthesis` (G_synthesis), with the
    truncation trick at inference and, with `training=True`, the moving average of w
    (`dlatent_avg`, decay `dlatent_avg_beta`) and style mixing (`style_mixing_prob`, one
    crossover for the whole minibatch); truncation is off in training.

    Call: `images = G(latents, labels, truncation_psi=None, truncation_cutoff=None,
    randomize_noise=None, training=False, validation=False)`; None = the value given to
    the constructor (psi 1 or cutoff <= 0 disables truncation); `validation=True` uses
    `truncation_psi_val` / `truncation_cutoff_val` as the official `is_validation`.
    Images are [N, resolution, resolution, num_channels].
    """

    official_build_func_name = "G_style"

    def __init__(self,
                 truncation_psi=0.7,          # Truncation strength (None = off).
                 truncation_cutoff=8,         # Truncate layers < cutoff (None = off).
                 truncation_psi_val=None,     # truncation_psi for validation calls.
                 truncation_cutoff_val=None,  # truncation_cutoff for validation calls.
                 dlatent_avg_beta=0.995,      # Decay of the moving average of w (None = off).
                 style_mixing_prob=0.9,       # Style-mixing probability in training (None = off).
                 latent_size=512,             # G_mapping: Z dimensionality.
                 label_size=0,                # G_mapping: label dimensionality.
                 dlatent_size=512,            # W dimensionality (both sub-networks).
                 mapping_layers=8,            # G_mapping: dense layers.
                 mapping_fmaps=512,           # G_mapping: hidden width.
                 mapping_lrmul=0.01,          # G_mapping: learning-rate multiplier.
                 mapping_nonlinearity="lrelu",  # G_mapping: 'lrelu' or 'relu'.
                 normalize_latents=True,      # G_mapping: pixel-normalise Z?
                 num_channels=3,              # G_synthesis: output channels.
                 resolution=1024,             # G_synthesis: output resolution.
                 fmap_base=8192,              # G_synthesis: feature-map multiplier.
                 fmap_decay=1.0,              # G_synthesis: feature-map decay.
                 fmap_max=512,                # G_synthesis: maximum feature maps.
                 use_styles=True,             # G_synthesis: style modulation?
                 const_input_layer=True,      # G_synthesis: learned constant input?
                 use_noise=True,              # G_synthesis: noise inputs?
                 randomize_noise=True,        # G_synthesis: fresh noise per call?
                 nonlinearity="lrelu",        # G_synthesis: 'lrelu' or 'relu'.
                 use_wscale=True,             # Equalized learning rate (both sub-networks).
                 use_pixel_norm=False,        # G_synthesis: pixel norm?
                 use_instance_norm=True,      # G_synthesis: instance norm?
                 fused_scale="auto",          # G_synthesis: fused up-conv.
                 blur_filter=(1, 2, 1),       # G_synthesis: blur filter (None = off).
                 structure="auto",            # G_synthesis: 'fixed'/'linear'/'recursive'/'auto'.
                 seed=None,                   # Seed for noise and style mixing (None = random).
                 **kwargs):                   # Base Model arguments (name, dtype, trainable).
        super().__init__(**_policy_kwargs(kwargs))
        self.truncation_psi = truncation_psi
        self.truncation_cutoff = truncation_cutoff
        self.truncation_psi_val = truncation_psi_val
        self.truncation_cutoff_val = truncation_cutoff_val
        self.dlatent_avg_beta = dlatent_avg_beta
        self.style_mixing_prob = style_mixing_prob
        self.seed = seed
        policy = self.dtype_policy
        self.synthesis = SynthesisNetwork(
            dlatent_size=dlatent_size, num_channels=num_channels, resolution=resolution,
            fmap_base=fmap_base, fmap_decay=fmap_decay, fmap_max=fmap_max,
            use_styles=use_styles, const_input_layer=const_input_layer, use_noise=use_noise,
            randomize_noise=randomize_noise, nonlinearity=nonlinearity, use_wscale=use_wscale,
            use_pixel_norm=use_pixel_norm, use_instance_norm=use_instance_norm,
            fused_scale=fused_scale, blur_filter=blur_filter, structure=structure,
            seed=seed, dtype=policy, name="G_synthesis")
        self.mapping = MappingNetwork(
            latent_size=latent_size, label_size=label_size, dlatent_size=dlatent_size,
            dlatent_broadcast=self.synthesis.num_styles, mapping_layers=mapping_layers,
            mapping_fmaps=mapping_fmaps, mapping_lrmul=mapping_lrmul,
            mapping_nonlinearity=mapping_nonlinearity, use_wscale=use_wscale,
            normalize_latents=normalize_latents, dtype=policy, name="G_mapping")
        self.lod = self.add_weight(name="lod", shape=(), initializer="zeros",
                                   trainable=False, autocast=False)
        self.dlatent_avg = self.add_weight(name="dlatent_avg", shape=(self.dlatent_size,),
                                           initializer="zeros", trainable=False, autocast=False)
        self.seed_generator = ReplicaSeedGenerator(None if seed is None else seed + 1)
        self.built = True

    # Sizes, as the official Network exposes them through its inputs and outputs.
    @property
    def latent_size(self):
        return self.mapping.latent_size

    @property
    def label_size(self):
        return self.mapping.label_size

    @property
    def dlatent_size(self):
        return self.synthesis.dlatent_size

    @property
    def num_layers(self):
        return self.synthesis.num_styles

    @property
    def resolution(self):
        return self.synthesis.resolution

    @property
    def num_channels(self):
        return self.synthesis.num_channels

    # -- forward --------------------------------------------------------------------------

    def call(self,
             latents,                  # [N, latent_size] Z.
             labels=None,              # [N, label_size] labels (None = no labels).
             truncation_psi=None,      # None = constructor value; 1 disables.
             truncation_cutoff=None,   # None = constructor value; <= 0 disables.
             randomize_noise=None,     # None = constructor value.
             training=False,           # Official is_training.
             validation=False):        # Official is_validation.
        training = bool(training)
        if training and validation:
            raise ValueError("training and validation cannot both be set")
        psi = self.truncation_psi if truncation_psi is None else truncation_psi
        cutoff = self.truncation_cutoff if truncation_cutoff is None else truncation_cutoff
        if validation:
            psi, cutoff = self.truncation_psi_val, self.truncation_cutoff_val
        if training or (psi is not None and _is_number(psi) and psi == 1):
            psi = None
        if training or (cutoff is not None and _is_number(cutoff) and cutoff <= 0):
            cutoff = None
        beta = self.dlatent_avg_beta
        if not training or (beta is not None and _is_number(beta) and beta == 1):
            beta = None
        mixing = self.style_mixing_prob
        if not training or (mixing is not None and _is_number(mixing) and mixing <= 0):
            mixing = None

        dlatents = self.mapping(latents, labels)

        if beta is not None:
            batch_avg = ops.mean(ops.cast(dlatents[:, 0], "float32"), axis=0)
            self.dlatent_avg.assign(L.lerp(batch_avg, self.dlatent_avg.value,
                                           ops.cast(beta, "float32")))

        if mixing is not None:
            dlatents = self.mix_styles(latents, labels, dlatents, mixing)

        if psi is not None and cutoff is not None:
            # Officially dlatent_avg and the coefficients are float32 whatever the activation
            # dtype, so the truncation is computed in float32; G_synthesis casts its input.
            layer_idx = np.arange(self.num_layers)[np.newaxis, :, np.newaxis]
            ones = ops.ones(layer_idx.shape, dtype="float32")
            coefs = ops.where(layer_idx < cutoff, ops.cast(psi, "float32") * ones, ones)
            dlatents = L.lerp(self.dlatent_avg.value, ops.cast(dlatents, "float32"), coefs)

        self.synthesis.lod.assign(self.lod.value)
        return self.synthesis(dlatents, randomize_noise=randomize_noise)

    def mix_styles(self,
                   latents,             # [N, latent_size] Z that produced `dlatents`.
                   labels,              # [N, label_size] labels (None = no labels).
                   dlatents,            # [N, num_layers, dlatent_size] W.
                   style_mixing_prob):  # Probability of mixing this minibatch.
        """Official style-mixing regularisation (training only): map fresh z2 ~ N(0, I) with
        the same labels to w2; with probability `style_mixing_prob` draw one crossover
        c ~ U{1, ..., cur_layers - 1} for the whole minibatch, else c = cur_layers, where
        cur_layers = num_layers - 2*int(lod). Layers < c keep w, the others take w2."""
        latents2 = keras.random.normal(ops.shape(latents), seed=self.seed_generator)
        dlatents2 = self.mapping(latents2, labels)
        layer_idx = np.arange(self.num_layers)[np.newaxis, :, np.newaxis]
        cur_layers = self.num_layers - ops.cast(self.lod.value, "int32") * 2
        uniform = keras.random.uniform((), 0.0, 1.0, seed=self.seed_generator)
        mixing_cutoff = ops.cond(
            uniform < style_mixing_prob,
            lambda: keras.random.randint((), 1, cur_layers, dtype="int32",
                                         seed=self.seed_generator),
            lambda: cur_layers)
        mask = ops.broadcast_to(layer_idx < mixing_cutoff, ops.shape(dlatents))
        return ops.where(mask, dlatents, dlatents2)

    # -- official protocol ------------------------------------------------------------------

    def official_static_kwargs(self):
        kwargs = {name: getattr(self, name) for name in G_STYLE_ARGS}
        mapping = self.mapping.official_static_kwargs()
        mapping.pop("dlatent_broadcast")
        return {**kwargs, **mapping, **self.synthesis.official_static_kwargs()}

    def official_variables(self):
        return collections.OrderedDict([("lod", self.lod), ("dlatent_avg", self.dlatent_avg)])

    def official_components(self):
        return {"synthesis": self.synthesis, "mapping": self.mapping}

    def get_config(self):
        config = {name: getattr(self, name) for name in G_STYLE_ARGS}
        mapping = {name: getattr(self.mapping, name) for name in MAPPING_ARGS}
        mapping.pop("dlatent_broadcast")
        synthesis = {name: getattr(self.synthesis, name) for name in SYNTHESIS_ARGS}
        return {**super().get_config(), **config, **mapping, **synthesis, "seed": self.seed}


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating))


# ----------------------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package=PACKAGE)
class Discriminator(_OfficialProtocol, keras.Model):
    """Official `D_basic`: FromRGB per resolution, blocks [conv, blur, conv-down (fused
    from 128^2 under 'auto')], then minibatch stddev, conv, dense, dense to
    max(label_size, 1) outputs; with labels the score is sum(outputs * labels).
    Call: `scores = D(images, labels)` with images [N, H, W, C] -> [N, 1]."""

    official_build_func_name = "D_basic"

    def __init__(self,
                 num_channels=1,             # Input colour channels (official default 1).
                 resolution=32,              # Input resolution (official default 32).
                 label_size=0,               # Label dimensionality, 0 = no labels.
                 fmap_base=8192,             # Feature-map multiplier.
                 fmap_decay=1.0,             # log2 feature-map reduction per doubling.
                 fmap_max=512,               # Maximum feature maps.
                 nonlinearity="lrelu",       # 'lrelu' or 'relu'.
                 use_wscale=True,            # Equalized learning rate?
                 mbstd_group_size=4,         # Minibatch-stddev group size (<= 1 = off).
                 mbstd_num_features=1,       # Minibatch-stddev feature maps.
                 fused_scale="auto",         # Fused conv-down: True, False or 'auto' (>= 128^2).
                 blur_filter=(1, 2, 1),      # Low-pass filter before downscaling (None = off).
                 structure="auto",           # 'fixed', 'linear', 'recursive' or 'auto'.
                 seed=None,                  # Unused (no randomness); kept for uniformity.
                 **kwargs):                  # Base Model arguments (name, dtype, trainable).
        super().__init__(**_policy_kwargs(kwargs))
        self.num_channels = int(num_channels)
        self.resolution = int(resolution)
        self.label_size = int(label_size)
        self.fmap_base = fmap_base
        self.fmap_decay = fmap_decay
        self.fmap_max = fmap_max
        self.nonlinearity = nonlinearity
        self.use_wscale = bool(use_wscale)
        self.mbstd_group_size = int(mbstd_group_size)
        self.mbstd_num_features = int(mbstd_num_features)
        self.fused_scale = fused_scale
        self.blur_filter = _blur_config(blur_filter)
        self.structure = structure
        self.seed = seed
        self._structure = _check_structure(structure)
        self.resolution_log2 = _resolution_log2(self.resolution)
        nf = _nf_function(fmap_base, fmap_decay, fmap_max)
        self.act, gain = sl.activation(nonlinearity)
        policy = self.dtype_policy

        def conv(name,                # Keras layer name.
                 filters,             # Output feature maps.
                 kernel,              # Kernel size.
                 size,                # Input resolution.
                 channels,            # Input feature maps.
                 use_bias=True,       # Bias inside the layer?
                 layer_class=None):   # Default L.EqualizedConv2D.
            layer = (layer_class or L.EqualizedConv2D)(
                filters, kernel, gain=gain, use_wscale=self.use_wscale, use_bias=use_bias,
                dtype=policy, name=name)
            layer.build((None, size, size, channels))
            return layer

        self.lod = self.add_weight(name="lod", shape=(), initializer="zeros",
                                   trainable=False, autocast=False)
        # FromRGB per resolution, index res - 2.
        self.from_rgb = [conv(f"FromRGB_lod{self.resolution_log2 - res}", nf(res - 1), 1,
                              2 ** res, self.num_channels)
                         for res in range(2, self.resolution_log2 + 1)]
        # Blocks 8x8 and up, index res - 3: [conv0, blur, conv1_down, bias of conv1_down when
        # not fused (the official bias follows the 2x2 downscale)]; `fused_down[i]` says
        # whether block i's conv-down is the fused stride-2 conv (official: input >= 128).
        self.blocks = []
        self.fused_down = []
        for res in range(3, self.resolution_log2 + 1):
            size = 2 ** res
            fused = _resolve_fused(fused_scale, size >= 128)
            blur = None
            if self.blur_filter is not None:
                blur = sl.Blur2D(self.blur_filter, dtype=policy, name=f"{size}x{size}_Blur")
            conv1 = conv(f"{size}x{size}_Conv1_down", nf(res - 2), 3, size, nf(res - 1),
                         use_bias=fused,
                         layer_class=L.Conv2DDownscale if fused else L.EqualizedConv2D)
            bias1 = None
            if not fused:
                bias1 = L.Bias(dtype=policy, name=f"{size}x{size}_Conv1_down_bias")
                bias1.build((None, size // 2, size // 2, nf(res - 2)))
            self.blocks.append([conv(f"{size}x{size}_Conv0", nf(res - 1), 3, size, nf(res - 1)),
                                blur, conv1, bias1])
            self.fused_down.append(fused)
        # 4x4 block.
        self.mbstd = None
        channels = nf(1)
        if self.mbstd_group_size > 1:
            self.mbstd = L.MinibatchStddev(self.mbstd_group_size, self.mbstd_num_features,
                                           dtype=policy, name="MinibatchStddev")
            channels += self.mbstd_num_features
        self.conv4 = conv("4x4_Conv", nf(1), 3, 4, channels)
        self.dense0 = L.EqualizedDense(nf(0), gain=gain, use_wscale=self.use_wscale,
                                       use_bias=True, dtype=policy, name="4x4_Dense0")
        self.dense0.build((None, nf(1) * 16))
        self.dense1 = L.EqualizedDense(max(self.label_size, 1), gain=1.0,
                                       use_wscale=self.use_wscale, use_bias=True, dtype=policy,
                                       name="4x4_Dense1")
        self.dense1.build((None, nf(0)))
        self.built = True

    # -- forward --------------------------------------------------------------------------

    def call(self,
             images,         # [N, H, W, C] images.
             labels=None):   # [N, label_size] labels (None = no labels).
        images = ops.cast(images, self.compute_dtype)
        lod_in = ops.cast(self.lod, self.compute_dtype)
        log2 = self.resolution_log2

        def fromrgb(x, res):
            return self.act(self.from_rgb[res - 2](x))

        def block(x, res):
            if res >= 3:
                conv0, blur, conv1, bias1 = self.blocks[res - 3]
                x = self.act(conv0(x))
                if blur is not None:
                    x = blur(x)
                x = conv1(x)
                if not self.fused_down[res - 3]:
                    x = bias1(L.downscale2d(x))
                return self.act(x)
            if self.mbstd is not None:
                x = self.mbstd(x)
            x = self.act(self.conv4(x))
            x = L.flatten_nchw(x)  # Official Dense0 weight rows are in (C, H, W) order.
            x = self.act(self.dense0(x))
            return self.dense1(x)

        if self._structure == "fixed":
            x = fromrgb(images, log2)
            for res in range(log2, 2, -1):
                x = block(x, res)
            scores = block(x, 2)
        elif self._structure == "linear":
            img = images
            x = fromrgb(img, log2)
            for res in range(log2, 2, -1):
                x = block(x, res)
                img = L.downscale2d(img)
                x = L.lerp_clip(x, fromrgb(img, res - 1), lod_in - (log2 - res))
            scores = block(x, 2)
        else:
            # Recursive structure: the official recursion starts at the resolution of
            # `level` = clip(floor(lod), 0, log2 - 2) (FromRGB of the downscaled images), runs
            # the blocks down to 4x4 and fades the first block's output with the next
            # FromRGB when lod > level. Laid out flat (see SynthesisNetwork.call): the input
            # of each block is a switch between zeros (unused), FromRGB (start here) and the
            # block above.
            level = ops.cast(ops.clip(ops.floor(lod_in), 0, log2 - 2), "int32")
            static, check = _static_level(level, log2 - 2)

            def start(res):  # The recursion's entry point at `res`.
                return fromrgb(L.downscale2d(images, 2 ** (log2 - res)), res)

            def faded_block(x, res):
                # Block `res`, then the fade with the next FromRGB while lod > its level; that
                # can only hold for the block the recursion entered at.
                y = block(x, res)
                lod = log2 - res
                # Unclipped lerp, exactly as the official recursive structure.
                if static is not None:  # lod in [level, level + 1): t = 0 returns y exactly.
                    return L.lerp(y, start(res - 1), lod_in - lod)
                return ops.cond(lod_in > lod,
                                lambda: L.lerp(y, start(res - 1), lod_in - lod),
                                lambda: y)

            if static is not None:  # Only this level (see layers.static_lod_floor).
                res = log2 - static
                x = start(res)
                if res > 2:
                    x = faded_block(x, res)
                for res in range(res - 1, 2, -1):
                    x = block(x, res)
                with tf.control_dependencies([check]):
                    x = tf.identity(x)
            else:
                batch = ops.shape(images)[0]
                x = None  # Input of the block at `res`.
                for res in range(log2, 1, -1):
                    lod = log2 - res
                    zeros = lambda res=res: _zeros(batch, 2 ** res, self.from_rgb[res - 2].filters,
                                                   self.compute_dtype)
                    here = lambda res=res: start(res)
                    if x is None:
                        x = ops.cond(level == lod, here, zeros)
                        continue
                    above = lambda res=res, x=x: faded_block(x, res + 1)
                    index = ops.where(level > lod, 0, ops.where(level == lod, 1, 2))
                    x = ops.switch(index, [zeros, here, above])
            scores = block(x, 2)

        if self.label_size:
            if labels is None:
                raise ValueError(f"{self.name}: label_size={self.label_size} needs labels")
            scores = ops.sum(scores * ops.cast(labels, scores.dtype), axis=1, keepdims=True)
        return scores

    # -- official protocol ------------------------------------------------------------------

    def official_static_kwargs(self):
        kwargs = {name: getattr(self, name) for name in D_BASIC_ARGS}
        return {**kwargs, **self._dtype_static_kwargs()}

    def official_variables(self):
        items = [("lod", self.lod)]
        for res in range(self.resolution_log2, 2, -1):
            rgb = self.from_rgb[res - 2]
            conv0, _, conv1, bias1 = self.blocks[res - 3]
            items += _prefixed(rgb.name, sl.official_weight_bias(rgb))
            items += _prefixed(f"{2 ** res}x{2 ** res}/Conv0", sl.official_weight_bias(conv0))
            items += _prefixed(f"{2 ** res}x{2 ** res}/Conv1_down",
                               sl.official_weight_bias(conv1, bias1))
        rgb = self.from_rgb[0]
        items += _prefixed(rgb.name, sl.official_weight_bias(rgb))
        items += _prefixed("4x4/Conv", sl.official_weight_bias(self.conv4))
        items += _prefixed("4x4/Dense0", sl.official_weight_bias(self.dense0))
        items += _prefixed("4x4/Dense1", sl.official_weight_bias(self.dense1))
        return collections.OrderedDict(items)

    def get_config(self):
        config = {name: getattr(self, name) for name in D_BASIC_ARGS}
        return {**super().get_config(), **config, "seed": self.seed}


# ----------------------------------------------------------------------------------------

NETWORK_CLASSES = {cls.official_build_func_name: cls
                   for cls in (Generator, MappingNetwork, SynthesisNetwork, Discriminator)}
_CLASS_ARGS = {
    "G_style": G_STYLE_ARGS + MAPPING_ARGS + SYNTHESIS_ARGS,
    "G_mapping": MAPPING_ARGS,
    "G_synthesis": SYNTHESIS_ARGS,
    "D_basic": D_BASIC_ARGS,
}


def _constructor_kwargs(func_name,        # Official build function name.
                        static_kwargs):   # The state's static kwargs.
    allowed = set(_CLASS_ARGS[func_name])
    if func_name == "G_style":
        allowed.discard("dlatent_broadcast")  # Set by G_style itself for its mapping.
    # Unrecognised keyword arguments are ignored, as by the official build functions.
    kwargs = {k: v for k, v in static_kwargs.items() if k in allowed}
    if "fused_scale" in kwargs and not isinstance(kwargs["fused_scale"], str):
        kwargs["fused_scale"] = bool(kwargs["fused_scale"])
    kwargs["dtype"] = official_dtype_to_policy(static_kwargs.get("dtype", "float32"))
    return kwargs


def from_official_state(state):   # Official network state (NetworkState or alike).
    """Build the Keras network for an official StyleGAN network state and load its values.

    `state` has `name`, `build_func_name` ('G_style', 'G_mapping', 'G_synthesis', 'D_basic'),
    `static_kwargs`, `variables` (official name -> array) and `components` (for G_style:
    'mapping' and 'synthesis' states). Raises ValueError naming what does not match.
    """
    func_name = state.build_func_name
    if func_name not in NETWORK_CLASSES:
        raise ValueError(f"network {state.name!r} was built by {func_name!r}, which is not a "
                         f"StyleGAN network ({', '.join(NETWORK_CLASSES)})")
    static_kwargs = dict(state.static_kwargs)
    components = dict(state.components or {})
    if func_name == "G_style":
        for key in ("mapping", "synthesis"):
            if key not in components:
                raise ValueError(f"G_style network {state.name!r} has no {key!r} component; "
                                 f"the pickle is incomplete")
        # G_style forwards its own kwargs to the components at run time, overriding theirs.
        static_kwargs = {**components["mapping"].static_kwargs,
                         **components["synthesis"].static_kwargs, **static_kwargs}
    name = str(state.name).replace("/", "_") or func_name  # Keras names cannot hold '/'.
    net = NETWORK_CLASSES[func_name](name=name, **_constructor_kwargs(func_name, static_kwargs))
    net.set_official_values(state.variables)
    for key, sub in net.official_components().items():
        sub.set_official_values(components[key].variables)
    return net
