"""StyleGAN networks (NVlabs/stylegan `training/networks_stylegan.py`) as Keras 3 models.

`Generator` is the official `G_style` wrapper around `MappingNetwork` (`G_mapping`) and
`SynthesisNetwork` (`G_synthesis`); `Discriminator` is `D_basic`. Images are NHWC. Each
network is a `networks.base.Network` built, as in the paper's figure 1, from named blocks
that carry their official scopes (`networks.stylegan_layers`): G_synthesis is a
`SynthesisInput` (4x4), one `SynthesisBlock` per resolution and a `ToRGB` per resolution;
D_basic is a `FromRGB` per resolution, one `DiscriminatorBlock` per resolution and the
`DiscriminatorEpilogue` (4x4); G_mapping is a stack of dense layers. Every variable is
created in the constructor under its official name and shape, so official pickles map one
to one (`official_variables()`, `set_official_values()`, `from_official_state(state)`).

Progressive growing follows the official 'recursive' structure: only the resolutions the
current `lod` needs are evaluated. The official code nests one tf.cond per level; here
`base.run_at_level` runs the straight-line network of the level the recursion stops at
(one tf.switch_case in a graph), because nested conds make TF2's second-order gradients
(the R1 penalty) exponentially costly to build.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from networks import base
from networks import layers as L
from networks import stylegan_layers as sl

PACKAGE = "stylegan"
STRUCTURES = ("fixed", "linear", "recursive")  # And 'auto' (= 'recursive'), as officially.


def _official_arguments(cls):  # A network class.
    """The official build function's keyword arguments of `cls`: its constructor's, less `seed` (ours)."""
    return [name for name in cls.argument_names() if name != "seed"]


def _model_kwargs(kwargs):  # Base Model arguments; `dtype` may be an official dtype string.
    """Base Model arguments with an official activation dtype string ('float16', 'bfloat16')
    turned into its mixed Keras policy: the official networks keep float32 variables and cast
    them to the activation dtype, so a plain 'float16' policy (float16 variables) would not be
    theirs. Policies (and their serialized form) pass unchanged."""
    if isinstance(kwargs.get("dtype"), str):
        kwargs = dict(kwargs, dtype=base.dtype_policy(kwargs["dtype"]))
    return kwargs


def _dtype_static_kwargs(net):  # A network.
    """The official `dtype` static kwarg: present only when the activations are not float32."""
    dtype = base.official_dtype(net.dtype_policy)
    return {} if dtype == "float32" else {"dtype": dtype}


def _resolve_fused(
    fused_scale,  # True, False or 'auto'.
    auto,  # What 'auto' means here (the official size rule).
):
    if fused_scale not in (True, False, "auto"):
        raise ValueError(f"fused_scale must be True, False or 'auto', got {fused_scale!r}")
    return auto if fused_scale == "auto" else bool(fused_scale)


def _blur_config(blur_filter):
    return None if blur_filter is None or len(blur_filter) == 0 else list(blur_filter)


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating))


class ReplicaSeedGenerator(keras.random.SeedGenerator):
    """A Keras SeedGenerator whose draws differ between the replicas of a distribution strategy.

    A generator created under `strategy.scope()` holds one mirrored state, so every replica
    would draw the same noise, crossover and second latents. Here each replica folds its
    global `replica_id_in_sync_group` (distinct across the workers of a
    MultiWorkerMirroredStrategy too) into the drawn seed: the draws stay keyed by the
    generator state (saved in the resume state), so runs remain reproducible and resumable.
    With one replica the seed is unchanged, so single-device results are as before.
    """

    def next(
        self,
        ordered=True,  # As SeedGenerator.next.
    ):
        seed = super().next(ordered)
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return seed
        return tf.random.experimental.stateless_fold_in(seed, context.replica_id_in_sync_group)


# ----------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class MappingNetwork(base.Network):
    """Official `G_mapping`: z (+ embedded labels) -> pixel norm -> `mapping_layers` dense
    layers with lr multiplier `mapping_lrmul` and lrelu (also after the last) -> w,
    broadcast to [N, dlatent_broadcast, dlatent_size] when `dlatent_broadcast` is set."""

    official_build_func_name = "G_mapping"
    family = "stylegan"

    def __init__(
        self,
        latent_size=512,  # Z dimensionality.
        label_size=0,  # Label dimensionality, 0 = no labels.
        dlatent_size=512,  # W dimensionality.
        dlatent_broadcast=None,  # Broadcast W to this many layers (None = [N, W]).
        mapping_layers=8,  # Number of dense layers.
        mapping_fmaps=512,  # Width of the hidden layers.
        mapping_lrmul=0.01,  # Learning-rate multiplier (weights and biases).
        mapping_nonlinearity="lrelu",  # 'lrelu' or 'relu'.
        use_wscale=True,  # Equalized learning rate?
        normalize_latents=True,  # Pixel-normalise the input vector?
        seed=None,  # Unused (no randomness); kept for uniformity.
        **kwargs,  # Base Model arguments (name, dtype, trainable).
    ):
        super().__init__(**_model_kwargs(kwargs))
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
                name="label_embedding",
                shape=(self.label_size, self.latent_size),
                initializer=keras.initializers.RandomNormal(0.0, 1.0),
                dtype="float32",
                autocast=False,
            )
        # The paper's figure 1(b): a stack of fully-connected layers, Dense0 ... Dense<n-1>.
        width = self.latent_size * (2 if self.label_size else 1)
        self.dense_layers = []
        for idx in range(self.mapping_layers):
            fmaps = self.dlatent_size if idx == self.mapping_layers - 1 else self.mapping_fmaps
            layer = L.EqualizedDense(
                fmaps,
                gain=gain,
                use_wscale=self.use_wscale,
                lrmul=self.mapping_lrmul,
                use_bias=True,
                dtype=self.dtype_policy,
                name=f"Dense{idx}",
            )
            layer.build((None, width))
            self.dense_layers.append(layer)
            width = fmaps
        self.built = True

    def call(
        self,
        latents,  # [N, latent_size] Z.
        labels=None,  # [N, label_size] conditioning labels (None = no labels).
    ):
        x = ops.cast(latents, self.compute_dtype)
        if self.label_size:
            if labels is None:
                raise ValueError(f"{self.name}: label_size={self.label_size} needs labels")
            y = ops.matmul(ops.cast(labels, self.compute_dtype), ops.cast(self.label_embedding, self.compute_dtype))
            x = ops.concatenate([x, y], axis=1)
        if self.normalize_latents:
            x = L.pixel_norm(x)
        for layer in self.dense_layers:
            x = self.act(layer(x))
        if self.dlatent_broadcast is not None:
            x = ops.tile(x[:, None, :], [1, self.dlatent_broadcast, 1])
        return x

    def official_static_kwargs(self):
        kwargs = {name: getattr(self, name) for name in _official_arguments(type(self))}
        return {**kwargs, **_dtype_static_kwargs(self)}

    def official_own_variables(self):
        items = []  # G_mapping has no lod.
        if self.label_size:
            items.append(("LabelConcat/weight", self.label_embedding))
        for idx, layer in enumerate(self.dense_layers):
            items += base.prefixed(f"Dense{idx}", base.weight_and_bias(layer))
        return items

    def get_config(self):
        config = {name: getattr(self, name) for name in _official_arguments(type(self))}
        return {**super().get_config(), **config, "seed": self.seed}


# ----------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class SynthesisNetwork(base.Network):
    """Official `G_synthesis` (the paper's figure 1(b), right): `input_block` (4x4: learned
    constant, or dense from w, and a conv), then per resolution a `SynthesisBlock` (up-conv,
    fused from 128^2 under 'auto', + blur and a conv), each conv followed by noise, bias,
    lrelu, instance norm and style modulation by one w; `ToRGB` per resolution, faded by lod.

    `noise<i>` are the stored noise images (non-trainable, NCHW [1, 1, res, res]) used
    when `randomize_noise` is False; otherwise fresh N(0, 1) noise is drawn per call.
    """

    official_build_func_name = "G_synthesis"
    family = "stylegan"

    def __init__(
        self,
        dlatent_size=512,  # W dimensionality.
        num_channels=3,  # Output colour channels.
        resolution=1024,  # Output resolution.
        fmap_base=8192,  # Feature-map multiplier.
        fmap_decay=1.0,  # log2 feature-map reduction per doubling.
        fmap_max=512,  # Maximum feature maps.
        use_styles=True,  # Style modulation (else a single w input)?
        const_input_layer=True,  # Learned constant input (else dense from w)?
        use_noise=True,  # Noise inputs?
        randomize_noise=True,  # Fresh noise per call (else the stored maps)?
        nonlinearity="lrelu",  # 'lrelu' or 'relu'.
        use_wscale=True,  # Equalized learning rate?
        use_pixel_norm=False,  # Pixelwise feature normalisation?
        use_instance_norm=True,  # Instance normalisation?
        fused_scale="auto",  # Fused up-conv: True, False or 'auto' (>= 128^2).
        blur_filter=(1, 2, 1),  # Low-pass filter after upscaling (None = off).
        structure="auto",  # 'fixed', 'linear', 'recursive' or 'auto'.
        seed=None,  # Seed of the noise generator (None = random).
        **kwargs,  # Base Model arguments (name, dtype, trainable).
    ):
        super().__init__(**_model_kwargs(kwargs))
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
        self._structure = base.check_structure(structure, STRUCTURES)
        self.resolution_log2 = base.resolution_log2(self.resolution)
        self.num_layers = self.resolution_log2 * 2 - 2
        self.num_styles = self.num_layers if self.use_styles else 1
        policy = self.dtype_policy

        def nf(stage):
            return base.num_features(stage, fmap_base, fmap_decay, fmap_max)

        self.add_lod()
        self.noise_maps = []
        if self.use_noise:
            for idx in range(self.num_layers):
                size = 2 ** (idx // 2 + 2)
                self.noise_maps.append(
                    self.add_weight(
                        name=f"noise{idx}",
                        shape=(1, 1, size, size),
                        trainable=False,
                        initializer=keras.initializers.RandomNormal(0.0, 1.0),
                        autocast=False,
                    )
                )
        self.seed_generator = ReplicaSeedGenerator(seed)

        # Blocks are built here, in this order (the order that fixes their initial values).
        epilogue = dict(
            use_noise=self.use_noise,
            use_styles=self.use_styles,
            use_pixel_norm=self.use_pixel_norm,
            use_instance_norm=self.use_instance_norm,
        )
        common = dict(nonlinearity=nonlinearity, use_wscale=self.use_wscale, dtype=policy)
        dlatents_shape = (None, self.num_styles, self.dlatent_size)
        styles_shape = ((None, self.dlatent_size),) * 2
        self.input_block = sl.SynthesisInput(
            nf(1), const_input_layer=self.const_input_layer, epilogue=epilogue, name="4x4", **common
        )
        self.input_block.build(dlatents_shape)
        self.blocks = []  # Resolutions 8x8 and up: index res - 3.
        for res in range(3, self.resolution_log2 + 1):
            block = sl.SynthesisBlock(
                res,
                nf(res - 1),
                fused=_resolve_fused(fused_scale, 2**res >= 128),
                blur_filter=self.blur_filter,
                epilogue=epilogue,
                name=f"{2**res}x{2**res}",
                **common,
            )
            block.build((None, 2 ** (res - 1), 2 ** (res - 1), nf(res - 2)), styles_shape)
            self.blocks.append(block)
        self.to_rgb = []  # One per resolution: index res - 2.
        for res in range(2, self.resolution_log2 + 1):
            lod = self.resolution_log2 - res
            layer = L.ToRGB(lod, self.num_channels, use_wscale=self.use_wscale, dtype=policy, name=f"ToRGB_lod{lod}")
            layer.build((None, 2**res, 2**res, nf(res - 1)))
            self.to_rgb.append(layer)
        self.built = True

    # -- forward --------------------------------------------------------------------------

    def call(
        self,
        dlatents,  # [N, num_styles, dlatent_size] W per layer.
        randomize_noise=None,  # None = the constructor's `randomize_noise`.
    ):
        randomize = self.randomize_noise if randomize_noise is None else bool(randomize_noise)
        dlatents = ops.cast(dlatents, self.compute_dtype)
        lod_in = ops.cast(self.lod, self.compute_dtype)
        batch = ops.shape(dlatents)[0]

        def noise(idx):
            size = 2 ** (idx // 2 + 2)
            if randomize:
                return keras.random.normal((batch, size, size, 1), dtype=self.compute_dtype, seed=self.seed_generator)
            return ops.reshape(self.noise_maps[idx], (1, size, size, 1))

        def layer_inputs(res):  # (styles, noises) of the two layers of resolution 2^res.
            first = 2 * res - 4
            styles = (dlatents[:, first], dlatents[:, first + 1]) if self.use_styles else None
            noises = (noise(first), noise(first + 1)) if self.use_noise else None
            return styles, noises

        def block(res, x):
            return self.blocks[res - 3](x, *layer_inputs(res))

        x = self.input_block(dlatents, *layer_inputs(2))
        log2 = self.resolution_log2
        if self._structure == "fixed":
            for res in range(3, log2 + 1):
                x = block(res, x)
            return self.to_rgb[-1](x)

        if self._structure == "linear":
            images = self.to_rgb[0](x)
            for res in range(3, log2 + 1):
                x = block(res, x)
                images = L.lerp_clip(self.to_rgb[res - 2](x), L.upscale2d(images), lod_in - (log2 - res))
            return images

        # Recursive structure: the official recursion stops at level = clip(floor(lod), 0,
        # log2 - 3), i.e. at resolution 2^(log2 - level); the 4x4 input above is shared.
        if log2 == 2:  # 4x4 network: nothing to grow.
            return self.to_rgb[0](x)

        def at_level(level):
            def run():
                features, below = x, None
                for res in range(3, log2 - level + 1):
                    below, features = features, block(res, features)
                res = log2 - level
                images = self.to_rgb[res - 2](features)
                t = base.fade_weight(lod_in, level)
                if t is not None:  # Unclipped lerp with the level below, as officially.
                    images = L.lerp(images, L.upscale2d(self.to_rgb[res - 3](below)), ops.cast(t, images.dtype))
                return L.upscale2d(images, 2**level)

            return run

        return base.run_at_level(lod_in, log2 - 3, at_level)

    # -- official protocol ------------------------------------------------------------------

    def official_static_kwargs(self):
        kwargs = {name: getattr(self, name) for name in _official_arguments(type(self))}
        return {**kwargs, **_dtype_static_kwargs(self)}

    def official_own_variables(self):
        return [("lod", self.lod)] + [(f"noise{idx}", var) for idx, var in enumerate(self.noise_maps)]

    def official_blocks(self):
        # Official creation order: 4x4, its ToRGB, then each resolution and its ToRGB.
        blocks = [self.input_block, self.to_rgb[0]]
        for block, to_rgb in zip(self.blocks, self.to_rgb[1:]):
            blocks += [block, to_rgb]
        return blocks

    def get_config(self):
        config = {name: getattr(self, name) for name in _official_arguments(type(self))}
        return {**super().get_config(), **config, "seed": self.seed}


# ----------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class Generator(base.Network):
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
    family = "stylegan"

    def __init__(
        self,
        truncation_psi=0.7,  # Truncation strength (None = off).
        truncation_cutoff=8,  # Truncate layers < cutoff (None = off).
        truncation_psi_val=None,  # truncation_psi for validation calls.
        truncation_cutoff_val=None,  # truncation_cutoff for validation calls.
        dlatent_avg_beta=0.995,  # Decay of the moving average of w (None = off).
        style_mixing_prob=0.9,  # Style-mixing probability in training (None = off).
        latent_size=512,  # G_mapping: Z dimensionality.
        label_size=0,  # G_mapping: label dimensionality.
        dlatent_size=512,  # W dimensionality (both sub-networks).
        mapping_layers=8,  # G_mapping: dense layers.
        mapping_fmaps=512,  # G_mapping: hidden width.
        mapping_lrmul=0.01,  # G_mapping: learning-rate multiplier.
        mapping_nonlinearity="lrelu",  # G_mapping: 'lrelu' or 'relu'.
        normalize_latents=True,  # G_mapping: pixel-normalise Z?
        num_channels=3,  # G_synthesis: output channels.
        resolution=1024,  # G_synthesis: output resolution.
        fmap_base=8192,  # G_synthesis: feature-map multiplier.
        fmap_decay=1.0,  # G_synthesis: feature-map decay.
        fmap_max=512,  # G_synthesis: maximum feature maps.
        use_styles=True,  # G_synthesis: style modulation?
        const_input_layer=True,  # G_synthesis: learned constant input?
        use_noise=True,  # G_synthesis: noise inputs?
        randomize_noise=True,  # G_synthesis: fresh noise per call?
        nonlinearity="lrelu",  # G_synthesis: 'lrelu' or 'relu'.
        use_wscale=True,  # Equalized learning rate (both sub-networks).
        use_pixel_norm=False,  # G_synthesis: pixel norm?
        use_instance_norm=True,  # G_synthesis: instance norm?
        fused_scale="auto",  # G_synthesis: fused up-conv.
        blur_filter=(1, 2, 1),  # G_synthesis: blur filter (None = off).
        structure="auto",  # G_synthesis: 'fixed'/'linear'/'recursive'/'auto'.
        seed=None,  # Seed for noise and style mixing (None = random).
        **kwargs,  # Base Model arguments (name, dtype, trainable).
    ):
        super().__init__(**_model_kwargs(kwargs))
        self.truncation_psi = truncation_psi
        self.truncation_cutoff = truncation_cutoff
        self.truncation_psi_val = truncation_psi_val
        self.truncation_cutoff_val = truncation_cutoff_val
        self.dlatent_avg_beta = dlatent_avg_beta
        self.style_mixing_prob = style_mixing_prob
        self.seed = seed
        policy = self.dtype_policy
        self.synthesis = SynthesisNetwork(
            dlatent_size=dlatent_size,
            num_channels=num_channels,
            resolution=resolution,
            fmap_base=fmap_base,
            fmap_decay=fmap_decay,
            fmap_max=fmap_max,
            use_styles=use_styles,
            const_input_layer=const_input_layer,
            use_noise=use_noise,
            randomize_noise=randomize_noise,
            nonlinearity=nonlinearity,
            use_wscale=use_wscale,
            use_pixel_norm=use_pixel_norm,
            use_instance_norm=use_instance_norm,
            fused_scale=fused_scale,
            blur_filter=blur_filter,
            structure=structure,
            seed=seed,
            dtype=policy,
            name="G_synthesis",
        )
        self.mapping = MappingNetwork(
            latent_size=latent_size,
            label_size=label_size,
            dlatent_size=dlatent_size,
            dlatent_broadcast=self.synthesis.num_styles,
            mapping_layers=mapping_layers,
            mapping_fmaps=mapping_fmaps,
            mapping_lrmul=mapping_lrmul,
            mapping_nonlinearity=mapping_nonlinearity,
            use_wscale=use_wscale,
            normalize_latents=normalize_latents,
            dtype=policy,
            name="G_mapping",
        )
        self.add_lod()
        self.dlatent_avg = self.add_weight(
            name="dlatent_avg", shape=(self.dlatent_size,), initializer="zeros", trainable=False, autocast=False
        )
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

    def call(
        self,
        latents,  # [N, latent_size] Z.
        labels=None,  # [N, label_size] labels (None = no labels).
        truncation_psi=None,  # None = constructor value; 1 disables.
        truncation_cutoff=None,  # None = constructor value; <= 0 disables.
        randomize_noise=None,  # None = constructor value.
        training=False,  # Official is_training.
        validation=False,  # Official is_validation.
    ):
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
            self.dlatent_avg.assign(L.lerp(batch_avg, self.dlatent_avg.value, ops.cast(beta, "float32")))

        if mixing is not None:
            dlatents = self.mix_styles(latents, labels, dlatents, mixing)

        if psi is not None and cutoff is not None:
            dlatents = self.truncate(dlatents, psi, cutoff)

        self.synthesis.lod.assign(self.lod.value)
        return self.synthesis(dlatents, randomize_noise=randomize_noise)

    def truncate(
        self,
        dlatents,  # [N, num_layers, dlatent_size] W.
        psi,  # truncation_psi: a number, or a scalar tensor.
        cutoff,  # truncation_cutoff: layers < cutoff are truncated.
    ):
        """G_style's truncation trick: w of the layers < `cutoff` pulled toward `dlatent_avg`,
        w' = avg + psi * (w - avg). Officially dlatent_avg and the coefficients are float32
        whatever the activation dtype, so it is computed in float32 (G_synthesis casts its
        input). A tensor psi equal to 1 returns `dlatents` exactly, as the number 1 (no
        truncation) does in `call`; serving graphs take psi as a tensor."""
        layer_idx = np.arange(self.num_layers)[np.newaxis, :, np.newaxis]
        ones = ops.ones(layer_idx.shape, dtype="float32")
        coefs = ops.where(layer_idx < cutoff, ops.cast(psi, "float32") * ones, ones)
        truncated = L.lerp(self.dlatent_avg.value, ops.cast(dlatents, "float32"), coefs)
        if _is_number(psi):
            return truncated
        return ops.where(ops.equal(ops.cast(psi, "float32"), 1.0), ops.cast(dlatents, "float32"), truncated)

    def mix_styles(
        self,
        latents,  # [N, latent_size] Z that produced `dlatents`.
        labels,  # [N, label_size] labels (None = no labels).
        dlatents,  # [N, num_layers, dlatent_size] W.
        style_mixing_prob,  # Probability of mixing this minibatch.
    ):
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
            lambda: keras.random.randint((), 1, cur_layers, dtype="int32", seed=self.seed_generator),
            lambda: cur_layers,
        )
        mask = ops.broadcast_to(layer_idx < mixing_cutoff, ops.shape(dlatents))
        return ops.where(mask, dlatents, dlatents2)

    # -- official protocol ------------------------------------------------------------------

    @classmethod
    def own_argument_names(cls):
        """G_style's own keyword arguments (truncation, dlatent average, style mixing): those
        of its constructor that are not its components' (which G_style forwards to them)."""
        forwarded = set(MappingNetwork.argument_names()) | set(SynthesisNetwork.argument_names())
        return [name for name in _official_arguments(cls) if name not in forwarded]

    def _component_kwargs(self):
        mapping = {name: getattr(self.mapping, name) for name in _official_arguments(MappingNetwork)}
        mapping.pop("dlatent_broadcast")  # G_style sets it for its mapping itself.
        synthesis = {name: getattr(self.synthesis, name) for name in _official_arguments(SynthesisNetwork)}
        return mapping, synthesis

    def official_static_kwargs(self):
        kwargs = {name: getattr(self, name) for name in self.own_argument_names()}
        mapping = self.mapping.official_static_kwargs()
        mapping.pop("dlatent_broadcast")
        return {**kwargs, **mapping, **self.synthesis.official_static_kwargs()}

    def official_own_variables(self):
        return [("lod", self.lod), ("dlatent_avg", self.dlatent_avg)]

    def official_components(self):
        return {"synthesis": self.synthesis, "mapping": self.mapping}

    def get_config(self):
        config = {name: getattr(self, name) for name in self.own_argument_names()}
        mapping, synthesis = self._component_kwargs()
        return {**super().get_config(), **config, **mapping, **synthesis, "seed": self.seed}


