"""What every ProGAN and StyleGAN network shares: the official-state protocol and the lod dispatch.

`Network` is the base class of every network (ProGAN's G_paper / D_paper, StyleGAN's
G_style / G_mapping / G_synthesis / D_basic). It owns:

* the official-state protocol that `networks.official` reads and writes pickles through:
  `official_build_func_name`, `official_static_kwargs()`, `official_variables()` (one walk:
  the network's own variables, then its blocks in official order), `official_components()`,
  `set_official_values()`, `copy_official_values()` and `all_official_variables()` (the
  network and its components under their official scopes);
* the one lod dispatch, `run_at_level`: the official recursive structure stops descending at
  `level = clip(floor(lod), 0, max_level)`; eagerly that level is chosen in Python, inside
  `static_lod_floor` (compiled training steps) it is fixed when tracing, and otherwise one
  `tf.switch_case` on the lod variable selects it;
* the size rules both papers use: `resolution_log2`, `num_features` and the dtype policies.

A block is a Keras layer that carries its official scope (`official_scope`, e.g. '8x8' or
'ToRGB_lod0') and lists its variables relative to it (`official_variables()`), so a network
is its own variables plus a list of named blocks, as in the papers' figures.
"""

import collections
import contextlib
import contextvars
import inspect

import keras
import numpy as np
import tensorflow as tf

# ----------------------------------------------------------------------------
# Sizes and dtypes, as both official codes define them.

_POLICIES = {  # Official dtype (or a Keras policy name) -> the Keras policy that runs it.
    None: "float32",
    "float32": "float32",
    "float16": "mixed_float16",
    "bfloat16": "mixed_bfloat16",
    "mixed_float16": "mixed_float16",
    "mixed_bfloat16": "mixed_bfloat16",
}

_OFFICIAL_DTYPES = {"float32": "float32", "mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


def dtype_policy(dtype):  # Official dtype ('float32', 'float16', 'bfloat16'), a policy name, a policy or None.
    """The Keras policy that runs an official activation dtype.

    The official networks keep float32 variables and cast them to the activation dtype, which is
    Keras' mixed policy; a plain 'float16' policy would store float16 variables.
    """
    if isinstance(dtype, keras.DTypePolicy):
        return dtype
    if dtype not in _POLICIES:
        raise ValueError(f"unsupported dtype {dtype!r}: use one of float32, float16, bfloat16")
    return keras.DTypePolicy(_POLICIES[dtype])


def official_dtype(policy):  # A Keras dtype policy (or anything `dtype_policy` accepts).
    """The official activation dtype string of a policy: 'float32', 'float16' or 'bfloat16'."""
    return _OFFICIAL_DTYPES[dtype_policy(policy).name]


def resolution_log2(resolution):  # Output/input resolution, a power of two >= 4.
    """log2 of the resolution, validating that it is a power of two >= 4."""
    res_log2 = int(np.log2(resolution)) if resolution > 0 else 0
    if resolution < 4 or resolution != 2**res_log2:
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution}")
    return res_log2


def num_features(
    stage,  # Stage index (resolution 2^(stage+1) for G blocks).
    fmap_base,  # Overall multiplier for the number of feature maps.
    fmap_decay,  # log2 feature map reduction when doubling the resolution.
    fmap_max,  # Maximum number of feature maps.
):
    """nf(stage) = min(int(fmap_base / 2^(stage*fmap_decay)), fmap_max), in both papers' code."""
    return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)


def check_structure(
    structure,  # None/'auto' (= 'recursive'), or one of `supported`.
    supported,  # The structures this network implements.
):
    """The evaluation structure: None and 'auto' mean 'recursive', as officially for a non-template graph."""
    resolved = "recursive" if structure in (None, "auto") else structure
    if resolved not in supported:
        raise ValueError(f"structure must be one of {', '.join(('auto',) + tuple(supported))}, got {structure!r}")
    return resolved


def plain_number(value):  # A Python or NumPy number.
    """`value` as a Python int when it is whole, else float (pickled kwargs are plain Python)."""
    value = float(value)
    return int(value) if value.is_integer() else value


