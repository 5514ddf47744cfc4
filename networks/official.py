"""Read and write official network pickles (ProGAN `tfutil.Network`, StyleGAN `dnnlib.tflib.network.Network`).

An official snapshot (`network-snapshot-*.pkl`, `karras2018iclr-*.pkl`, ...)
is a pickled tuple `(G, D, Gs)` of Network objects whose state is a dict of
`version`, `name`, `static_kwargs`, `build_module_src`, `build_func_name`,
`variables` (a list of (name, array)) and, for StyleGAN, `components`
(tfutil.py:540-573; SG dnnlib/tflib/network.py). The official loader `exec`s
the stored source. We never do: a restricted unpickler admits only the
Network class names, numpy array reconstruction and OrderedDict, and
refuses every other global before it is touched, so a hostile file can have
no side effect. Arrays arrive either through `_reconstruct` (protocols <= 4)
or, in protocol-5 pickles (the official `misc.save_pkl` uses
`pickle.HIGHEST_PROTOCOL`, which is 5 on Python 3.8+), through numpy's
`_frombuffer`, which we replace with a checked equivalent that builds only
plain numeric arrays from in-band bytes.

What we write is read by the official code: `build_module_src` is a one-line
import of the official network module (`from networks import *` for ProGAN,
`from training.networks_stylegan import *` for StyleGAN), so the official
`Network.__setstate__`, run from an official checkout, finds the build
function in that checkout (tested against outputs of the official code in
tests/data/official_compat/).

Public API: `read_pickle`, `load_pickle`, `network_from_state`,
`network_to_state`, `save_pickle`, `NetworkState`, `OfficialPickleError`,
`UnsafePickleError`.
"""

import codecs
import collections
import copyreg
import dataclasses
import os
import pickle

import numpy as np

from utils import files

try:  # numpy >= 2 names the module numpy._core; 1.x pickles still say numpy.core.
    from numpy._core import multiarray as _np_multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _np_multiarray

# ----------------------------------------------------------------------------
# Errors.


class OfficialPickleError(ValueError):
    """A file cannot be read as (or written to) an official network pickle."""


class UnsafePickleError(OfficialPickleError):
    """A pickle references a global that a network snapshot never contains."""


# ----------------------------------------------------------------------------
# State.


@dataclasses.dataclass
class NetworkState:
    """The plain data of one pickled official Network."""

    version: int  # 2 = ProGAN tfutil, 3 = StyleGAN dnnlib.
    name: str  # 'G', 'D', 'Gs', 'G_mapping', ...
    static_kwargs: dict  # Keyword arguments of the build function.
    build_module_src: str  # Source of the build module (never executed).
    build_func_name: str  # 'G_paper', 'D_paper', 'G_style', 'D_basic', ...
    variables: collections.OrderedDict  # Official name -> np.ndarray, in creation order.
    components: dict = dataclasses.field(default_factory=dict)  # Name -> NetworkState (StyleGAN).


class _PickledNetwork:
    """Inert stand-in for the official Network classes: it only keeps the pickled state."""

    def __setstate__(self, state):
        self.state = state


class _ProGANNetwork(_PickledNetwork):
    """Written as `tfutil.Network`."""

    def __reduce_ex__(self, protocol):
        return copyreg.__newobj__, (type(self),), self.state


class _DnnlibNetwork(_PickledNetwork):
    """Written as `dnnlib.tflib.network.Network`."""

    def __reduce_ex__(self, protocol):
        return copyreg.__newobj__, (type(self),), self.state


PROGAN_BUILD_FUNCS = ("G_paper", "D_paper")
STYLEGAN_BUILD_FUNCS = ("G_style", "D_basic")
# The `build_module_src` we write. The official `Network.__setstate__` execs it in a fresh module
# and looks the build function up there, so instead of a copy of the network source we write one
# import of the official module that defines it: unpickled by the official code run from its own
# checkout (repository root on sys.path), the snapshot builds that checkout's networks. Our reader
# never executes it; it only keeps it as text.
PROGAN_BUILD_MODULE_SRC = "from networks import *\n"  # progressive_growing_of_gans/networks.py
STYLEGAN_BUILD_MODULE_SRC = "from training.networks_stylegan import *\n"  # stylegan/training/networks_stylegan.py

# ----------------------------------------------------------------------------
# Restricted unpickler.