# ----------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class Discriminator(base.Network):
    """Official `D_basic`: a `FromRGB` per resolution, a `DiscriminatorBlock` per resolution
    [conv, blur, conv-down (fused from 128^2 under 'auto')], then the `DiscriminatorEpilogue`
    (minibatch stddev, conv, dense, dense to max(label_size, 1) outputs); with labels the
    score is sum(outputs * labels).
    Call: `scores = D(images, labels)` with images [N, H, W, C] -> [N, 1]."""

    official_build_func_name = "D_basic"
    family = "stylegan"

    def __init__(
        self,
        num_channels=1,  # Input colour channels (official default 1).
        resolution=32,  # Input resolution (official default 32).
        label_size=0,  # Label dimensionality, 0 = no labels.
        fmap_base=8192,  # Feature-map multiplier.
        fmap_decay=1.0,  # log2 feature-map reduction per doubling.
        fmap_max=512,  # Maximum feature maps.
        nonlinearity="lrelu",  # 'lrelu' or 'relu'.
        use_wscale=True,  # Equalized learning rate?
        mbstd_group_size=4,  # Minibatch-stddev group size (<= 1 = off).
        mbstd_num_features=1,  # Minibatch-stddev feature maps.
        fused_scale="auto",  # Fused conv-down: True, False or 'auto' (>= 128^2).
        blur_filter=(1, 2, 1),  # Low-pass filter before downscaling (None = off).
        structure="auto",  # 'fixed', 'linear', 'recursive' or 'auto'.
        seed=None,  # Unused (no randomness); kept for uniformity.
        **kwargs,  # Base Model arguments (name, dtype, trainable).
    ):
        super().__init__(**_model_kwargs(kwargs))
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
        self._structure = base.check_structure(structure, STRUCTURES)
        self.resolution_log2 = base.resolution_log2(self.resolution)
        common = dict(nonlinearity=nonlinearity, use_wscale=self.use_wscale, dtype=self.dtype_policy)
        self.act, _ = sl.activation(nonlinearity)  # After each FromRGB (the blocks apply their own).

        def nf(stage):
            return base.num_features(stage, fmap_base, fmap_decay, fmap_max)

        # Blocks are built here, in this order (the order that fixes their initial values).
        self.add_lod()
        self.from_rgb = []  # One per resolution: index res - 2.
        for res in range(2, self.resolution_log2 + 1):
            lod = self.resolution_log2 - res
            layer = L.FromRGB(
                lod, nf(res - 1), use_wscale=self.use_wscale, dtype=self.dtype_policy, name=f"FromRGB_lod{lod}"
            )
            layer.build((None, 2**res, 2**res, self.num_channels))
            self.from_rgb.append(layer)
        self.blocks = []  # Resolutions 8x8 and up: index res - 3.
        for res in range(3, self.resolution_log2 + 1):
            size = 2**res
            block = sl.DiscriminatorBlock(
                res,
                nf(res - 1),
                nf(res - 2),
                fused=_resolve_fused(fused_scale, size >= 128),
                blur_filter=self.blur_filter,
                name=f"{size}x{size}",
                **common,
            )
            block.build((None, size, size, nf(res - 1)))
            self.blocks.append(block)
        self.epilogue = sl.DiscriminatorEpilogue(
            nf(1),
            nf(0),
            label_size=self.label_size,
            mbstd_group_size=self.mbstd_group_size,
            mbstd_num_features=self.mbstd_num_features,
            name="4x4",
            **common,
        )
        self.epilogue.build((None, 4, 4, nf(1)))
        self.built = True

    # -- forward --------------------------------------------------------------------------

    def call(
        self,
        images,  # [N, H, W, C] images.
        labels=None,  # [N, label_size] labels (None = no labels).
    ):
        images = ops.cast(images, self.compute_dtype)
        lod_in = ops.cast(self.lod, self.compute_dtype)
        log2 = self.resolution_log2

        def block(res, x):
            return self.blocks[res - 3](x)

        def fromrgb(res, x):
            return self.act(self.from_rgb[res - 2](x))

        if self._structure == "fixed":
            x = fromrgb(log2, images)
            for res in range(log2, 2, -1):
                x = block(res, x)
        elif self._structure == "linear":
            img = images
            x = fromrgb(log2, img)
            for res in range(log2, 2, -1):
                x = block(res, x)
                img = L.downscale2d(img)
                x = L.lerp_clip(x, fromrgb(res - 1, img), lod_in - (log2 - res))
        else:
            # Recursive structure: the official recursion enters at the resolution of
            # level = clip(floor(lod), 0, log2 - 2) (FromRGB of the downscaled images), fades
            # the first block's output with the next FromRGB while lod > level, and runs the
            # blocks down to 4x4.
            def start(res):  # The recursion's entry point at `res`.
                return fromrgb(res, L.downscale2d(images, 2 ** (log2 - res)))

            def at_level(level):
                def run():
                    res = log2 - level
                    x = start(res)
                    if res > 2:
                        x = block(res, x)
                        t = base.fade_weight(lod_in, level)
                        if t is not None:  # Unclipped lerp, as officially.
                            x = L.lerp(x, start(res - 1), ops.cast(t, x.dtype))
                        for below in range(res - 1, 2, -1):
                            x = block(below, x)
                    return x

                return run

            x = base.run_at_level(lod_in, log2 - 2, at_level)
        scores = self.epilogue(x)

        if self.label_size:
            if labels is None:
                raise ValueError(f"{self.name}: label_size={self.label_size} needs labels")
            scores = ops.sum(scores * ops.cast(labels, scores.dtype), axis=1, keepdims=True)
        return scores

    # -- official protocol ------------------------------------------------------------------

    def official_static_kwargs(self):
        kwargs = {name: getattr(self, name) for name in _official_arguments(type(self))}
        return {**kwargs, **_dtype_static_kwargs(self)}

    def official_blocks(self):
        # Official creation order: from the full resolution down, each FromRGB and its block;
        # then the 4x4 FromRGB and the epilogue.
        blocks = []
        for res in range(self.resolution_log2, 2, -1):
            blocks += [self.from_rgb[res - 2], self.blocks[res - 3]]
        return blocks + [self.from_rgb[0], self.epilogue]

    def get_config(self):
        config = {name: getattr(self, name) for name in _official_arguments(type(self))}
        return {**super().get_config(), **config, "seed": self.seed}


