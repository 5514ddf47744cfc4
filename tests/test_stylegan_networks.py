"""StyleGAN networks (networks/stylegan.py) against the official golden vectors and the
official semantics the golden does not cover (fused resampling, training mode, labels)."""

import collections
import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import golden_path

from networks import base
from networks import layers
from networks import stylegan as sg
from networks import stylegan_layers as sl

FWD = dict(rtol=1e-4, atol=1e-4)
SMALL = dict(
    num_channels=3, resolution=16, fmap_base=64, fmap_max=32, latent_size=16, dlatent_size=16, mapping_fmaps=16
)


def nhwc(x):
    return np.transpose(x, (0, 2, 3, 1))


def nchw(x):
    return np.transpose(np.asarray(x), (0, 3, 1, 2))


def d_kwargs(kwargs):
    return {k: v for k, v in kwargs.items() if k in sg.Discriminator.argument_names()}


def strip(prefix, arrays):
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def copy_values(src, dst):
    dst.set_official_values({k: v.numpy() for k, v in src.official_variables().items()})


def random_values(net, rng, lod=0.0):
    """Random official values with non-zero biases / noise strengths (as the golden does)."""
    values = {}
    for name, var in net.official_variables().items():
        scale = 0.3 if name.endswith("bias") or "Noise" in name else 1.0
        values[name] = (rng.standard_normal(var.shape) * scale).astype(np.float32)
    if "lod" in values:
        values["lod"] = np.float32(lod)
    net.set_official_values(values)
    return values


@pytest.fixture(scope="module")
def golden():
    data = np.load(golden_path("stylegan_rgb32.npz"))
    arrays = {k: data[k] for k in data.files}
    arrays["config"] = json.loads(str(data["config"]))
    return arrays


@pytest.fixture(scope="module")
def nets(golden):
    cfg = golden["config"]
    G = sg.Generator(**cfg["common"], **cfg["G"], name="G")
    D = sg.Discriminator(**d_kwargs(cfg["common"]), name="D")
    g_vars = strip("G/", golden)
    G.set_official_values({k: v for k, v in g_vars.items() if "/" not in k})
    G.mapping.set_official_values(strip("G_mapping/", g_vars))
    G.synthesis.set_official_values(strip("G_synthesis/", g_vars))
    D.set_official_values(strip("D/", golden))
    return G, D


# ----------------------------------------------------------------------------------------
# Golden: official G_style / D_basic forward passes.


def test_official_variable_names_and_shapes(golden, nets):
    G, D = nets
    expect = {k: v.shape for k, v in golden.items() if k.startswith(("G/", "D/"))}
    got = {"G/" + k: tuple(v.shape) for k, v in G.official_variables().items()}
    for prefix, sub in (("G/G_mapping/", G.mapping), ("G/G_synthesis/", G.synthesis)):
        got.update({prefix + k: tuple(v.shape) for k, v in sub.official_variables().items()})
    got.update({"D/" + k: tuple(v.shape) for k, v in D.official_variables().items()})
    assert got == expect
    assert [v.trainable for v in G.official_variables().values()] == [False, False]
    assert not G.synthesis.official_variables()["noise3"].trainable
    assert (G.num_layers, G.dlatent_size, G.latent_size, G.label_size, G.resolution, G.num_channels) == (
        8,
        64,
        64,
        0,
        32,
        3,
    )


def test_mapping_matches_golden(golden, nets):
    G, _ = nets
    dlatents = G.mapping(golden["latents"], golden["labels"])
    np.testing.assert_allclose(dlatents, golden["G_mapping_dlatents_out"], **FWD)


def test_generator_matches_golden_at_every_lod_and_psi(golden, nets):
    G, _ = nets
    for k, lod in enumerate(golden["lods"]):
        G.lod.assign(lod)
        for p, psi in enumerate(golden["truncation_psis"]):
            images = G(golden["latents"], golden["labels"], truncation_psi=float(psi), truncation_cutoff=8)
            np.testing.assert_allclose(
                nchw(images), golden["G_images_out"][k, p], **FWD, err_msg=f"lod {lod} psi {psi}"
            )
    G.lod.assign(0.0)


