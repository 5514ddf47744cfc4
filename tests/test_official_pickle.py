"""Official network pickles: safe reading, loading as Keras models, writing the same format."""

import collections
import copyreg
import json
import os
import pickle
import pickletools
import types

import numpy as np
import pytest

from networks import official
from networks.official import NetworkState
from networks.official import OfficialPickleError
from networks.official import UnsafePickleError
from networks.progan import Discriminator
from networks.progan import Generator
from tests.conftest import golden_path

SNAPSHOT = "progan_snapshot_rgb32.pkl"
FWD = dict(rtol=1e-4, atol=1e-4)
OFFICIAL_GLOBALS = {
    ("tfutil", "Network"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


def pickle_globals(path):
    """(module, name) of every STACK_GLOBAL in a protocol-4 pickle, read without unpickling."""
    pushed, memo, found = [], [], set()  # pushed: value of each push op (strings, else None).
    for op, arg, _ in pickletools.genops(open(path, "rb").read()):
        if op.name == "MEMOIZE":
            memo.append(pushed[-1] if pushed else None)
        elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            pushed.append(arg)
        elif op.name in ("BINGET", "LONG_BINGET"):
            pushed.append(memo[arg])
        elif op.name == "STACK_GLOBAL":
            found.add((pushed[-2], pushed[-1]))
            pushed.append(None)
        else:
            pushed.append(None)
    return found


def nchw(x):
    return np.transpose(np.asarray(x), (0, 3, 1, 2))


# ----------------------------------------------------------------------------
# Reading the official snapshot.


def test_read_official_snapshot():
    states = official.read_pickle(golden_path(SNAPSHOT))
    assert [s.name for s in states] == ["G", "D", "Gs"]
    assert [s.build_func_name for s in states] == ["G_paper", "D_paper", "G_paper"]
    assert all(s.version == 2 and s.components == {} for s in states)
    G_state = states[0]
    assert G_state.static_kwargs == {
        "num_channels": 3,
        "resolution": 32,
        "label_size": 0,
        "fmap_base": 256,
        "fmap_max": 64,
    }
    names = list(G_state.variables)
    assert names[:3] == ["lod", "4x4/Dense/weight", "4x4/Dense/bias"] and names[-1] == "ToRGB_lod0/bias"
    assert G_state.variables["4x4/Dense/weight"].shape == (64, 1024)
    assert float(G_state.variables["lod"]) == 1.0 and float(states[2].variables["lod"]) == 0.0


def test_load_official_snapshot_matches_official_outputs():
    expected = np.load(golden_path("progan_snapshot_rgb32-expected.npz"))
    G, D, Gs = official.load_pickle(golden_path(SNAPSHOT))
    assert isinstance(G, Generator) and isinstance(D, Discriminator) and isinstance(Gs, Generator)
    assert float(G.lod.numpy()) == 1.0 and float(Gs.lod.numpy()) == 0.0 and float(D.lod.numpy()) == 1.0
    np.testing.assert_allclose(nchw(Gs(expected["latents"], expected["labels"])), expected["Gs_images_out"], **FWD)
    np.testing.assert_allclose(nchw(G(expected["latents"], expected["labels"])), expected["G_images_out_lod1"], **FWD)
    assert D(np.zeros((4, 32, 32, 3), np.float32))[0].shape == (4, 1)


def test_official_load_save_load_is_identical(tmp_path):
    G, D, Gs = official.load_pickle(golden_path(SNAPSHOT))
    path = tmp_path / "resaved.pkl"
    official.save_pickle(path, G, D, Gs)
    assert pickle_globals(path) <= OFFICIAL_GLOBALS
    original = official.read_pickle(golden_path(SNAPSHOT))
    resaved = official.read_pickle(path)
    for a, b in zip(original, resaved):
        assert (a.name, a.version, a.build_func_name) == (b.name, b.version, b.build_func_name)
        assert list(a.variables) == list(b.variables)
        for key in a.variables:
            np.testing.assert_array_equal(a.variables[key], b.variables[key])
        assert {k: v for k, v in b.static_kwargs.items() if k in a.static_kwargs} == a.static_kwargs
        assert b.build_module_src == "from networks import *\n"  # What the official __setstate__ execs.
    G2, D2, Gs2 = official.load_pickle(path)
    latents = np.random.default_rng(0).standard_normal((3, 64)).astype(np.float32)
    images = np.random.default_rng(1).standard_normal((4, 32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(Gs(latents).numpy(), Gs2(latents).numpy())
    np.testing.assert_array_equal(G(latents).numpy(), G2(latents).numpy())
    np.testing.assert_array_equal(D(images)[0].numpy(), D2(images)[0].numpy())


def test_written_pickle_is_readable_by_a_plain_unpickler(tmp_path):
    """Third-party readers of official pickles stub `tfutil.Network` and read the state dict."""
    G = Generator(num_channels=1, resolution=8, fmap_base=32, fmap_max=16)
    D = Discriminator(num_channels=1, resolution=8, fmap_base=32, fmap_max=16)
    official.save_pickle(tmp_path / "snap.pkl", G, D, G)

    class Stub:
        def __setstate__(self, state):
            self.state = state

    class Reader(pickle.Unpickler):
        def find_class(self, module, name):
            return Stub if (module, name) == ("tfutil", "Network") else super().find_class(module, name)

    with open(tmp_path / "snap.pkl", "rb") as file:
        nets = Reader(file).load()
    assert isinstance(nets, tuple) and len(nets) == 3
    state = nets[0].state
    assert list(state) == ["version", "name", "static_kwargs", "build_module_src", "build_func_name", "variables"]
    assert state["version"] == 2 and state["build_func_name"] == "G_paper" and state["name"] == "G"
    assert isinstance(state["variables"], list) and state["variables"][0][0] == "lod"
    assert isinstance(state["variables"][0][1], np.float32)
    np.testing.assert_array_equal(
        dict(state["variables"])["4x4/Conv/weight"], G.official_variables()["4x4/Conv/weight"].numpy()
    )


def test_save_load_round_trip_conditional_unfused_fp16(tmp_path):
    rng = np.random.default_rng(3)
    kwargs = dict(num_channels=3, resolution=16, label_size=4, fmap_base=64, fmap_max=32, fused_scale=False)
    G = Generator(**kwargs, pixelnorm_epsilon=1e-4, dtype="float16")
    D = Discriminator(**kwargs, mbstd_group_size=2)
    Gs = Generator(**kwargs, name="Gs")
    for net in (G, D, Gs):
        for var in net.trainable_weights:
            var.assign(rng.standard_normal(var.shape).astype(np.float32))
    G.lod.assign(1.25)
    Gs.lod.assign(1.25)
    D.lod.assign(0.5)
    path = tmp_path / "snapshot.pkl"
    official.save_pickle(path, G, D, Gs)
    assert sorted(os.listdir(tmp_path)) == ["snapshot.pkl"]  # No temporary left behind.
    G2, D2, Gs2 = official.load_pickle(path)
    assert G2.official_static_kwargs() == G.official_static_kwargs()
    assert G2.compute_dtype == "float16" and G2.official_static_kwargs()["pixelnorm_epsilon"] == 1e-4
    assert D2.official_static_kwargs()["mbstd_group_size"] == 2 and Gs2.name == "Gs"
    latents = rng.standard_normal((4, 32)).astype(np.float32)
    labels = rng.standard_normal((4, 4)).astype(np.float32)
    images = rng.standard_normal((4, 16, 16, 3)).astype(np.float32)
    for a, b in ((G, G2), (Gs, Gs2)):
        assert float(b.lod.numpy()) == 1.25
        np.testing.assert_array_equal(a(latents, labels).numpy(), b(latents, labels).numpy())
    for a, b in zip(D(images), D2(images)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def _write_states(path, states):
    """Write raw NetworkStates with the exporter's pickler (for files the port itself never writes)."""
    with open(path, "wb") as file:
        official._OfficialPickler(file, protocol=4).dump(tuple(official._to_pickled(s) for s in states))


def test_legacy_unfused_layout_is_detected_from_variable_names(tmp_path):
    """Theano-converted releases: unfused names, mbstd_group_size in kwargs, no fused_scale given."""
    data = np.load(golden_path("progan_gray16_cond_unfused.npz"))
    config = json.loads(str(data["config"]))["common"]

    def state(prefix, func, kwargs):
        variables = collections.OrderedDict(lod=np.float32(1.3))
        variables.update((k[len(prefix) :], data[k]) for k in data.files if k.startswith(prefix))
        return NetworkState(
            version=2,
            name=func,
            static_kwargs=dict(kwargs),
            build_module_src="",
            build_func_name=func,
            variables=variables,
        )

    g_state = state("G/", "G_paper", config)
    d_state = state("D/", "D_paper", dict(config, mbstd_group_size=16, structure="recursive"))
    _write_states(tmp_path / "legacy.pkl", [g_state, d_state, g_state])
    G, D, Gs = official.load_pickle(tmp_path / "legacy.pkl")
    assert G.name == "G_paper" and G.get_config()["fused_scale"] is False
    assert D.get_config()["fused_scale"] is False and D.get_config()["mbstd_group_size"] == 16
    k = list(data["lods"]).index(np.float32(1.3))
    np.testing.assert_allclose(
        G(data["latents"], data["labels"]).numpy(), np.transpose(data["G_images_out"][k], (0, 2, 3, 1)), **FWD
    )


# ----------------------------------------------------------------------------
# Hostile and broken files.


class _Evil:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_hostile_pickle_is_refused_without_side_effect(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(_Evil(f"touch {marker}"), protocol=4))
    with pytest.raises(UnsafePickleError, match=r"refusing to load '(posix|nt)\.system' from .*evil\.pkl"):
        official.read_pickle(evil)
    with pytest.raises(ValueError, match="system"):
        official.load_pickle(evil)
    assert not marker.exists()
    # Hidden inside an otherwise valid snapshot structure.
    state = NetworkState(
        version=2,
        name="G",
        static_kwargs={"num_channels": _Evil(f"touch {marker}")},
        build_module_src="",
        build_func_name="G_paper",
        variables=collections.OrderedDict(),
    )
    _write_states(tmp_path / "nested.pkl", [state, state, state])
    with pytest.raises(UnsafePickleError, match="system"):
        official.load_pickle(tmp_path / "nested.pkl")
    assert not marker.exists()


def test_build_module_src_is_never_executed(tmp_path):
    """The official loader execs build_module_src; ours keeps it as text, whatever it says."""
    marker = tmp_path / "pwned"
    source = f"import os\nos.system('touch {marker}')\nfrom networks import *\n"
    states = [
        NetworkState(**dict(vars(s), build_module_src=source)) for s in official.read_pickle(golden_path(SNAPSHOT))
    ]
    _write_states(tmp_path / "source.pkl", states)
    assert [s.build_module_src for s in official.read_pickle(tmp_path / "source.pkl")] == [source] * 3
    official.load_pickle(tmp_path / "source.pkl")
    assert not marker.exists()


def test_other_globals_are_refused(tmp_path):
    import datetime

    path = tmp_path / "date.pkl"
    path.write_bytes(pickle.dumps((datetime.date(2018, 4, 4),), protocol=4))
    with pytest.raises(UnsafePickleError, match=r"'datetime\.date'.*not a network snapshot"):
        official.read_pickle(path)
    path.write_bytes(pickle.dumps(collections.Counter("abc"), protocol=2))
    with pytest.raises(UnsafePickleError, match=r"'collections\.Counter'"):
        official.read_pickle(path)


# ----------------------------------------------------------------------------
# Pickles written as the official `misc.save_pkl` does (pickle.HIGHEST_PROTOCOL) on any Python/numpy.


class _TfutilNetwork:
    """Stands for `tfutil.Network` / `dnnlib.tflib.network.Network` when writing test pickles."""

    def __init__(self, state):
        self.state = state

    def __reduce_ex__(self, protocol):
        return copyreg.__newobj__, (type(self),), self.state


class _DnnlibNetwork(_TfutilNetwork):
    pass


class _OfficialLikePickler(pickle._Pickler):
    """Writes what the official code writes at `protocol` with numpy 1.x (`numpy.core`) or 2 (`numpy._core`).

    Both numpy versions reduce arrays the same way (`_reconstruct` below protocol 5, `_frombuffer`
    with the raw bytes at 5); only the module name differs, so renaming it here stands in for an
    installed numpy 1.x.
    """

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[types.FunctionType] = lambda self, obj: self.save_global(obj)  # The table holds the base method.

    def __init__(self, file, protocol, numpy_core):
        super().__init__(file, protocol=protocol)
        self.numpy_core = numpy_core  # 'numpy.core' (1.x) or 'numpy._core' (2).

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", "") or ""
        if obj is _TfutilNetwork:
            module, name = "tfutil", "Network"
        elif obj is _DnnlibNetwork:
            module, name = "dnnlib.tflib.network", "Network"
        elif module.startswith("numpy._core."):
            module, name = self.numpy_core + module[len("numpy._core") :], obj.__name__
        else:
            return super().save_global(obj, name)
        if self.proto >= 4:
            self.save(module)
            self.save(name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii"))
        self.memoize(obj)


def _official_like_objects(state):
    """The (G, D, Gs) objects of an official snapshot: the state dicts `Network.__getstate__` returns."""
    cls = _TfutilNetwork if state.version == 2 else _DnnlibNetwork
    fields = dict(version=state.version, name=state.name, static_kwargs=dict(state.static_kwargs))
    if state.version == 3:
        fields["components"] = {key: _official_like_objects(comp) for key, comp in state.components.items()}
    fields.update(
        build_module_src=state.build_module_src,
        build_func_name=state.build_func_name,
        variables=list(state.variables.items()),
    )
    return cls(fields)


def all_globals(data):
    """(module, name) of every GLOBAL and STACK_GLOBAL in a pickle, read without unpickling."""
    pushed, memo, found = [], {}, set()
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("MEMOIZE", "BINPUT", "LONG_BINPUT", "PUT"):
            memo[len(memo) if op.name == "MEMOIZE" else arg] = pushed[-1] if pushed else None
        elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            pushed.append(arg)
        elif op.name in ("BINGET", "LONG_BINGET", "GET"):
            pushed.append(memo[arg])
        elif op.name == "STACK_GLOBAL":
            found.add((pushed[-2], pushed[-1]))
            pushed.append(None)
        elif op.name == "GLOBAL":
            found.add(tuple(arg.split(" ")))
            pushed.append(None)
        else:
            pushed.append(None)
    return found


@pytest.mark.parametrize("golden", [SNAPSHOT, "stylegan_snapshot_rgb32.pkl"])
@pytest.mark.parametrize("numpy_core", ["numpy.core", "numpy._core"])
@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_snapshots_of_every_protocol_and_numpy_version_are_read(tmp_path, golden, numpy_core, protocol):
    """misc.save_pkl uses HIGHEST_PROTOCOL: 2 on Python 2, 4 on 3.4-3.7, 5 on 3.8+ (numpy `_frombuffer`)."""
    states = official.read_pickle(golden_path(golden))
    path = tmp_path / "snapshot.pkl"
    with open(path, "wb") as file:
        _OfficialLikePickler(file, protocol, numpy_core).dump(tuple(_official_like_objects(s) for s in states))
    names = all_globals(path.read_bytes())
    constructor = ("numeric", "_frombuffer") if protocol == 5 else ("multiarray", "_reconstruct")
    assert (f"{numpy_core}.{constructor[0]}", constructor[1]) in names  # The case this test is about.
    assert not any(
        module.startswith("numpy") and not module.startswith(numpy_core + ".")
        for module, _ in names
        if module != "numpy"
    )

    def check(a, b):
        assert (a.version, a.name, a.build_func_name, a.static_kwargs) == (
            b.version,
            b.name,
            b.build_func_name,
            b.static_kwargs,
        )
        assert list(a.variables) == list(b.variables)
        for key in a.variables:
            assert b.variables[key].dtype == a.variables[key].dtype
            np.testing.assert_array_equal(b.variables[key], a.variables[key], err_msg=key)
        assert sorted(a.components) == sorted(b.components)
        for key in a.components:
            check(a.components[key], b.components[key])

    for a, b in zip(states, official.read_pickle(path)):
        check(a, b)


def test_protocol_5_snapshot_loads_and_runs(tmp_path, monkeypatch):
    import sys

    expected = np.load(golden_path("progan_snapshot_rgb32-expected.npz"))

    class Network(_TfutilNetwork):
        pass

    Network.__module__, Network.__qualname__ = "tfutil", "Network"
    module = types.ModuleType("tfutil")
    module.Network = Network
    monkeypatch.setitem(sys.modules, "tfutil", module)
    nets = tuple(Network(net.state) for net in map(_official_like_objects, official.read_pickle(golden_path(SNAPSHOT))))
    path = tmp_path / "snapshot.pkl"
    with open(path, "wb") as file:  # The C pickler and numpy 2's own reduction: what save_pkl writes today.
        pickle.Pickler(file, protocol=5).dump(nets)
    assert ("numpy._core.numeric", "_frombuffer") in all_globals(path.read_bytes())
    _, _, Gs = official.load_pickle(path)
    np.testing.assert_allclose(nchw(Gs(expected["latents"], expected["labels"])), expected["Gs_images_out"], **FWD)


class _Reduced:
    """Pickles as `func(*args)`, for crafting hostile `_frombuffer` calls."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize(
    "args, match",
    [
        ((b"\0" * 16, np.dtype(object), (2,), "C"), "dtype"),
        ((b"\0" * 16, np.dtype([("a", "f4"), ("b", object)]), (1,), "C"), "dtype"),
        ((b"\0" * 16, np.dtype("U2"), (2,), "C"), "dtype"),
        (("0123456789abcdef", np.dtype("f4"), (4,), "C"), "array data of type str"),
        (([1, 2, 3, 4], np.dtype("f4"), (4,), "C"), "array data of type list"),
    ],
)
def test_frombuffer_admits_only_numeric_arrays_from_bytes(tmp_path, args, match):
    from numpy._core import numeric

    path = tmp_path / "crafted.pkl"
    state = dict(
        version=2,
        name="G",
        static_kwargs={},
        build_module_src="",
        build_func_name="G_paper",
        variables=[("lod", _Reduced(numeric._frombuffer, args))],
    )
    with open(path, "wb") as file:
        _OfficialLikePickler(file, 5, "numpy.core").dump((_TfutilNetwork(state),) * 3)
    with pytest.raises(UnsafePickleError, match=match) as info:
        official.read_pickle(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_out_of_band_protocol_5_buffers_are_refused_in_one_line(tmp_path):
    """Out-of-band buffers (NEXT_BUFFER) never occur in a file; reading one is an error, not a crash."""
    path = tmp_path / "out_of_band.pkl"
    state = dict(
        version=2,
        name="G",
        static_kwargs={},
        build_module_src="",
        build_func_name="G_paper",
        variables=[("lod", np.arange(4, dtype=np.float32))],
    )
    with open(path, "wb") as file:
        pickler = _OfficialLikePickler(file, 5, "numpy._core")
        pickler._buffer_callback = lambda buffer: False  # False = keep the buffer out of band.
        pickler.dump((_TfutilNetwork(state),) * 3)
    assert "NEXT_BUFFER" in {op.name for op, _, _ in pickletools.genops(path.read_bytes())}
    with pytest.raises(OfficialPickleError, match="not a readable network pickle") as info:
        official.read_pickle(path)
    assert "\n" not in str(info.value)


def test_broken_inputs_give_one_line_value_errors(tmp_path):
    cases = {}
    with pytest.raises(OfficialPickleError, match="no such file") as info:
        official.load_pickle(tmp_path / "missing.pkl")
    cases["missing"] = info
    text = tmp_path / "notes.pkl"
    text.write_text("hello, I am not a pickle\n" * 10)
    with pytest.raises(OfficialPickleError, match="not a readable network pickle") as info:
        official.read_pickle(text)
    cases["text"] = info
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(golden_path(SNAPSHOT).read_bytes()[:100000])
    with pytest.raises(OfficialPickleError, match="truncated") as info:
        official.load_pickle(truncated)
    cases["truncated"] = info
    other = tmp_path / "other.pkl"
    other.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(OfficialPickleError, match="not network objects") as info:
        official.read_pickle(other)
    cases["other"] = info
    for name, info in cases.items():
        assert isinstance(info.value, ValueError) and "\n" not in str(info.value), name


def test_wrong_counts_names_and_shapes(tmp_path):
    states = official.read_pickle(golden_path(SNAPSHOT))
    _write_states(tmp_path / "two.pkl", states[:2])
    with pytest.raises(OfficialPickleError, match="2 network"):
        official.load_pickle(tmp_path / "two.pkl")
    mystery = NetworkState(**dict(vars(states[0]), build_func_name="G_mystery"))
    with pytest.raises(OfficialPickleError, match="unknown build_func_name 'G_mystery'"):
        official.network_from_state(mystery)
    bad = NetworkState(**dict(vars(states[0])))
    bad.variables = collections.OrderedDict(states[0].variables)
    bad.variables["4x4/Conv/weight"] = bad.variables["4x4/Conv/weight"][:, :, :, :10]
    _write_states(tmp_path / "bad.pkl", [bad, states[1], states[2]])
    with pytest.raises(OfficialPickleError, match="4x4/Conv/weight"):
        official.load_pickle(tmp_path / "bad.pkl")


def test_stylegan_snapshot_round_trip_keeps_components(tmp_path):
    """Networks with components are written as dnnlib Networks (version 3) with own variables only."""
    source = golden_path("stylegan_snapshot_rgb32.pkl")
    G, D, Gs = official.load_pickle(source)
    path = tmp_path / "stylegan.pkl"
    official.save_pickle(path, G, D, Gs)
    assert pickle_globals(path) == {
        ("dnnlib.tflib.network", "Network"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def check(a, b):
        assert (a.name, a.version, a.build_func_name) == (b.name, b.version, b.build_func_name)
        assert list(a.variables) == list(b.variables)
        for key in a.variables:
            np.testing.assert_array_equal(a.variables[key], b.variables[key])
        assert sorted(a.components) == sorted(b.components)
        for key in a.components:
            check(a.components[key], b.components[key])

    for a, b in zip(official.read_pickle(source), official.read_pickle(path)):
        check(a, b)


def test_theano_era_state_is_converted_like_legacy_py(tmp_path, monkeypatch):
    """A raw Theano `network.Network` state (legacy.py:38-94) loads to the same function."""
    import sys
    import types

    rng = np.random.default_rng(7)
    kwargs = dict(num_channels=1, resolution=8, fmap_base=32, fmap_max=16, fused_scale=False)
    G = Generator(**kwargs)
    D = Discriminator(**kwargs, mbstd_group_size=16)
    for net in (G, D):
        for var in net.trainable_weights:
            var.assign(rng.standard_normal(var.shape).astype(np.float32))

    def theano_params(net, is_G):
        """Invert legacy.py's conversion: official arrays -> Theano [out,in,kh,kw] params + scale + bias."""
        values = {k: v.numpy() for k, v in net.official_variables().items()}
        layers = [k[: -len("/weight")] for k in values if k.endswith("/weight")]
        if is_G:  # Theano order: all convs, then ToRGB from lod 0 up.
            layers = [k for k in layers if not k.startswith("ToRGB")] + sorted(
                k for k in layers if k.startswith("ToRGB")
            )
        params = []
        for layer in layers:
            w = values[layer + "/weight"]
            gain = 1.0 if layer.startswith("ToRGB") or layer.endswith("Dense1") else np.sqrt(2)
            gain = np.sqrt(2) / 4 if layer == "4x4/Dense" else gain
            scale = np.float32(rng.uniform(0.5, 2.0))
            w = w * (gain / np.sqrt(np.prod(w.shape[:-1]))) / scale
            if layer == "4x4/Dense":
                p = w.reshape(w.shape[0], -1, 4, 4).transpose(1, 0, 2, 3)
            elif layer == "4x4/Dense0":
                p = w.T.reshape(w.shape[1], -1, 4, 4)[:, :, ::-1, ::-1]
            elif layer == "4x4/Dense1":
                p = w
            elif w.shape[0] == 1:
                p = w[0, 0]
            else:
                p = w[::-1, ::-1].transpose(3, 2, 0, 1)
            params += [np.ascontiguousarray(p), scale, values[layer + "/bias"]]
        return params

    module = types.ModuleType("network")

    class Network:
        def __init__(self, state):
            self.state = state

        def __reduce_ex__(self, protocol):
            return copyreg.__newobj__, (Network,), self.state

    Network.__module__, Network.__qualname__ = "network", "Network"
    module.Network = Network
    monkeypatch.setitem(sys.modules, "network", module)
    spec = dict(num_channels=1, resolution=8, fmap_base=32, fmap_max=16, use_gdrop=False)
    nets = tuple(
        Network(
            dict(
                build_func_spec=dict(spec, func=func),
                param_values=theano_params(net, func[0] == "G"),
                toplevel_params=dict(cur_lod=np.float32(0.5)),
            )
        )
        for net, func in ((G, "G_paper"), (D, "D_paper"), (G, "G_progressive_8"))
    )
    path = tmp_path / "theano.pkl"
    path.write_bytes(pickle.dumps(nets, protocol=2))
    assert "network Network" in {arg for op, arg, _ in pickletools.genops(path.read_bytes()) if op.name == "GLOBAL"}
    monkeypatch.delitem(sys.modules, "network")
    G2, D2, Gs2 = official.load_pickle(path)
    assert G2.name == "G_paper" and Gs2.name == "G_progressive_8" and float(G2.lod.numpy()) == 0.5
    assert D2.get_config()["mbstd_group_size"] == 16 and D2.get_config()["fused_scale"] is False
    latents = rng.standard_normal((4, 16)).astype(np.float32)
    images = rng.standard_normal((16, 8, 8, 1)).astype(np.float32)
    for lod in (0.0, 0.5):
        for net in (G, D, G2, D2):
            net.lod.assign(lod)
        np.testing.assert_allclose(G2(latents).numpy(), G(latents).numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(D2(images)[0].numpy(), D(images)[0].numpy(), rtol=1e-4, atol=1e-5)