def _checked_frombuffer(
    buffer,  # In-band bytes of the array (bytes, bytearray or PickleBuffer).
    dtype,  # np.dtype, itself unpickled through the admitted `numpy.dtype`.
    shape,  # Tuple of non-negative ints.
    order,  # 'C' or 'F' ('K' with axis_order, numpy 2).
    axis_order=None,  # Axis permutation for order 'K' (numpy 2 only).
):
    """What numpy's `_frombuffer` does for a protocol-5 array, for plain numeric dtypes only.

    numpy's own function would build whatever dtype it is given; an object dtype (or a
    structured one with object fields) would let array contents name arbitrary objects,
    so anything but bool/int/uint/float is refused, as are non-bytes buffers.
    """
    if not isinstance(buffer, (bytes, bytearray, pickle.PickleBuffer)):
        raise UnsafePickleError(f"refusing array data of type {type(buffer).__name__}: not a network snapshot")
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype:
        raise UnsafePickleError(f"refusing array of dtype {dtype!r}: a network snapshot holds numeric arrays only")
    if not isinstance(shape, tuple) or not all(isinstance(dim, int) and dim >= 0 for dim in shape):
        raise OfficialPickleError(f"malformed array shape {shape!r}")
    array = np.frombuffer(buffer, dtype=dtype)
    if order == "K" and axis_order is not None:
        return array.reshape(shape, order="C").transpose(tuple(axis_order))
    if order not in ("C", "F"):
        raise OfficialPickleError(f"malformed array order {order!r}")
    return array.reshape(shape, order=order)


_SAFE_GLOBALS = {
    ("tfutil", "Network"): _PickledNetwork,
    ("dnnlib.tflib.network", "Network"): _PickledNetwork,
    ("network", "Network"): _PickledNetwork,  # Theano-era pickles (legacy.py:23-26).
    ("numpy.core.multiarray", "_reconstruct"): _np_multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _np_multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): _np_multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _np_multiarray.scalar,
    ("numpy.core.numeric", "_frombuffer"): _checked_frombuffer,  # Protocol 5, numpy 1.x.
    ("numpy._core.numeric", "_frombuffer"): _checked_frombuffer,  # Protocol 5, numpy 2.
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("_codecs", "encode"): codecs.encode,  # Bytes in protocol <= 2 pickles from Python 3.
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only `_SAFE_GLOBALS` and refuses everything else."""

    def __init__(self, file, path):
        # latin1 decodes the byte strings of Python 2 (Theano-era) numpy pickles.
        super().__init__(file, encoding="latin1")
        self._path = path

    def find_class(self, module, name):
        target = _SAFE_GLOBALS.get((module, name))
        if target is None:
            raise UnsafePickleError(f"refusing to load '{module}.{name}' from {self._path}: not a network snapshot")
        return target

    def persistent_load(self, pid):
        raise UnsafePickleError(f"refusing persistent id in {self._path}: not a network snapshot")


# ----------------------------------------------------------------------------
# Reading.


def read_pickle(path):  # Path of an official (or our) network pickle.
    """Read a network pickle without executing anything; return a tuple of `NetworkState`.

    A snapshot gives (G, D, Gs); a file holding a single Network gives a 1-tuple.
    Raises `OfficialPickleError` (a ValueError) with a one-line message on any bad input.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise OfficialPickleError(f"{path}: no such file; give the path of a network pickle (.pkl)")
    try:
        with open(path, "rb", buffering=1 << 20) as file:
            obj = _RestrictedUnpickler(file, path).load()
    except OfficialPickleError as error:
        if path in str(error):
            raise
        raise type(error)(f"{path}: {error}") from None  # Raised by _checked_frombuffer, which lacks the path.
    except MemoryError:
        raise OfficialPickleError(f"{path}: out of memory while reading the pickle") from None
    except Exception as error:  # pickle raises many types on corrupt input.
        raise OfficialPickleError(
            f"{path} is not a readable network pickle (truncated or not a pickle: {type(error).__name__}: {error})"
        ) from None
    networks = obj if isinstance(obj, (tuple, list)) else (obj,)
    if not networks or not all(isinstance(net, _PickledNetwork) for net in networks):
        kinds = ", ".join(sorted({type(net).__name__ for net in networks})) or "nothing"
        raise OfficialPickleError(
            f"{path} holds {type(obj).__name__} of {kinds}, not network objects; expected a snapshot tuple (G, D, Gs)"
        )
    return tuple(_to_state(net, path) for net in networks)


def _to_state(net, path):
    state = getattr(net, "state", None)
    if not isinstance(state, dict):
        raise OfficialPickleError(f"{path}: a Network object carries no state dict; the file is damaged")
    if "version" not in state:
        state = _convert_theano_state(state, path)
    try:
        variables = collections.OrderedDict()
        for name, value in state["variables"]:
            array = np.asarray(value)
            if array.dtype.kind not in "fiub":
                raise TypeError(f"variable {name!r} has dtype {array.dtype}")
            variables[str(name)] = array
        components = {str(key): _to_state(comp, path) for key, comp in dict(state.get("components", {})).items()}
        return NetworkState(
            version=int(state["version"]),
            name=str(state["name"]),
            static_kwargs=dict(state["static_kwargs"]),
            build_module_src=str(state.get("build_module_src", "")),
            build_func_name=str(state["build_func_name"]),
            variables=variables,
            components=components,
        )
    except OfficialPickleError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise OfficialPickleError(f"{path}: malformed Network state ({type(error).__name__}: {error})") from None