def test_synthesis_of_mixed_dlatents_matches_golden(golden, nets):
    G, _ = nets
    for k, lod in enumerate(golden["lods"]):
        G.synthesis.lod.assign(lod)
        images = G.synthesis(golden["mixed_dlatents"], randomize_noise=False)
        np.testing.assert_allclose(nchw(images), golden["G_synthesis_mixed_out"][k], **FWD, err_msg=f"lod {lod}")
    G.synthesis.lod.assign(0.0)


def test_discriminator_matches_golden_at_every_lod(golden, nets):
    _, D = nets
    for k, lod in enumerate(golden["lods"]):
        D.lod.assign(lod)
        scores = D(nhwc(golden["images_in"]), golden["labels"])
        assert scores.shape == (8, 1)
        np.testing.assert_allclose(scores, golden["D_scores_out"][k], **FWD, err_msg=f"lod {lod}")
    D.lod.assign(0.0)


@pytest.mark.slow
def test_one_tf_function_serves_every_lod(golden, nets):
    G, D = nets
    traces = []

    @tf.function
    def step(latents, psi, dlatents, images):
        traces.append(1)
        return G(latents, truncation_psi=psi), G.synthesis(dlatents), D(images)

    for k, lod in enumerate(golden["lods"]):
        G.lod.assign(lod)
        G.synthesis.lod.assign(lod)  # G's call re-assigns it from G.lod, as official.
        D.lod.assign(lod)
        for p, psi in enumerate(golden["truncation_psis"]):
            images, mixed, scores = step(
                tf.constant(golden["latents"]),
                tf.constant(psi),
                tf.constant(golden["mixed_dlatents"]),
                tf.constant(nhwc(golden["images_in"])),
            )
            np.testing.assert_allclose(nchw(images), golden["G_images_out"][k, p], **FWD)
            np.testing.assert_allclose(nchw(mixed), golden["G_synthesis_mixed_out"][k], **FWD)
            np.testing.assert_allclose(scores, golden["D_scores_out"][k], **FWD)
    assert len(traces) == 1
    G.lod.assign(0.0)
    G.synthesis.lod.assign(0.0)
    D.lod.assign(0.0)


@pytest.mark.slow
def test_static_lod_floor_traces_one_level(golden, nets):
    # Training steps trace per floor(lod) inside base.static_lod_floor: same values.
    G, D = nets
    for k, lod in enumerate(golden["lods"]):
        with base.static_lod_floor(int(np.floor(lod))):
            step = tf.function(lambda latents, images: (G(latents, truncation_psi=0.7), D(images)))
            G.lod.assign(lod)
            D.lod.assign(lod)
            images, scores = step(tf.constant(golden["latents"]), tf.constant(nhwc(golden["images_in"])))
        np.testing.assert_allclose(nchw(images), golden["G_images_out"][k, 1], **FWD)
        np.testing.assert_allclose(scores, golden["D_scores_out"][k], **FWD)
    G.lod.assign(0.5)  # Traced for floor 0: still fine.
    D.lod.assign(0.5)
    step(tf.constant(golden["latents"]), tf.constant(nhwc(golden["images_in"])))
    D.lod.assign(1.0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="static level"):
        step(tf.constant(golden["latents"]), tf.constant(nhwc(golden["images_in"])))
    G.lod.assign(0.0)
    D.lod.assign(0.0)


# ----------------------------------------------------------------------------------------
# Official semantics beyond the golden.


