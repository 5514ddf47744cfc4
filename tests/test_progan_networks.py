"""ProGAN G_paper / D_paper and their layers against the official golden vectors."""

import json
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from networks import layers as L
from networks.progan import Discriminator
from networks.progan import Generator
from tests.conftest import golden_path

GOLDEN_FILES = ["progan_rgb32.npz", "progan_gray16_cond_unfused.npz"]
FWD = dict(rtol=1e-4, atol=1e-4)


def nchw_to_nhwc(x):
    return np.transpose(x, (0, 2, 3, 1))


def build_from_golden(name):
    """G and D built with the golden config and loaded with its arrays (lod 0)."""
    data = np.load(golden_path(name))
    config = json.loads(str(data["config"]))
    G = Generator(**config["common"], **config.get("G", {}))
    D = Discriminator(**config["common"], **config.get("D", {}))
    for net, prefix in ((G, "G/"), (D, "D/")):
        values = {key[len(prefix) :]: data[key] for key in data.files if key.startswith(prefix)}
        values["lod"] = np.float32(0.0)
        net.set_official_values(values)
    return data, G, D


def golden_variable_names(data, prefix):
    return [key[len(prefix) :] for key in data.files if key.startswith(prefix)]


# ----------------------------------------------------------------------------
# Whole networks against golden.


@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_golden_eager_every_lod(name):
    data, G, D = build_from_golden(name)
    images_in = nchw_to_nhwc(data["images_in"])
    for k, lod in enumerate(data["lods"]):
        G.lod.assign(lod)
        D.lod.assign(lod)
        images = G(data["latents"], data["labels"])
        scores, labels = D(images_in)
        assert images.shape == images_in.shape
        np.testing.assert_allclose(
            images.numpy(), nchw_to_nhwc(data["G_images_out"][k]), **FWD, err_msg=f"G at lod {lod}"
        )
        np.testing.assert_allclose(scores.numpy(), data["D_scores_out"][k], **FWD, err_msg=f"D at lod {lod}")
        assert labels.shape == data["D_labels_out"][k].shape
        np.testing.assert_allclose(labels.numpy(), data["D_labels_out"][k], **FWD, err_msg=f"D labels at {lod}")


@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_golden_one_tf_function_for_all_lods(name):
    data, G, D = build_from_golden(name)

    @tf.function
    def run(latents, labels, images):
        return G(latents, labels), D(images)

    args = (tf.constant(data["latents"]), tf.constant(data["labels"]), tf.constant(nchw_to_nhwc(data["images_in"])))
    for k, lod in enumerate(data["lods"]):
        G.lod.assign(lod)
        D.lod.assign(lod)
        images, (scores, labels) = run(*args)
        np.testing.assert_allclose(images.numpy(), nchw_to_nhwc(data["G_images_out"][k]), **FWD)
        np.testing.assert_allclose(scores.numpy(), data["D_scores_out"][k], **FWD)
        np.testing.assert_allclose(labels.numpy(), data["D_labels_out"][k], **FWD)
    assert run.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("structure", ["linear", "nested"])
def test_golden_official_structures(structure):
    """The official linear and literal nested-cond structures give the same golden outputs."""
    data, G0, D0 = build_from_golden("progan_gray16_cond_unfused.npz")
    config = json.loads(str(data["config"]))
    G = Generator(**config["common"], **config["G"], structure=structure)
    D = Discriminator(**config["common"], **config["D"], structure=structure)
    G.set_official_values({k: v.numpy() for k, v in G0.official_variables().items()})
    D.set_official_values({k: v.numpy() for k, v in D0.official_variables().items()})
    run = tf.function(lambda z, c, x: (G(z, c), D(x)))
    images_in = nchw_to_nhwc(data["images_in"])
    for k, lod in enumerate(data["lods"]):
        G.lod.assign(lod)
        D.lod.assign(lod)
        for images, (scores, labels) in (
            run(data["latents"], data["labels"], images_in),
            (G(data["latents"], data["labels"]), D(images_in)),
        ):
            np.testing.assert_allclose(images.numpy(), nchw_to_nhwc(data["G_images_out"][k]), **FWD)
            np.testing.assert_allclose(scores.numpy(), data["D_scores_out"][k], **FWD)
            np.testing.assert_allclose(labels.numpy(), data["D_labels_out"][k], **FWD)
    assert run.experimental_get_tracing_count() == 1
    assert G.get_config()["structure"] == structure
    assert "structure" not in G.official_static_kwargs()


