"""Produce stylegan_switches.npz: the official G_style with the StyleGAN paper's switch
combinations (train.py Table 1 and Table 4 lines) at 8x8, on fixed random weights.

This script runs the unmodified official code through the measuring harness beside the
project (../shared/official-bench); it is not part of the project and no test imports it.
The exact command that made the stored file (from the project root):

    STYLEGAN_OFFICIAL=../shared/official-bench/stylegan \
        python tests/data/stylegan_switches/make_reference.py tests/data/stylegan_switches/stylegan_switches.npz
"""

import json
import os
import sys

import numpy as np

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "shared", "official-bench")
sys.path.insert(0, os.path.abspath(BENCH))
# TF's plain CPU kernels reject the official NCHW convolutions; the oneDNN ones accept them.
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
import compat  # noqa: E402  (the harness: shims so that the official TF1 files import)

tf, tflib = compat.stylegan()

COMMON = dict(
    num_channels=3, resolution=8, fmap_base=64, fmap_max=16, latent_size=16, dlatent_size=16, mapping_fmaps=16
)
TRADITIONAL = dict(
    use_styles=False,
    use_pixel_norm=True,
    use_instance_norm=False,
    truncation_psi=None,
    const_input_layer=False,
    use_noise=False,
)
# The network arguments of each official line (style_mixing_prob only acts in training).
CASES = {
    "tuned-baseline": dict(TRADITIONAL, mapping_layers=0),
    "traditional-8": dict(TRADITIONAL, mapping_layers=8),
    "add-mapping-and-styles": dict(const_input_layer=False, use_noise=False),
    "remove-traditional-input": dict(use_noise=False),
    "stylebased-0": dict(mapping_layers=0),
    "stylebased-1": dict(mapping_layers=1),
    "stylebased-2": dict(mapping_layers=2),
}
LODS = [0.0, 0.5, 1.0]
PSIS = [1.0, 0.7]  # 1 = no truncation; 0.7 with the default cutoff 8.
NUM = 4


def main(out_path):
    rng = np.random.RandomState(2019)
    arrays = {"lods": np.float32(LODS), "truncation_psis": np.float32(PSIS)}
    latents = rng.standard_normal([NUM, COMMON["latent_size"]]).astype(np.float32)
    arrays["latents"] = latents
    labels = np.zeros([NUM, 0], np.float32)
    for case, kwargs in CASES.items():
        config = tf.ConfigProto(allow_soft_placement=True)
        with tf.Graph().as_default(), tf.Session(config=config).as_default():
            G = tflib.Network("G", func_name="training.networks_stylegan.G_style", **COMMON, **kwargs)
            values = {}
            for name, var in G.vars.items():
                shape = var.shape.as_list()
                scale = 0.3 if name.endswith("bias") or "Noise" in name else 1.0
                values[name] = (rng.standard_normal(shape) * scale).astype(np.float32)
            values["lod"] = np.float32(0)
            tflib.set_vars({G.vars[name]: value for name, value in values.items()})
            for name, value in values.items():
                arrays[f"{case}/G/{name}"] = value
            arrays[f"{case}/dlatents_out"] = G.components.mapping.run(latents, labels)
            images = np.zeros([len(LODS), len(PSIS), NUM, 3, 8, 8], np.float32)
            for k, lod in enumerate(LODS):
                tflib.set_vars({G.vars["lod"]: np.float32(lod)})
                for p, psi in enumerate(PSIS):
                    images[k, p] = G.run(latents, labels, truncation_psi=psi, randomize_noise=False)
            arrays[f"{case}/G_images_out"] = images
    arrays["config"] = np.array(json.dumps(dict(common=COMMON, cases=CASES)))
    np.savez_compressed(out_path, **arrays)
    print(f"wrote {out_path}: {len(arrays)} arrays")


if __name__ == "__main__":
    main(sys.argv[1])
