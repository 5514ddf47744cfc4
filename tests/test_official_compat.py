"""Our snapshots in the official code: the official ProGAN / StyleGAN code, run from its own
checkout, unpickled the snapshots in tests/data/official_compat/ and computed the images stored
beside them (tests/data/official_compat/make_reference.py says how). These tests check that the
snapshots are what our writer writes today and that our networks compute the same from them."""

import os
import pathlib
import stat

import numpy as np
import pytest

from networks import official

DATA = pathlib.Path(__file__).resolve().parent / "data" / "official_compat"
FWD = dict(rtol=1e-4, atol=1e-4)
SOURCES = {"progan": "from networks import *\n", "stylegan": "from training.networks_stylegan import *\n"}
REMAKE = "if the writer changed on purpose, rerun tests/data/official_compat/make_reference.py (all three commands)"


def nchw(x):
    return np.transpose(np.asarray(x), (0, 3, 1, 2))


def all_states(states):
    for state in states:
        yield state
        yield from all_states(state.components.values())


@pytest.mark.parametrize(
    "arch, funcs", [("progan", ["G_paper", "D_paper", "G_paper"]), ("stylegan", ["G_style", "D_basic", "G_style"])]
)
def test_snapshot_build_module_src_imports_the_official_module(arch, funcs):
    """The official Network.__setstate__ execs build_module_src and looks build_func_name up in it."""
    states = official.read_pickle(DATA / f"{arch}_snapshot.pkl")
    assert [s.build_func_name for s in states] == funcs
    every = list(all_states(states))
    assert len(every) == (3 if arch == "progan" else 7)  # StyleGAN: G and Gs each with mapping, synthesis.
    for state in every:
        assert state.build_module_src == SOURCES[arch], state.name
    if arch == "stylegan":
        assert {s.components["mapping"].build_func_name for s in (states[0], states[2])} == {"G_mapping"}
        assert {s.components["synthesis"].build_func_name for s in (states[0], states[2])} == {"G_synthesis"}
    # What the official code reported building from them (make_reference.py official).
    report = (DATA / f"{arch}_official.txt").read_text()
    module = "networks" if arch == "progan" else "training.networks_stylegan"
    assert report.count(f"build_func {module}.") == 3 and f"<official-bench>/{arch}/" in report


@pytest.mark.parametrize("arch", ["progan", "stylegan"])
def test_writer_still_writes_the_verified_snapshot_bytes(tmp_path, arch):
    """The official code read these exact bytes; our writer must still produce them (deterministically)."""
    path = DATA / f"{arch}_snapshot.pkl"
    G, D, Gs = official.load_pickle(path)
    official.save_pickle(tmp_path / "a.pkl", G, D, Gs)
    official.save_pickle(tmp_path / "b.pkl", G, D, Gs)
    assert (tmp_path / "a.pkl").read_bytes() == (tmp_path / "b.pkl").read_bytes(), "writer is not deterministic"
    assert (tmp_path / "a.pkl").read_bytes() == path.read_bytes(), REMAKE
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(tmp_path / "a.pkl").st_mode) == 0o666 & ~umask  # Not mkstemp's private 0600.


def test_progan_snapshot_computes_what_the_official_code_computed():
    inputs, expected = np.load(DATA / "inputs.npz"), np.load(DATA / "progan_official.npz")
    G, D, Gs = official.load_pickle(DATA / "progan_snapshot.pkl")
    latents, labels = inputs["progan_latents"], inputs["progan_labels"]
    np.testing.assert_allclose(nchw(Gs(latents, labels)), expected["Gs_images"], **FWD)
    np.testing.assert_allclose(nchw(G(latents, labels)), expected["G_images"], **FWD)  # At the stored lod 0.5.
    scores, labels_out = D(np.transpose(inputs["images"], (0, 2, 3, 1)))
    np.testing.assert_allclose(scores, expected["D_scores"], **FWD)
    np.testing.assert_allclose(labels_out, expected["D_labels"], **FWD)
    assert np.abs(expected["G_images"] - expected["Gs_images"]).max() > 0.1  # G and Gs really differ.


def test_stylegan_snapshot_computes_what_the_official_code_computed():
    inputs, expected = np.load(DATA / "inputs.npz"), np.load(DATA / "stylegan_official.npz")
    G, D, Gs = official.load_pickle(DATA / "stylegan_snapshot.pkl")
    latents = inputs["stylegan_latents"]
    np.testing.assert_allclose(nchw(Gs(latents, randomize_noise=False)), expected["Gs_images_psi07"], **FWD)
    np.testing.assert_allclose(
        nchw(Gs(latents, truncation_psi=1.0, randomize_noise=False)), expected["Gs_images_psi1"], **FWD
    )
    np.testing.assert_allclose(nchw(G(latents, truncation_psi=1.0, randomize_noise=False)), expected["G_images"], **FWD)
    np.testing.assert_allclose(D(np.transpose(inputs["images"], (0, 2, 3, 1))), expected["D_scores"], **FWD)