@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_official_variable_names_order_and_shapes(name):
    data, G, D = build_from_golden(name)
    for net, prefix in ((G, "G/"), (D, "D/")):
        variables = net.official_variables()
        assert list(variables) == ["lod"] + golden_variable_names(data, prefix)
        for key, var in variables.items():
            if key != "lod":
                assert tuple(var.shape) == data[prefix + key].shape
                np.testing.assert_array_equal(var.numpy(), data[prefix + key])
        assert not variables["lod"].trainable
        assert len(net.trainable_weights) == len(variables) - 1
        assert net.official_components() == {}


def test_set_official_values_is_strict():
    data, G, _ = build_from_golden("progan_rgb32.npz")
    values = {key: var.numpy() for key, var in G.official_variables().items()}
    with pytest.raises(ValueError, match="ToRGB_lod0/bias"):
        G.set_official_values({k: v for k, v in values.items() if k != "ToRGB_lod0/bias"})
    with pytest.raises(ValueError, match="8x8/Conv0/weight"):
        G.set_official_values(dict(values, **{"8x8/Conv0/weight": values["8x8/Conv0_up/weight"]}))
    bad = dict(values)
    bad["16x16/Conv0_up/weight"] = np.transpose(values["16x16/Conv0_up/weight"], (0, 1, 3, 2))
    before = G.official_variables()["4x4/Dense/weight"].numpy().copy()
    values_changed = {k: v + 1 for k, v in bad.items()}
    with pytest.raises(ValueError, match="16x16/Conv0_up/weight"):
        G.set_official_values(values_changed)
    # Nothing is assigned when validation fails.
    np.testing.assert_array_equal(G.official_variables()["4x4/Dense/weight"].numpy(), before)


def test_static_kwargs_and_variable_init():
    G = Generator(num_channels=3, resolution=16, fmap_base=64, fmap_max=32, dtype="float16")
    kwargs = G.official_static_kwargs()
    assert kwargs["latent_size"] == 32 and kwargs["dtype"] == "float16" and kwargs["fused_scale"] is True
    assert G.official_build_func_name == "G_paper"
    assert Discriminator.official_build_func_name == "D_paper"
    variables = G.official_variables()
    # wscale: stored weights N(0, 1), biases zero, lod 0.
    weight = variables["4x4/Dense/weight"].numpy()
    assert abs(weight.std() - 1.0) < 0.05 and abs(weight.mean()) < 0.05
    assert not np.any(variables["4x4/Dense/bias"].numpy())
    assert float(variables["lod"].numpy()) == 0.0
    # Fused up-conv is [k, k, out, in]; D fused down-conv is [k, k, in, out].
    assert tuple(variables["16x16/Conv0_up/weight"].shape) == (3, 3, 8, 16)  # nf(3) out, nf(2) in.
    D = Discriminator(num_channels=3, resolution=16, fmap_base=64, fmap_max=32)
    assert tuple(D.official_variables()["16x16/Conv1_down/weight"].shape) == (3, 3, 8, 16)  # nf(3) in, nf(2) out.
    assert tuple(D.official_variables()["4x4/Conv/weight"].shape) == (3, 3, 33, 32)
    D0 = Discriminator(num_channels=3, resolution=16, fmap_base=64, fmap_max=32, mbstd_group_size=0)
    assert tuple(D0.official_variables()["4x4/Conv/weight"].shape) == (3, 3, 32, 32)


def test_default_fmap_formula():
    G = Generator(num_channels=3, resolution=64)  # Official defaults: 8192 / 1.0 / 512.
    shapes = {k: tuple(v.shape) for k, v in G.official_variables().items()}
    assert shapes["4x4/Dense/weight"] == (512, 8192)
    assert shapes["64x64/Conv0_up/weight"] == (3, 3, 256, 512)
    assert shapes["ToRGB_lod0/weight"] == (1, 1, 256, 3)