# ----------------------------------------------------------------------------
# Theano-era states (legacy.py:38-94): converted in numpy, no code executed.

_THEANO_REMAP = {"G_paper": "G_paper", "G_progressive_8": "G_paper", "D_paper": "D_paper", "D_progressive_8": "D_paper"}


def _convert_theano_state(state, path):
    spec = dict(state.get("build_func_spec", {}))
    func = spec.pop("func", None)
    if func not in _THEANO_REMAP:
        raise OfficialPickleError(
            f"{path}: unsupported Theano network {func!r}; only {sorted(_THEANO_REMAP)} can be converted"
        )
    resolution_log2 = int(np.log2(spec.get("resolution", 32)))
    use_wscale = spec.get("use_wscale", True)
    for key, default in (
        ("label_size", 0),
        ("use_batchnorm", False),
        ("tanh_at_end", None),
        ("mbstat_func", "Tstdeps"),
        ("mbstat_avg", "all"),
        ("mbdisc_kernels", None),
        ("use_layernorm", False),
    ):
        if spec.pop(key, default) != default:
            raise OfficialPickleError(f"{path}: Theano network uses {key}, which G_paper/D_paper cannot express")
    spec.pop("use_gdrop", None)
    spec["fused_scale"] = False
    spec["mbstd_group_size"] = 16
    params = iter(state["param_values"])
    relu, linear = np.sqrt(2), 1.0
    conv = lambda w: np.asarray(w).transpose(2, 3, 1, 0)[::-1, ::-1]  # Theano true conv -> HWIO correlation.
    rgb = lambda w: np.asarray(w)[np.newaxis, np.newaxis]
    variables = []

    def layer(name, gain, w):
        if use_wscale:  # Fold the Theano per-layer scale into the weight.
            w = w * next(params) / (gain / np.sqrt(np.prod(w.shape[:-1])))
        variables.extend([(name + "/weight", w), (name + "/bias", next(params))])

    if func.startswith("G"):
        w = np.asarray(next(params)).transpose(1, 0, 2, 3)
        layer("4x4/Dense", relu / 4, w.reshape(w.shape[0], -1))
        layer("4x4/Conv", relu, conv(next(params)))
        for res in range(3, resolution_log2 + 1):
            layer(f"{2**res}x{2**res}/Conv0", relu, conv(next(params)))
            layer(f"{2**res}x{2**res}/Conv1", relu, conv(next(params)))
        for lod in range(0, resolution_log2 - 1):
            layer(f"ToRGB_lod{lod}", linear, rgb(next(params)))
    else:
        layer("FromRGB_lod0", relu, rgb(next(params)))
        for res in range(resolution_log2, 2, -1):
            layer(f"{2**res}x{2**res}/Conv0", relu, conv(next(params)))
            layer(f"{2**res}x{2**res}/Conv1", relu, conv(next(params)))
            layer(f"FromRGB_lod{resolution_log2 - (res - 1)}", relu, rgb(next(params)))
        layer("4x4/Conv", relu, conv(next(params)))
        w = np.asarray(next(params))[:, :, ::-1, ::-1]
        layer("4x4/Dense0", relu, w.reshape(w.shape[0], -1).transpose())
        layer("4x4/Dense1", linear, next(params))
    variables.append(("lod", state["toplevel_params"]["cur_lod"]))
    return dict(
        version=2,
        name=func,
        build_module_src="",
        build_func_name=_THEANO_REMAP[func],
        static_kwargs=spec,
        variables=variables,
    )


# ----------------------------------------------------------------------------
# Building Keras networks from states.


def network_from_state(
    state,  # A NetworkState, e.g. from `read_pickle`.
    path=None,  # File name for error messages.
):
    """Build the Keras network described by an official state and load its variables (incl. lod)."""
    where = f"{path}: " if path else ""
    func = state.build_func_name
    if func in STYLEGAN_BUILD_FUNCS:
        from networks import stylegan  # Imported lazily: ProGAN users need not load StyleGAN.

        try:
            return stylegan.from_official_state(state)
        except OfficialPickleError:
            raise
        except ValueError as error:
            raise OfficialPickleError(f"{where}cannot build {func} {state.name!r}: {error}") from None
    if func not in PROGAN_BUILD_FUNCS:
        raise OfficialPickleError(
            f"{where}network {state.name!r} has unknown build_func_name {func!r}; "
            f"supported: {', '.join(PROGAN_BUILD_FUNCS + STYLEGAN_BUILD_FUNCS)}"
        )
    from networks import progan

    cls = progan.Generator if func == "G_paper" else progan.Discriminator
    kwargs = cls.known_kwargs(state.static_kwargs)  # The official build function ignores the rest.
    kwargs.pop("name", None)  # The network is named after the state.
    if "fused_scale" not in kwargs:
        unfused = "8x8/Conv0/weight" if func == "G_paper" else "8x8/Conv1/weight"
        if unfused in state.variables:
            kwargs["fused_scale"] = False
    try:
        net = cls(name=_keras_name(state.name), **kwargs)
        net.set_official_values(state.variables)
    except ValueError as error:
        raise OfficialPickleError(f"{where}cannot build {func} {state.name!r}: {error}") from None
    return net