def test_parameter_counts_at_1024():
    # Spec 1.6: Gs trainable 26,219,627 (printed by pretrained_example.py); D 23,087,249.
    G = sg.Generator()
    D = sg.Discriminator(num_channels=3, resolution=1024)
    count = lambda net: sum(int(np.prod(v.shape)) for v in net.trainable_weights)
    assert count(G) == 26_219_627
    assert count(D) == 23_087_249
    # 'auto' fuses from 128^2 on: blocks 8..1024 are res 3..10.
    assert [block.fused for block in G.synthesis.blocks] == [False] * 4 + [True] * 4
    assert [block.fused for block in D.blocks] == [False] * 4 + [True] * 4
    assert G.synthesis.official_variables()["noise17"].shape == (1, 1, 1024, 1024)


def test_fused_resampling_matches_separate_ops():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((4, 16)).astype(np.float32)
    # G: the fused up-conv is a transposed conv, i.e. upscale + conv with the kernel flipped.
    fused = sg.Generator(fused_scale=True, randomize_noise=False, **SMALL)
    plain = sg.Generator(fused_scale=False, randomize_noise=False, **SMALL)
    values = random_values(fused.synthesis, rng)
    plain.synthesis.set_official_values(
        {k: v[::-1, ::-1] if k.endswith("Conv0_up/weight") else v for k, v in values.items()}
    )
    copy_values(fused.mapping, plain.mapping)
    for lod in (0.0, 0.6):
        fused.lod.assign(lod)
        plain.lod.assign(lod)
        np.testing.assert_allclose(fused(z), plain(z), **FWD)
    # D: the fused conv-down equals conv then 2x2 box average (same weights).
    fused_d = sg.Discriminator(fused_scale=True, **d_kwargs(SMALL))
    plain_d = sg.Discriminator(fused_scale=False, **d_kwargs(SMALL))
    random_values(fused_d, rng)
    copy_values(fused_d, plain_d)
    x = rng.standard_normal((4, 16, 16, 3)).astype(np.float32)
    np.testing.assert_allclose(fused_d(x), plain_d(x), **FWD)
    assert [n for n in fused_d.official_variables()] == [n for n in plain_d.official_variables()]


def test_linear_and_fixed_structures_agree_with_recursive():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((4, 16)).astype(np.float32)
    x = rng.standard_normal((4, 16, 16, 3)).astype(np.float32)
    G = {s: sg.Generator(structure=s, randomize_noise=False, **SMALL) for s in ("recursive", "linear", "fixed")}
    D = {s: sg.Discriminator(structure=s, **d_kwargs(SMALL)) for s in ("recursive", "linear", "fixed")}
    random_values(G["recursive"].mapping, rng)
    random_values(G["recursive"].synthesis, rng)
    random_values(D["recursive"], rng)
    for s in ("linear", "fixed"):
        copy_values(G["recursive"].mapping, G[s].mapping)
        copy_values(G["recursive"].synthesis, G[s].synthesis)
        copy_values(D["recursive"], D[s])
    for lod in (0.0, 0.3, 1.0, 1.75, 2.0):
        for net in list(G.values()) + list(D.values()):
            net.lod.assign(lod)
        np.testing.assert_allclose(G["linear"](z), G["recursive"](z), **FWD, err_msg=str(lod))
        np.testing.assert_allclose(D["linear"](x), D["recursive"](x), **FWD, err_msg=str(lod))
        if lod == 0.0:
            np.testing.assert_allclose(G["fixed"](z), G["recursive"](z), **FWD)
            np.testing.assert_allclose(D["fixed"](x), D["recursive"](x), **FWD)
    # Lower lods are nearest-upscaled to the full resolution.
    G["recursive"].lod.assign(2.0)
    images = G["recursive"](z).numpy()
    assert images.shape == (4, 16, 16, 3)
    # (Up to rounding: the official recursive graph reaches lod 2 through lerp(.., t=1).)
    np.testing.assert_allclose(images[:, ::4, ::4], images[:, 3::4, 3::4], rtol=0, atol=1e-6)
    G["recursive"].lod.assign(1.0)
    images = G["recursive"](z).numpy()
    np.testing.assert_array_equal(images[:, ::2, ::2], images[:, 1::2, 1::2])
    assert not np.allclose(images[:, ::4, ::4], images[:, 2::4, 2::4], atol=1e-3)