def test_keras_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    G = Generator(num_channels=3, resolution=16, label_size=2, fmap_base=64, fmap_max=32, fused_scale=False)
    D = Discriminator(num_channels=3, resolution=16, label_size=2, fmap_base=64, fmap_max=32)
    for net in (G, D):
        for var in net.trainable_weights:
            var.assign(rng.standard_normal(var.shape).astype(np.float32))
    G.lod.assign(0.6)
    D.lod.assign(1.3)
    G.save(tmp_path / "G.keras")
    D.save(tmp_path / "D.keras")
    G2 = keras.models.load_model(tmp_path / "G.keras")
    D2 = keras.models.load_model(tmp_path / "D.keras")
    assert isinstance(G2, Generator) and isinstance(D2, Discriminator)
    assert float(G2.lod.numpy()) == pytest.approx(0.6) and float(D2.lod.numpy()) == pytest.approx(1.3)
    latents = rng.standard_normal((4, 32)).astype(np.float32)
    labels = rng.standard_normal((4, 2)).astype(np.float32)
    images = rng.standard_normal((4, 16, 16, 3)).astype(np.float32)
    np.testing.assert_array_equal(G(latents, labels).numpy(), G2(latents, labels).numpy())
    for a, b in zip(D(images), D2(images)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_from_config_builds_every_variable():
    G = Generator(num_channels=1, resolution=8, fmap_base=32, fmap_max=16, label_size=3)
    G2 = Generator.from_config(G.get_config())
    assert G2.get_config() == G.get_config()
    assert [v.shape for v in G2.weights] == [v.shape for v in G.weights]
    assert list(G2.official_variables()) == list(G.official_variables())
    D = Discriminator(num_channels=1, resolution=8, fmap_base=32, fmap_max=16, mbstd_group_size=2)
    D2 = Discriminator.from_config(D.get_config())
    assert [v.shape for v in D2.weights] == [v.shape for v in D.weights]


def test_networks_are_named_blocks_in_official_order():
    """Table 2 of the paper as blocks with official scopes; each block round-trips its config."""
    G = Generator(num_channels=3, resolution=16, fmap_base=64, fmap_max=16, fused_scale=False)
    D = Discriminator(num_channels=3, resolution=16, fmap_base=64, fmap_max=16)
    assert [(type(b).__name__, b.official_scope) for b in G.official_blocks()] == [
        ("GeneratorInputBlock", "4x4"),
        ("ToRGB", "ToRGB_lod2"),
        ("GeneratorBlock", "8x8"),
        ("ToRGB", "ToRGB_lod1"),
        ("GeneratorBlock", "16x16"),
        ("ToRGB", "ToRGB_lod0"),
    ]
    assert [(type(b).__name__, b.official_scope) for b in D.official_blocks()] == [
        ("FromRGB", "FromRGB_lod0"),
        ("DiscriminatorBlock", "16x16"),
        ("FromRGB", "FromRGB_lod1"),
        ("DiscriminatorBlock", "8x8"),
        ("FromRGB", "FromRGB_lod2"),
        ("DiscriminatorEpilogue", "4x4"),
    ]
    assert list(G.official_blocks()[2].official_variables()) == [
        "Conv0/weight",
        "Conv0/bias",
        "Conv1/weight",
        "Conv1/bias",
    ]
    assert list(D.official_blocks()[1].official_variables()) == [
        "Conv0/weight",
        "Conv0/bias",
        "Conv1_down/weight",
        "Conv1_down/bias",
    ]
    assert G.family == D.family == "progan"
    for block in G.official_blocks() + D.official_blocks():
        clone = type(block).from_config(block.get_config())
        assert clone.get_config() == block.get_config() and clone.official_scope == block.official_scope


@pytest.mark.slow
def test_gradient_penalty_graph_at_fractional_lod():
    """Second-order gradients flow through the lod switch to images and weights."""
    D = Discriminator(num_channels=3, resolution=8, fmap_base=64, fmap_max=32)
    linear = Discriminator(num_channels=3, resolution=8, fmap_base=64, fmap_max=32, structure="linear")
    linear.set_official_values({k: v.numpy() for k, v in D.official_variables().items()})
    images = tf.constant(np.random.default_rng(2).standard_normal((4, 8, 8, 3)).astype(np.float32))

    @tf.function
    def penalty_and_grads(x):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                score = tf.reduce_sum(D(x)[0])
            grad = inner.gradient(score, x)
            penalty = tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=[1, 2, 3]))
        return grad, penalty, outer.gradient(penalty, D.official_variables()["8x8/Conv0/weight"])

    for lod in (0.0, 0.5, 1.0, 1.7):
        D.lod.assign(lod)
        grad, penalty, weight_grad = penalty_and_grads(images)
        if lod >= 1.0:  # The 8x8 block is not used at lod >= 1: zero gradient.
            assert weight_grad is None or not np.any(weight_grad.numpy())
            weight_grad = tf.ones(())
        assert grad.shape == images.shape and float(penalty) > 0
        assert float(tf.reduce_sum(tf.abs(weight_grad))) > 0
        # Same image gradient eagerly and through the official linear structure (no control flow).
        for reference in (D, linear):
            reference.lod.assign(lod)
            with tf.GradientTape() as tape:
                tape.watch(images)
                score = tf.reduce_sum(reference(images)[0])
            np.testing.assert_allclose(grad.numpy(), tape.gradient(score, images).numpy(), rtol=1e-4, atol=1e-6)
    assert penalty_and_grads.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("dtype", ["float16", "mixed_bfloat16"])