# ----------------------------------------------------------------------------
# The lod dispatch.

_STATIC_LOD_FLOOR = contextvars.ContextVar("static_lod_floor", default=None)


@contextlib.contextmanager
def static_lod_floor(floor_lod):  # int floor(lod) that every network call inside will run at.
    """Trace networks for one whole level instead of switching on `lod` at run time.

    A training step is traced once per real-image resolution, i.e. per floor(lod), anyway.
    Inside this context the networks build only that level (plus its fade, weighted by the
    run-time fraction of lod) instead of a switch over all levels: the same values, a graph
    the size of one network, and far faster tracing under the gradient penalty's nested
    tapes. Each network asserts at run time that its lod really has this floor.
    """
    token = _STATIC_LOD_FLOOR.set(int(floor_lod))
    try:
        yield
    finally:
        _STATIC_LOD_FLOOR.reset(token)


def current_static_lod_floor():
    """The floor(lod) set by `static_lod_floor`, or None outside it."""
    return _STATIC_LOD_FLOOR.get()


def run_at_level(
    lod_in,  # Scalar lod tensor.
    max_level,  # Largest level the network stops at.
    level_fn,  # level_fn(level)() computes the network stopping at `level`.
):
    """Run the network at level = clip(floor(lod), 0, max_level): where the official recursion stops.

    The official code nests one `tf.cond` per level. Under nested GradientTapes (the gradient
    penalties) TF2 wraps every nested cond for higher-order gradients and tracing time grows
    about 2.5x per level, so the levels are laid out side by side instead: each is the
    straight-line network that the official recursion evaluates at that lod, and only the
    selected one runs. Eagerly the level is chosen in Python; inside `static_lod_floor` it is
    fixed while tracing and asserted at run time; otherwise one `tf.switch_case` selects it.
    """
    if tf.executing_eagerly():
        return level_fn(int(np.clip(np.floor(float(lod_in)), 0, max_level)))()
    level = tf.cast(tf.clip_by_value(tf.floor(tf.cast(lod_in, tf.float32)), 0, max_level), tf.int32)
    static_floor = current_static_lod_floor()
    if static_floor is not None:
        static = int(np.clip(static_floor, 0, max_level))
        check = tf.debugging.assert_equal(
            level, static, message="lod does not match the static level this step was traced for"
        )
        with tf.control_dependencies([check]):
            return tf.identity(level_fn(static)())
    return tf.switch_case(level, [level_fn(lvl) for lvl in range(max_level + 1)])


def fade_weight(
    lod_in,  # Scalar lod tensor.
    level,  # The level whose output is faded with the coarser one.
):
    """Weight of the coarser level's output at `level`: max(lod - level, 0) (0 = not faded).

    The official recursion lerps, unclipped, only while lod > level. Within a level's range
    [level, level + 1) that is this weight; a network's last level keeps the unclipped
    extrapolation beyond it, as officially. Eagerly None stands for 0, so that the coarser
    output is not computed at all.
    """
    t = tf.maximum(tf.cast(lod_in, tf.float32) - float(level), 0.0)
    if tf.executing_eagerly():
        return t if float(t) > 0.0 else None
    return t


# ----------------------------------------------------------------------------
# Blocks and networks.


def prefixed(
    scope,  # Official scope, e.g. '8x8/Conv1'.
    variables,  # Mapping name relative to the scope -> variable.
):
    """(scope/name, variable) pairs of a block's variables."""
    return [(f"{scope}/{name}", var) for name, var in variables.items()]


def weight_and_bias(
    layer,  # A `networks.layers` equalized layer.
    bias=None,  # A separate `networks.layers.Bias` holding the bias, if any.
):
    """The official `weight` and `bias` variables of an equalized layer, in official order."""
    items = []
    if getattr(layer, "weight", None) is not None:
        items.append(("weight", layer.weight))
    owner = layer if bias is None else bias
    if getattr(owner, "bias", None) is not None:
        items.append(("bias", owner.bias))
    return collections.OrderedDict(items)


