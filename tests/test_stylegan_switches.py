"""The StyleGAN paper's switch combinations (train.py Table 1 and Table 4 lines: no mapping
layers, no styles, a dense instead of a constant input, no noise) against the official G_style.

The reference outputs in tests/data/stylegan_switches/ were made by running the official code
(../shared/official-bench) with tests/data/stylegan_switches/make_reference.py; its docstring
holds the exact command. The tests only read the stored .npz.
"""

import json

import numpy as np
import pytest
from conftest import REPO

from networks import stylegan as sg

REFERENCE = REPO / "tests" / "data" / "stylegan_switches" / "stylegan_switches.npz"
FWD = dict(rtol=1e-4, atol=1e-4)  # ../shared/golden/README.md: forward outputs.


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["config"] = json.loads(str(arrays["config"]))
    return arrays


def _strip(prefix, arrays):
    return {name[len(prefix) :]: value for name, value in arrays.items() if name.startswith(prefix)}


def _generator(reference, case):
    """Our Generator with the case's official kwargs and the official variable values."""
    config = reference["config"]
    G = sg.Generator(**config["common"], **config["cases"][case], randomize_noise=False, name="G")
    values = _strip(f"{case}/G/", reference)
    G.set_official_values({name: value for name, value in values.items() if "/" not in name})
    G.mapping.set_official_values(_strip("G_mapping/", values))
    G.synthesis.set_official_values(_strip("G_synthesis/", values))
    return G


CASES = [
    "tuned-baseline",
    "traditional-8",
    "add-mapping-and-styles",
    "remove-traditional-input",
    "stylebased-0",
    "stylebased-1",
    "stylebased-2",
]


def test_reference_covers_the_cases(reference):
    assert sorted(reference["config"]["cases"]) == sorted(CASES)


@pytest.mark.parametrize("case", CASES)
def test_generator_matches_official(reference, case):
    G = _generator(reference, case)
    # Same variables (names and shapes) as the official network of this configuration.
    expected = {name: value.shape for name, value in _strip(f"{case}/G/", reference).items()}
    ours = {name: tuple(var.shape) for name, var in G.official_variables().items()}
    for sub in G.official_components().values():
        ours.update(
            {
                f"{sub.official_build_func_name}/{name}": tuple(var.shape)
                for name, var in sub.official_variables().items()
            }
        )
    assert ours == expected
    latents = reference["latents"]
    np.testing.assert_allclose(np.asarray(G.mapping(latents)), reference[f"{case}/dlatents_out"], **FWD)
    images = reference[f"{case}/G_images_out"]
    for k, lod in enumerate(reference["lods"]):
        G.lod.assign(lod)
        for p, psi in enumerate(reference["truncation_psis"]):
            out = np.transpose(np.asarray(G(latents, truncation_psi=float(psi))), (0, 3, 1, 2))
            np.testing.assert_allclose(out, images[k, p], err_msg=f"{case} lod {lod} psi {psi}", **FWD)