def test_mixed_precision(dtype):
    data, G32, D32 = build_from_golden("progan_rgb32.npz")
    config = json.loads(str(data["config"]))["common"]
    G = Generator(**config, dtype=dtype)
    D = Discriminator(**config, dtype=dtype)
    G.set_official_values({k: v.numpy() for k, v in G32.official_variables().items()})
    D.set_official_values({k: v.numpy() for k, v in D32.official_variables().items()})
    assert all(v.dtype == "float32" for v in G.weights + D.weights)
    assert G.compute_dtype in ("float16", "bfloat16")
    for lod in (0.0, 1.5):
        G.lod.assign(lod)
        D.lod.assign(lod)
        images = G(data["latents"])
        scores, _ = D(nchw_to_nhwc(data["images_in"]))
        assert images.dtype == tf.float32 and scores.dtype == tf.float32
        k = list(data["lods"]).index(np.float32(lod))
        tol = 0.05 if dtype == "float16" else 0.3
        np.testing.assert_allclose(images.numpy(), nchw_to_nhwc(data["G_images_out"][k]), atol=tol, rtol=0)
        np.testing.assert_allclose(scores.numpy(), data["D_scores_out"][k], atol=tol * 2, rtol=0.05)


def test_argument_errors():
    with pytest.raises(ValueError, match="power of two"):
        Generator(resolution=48)
    with pytest.raises(ValueError, match="dtype"):
        Discriminator(dtype="int8")
    with pytest.raises(ValueError, match="structure"):
        Generator(structure="fast")
    G = Generator(resolution=8, label_size=2, fmap_base=32, fmap_max=16)
    with pytest.raises(ValueError, match="labels"):
        G(np.zeros((2, 16), np.float32))
    D = Discriminator(resolution=8, fmap_base=32, fmap_max=16, mbstd_group_size=4)
    with pytest.raises(ValueError, match="divisible"):
        D(np.zeros((6, 8, 8, 1), np.float32))


# ----------------------------------------------------------------------------
# The recursive structure skips unneeded resolutions.


def _count_calls(monkeypatch, net, scopes):
    blocks = {block.official_scope: block for block in net.official_blocks()}
    counts = dict.fromkeys(scopes, 0)
    for scope in scopes:
        layer = blocks[scope]
        original = layer.call

        def counted(*args, _scope=scope, _original=original, **kwargs):
            counts[_scope] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(layer, "call", counted)
    return counts


def test_recursive_structure_skips_high_resolutions(monkeypatch):
    G = Generator(num_channels=3, resolution=64, fmap_base=64, fmap_max=16)
    D = Discriminator(num_channels=3, resolution=64, fmap_base=64, fmap_max=16)
    g_scopes = ["8x8", "ToRGB_lod3", "16x16", "32x32", "64x64", "ToRGB_lod0", "ToRGB_lod4"]
    d_scopes = ["FromRGB_lod0", "64x64", "16x16", "FromRGB_lod3", "FromRGB_lod4", "8x8"]
    g_counts = _count_calls(monkeypatch, G, g_scopes)
    d_counts = _count_calls(monkeypatch, D, d_scopes)
    latents = np.zeros((2, 16), np.float32)
    images = np.zeros((2, 64, 64, 3), np.float32)
    G.lod.assign(4.0)  # 4x4 only.
    D.lod.assign(4.0)
    G(latents)
    D(images)
    assert g_counts == {"8x8": 0, "ToRGB_lod3": 0, "16x16": 0, "32x32": 0, "64x64": 0, "ToRGB_lod0": 0, "ToRGB_lod4": 1}
    assert d_counts == {"FromRGB_lod0": 0, "64x64": 0, "16x16": 0, "FromRGB_lod3": 0, "FromRGB_lod4": 1, "8x8": 0}
    G.lod.assign(2.5)  # 16x16 fading into 8x8: both ToRGB at those levels.
    D.lod.assign(2.5)
    G(latents)
    D(images)
    assert g_counts["ToRGB_lod3"] == 1 and g_counts["16x16"] == 1 and g_counts["32x32"] == 0
    assert g_counts["ToRGB_lod0"] == 0
    assert d_counts["16x16"] == 1 and d_counts["FromRGB_lod3"] == 1 and d_counts["FromRGB_lod0"] == 0