class Network(keras.Model):
    """Base of every ProGAN and StyleGAN network: the official-state protocol.

    Subclasses set `official_build_func_name` and `family`, create `self.lod` with
    `add_lod()`, and define `official_own_variables()` (variables outside any block, in
    official order; `lod` first), `official_blocks()` (the named blocks in official order)
    and `official_static_kwargs()`.
    """

    official_build_func_name = None  # The official build function: 'G_paper', 'G_style', ...
    family = None  # 'progan' or 'stylegan'.

    @classmethod
    def argument_names(cls):
        """The constructor's named arguments: the official build function's keyword arguments (plus ours)."""
        params = inspect.signature(cls.__init__).parameters
        return [
            name
            for name, param in params.items()
            if name != "self" and param.kind not in (param.VAR_KEYWORD, param.VAR_POSITIONAL)
        ]

    @classmethod
    def known_kwargs(
        cls,
        kwargs,  # Keyword arguments, e.g. an official pickle's static_kwargs.
    ):
        """The entries of `kwargs` that the constructor takes; official build functions ignore the rest."""
        names = set(cls.argument_names())
        return {key: value for key, value in kwargs.items() if key in names}

    def add_lod(self):
        """The non-trainable float32 scalar `lod` (level of detail) that selects the resolution."""
        self.lod = self.add_weight(
            name="lod", shape=(), initializer="zeros", dtype="float32", trainable=False, autocast=False
        )
        return self.lod

    def official_own_variables(self):
        """Ordered (official name, variable) pairs outside the blocks; `lod` by default."""
        return [("lod", self.lod)]

    def official_blocks(self):
        """The named blocks (layers with `official_scope` and `official_variables()`), in official order."""
        return []

    def official_variables(self):
        """Ordered dict: official variable name -> Keras variable, in official creation order."""
        items = list(self.official_own_variables())
        for block in self.official_blocks():
            items += prefixed(block.official_scope, block.official_variables())
        return collections.OrderedDict(items)

    def official_components(self):
        """Sub-networks stored as `components` of an official pickle, by key (none by default)."""
        return {}

    def all_official_variables(
        self,
        prefix="",  # Scope of this network ('' at the top).
    ):
        """Official name -> variable of this network and, under their build-function scopes, its components."""
        result = {prefix + name: var for name, var in self.official_variables().items()}
        for component in self.official_components().values():
            result.update(component.all_official_variables(f"{prefix}{component.official_build_func_name}/"))
        return result

    def set_official_values(
        self,
        values,  # Mapping official name -> array: exactly this network's variables.
    ):
        """Assign every variable from official arrays; nothing is assigned unless all names and shapes match."""
        targets = self.official_variables()
        where = f"{self.official_build_func_name} network {self.name!r}"
        unknown = [name for name in values if name not in targets]
        if unknown:
            raise ValueError(
                f"unexpected variable {unknown[0]!r} for {where} (not in a "
                f"{self.official_build_func_name} with these settings)"
            )
        missing = [name for name in targets if name not in values]
        if missing:
            raise ValueError(f"missing variable {missing[0]!r} for {where}")
        arrays = {}
        for name, var in targets.items():
            array = np.asarray(values[name])
            if array.dtype.kind not in "fiub":
                raise ValueError(f"variable {name!r} of {where} has non-numeric dtype {array.dtype}")
            if tuple(array.shape) != tuple(var.shape):
                raise ValueError(
                    f"variable {name!r} of {where} has shape {tuple(array.shape)}, expected {tuple(var.shape)}"
                )
            arrays[name] = array.astype(keras.backend.standardize_dtype(var.dtype))
        for name, var in targets.items():
            var.assign(arrays[name])

    def copy_official_values(
        self,
        src,  # A network of the same architecture and settings.
    ):
        """Copy every official variable of `src` and its components into this network."""
        targets = self.all_official_variables()
        sources = src.all_official_variables()
        if list(targets) != list(sources):
            raise ValueError(f"cannot copy {src.name!r} into {self.name!r}: their official variables differ")
        for name, var in sources.items():
            targets[name].assign(var.value)