def _keras_name(name):
    return str(name).replace("/", "_") or "network"


def load_pickle(path):  # Path of an official snapshot (G, D, Gs).
    """Load an official snapshot pickle as Keras models `(G, D, Gs)` with their stored lod and weights."""
    states = read_pickle(path)
    if len(states) != 3:
        raise OfficialPickleError(f"{path} holds {len(states)} network(s), expected a snapshot (G, D, Gs)")
    return tuple(network_from_state(state, path) for state in states)


# ----------------------------------------------------------------------------
# Writing.


def network_to_state(net):  # A network implementing the official-state protocol.
    """Capture a network's official state: kwargs, build function and variable values."""
    components = {key: network_to_state(comp) for key, comp in net.official_components().items()}
    variables = collections.OrderedDict()
    for name, var in net.official_variables().items():
        if name.split("/", 1)[0] in components and "/" in name:
            continue  # Stored by the component itself, as dnnlib does (own_vars only).
        value = np.asarray(var.numpy() if hasattr(var, "numpy") else var, dtype=np.float32)
        variables[name] = value[()] if value.ndim == 0 else value  # Scalars as numpy scalars, as TF1 returns.
    func = net.official_build_func_name
    version = 2 if func in PROGAN_BUILD_FUNCS and not components else 3
    static_kwargs = {
        str(key): _plain(value, f"{net.name} static kwarg {key!r}")
        for key, value in net.official_static_kwargs().items()
    }
    source = PROGAN_BUILD_MODULE_SRC if func in PROGAN_BUILD_FUNCS else STYLEGAN_BUILD_MODULE_SRC
    return NetworkState(
        version=version,
        name=net.name,
        static_kwargs=static_kwargs,
        build_module_src=source,
        build_func_name=func,
        variables=variables,
        components=components,
    )


def _plain(value, what):
    """Plain Python data for a pickle (Keras wraps list attributes in tracked containers)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v, what) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_plain(v, what) for v in value)
    if isinstance(value, list):
        return [_plain(v, what) for v in value]
    raise OfficialPickleError(f"cannot write {what}: {type(value).__name__} is not plain data")


def _to_pickled(state):
    cls = _ProGANNetwork if state.version == 2 else _DnnlibNetwork
    obj = cls.__new__(cls)
    obj.state = dict(version=state.version, name=state.name, static_kwargs=dict(state.static_kwargs))
    if state.version != 2:
        obj.state["components"] = {key: _to_pickled(comp) for key, comp in state.components.items()}
    obj.state.update(
        build_module_src=state.build_module_src,
        build_func_name=state.build_func_name,
        variables=list(state.variables.items()),
    )
    return obj


# Globals written under the names that official (numpy 1.x) readers resolve.
_EXPORT_GLOBALS = {
    _ProGANNetwork: ("tfutil", "Network"),
    _DnnlibNetwork: ("dnnlib.tflib.network", "Network"),
    _np_multiarray._reconstruct: ("numpy.core.multiarray", "_reconstruct"),
    _np_multiarray.scalar: ("numpy.core.multiarray", "scalar"),
}


class _OfficialPickler(pickle._Pickler):
    """Pickler that names our stand-in classes as the official ones (protocol 4)."""

    def save_global(self, obj, name=None):
        try:
            target = _EXPORT_GLOBALS.get(obj)
        except TypeError:  # Unhashable objects are never ours.
            target = None
        if target is None:
            return super().save_global(obj, name)
        self.save(target[0])
        self.save(target[1])
        self.write(pickle.STACK_GLOBAL)
        self.memoize(obj)


def save_pickle(
    path,  # Destination .pkl path; written atomically.
    G,  # Generator being trained.
    D,  # Discriminator.
    Gs,  # Moving average of G.
):
    """Write `(G, D, Gs)` as an official snapshot pickle (protocol 4), via a temp file and rename."""
    path = os.fspath(path)
    objects = tuple(_to_pickled(network_to_state(net)) for net in (G, D, Gs))
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OfficialPickleError(f"{path}: directory {directory} does not exist")
    with files.atomic_path(path) as tmp, open(tmp, "wb") as file:
        _OfficialPickler(file, protocol=4).dump(objects)


# ----------------------------------------------------------------------------