def test_tf_function_cost_follows_lod():
    """Inside one tf.function, a high lod runs much faster than lod 0 (untaken conds cost nothing)."""
    G = Generator(num_channels=3, resolution=64, fmap_base=512, fmap_max=64)
    latents = tf.constant(np.zeros((8, 64), np.float32))
    run = tf.function(lambda z: G(z))

    def median_time(lod):
        G.lod.assign(lod)
        run(latents).numpy()
        times = []
        for _ in range(5):
            start = time.perf_counter()
            run(latents).numpy()
            times.append(time.perf_counter() - start)
        return float(np.median(times))

    fast, slow = median_time(4.0), median_time(0.0)
    assert fast * 3 < slow, (fast, slow)
    assert run.experimental_get_tracing_count() == 1


# ----------------------------------------------------------------------------
# Layers: config round trip and numerics against numpy.


def np_conv_same(x, w):
    """NHWC x, HWIO w (odd k): stride-1 SAME cross-correlation."""
    k = w.shape[0]
    p = k // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    out = np.zeros(x.shape[:3] + (w.shape[3],), np.float64)
    for i in range(k):
        for j in range(k):
            out += np.einsum("nhwc,co->nhwo", xp[:, i : i + x.shape[1], j : j + x.shape[2]], w[i, j])
    return out


def np_upscale(x, f=2):
    return x.repeat(f, axis=1).repeat(f, axis=2)


def np_downscale(x, f=2):
    n, h, w, c = x.shape
    return x.reshape(n, h // f, f, w // f, f, c).mean(axis=(2, 4))


def roundtrip(layer, input_shape):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    if input_shape is not None:
        clone.build(input_shape)
        for src, dst in zip(layer.weights, clone.weights):
            dst.assign(src)
    return clone


def random_weights(layer, rng):
    for var in layer.weights:
        var.assign(rng.standard_normal(var.shape).astype(np.float32))


def test_equalized_dense():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    layer = L.EqualizedDense(4, gain=2.0, lrmul=0.01, name="d")
    layer.build((None, 5))
    assert [tuple(v.shape) for v in layer.weights] == [(5, 4), (4,)]
    assert layer.weight.numpy().std() > 10  # Stored N(0, 1/lrmul).
    random_weights(layer, rng)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    expected = x @ (w * 2.0 / np.sqrt(5) * 0.01) + b * 0.01
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(roundtrip(layer, (None, 5))(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    plain = L.EqualizedDense(4, gain=2.0, use_wscale=False, use_bias=False)
    plain.build((None, 5000))
    assert len(plain.weights) == 1
    assert plain.weight.numpy().std() == pytest.approx(2.0 / np.sqrt(5000), rel=0.05)  # N(0, he_std).
    plain.weight.assign(np.ones((5000, 4), np.float32))
    np.testing.assert_allclose(plain(np.ones((1, 5000), np.float32)).numpy(), 5000.0)  # No runtime scale.


def test_equalized_conv2d():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    layer = L.EqualizedConv2D(5, 3, name="c")
    layer.build(x.shape)
    assert tuple(layer.weight.shape) == (3, 3, 3, 5)
    random_weights(layer, rng)
    expected = np_conv_same(x, layer.weight.numpy() * np.sqrt(2) / np.sqrt(27)) + layer.bias.numpy()
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(roundtrip(layer, x.shape)(x).numpy(), expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="odd"):
        L.EqualizedConv2D(5, 2)


@pytest.mark.parametrize("transposed_weight", [True, False])
def test_upscale_conv2d_equals_upscale_then_flipped_conv(transposed_weight):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 4, 3)).astype(np.float32)
    layer = L.UpscaleConv2D(5, 3, transposed_weight=transposed_weight)
    layer.build(x.shape)
    random_weights(layer, rng)
    w = layer.weight.numpy() * np.sqrt(2) / np.sqrt(27)  # fan_in = k*k*in.
    if transposed_weight:
        assert w.shape == (3, 3, 5, 3)
        kernel = w[::-1, ::-1].transpose(0, 1, 3, 2)  # Spec 1.3: flip and swap to HWIO.
    else:
        assert w.shape == (3, 3, 3, 5)
        kernel = w[::-1, ::-1]
    expected = np_conv_same(np_upscale(x), kernel) + layer.bias.numpy()
    out = layer(x).numpy()
    assert out.shape == (2, 8, 8, 5)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(roundtrip(layer, x.shape)(x).numpy(), expected, rtol=1e-4, atol=1e-5)


def test_conv2d_downscale_equals_conv_then_box():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 8, 8, 3)).astype(np.float32)
    layer = L.Conv2DDownscale(4, 3)
    layer.build(x.shape)
    random_weights(layer, rng)
    expected = np_downscale(np_conv_same(x, layer.weight.numpy() * np.sqrt(2) / np.sqrt(27))) + layer.bias.numpy()
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(roundtrip(layer, x.shape)(x).numpy(), expected, rtol=1e-4, atol=1e-5)


