"""Make the data in this folder: our snapshots, and what the OFFICIAL code computes from them.

Not a test and never imported by one: tests/test_official_compat.py only reads the files
this wrote. Each file was made by exactly these commands, from the repository root:

    # 1. Our side (project environment): small ProGAN and StyleGAN snapshots with seeded
    #    random weights, written by networks.official.save_pickle, plus fixed inputs.
    python tests/data/official_compat/make_reference.py ours

    # 2. The official side: the unmodified official code, run from its own checkout
    #    (../shared/official-bench/{progan,stylegan}, under TF2's compat.v1 via compat.py),
    #    unpickles our snapshots with plain pickle.load -- so its Network.__setstate__ execs our
    #    build_module_src -- and runs G, D and Gs on the fixed inputs.
    python tests/data/official_compat/make_reference.py official progan ../shared/official-bench
    python tests/data/official_compat/make_reference.py official stylegan ../shared/official-bench

Files: {progan,stylegan}_snapshot.pkl (ours), inputs.npz (latents, labels, images NCHW),
{progan,stylegan}_official.npz (official outputs, NCHW) and {progan,stylegan}_official.txt
(what the official code reported about the networks it built).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
N = 8  # Batch: a multiple of the mbstd group size 4.
PROGAN = dict(num_channels=3, resolution=16, label_size=4, fmap_base=32, fmap_max=16)
STYLEGAN = dict(num_channels=3, resolution=16, label_size=0, fmap_base=32, fmap_max=16)
STYLEGAN_G = dict(latent_size=16, dlatent_size=16, mapping_layers=2, mapping_fmaps=16)


def ours():
    """Write the snapshots with our writer (seeded random weights, G and D at lod 0.5)."""
    sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "..")))
    import numpy as np

    from networks import official
    from networks import progan
    from networks import stylegan

    def randomize(rng, *nets):  # Every variable but lod (also noise maps, dlatent_avg): reproducible files.
        for net in nets:
            for var in net.weights:
                if not var.path.endswith("lod"):
                    var.assign(rng.standard_normal(var.shape).astype(np.float32) * 0.5)

    rng = np.random.default_rng(2026)
    G = progan.Generator(**PROGAN, name="G")
    D = progan.Discriminator(**PROGAN, name="D")
    Gs = progan.Generator(**PROGAN, name="Gs")
    randomize(rng, G, D, Gs)
    G.lod.assign(0.5)
    D.lod.assign(0.5)
    official.save_pickle(os.path.join(HERE, "progan_snapshot.pkl"), G, D, Gs)

    G = stylegan.Generator(**STYLEGAN, **STYLEGAN_G, name="G")
    D = stylegan.Discriminator(**STYLEGAN, name="D")
    Gs = stylegan.Generator(**STYLEGAN, **STYLEGAN_G, name="Gs")
    for net in (G, Gs):
        net(np.zeros((1, STYLEGAN_G["latent_size"]), np.float32))  # Build the weights.
    randomize(rng, G, D, Gs)
    for net in (G, D):
        for var in net.weights:
            if var.path.endswith("lod"):
                var.assign(0.5)
    official.save_pickle(os.path.join(HERE, "stylegan_snapshot.pkl"), G, D, Gs)

    latents = rng.standard_normal((N, 16)).astype(np.float32)
    np.savez(
        os.path.join(HERE, "inputs.npz"),
        progan_latents=latents,
        progan_labels=rng.standard_normal((N, 4)).astype(np.float32),
        stylegan_latents=rng.standard_normal((N, 16)).astype(np.float32),
        images=rng.uniform(-1, 1, (N, 3, 16, 16)).astype(np.float32),
    )


def nhwc_shim(tf):  # The tensorflow.compat.v1 module the official code imports as tf.
    """TF's CPU kernels lack NCHW conv2d, conv2d_transpose, avg_pool and depthwise_conv2d: run them in NHWC.

    Transposing in and out computes the same thing; the official files are left untouched,
    like the shims of compat.py. Without a GPU this is the only way to run them here.
    """
    to_nhwc = lambda v: [v[0], v[2], v[3], v[1]] if isinstance(v, (list, tuple)) and len(v) == 4 else v

    def wrap(original):
        def op(x, *args, data_format=None, **kwargs):
            if data_format != "NCHW":
                return original(x, *args, **kwargs, **({"data_format": data_format} if data_format else {}))
            if original.__name__.startswith("conv2d_transpose"):  # (x, w, output_shape, strides, ...)
                args = (args[0], to_nhwc(args[1])) + tuple(to_nhwc(a) for a in args[2:])
            kwargs = {k: to_nhwc(v) if k in ("strides", "ksize", "output_shape") else v for k, v in kwargs.items()}
            y = original(tf.transpose(x, [0, 2, 3, 1]), *args, data_format="NHWC", **kwargs)
            return tf.transpose(y, [0, 3, 1, 2])

        return op

    for name in ("conv2d", "conv2d_transpose", "avg_pool", "depthwise_conv2d"):
        setattr(tf.nn, name, wrap(getattr(tf.nn, name)))


def official(
    arch,  # 'progan' or 'stylegan'.
    bench,  # The official-bench folder (compat.py, progan/, stylegan/).
):
    """Unpickle our snapshot with the official code and run it; never imports this project."""
    import pickle

    import numpy as np

    bench = os.path.abspath(bench)
    checkout = os.path.join(bench, arch)
    os.environ["PROGAN_OFFICIAL" if arch == "progan" else "STYLEGAN_OFFICIAL"] = checkout
    sys.path.insert(0, bench)
    import compat

    os.chdir(checkout)  # Run from the official checkout, as its scripts are.
    if arch == "progan":
        tf, tfutil, _, _ = compat.progan()
    else:
        tf, tflib = compat.stylegan()
    nhwc_shim(tf)
    inputs = np.load(os.path.join(HERE, "inputs.npz"))
    with open(os.path.join(HERE, f"{arch}_snapshot.pkl"), "rb") as file:
        G, D, Gs = pickle.load(file, encoding="latin1")  # misc.load_pkl of both repositories.
    report = []
    for net in (G, D, Gs):
        comps = (
            {k: (c.name, type(c).__module__, c._build_func_name) for k, c in net.components.items()}
            if arch == "stylegan"
            else {}
        )
        report.append(
            f"{net.name}: {type(net).__module__}.{type(net).__name__} build_func "
            f"{net._build_func.__module__}.{net._build_func.__name__} "
            f"in {sys.modules[net._build_func.__module__].__file__} "
            f"inputs {net.input_shapes} outputs {net.output_shapes} components {comps}"
        )
    out = {}
    images = inputs["images"]
    if arch == "progan":
        latents, labels = inputs["progan_latents"], inputs["progan_labels"]
        out["Gs_images"] = Gs.run(latents, labels)
        out["G_images"] = G.run(latents, labels)
        out["D_scores"], out["D_labels"] = D.run(images)
    else:
        latents, labels = inputs["stylegan_latents"], np.zeros((N, 0), np.float32)
        out["Gs_images_psi07"] = Gs.run(latents, labels, randomize_noise=False)  # Default psi 0.7, cutoff 8.
        out["Gs_images_psi1"] = Gs.run(latents, labels, truncation_psi=1.0, randomize_noise=False)
        out["G_images"] = G.run(latents, labels, truncation_psi=1.0, randomize_noise=False)
        out["D_scores"] = D.run(images, labels)
    np.savez(os.path.join(HERE, f"{arch}_official.npz"), **out)
    with open(os.path.join(HERE, f"{arch}_official.txt"), "w") as file:
        file.write("\n".join(report).replace(bench, "<official-bench>") + "\n")
    print("\n".join(report))


if __name__ == "__main__":
    if sys.argv[1:2] == ["ours"]:
        ours()
    elif sys.argv[1:2] == ["official"] and len(sys.argv) == 4 and sys.argv[2] in ("progan", "stylegan"):
        official(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: make_reference.py ours | official {progan,stylegan} <official-bench dir>")
