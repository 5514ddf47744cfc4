"""Official StyleGAN snapshot pickles through networks.official and stylegan.from_official_state."""

import copy
import json

import numpy as np
import pytest
from conftest import golden_path

from networks import official
from networks import stylegan as sg

# The snapshot's images reach |x| = 8 and float32 rounding alone moves them by up to 4e-4:
# the official result itself differs from a float64 evaluation of the same network by
# 3.3e-4 (checked when this test was written), so atol 1e-4 would test rounding noise.
SNAPSHOT_TOL = dict(rtol=1e-4, atol=1e-3)


@pytest.fixture(scope="module")
def expected():
    data = np.load(golden_path("stylegan_snapshot_rgb32-expected.npz"))
    return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def snapshot():
    return official.load_pickle(golden_path("stylegan_snapshot_rgb32.pkl"))


def test_snapshot_loads_as_stylegan_networks(snapshot, expected):
    G, D, Gs = snapshot
    assert isinstance(G, sg.Generator) and isinstance(Gs, sg.Generator)
    assert isinstance(D, sg.Discriminator)
    assert (G.name, D.name, Gs.name) == ("G", "D", "Gs")
    config = json.loads(str(expected["config"]))
    assert (Gs.resolution, Gs.num_channels, Gs.latent_size, Gs.dlatent_size, Gs.num_layers) == (
        config["resolution"],
        config["num_channels"],
        config["latent_size"],
        config["dlatent_size"],
        8,
    )
    assert (D.resolution, D.num_channels, D.fmap_base, D.fmap_max) == (32, 3, 256, 64)
    states = official.read_pickle(golden_path("stylegan_snapshot_rgb32.pkl"))
    for net, state in zip(snapshot, states):
        for name, value in state.variables.items():
            np.testing.assert_array_equal(net.official_variables()[name], value, err_msg=name)
        for key, comp in state.components.items():
            sub = net.official_components()[key]
            assert sub.name == comp.name and sub.official_build_func_name == comp.build_func_name
            assert list(sub.official_variables()) == list(comp.variables)
            for name, value in comp.variables.items():
                np.testing.assert_array_equal(sub.official_variables()[name], value, err_msg=name)


def test_snapshot_Gs_reproduces_official_images(snapshot, expected):
    _, _, Gs = snapshot
    for psi, key in ((0.7, "Gs_images_out_psi07"), (1.0, "Gs_images_out_psi1")):
        images = Gs(
            expected["latents"], expected["labels"], truncation_psi=psi, truncation_cutoff=8, randomize_noise=False
        )
        np.testing.assert_allclose(np.transpose(images, (0, 3, 1, 2)), expected[key], **SNAPSHOT_TOL, err_msg=key)
    # The default call is the official Gs.run default: psi 0.7, cutoff 8.
    default = Gs(expected["latents"], expected["labels"], randomize_noise=False)
    np.testing.assert_allclose(np.transpose(default, (0, 3, 1, 2)), expected["Gs_images_out_psi07"], **SNAPSHOT_TOL)


def test_save_and_reload_gives_identical_networks(snapshot, expected, tmp_path):
    G, D, Gs = snapshot
    path = tmp_path / "network-snapshot-000000.pkl"
    official.save_pickle(path, G, D, Gs)
    G2, D2, Gs2 = official.load_pickle(path)
    latents, labels = expected["latents"], expected["labels"]
    np.testing.assert_array_equal(
        Gs2(latents, labels, randomize_noise=False), Gs(latents, labels, randomize_noise=False)
    )
    images = np.random.default_rng(0).standard_normal((8, 32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(D2(images), D(images))
    states = official.read_pickle(path)
    assert [s.build_func_name for s in states] == ["G_style", "D_basic", "G_style"]
    assert sorted(states[2].components) == ["mapping", "synthesis"]
    assert states[2].components["mapping"].static_kwargs["dlatent_broadcast"] == 8
    assert "dlatent_broadcast" not in states[2].static_kwargs
    assert list(states[2].variables) == ["lod", "dlatent_avg"]
    # The written kwargs rebuild the same networks (what the official code would run).
    assert sg.from_official_state(states[2]).get_config() == {**Gs.get_config(), "name": "Gs"}


def _states():
    return official.read_pickle(golden_path("stylegan_snapshot_rgb32.pkl"))


def test_from_official_state_rejects_mismatched_states():
    G, D, _ = _states()
    broken = copy.deepcopy(D)
    broken.variables["4x4/Dense0/weight"] = np.zeros((512, 64), np.float32)
    with pytest.raises(ValueError, match="4x4/Dense0/weight"):
        sg.from_official_state(broken)
    broken = copy.deepcopy(G)
    del broken.components["mapping"]
    with pytest.raises(ValueError, match="mapping"):
        sg.from_official_state(broken)
    broken = copy.deepcopy(G)
    del broken.components["synthesis"].variables["noise3"]
    with pytest.raises(ValueError, match="noise3"):
        sg.from_official_state(broken)
    broken = copy.deepcopy(D)
    broken.build_func_name = "D_paper"
    with pytest.raises(ValueError, match="D_paper"):
        sg.from_official_state(broken)
    broken = copy.deepcopy(D)
    broken.static_kwargs["dtype"] = "int8"
    with pytest.raises(ValueError, match="int8"):
        sg.from_official_state(broken)


def test_from_official_state_honours_static_kwargs():
    G, D, _ = _states()
    # Unknown kwargs are ignored as by the official build functions; known ones apply.
    state = copy.deepcopy(G)
    state.static_kwargs.update(truncation_psi=0.5, randomize_noise=False, not_an_argument=1)
    net = sg.from_official_state(state)
    assert net.truncation_psi == 0.5 and net.synthesis.randomize_noise is False
    half = copy.deepcopy(D)
    half.static_kwargs["dtype"] = "float16"
    net = sg.from_official_state(half)
    assert net.compute_dtype == "float16" and net.official_static_kwargs()["dtype"] == "float16"
    # Components alone (e.g. a G_synthesis state) build too.
    synthesis = sg.from_official_state(G.components["synthesis"])
    assert isinstance(synthesis, sg.SynthesisNetwork) and synthesis.num_layers == 8