def test_training_mode_tracks_dlatent_avg_and_disables_truncation(golden, nets):
    G, _ = nets
    clone = sg.Generator.from_config(G.get_config())
    for src, dst in ((G, clone), (G.mapping, clone.mapping), (G.synthesis, clone.synthesis)):
        copy_values(src, dst)
    clone.dlatent_avg_beta = 0.995
    clone.lod.assign(0.0)
    latents = golden["latents"]
    avg = clone.dlatent_avg.numpy().copy()
    images = clone(latents, training=True)  # style_mixing_prob None (golden config).
    batch_avg = golden["G_mapping_dlatents_out"][:, 0].mean(axis=0)
    np.testing.assert_allclose(clone.dlatent_avg, batch_avg + (avg - batch_avg) * 0.995, **FWD)
    np.testing.assert_allclose(nchw(images), golden["G_images_out"][-1, 0], **FWD)  # psi 1.
    before = clone.dlatent_avg.numpy().copy()
    clone(latents, truncation_psi=0.5)  # Inference leaves the average alone.
    np.testing.assert_array_equal(clone.dlatent_avg, before)
    # Validation uses truncation_psi_val (None: off) instead of truncation_psi.
    np.testing.assert_allclose(nchw(clone(latents, validation=True)), golden["G_images_out"][-1, 0], **FWD)
    with pytest.raises(ValueError):
        clone(latents, training=True, validation=True)


def test_style_mixing_one_crossover_per_minibatch():
    G = sg.Generator(seed=7, **SMALL)  # 6 layers at 16x16.
    latents = np.random.default_rng(2).standard_normal((4, 16)).astype(np.float32)
    dlatents = G.mapping(latents)

    def crossover(mixed):
        same = np.all(np.isclose(mixed, dlatents), axis=2)  # [N, layers]
        cut = same.argmin(axis=1) if not same.all() else np.full(4, 6)
        assert (cut == cut[0]).all()  # One c for the batch.
        assert same[:, : cut[0]].all() and not same[:, cut[0] :].any()
        return int(cut[0])

    mix = tf.function(lambda: G.mix_styles(latents, None, dlatents, 0.9))
    cuts = collections.Counter(crossover(mix().numpy()) for _ in range(300))
    assert set(cuts) <= {1, 2, 3, 4, 5, 6}
    assert 0.05 < cuts[6] / 300 < 0.17  # No mixing: p = 0.1.
    assert all(cuts[c] > 30 for c in range(1, 6))  # Uniform over 1..5.
    # At lod 1 the two highest layers are unused; without mixing they still take w2.
    G.lod.assign(1.0)
    assert crossover(G.mix_styles(latents, None, dlatents, 0.0).numpy()) == 4
    assert crossover(G.mix_styles(latents, None, dlatents, 1.0).numpy()) in (1, 2, 3)


def test_noise_inputs_random_or_stored():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((2, 16)).astype(np.float32)
    G = sg.Generator(seed=11, **SMALL)
    random_values(G.synthesis, rng)
    a, b = G(z).numpy(), G(z).numpy()
    assert not np.allclose(a, b)  # Fresh noise per call.
    np.testing.assert_array_equal(G(z, randomize_noise=False), G(z, randomize_noise=False))
    twin = sg.Generator(seed=11, **SMALL)
    for src, dst in ((G.mapping, twin.mapping), (G.synthesis, twin.synthesis)):
        copy_values(src, dst)
    np.testing.assert_array_equal(twin(z), a)  # Seeded noise replays.
    # Stored maps are what randomize_noise=False reads.
    stored = G(z, randomize_noise=False).numpy()
    G.synthesis.noise_maps[5].assign(G.synthesis.noise_maps[5] + 1.0)
    assert not np.allclose(G(z, randomize_noise=False), stored)