def test_bias_pixelnorm_resampling_lerp():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 4, 3)).astype(np.float32)
    bias = L.Bias(lrmul=0.5)
    bias.build(x.shape)
    bias.bias.assign([1.0, 2.0, 3.0])
    np.testing.assert_allclose(roundtrip(bias, x.shape)(x).numpy(), x + np.array([0.5, 1.0, 1.5]), rtol=1e-6)

    expected = x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + 1e-4)
    np.testing.assert_allclose(roundtrip(L.PixelNorm(1e-4), None)(x).numpy(), expected, rtol=1e-5)

    np.testing.assert_array_equal(roundtrip(L.Upscale2D(4), None)(x).numpy(), np_upscale(x, 4))
    np.testing.assert_allclose(roundtrip(L.Downscale2D(2), None)(x).numpy(), np_downscale(x, 2), rtol=1e-6)
    np.testing.assert_array_equal(L.Upscale2D(1)(x).numpy(), x)

    lerp = roundtrip(L.LerpClip(), None)
    y = rng.standard_normal(x.shape).astype(np.float32)
    np.testing.assert_allclose(lerp(x, y, t=0.25).numpy(), x + (y - x) * 0.25, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(lerp(x, y, t=1.7).numpy(), y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(lerp(x, y, t=-0.3).numpy(), x, rtol=1e-6)


def np_minibatch_stddev(x, group_size, num_new_features=1):
    n, h, w, c = x.shape
    g = min(group_size, n)
    m = n // g
    out = np.zeros((n, h, w, num_new_features), np.float64)
    for member in range(m):
        group = x[member::m].astype(np.float64)  # Strided: sample g*M + m is in group m.
        std = np.sqrt(group.var(axis=0) + 1e-8)  # Population variance.
        for f in range(num_new_features):
            part = std[..., f * (c // num_new_features) : (f + 1) * (c // num_new_features)]
            out[member::m, :, :, f] = part.mean()
    return np.concatenate([x, out], axis=-1)


@pytest.mark.parametrize("group_size,num_new_features,batch", [(4, 1, 8), (4, 1, 2), (2, 2, 6)])
def test_minibatch_stddev(group_size, num_new_features, batch):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((batch, 4, 4, 6)).astype(np.float32) * np.arange(1, batch + 1)[:, None, None, None]
    layer = roundtrip(L.MinibatchStddev(group_size, num_new_features), None)
    out = layer(x).numpy()
    assert out.shape == (batch, 4, 4, 6 + num_new_features)
    np.testing.assert_allclose(out, np_minibatch_stddev(x, group_size, num_new_features), rtol=1e-5, atol=1e-6)
    out16 = L.MinibatchStddev(group_size, num_new_features, dtype="mixed_float16")(x)
    assert out16.dtype == tf.float16
    np.testing.assert_allclose(out16.numpy(), out, rtol=2e-3, atol=2e-3)


def test_flatten_nchw_order():
    x = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    flat = L.flatten_nchw(x).numpy()
    np.testing.assert_array_equal(flat, x.transpose(0, 3, 1, 2).reshape(2, -1))
    np.testing.assert_array_equal(L.unflatten_nchw(flat, 3, 4, 4).numpy(), x)