# ----------------------------------------------------------------------------------------

NETWORK_CLASSES = {
    cls.official_build_func_name: cls for cls in (Generator, MappingNetwork, SynthesisNetwork, Discriminator)
}


def _constructor_kwargs(
    cls,  # The network class.
    static_kwargs,  # The state's static kwargs.
):
    # Unrecognised keyword arguments are ignored, as by the official build functions (and
    # G_style's `dlatent_broadcast` is not one of its constructor's: it sets it itself).
    kwargs = {k: v for k, v in cls.known_kwargs(static_kwargs).items() if k != "seed"}
    if "fused_scale" in kwargs and not isinstance(kwargs["fused_scale"], str):
        kwargs["fused_scale"] = bool(kwargs["fused_scale"])
    kwargs["dtype"] = base.dtype_policy(static_kwargs.get("dtype", "float32"))
    return kwargs


def from_official_state(state):  # Official network state (NetworkState or alike).
    """Build the Keras network for an official StyleGAN network state and load its values.

    `state` has `name`, `build_func_name` ('G_style', 'G_mapping', 'G_synthesis', 'D_basic'),
    `static_kwargs`, `variables` (official name -> array) and `components` (for G_style:
    'mapping' and 'synthesis' states). Raises ValueError naming what does not match.
    """
    func_name = state.build_func_name
    if func_name not in NETWORK_CLASSES:
        raise ValueError(
            f"network {state.name!r} was built by {func_name!r}, which is not a "
            f"StyleGAN network ({', '.join(NETWORK_CLASSES)})"
        )
    static_kwargs = dict(state.static_kwargs)
    components = dict(state.components or {})
    if func_name == "G_style":
        for key in ("mapping", "synthesis"):
            if key not in components:
                raise ValueError(f"G_style network {state.name!r} has no {key!r} component; the pickle is incomplete")
        # G_style forwards its own kwargs to the components at run time, overriding theirs.
        static_kwargs = {
            **components["mapping"].static_kwargs,
            **components["synthesis"].static_kwargs,
            **static_kwargs,
        }
    name = str(state.name).replace("/", "_") or func_name  # Keras names cannot hold '/'.
    cls = NETWORK_CLASSES[func_name]
    net = cls(name=name, **_constructor_kwargs(cls, static_kwargs))
    net.set_official_values(state.variables)
    for key, sub in net.official_components().items():
        sub.set_official_values(components[key].variables)
    return net