def test_conditional_mapping_and_discriminator():
    rng = np.random.default_rng(4)
    kwargs = dict(SMALL, label_size=3)
    M = sg.MappingNetwork(latent_size=16, label_size=3, dlatent_size=16, mapping_fmaps=16, mapping_layers=2)
    values = random_values(M, rng)
    assert list(values)[0] == "LabelConcat/weight" and values["LabelConcat/weight"].shape == (3, 16)
    z = rng.standard_normal((4, 16)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 2, 1, 2]]
    # NumPy reference of the official G_mapping: concat(z, y @ E), pixel norm, lrelu dense.
    x = np.concatenate([z, y @ values["LabelConcat/weight"]], axis=1)
    x = x / np.sqrt(np.mean(x**2, axis=1, keepdims=True) + 1e-8)
    for i in range(2):
        w, b = values[f"Dense{i}/weight"], values[f"Dense{i}/bias"]
        x = x @ (w * np.sqrt(2) / np.sqrt(w.shape[0]) * 0.01) + b * 0.01
        x = np.maximum(x, 0.2 * x)
    np.testing.assert_allclose(M(z, y), x, rtol=1e-4, atol=1e-5)
    # D with labels: score = sum(outputs * labels), i.e. the labelled output for one-hot y.
    D = sg.Discriminator(**d_kwargs(kwargs))
    random_values(D, rng, lod=0.4)
    images = rng.standard_normal((4, 16, 16, 3)).astype(np.float32)
    per_label = np.concatenate([D(images, np.tile(np.eye(3, dtype=np.float32)[j], (4, 1))) for j in range(3)], axis=1)
    soft = rng.uniform(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(D(images, soft), np.sum(per_label * soft, 1, keepdims=True), **FWD)
    assert D.official_variables()["4x4/Dense1/weight"].shape == (32, 3)
    G = sg.Generator(**kwargs)
    assert G(z, y).shape == (4, 16, 16, 3)


def test_ablation_switches_build_the_official_variables():
    # Config B ("tuned baseline"): no styles, pixel norm, no instance norm, dense input, no noise.
    G = sg.Generator(
        use_styles=False,
        use_pixel_norm=True,
        use_instance_norm=False,
        mapping_layers=0,
        truncation_psi=None,
        const_input_layer=False,
        style_mixing_prob=0.0,
        use_noise=False,
        **SMALL,
    )
    names = list(G.synthesis.official_variables())
    assert names[:4] == ["lod", "4x4/Dense/weight", "4x4/Dense/bias", "4x4/Conv/weight"]
    assert not any("StyleMod" in n or "Noise" in n or n.startswith("noise") for n in names)
    assert G.synthesis.official_variables()["4x4/Dense/weight"].shape == (16, 32 * 16)
    assert G.num_layers == 1 and G.mapping.official_variables() == {}
    z = np.random.default_rng(5).standard_normal((2, 16)).astype(np.float32)
    images = G(z, training=True)
    assert images.shape == (2, 16, 16, 3) and np.isfinite(images).all()


def test_set_official_values_is_strict(nets):
    _, D = nets
    values = {k: v.numpy() for k, v in D.official_variables().items()}
    with pytest.raises(ValueError, match="4x4/Conv/weight"):
        D.set_official_values({**values, "4x4/Conv/weight": np.zeros((3, 3, 64, 64), np.float32)})
    with pytest.raises(ValueError, match="FromRGB_lod2/bias"):
        D.set_official_values({k: v for k, v in values.items() if k != "FromRGB_lod2/bias"})
    with pytest.raises(ValueError, match="extra"):
        D.set_official_values({**values, "extra": np.zeros(1, np.float32)})
    np.testing.assert_array_equal(D.official_variables()["4x4/Conv/weight"], values["4x4/Conv/weight"])


# ----------------------------------------------------------------------------------------
# Gradients, serialisation, precision.


@pytest.mark.slow
def test_gradients_reach_every_variable_and_r1_input_gradient(golden, nets):
    G, D = nets
    G.lod.assign(0.0)
    D.lod.assign(0.0)
    latents = tf.constant(golden["latents"][:4])
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.nn.softplus(-D(G(latents, training=True))))
    # Eagerly, branches not taken at this lod are unconnected (None); the official graph
    # gives 0. (UnconnectedGradients.ZERO fails on Keras variables, hence by hand.)
    grads = tape.gradient(loss, G.trainable_variables)
    grads = [np.zeros(v.shape, np.float32) if g is None else g.numpy() for v, g in zip(G.trainable_variables, grads)]
    # Mapping 8 x (weight, bias); synthesis: 2 + 3 x 2 layers x (weight, noise, bias,
    # StyleMod weight, bias) and 4 ToRGB x (weight, bias).
    assert len(grads) == 8 * 2 + (2 + 3 * 2) * 5 + 4 * 2
    assert all(np.isfinite(g).all() for g in grads)
    names = {id(var): name for name, var in G.all_official_variables().items()}
    unused = [names[id(v)] for v, g in zip(G.trainable_variables, grads) if not np.any(g != 0)]
    assert sorted(unused) == [f"G_synthesis/ToRGB_lod{lod}/{name}" for lod in (1, 2, 3) for name in ("bias", "weight")]

    # R1: gradient w.r.t. the input images, then of its norm w.r.t. D's weights.
    def r1_step(D, reals):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(reals)
                scores = tf.reduce_sum(D(reals))
            penalty = tf.reduce_sum(tf.square(inner.gradient(scores, reals)), axis=[1, 2, 3])
            penalty = tf.reduce_mean(penalty)
        return penalty, outer.gradient(penalty, D.trainable_variables)

    D.lod.assign(0.5)
    penalty, grads = r1_step(D, tf.constant(nhwc(golden["images_in"])))
    D.lod.assign(0.0)
    assert np.isfinite(penalty) and penalty > 0
    names = {id(var): name for name, var in D.official_variables().items()}
    weights = {names[id(v)].rsplit("/", 1)[0]: g for v, g in zip(D.trainable_variables, grads) if v.name == "weight"}
    assert len(weights) == 13
    # lod 0.5 uses FromRGB at 32 and 16 only; every other weight gets a real gradient.
    assert weights.pop("FromRGB_lod2") is None and weights.pop("FromRGB_lod3") is None
    assert all(np.isfinite(g).all() and np.any(g != 0) for g in weights.values())
    # The same inside tf.function (second-order gradients through the lod switch); a small
    # D keeps the trace short.
    small = sg.Discriminator(num_channels=3, resolution=8, fmap_base=32, fmap_max=16)
    random_values(small, np.random.default_rng(9), lod=0.5)
    reals = tf.constant(np.random.default_rng(10).standard_normal((4, 8, 8, 3)), tf.float32)
    eager = r1_step(small, reals)
    with base.static_lod_floor(0):  # As the training step traces it.
        static = tf.function(r1_step)(small, reals)
    for graph in (tf.function(r1_step)(small, reals), static):
        np.testing.assert_allclose(graph[0], eager[0], rtol=1e-5)
        for g_graph, g_eager in zip(graph[1], eager[1]):
            if g_eager is not None:
                np.testing.assert_allclose(g_graph, g_eager, rtol=1e-4, atol=1e-6)


def test_keras_round_trip(tmp_path):
    rng = np.random.default_rng(6)
    G = sg.Generator(randomize_noise=False, seed=1, **dict(SMALL, label_size=2))
    D = sg.Discriminator(**d_kwargs(dict(SMALL, label_size=2)))
    random_values(G.mapping, rng)
    random_values(G.synthesis, rng)
    random_values(D, rng)
    G.lod.assign(0.5)
    G.dlatent_avg.assign(rng.standard_normal(16).astype(np.float32))
    D.lod.assign(1.25)
    z = rng.standard_normal((4, 16)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[[0, 1, 1, 0]]
    x = rng.standard_normal((4, 16, 16, 3)).astype(np.float32)
    for net, args in ((G, (z, y)), (D, (x, y))):
        path = str(tmp_path / f"{net.name}.keras")
        net.save(path)
        loaded = keras.models.load_model(path)
        assert type(loaded) is type(net)
        np.testing.assert_array_equal(loaded(*args), net(*args))
        for (name, a), b in zip(net.official_variables().items(), loaded.official_variables().values()):
            np.testing.assert_array_equal(a, b, err_msg=name)
        assert loaded.get_config() == net.get_config()


def test_layer_configs_round_trip():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 8, 8, 6)).astype(np.float32)
    w = rng.standard_normal((2, 5)).astype(np.float32)
    noise = rng.standard_normal((1, 8, 8, 1)).astype(np.float32)
    cases = [
        (sl.Blur2D([1, 3, 3, 1]), (x,)),
        (sl.ConstantInput(6), (x,)),
        (sl.StyleMod(6, use_wscale=False), (x, w)),
        (sl.LayerEpilogue(6, nonlinearity="relu", use_pixel_norm=True), (x, w, noise)),
    ]
    # The named blocks the networks are built from.
    x4 = x[:, :4, :4]
    dlatents = np.stack([w, w[::-1]], axis=1)
    epilogue = dict(use_noise=True, use_instance_norm=False)
    cases += [
        (sl.SynthesisInput(6, epilogue=epilogue), (dlatents, (w, w[::-1]), (noise[:, :4, :4],) * 2)),
        (sl.SynthesisInput(6, const_input_layer=False, epilogue=dict(use_noise=False)), (dlatents, (w, w))),
        (sl.SynthesisBlock(3, 4, blur_filter=None, epilogue=epilogue), (x4, (w, w), (noise, noise))),
        (sl.SynthesisBlock(3, 4, fused=True, nonlinearity="relu", epilogue=dict(use_noise=False)), (x4, (w, w))),
        (layers.ToRGB(1, 3, use_wscale=False), (x,)),
        (layers.FromRGB(1, 5), (x,)),
        (sl.DiscriminatorBlock(3, 6, 4), (x,)),
        (sl.DiscriminatorBlock(3, 6, 4, fused=True, blur_filter=None), (x,)),
        (sl.DiscriminatorEpilogue(6, 5, label_size=2, mbstd_group_size=2), (x4,)),
    ]
    for layer, args in cases:
        out = layer(*args)
        for var in layer.weights:
            var.assign(rng.standard_normal(var.shape).astype(np.float32))
        out = layer(*args)
        clone = type(layer).from_config(layer.get_config())
        clone(*args)
        for src, dst in zip(layer.weights, clone.weights):
            dst.assign(src)
        assert clone.get_config() == layer.get_config()
        np.testing.assert_array_equal(clone(*args), out)
    # Blur: normalised [1,2,1] taps with zero padding darken the border.
    ones = np.ones((1, 4, 4, 1), np.float32)
    blurred = sl.Blur2D()(ones).numpy()[0, :, :, 0]
    np.testing.assert_allclose(blurred[1:3, 1:3], 1.0, rtol=1e-6)
    np.testing.assert_allclose(blurred[0, 0], 9 / 16, rtol=1e-6)


def test_mixed_precision_policy():
    G = sg.Generator(dtype="mixed_float16", **SMALL)
    D = sg.Discriminator(dtype="mixed_float16", **d_kwargs(SMALL))
    z = np.random.default_rng(8).standard_normal((4, 16)).astype(np.float32)
    images = G(z)
    scores = D(images)
    assert images.dtype == tf.float16 and scores.dtype == tf.float16
    assert np.isfinite(images.numpy()).all() and np.isfinite(scores.numpy()).all()
    assert all(v.dtype == "float32" for v in G.weights + D.weights)
    assert G.official_static_kwargs()["dtype"] == "float16"
    assert "dtype" not in sg.Generator(**SMALL).official_static_kwargs()
