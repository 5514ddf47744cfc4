"""StyleGAN metrics (perceptual path length, linear separability) on a stand-in generator whose
images are linear in the latent, so that the expected values have closed forms."""

import keras
import numpy as np
import pytest

from metrics import linear_separability as ls
from metrics import perceptual_path_length as ppl

# ----------------------------------------------------------------------------
# Stand-in generator: mapping = identity broadcast to every layer; synthesis = w[:, -1] @ A
# reshaped to an image, plus the stored noise maps (strength `noise_strength`).


class _Mapping(keras.layers.Layer):
    def __init__(self, num_layers, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = num_layers

    def call(self, latents, labels=None):
        return keras.ops.tile(latents[:, None, :], [1, self.num_layers, 1])


class _Synthesis(keras.layers.Layer):
    def __init__(self, matrix, resolution, channels, noise_strength, **kwargs):
        super().__init__(**kwargs)
        self.resolution, self.channels, self.noise_strength = resolution, channels, noise_strength
        self.matrix = self.add_weight(
            shape=matrix.shape, initializer=keras.initializers.Constant(matrix), trainable=False
        )
        self.noise_maps = (
            [
                self.add_weight(shape=(1, 1, resolution, resolution), initializer="random_normal", trainable=False)
                for _ in range(2)
            ]
            if noise_strength
            else []
        )
        self.calls_with_random_noise = 0

    def call(self, dlatents, randomize_noise=True):
        images = keras.ops.reshape(
            keras.ops.matmul(dlatents[:, -1], self.matrix), (-1, self.resolution, self.resolution, self.channels)
        )
        if self.noise_maps:
            if randomize_noise:
                self.calls_with_random_noise += 1
                noise = keras.random.normal(keras.ops.shape(images))
            else:
                noise = keras.ops.reshape(
                    self.noise_maps[0] + 2 * self.noise_maps[1], (1, self.resolution, self.resolution, 1)
                )
            images = images + self.noise_strength * noise
        return images


class LinearGenerator(keras.Model):
    """Gs stand-in with the interface the metrics use."""

    def __init__(self, matrix, resolution, channels=3, num_layers=4, noise_strength=0.0):
        super().__init__()
        self.latent_size = matrix.shape[0]
        self.label_size = 0
        self.num_layers = num_layers
        self.mapping = _Mapping(num_layers)
        self.synthesis = _Synthesis(matrix, resolution, channels, noise_strength)


def _matrix(latent_size, resolution, channels=3, seed=0):
    return (np.random.RandomState(seed).randn(latent_size, resolution * resolution * channels) * 0.05).astype(
        np.float32
    )


def _squared_distance(img0, img1):
    return np.sum(np.square(np.asarray(img0, np.float64) - np.asarray(img1, np.float64)), axis=(1, 2, 3))


# ----------------------------------------------------------------------------
# Path length.


def test_slerp_and_normalize():
    rng = np.random.RandomState(0)
    a, b = rng.randn(5, 7), rng.randn(5, 7)
    na, nb = ppl.normalize(a), ppl.normalize(b)
    np.testing.assert_allclose(np.linalg.norm(na, axis=1), 1.0)
    np.testing.assert_allclose(ppl.slerp(a, b, np.zeros((5, 1))), na, atol=1e-12)
    np.testing.assert_allclose(ppl.slerp(a, b, np.ones((5, 1))), nb, atol=1e-12)
    t = rng.uniform(size=(5, 1))
    mid = ppl.slerp(a, b, t)
    angle = np.arccos(np.sum(na * nb, axis=1))
    np.testing.assert_allclose(np.arccos(np.clip(np.sum(na * mid, axis=1), -1, 1)), t[:, 0] * angle, rtol=1e-6)
    np.testing.assert_allclose(np.arccos(np.clip(np.sum(nb * mid, axis=1), -1, 1)), (1 - t[:, 0]) * angle, rtol=1e-6)


def _expected_samples(
    matrix, resolution, num_samples, minibatch, epsilon, space, sampling, crop, seed, noise_shapes=()
):
    """Closed form of the scaled squared distance per sample, replaying the documented draws."""
    rng = np.random.RandomState(seed)
    expected = []
    for _ in range(0, num_samples, minibatch):
        z = rng.standard_normal([2 * minibatch, matrix.shape[0]]).astype(np.float32).astype(np.float64)
        t = rng.uniform(0.0, 1.0 if sampling == "full" else 0.0, [minibatch]).astype(np.float32).astype(np.float64)
        for shape in noise_shapes:
            rng.standard_normal(shape)
        z0, z1 = z[0::2], z[1::2]
        if space == "w":  # Linear in w: the difference over epsilon is exactly w1 - w0.
            step = z1 - z0
        else:
            step = (ppl.slerp(z0, z1, t[:, None] + epsilon) - ppl.slerp(z0, z1, t[:, None])) / epsilon
        images = (step @ matrix.astype(np.float64)).reshape(minibatch, resolution, resolution, -1) * 127.5
        if crop:
            images = ppl.crop_face(images)
        expected.append(np.sum(images**2, axis=(1, 2, 3)))
    return np.concatenate(expected)


@pytest.mark.parametrize("space,sampling", [("w", "full"), ("z", "full"), ("z", "end"), ("w", "end")])
def test_path_length_of_a_linear_generator_has_closed_form(space, sampling):
    matrix = _matrix(6, 16)
    Gs = LinearGenerator(matrix, 16)
    kwargs = dict(num_samples=40, epsilon=1e-2, space=space, sampling=sampling, crop=True, minibatch_size=8, seed=3)
    samples = ppl.path_length_samples(Gs, _squared_distance, **kwargs)
    expected = _expected_samples(matrix, 16, 40, 8, 1e-2, space, sampling, True, 3)
    assert samples.shape == (40,)
    np.testing.assert_allclose(samples, expected, rtol=2e-3)
    assert ppl.compute_ppl(Gs, _squared_distance, **kwargs) == pytest.approx(ppl.filtered_mean(expected), rel=2e-3)
    if space == "z" and sampling == "end":  # t = 0 matters on the sphere (a linear W path has no t).
        assert not np.allclose(samples, _expected_samples(matrix, 16, 40, 8, 1e-2, space, "full", True, 3), rtol=0.05)


def test_outlier_rejection_is_official():
    d = np.arange(1000, dtype=np.float64)[::-1].copy()
    d[5] = 1e9  # An outlier above the 99th percentile.
    lo, hi = np.percentile(d, 1, method="lower"), np.percentile(d, 99, method="higher")
    kept = d[(d >= lo) & (d <= hi)]
    assert 1e9 not in kept and 0.0 not in kept
    assert ppl.filtered_mean(d) == pytest.approx(kept.mean())


def test_path_length_noise_is_shared_by_both_endpoints():
    # Strong stored noise, redrawn once per minibatch: it cancels in every pair, so the
    # distances keep their noise-free closed form (the draws of the maps are replayed).
    matrix = _matrix(6, 16, seed=1)
    Gs = LinearGenerator(matrix, 16, noise_strength=10.0)
    before = [v.numpy().copy() for v in Gs.synthesis.noise_maps]
    samples = ppl.path_length_samples(
        Gs, _squared_distance, num_samples=16, epsilon=1e-2, space="w", sampling="full", minibatch_size=8, seed=4
    )
    expected = _expected_samples(matrix, 16, 16, 8, 1e-2, "w", "full", True, 4, noise_shapes=[(1, 1, 16, 16)] * 2)
    np.testing.assert_allclose(samples, expected, rtol=2e-3)
    assert Gs.synthesis.calls_with_random_noise == 0
    assert not np.array_equal(before[0], Gs.synthesis.noise_maps[0].numpy())


def test_path_length_crop_and_downsampling():
    # Only pixels outside the face crop depend on the latent: zero with the crop, not without.
    res = 16
    matrix = _matrix(6, res).reshape(6, res, res, 3)
    c = res // 8
    matrix[:, 3 * c : 7 * c, 2 * c : 6 * c, :] = 0
    Gs = LinearGenerator(matrix.reshape(6, -1), res)
    kwargs = dict(num_samples=8, epsilon=1e-2, space="w", minibatch_size=8, seed=0)
    assert np.all(ppl.path_length_samples(Gs, _squared_distance, crop=True, **kwargs) == 0)
    assert np.all(ppl.path_length_samples(Gs, _squared_distance, crop=False, **kwargs) > 0)
    # At 512 the images are box-downsampled by 2: a +-1 checkerboard inside each 2x2 block vanishes.
    base = _matrix(4, 256, seed=2).reshape(4, 256, 256, 3)
    signs = np.array([[1, -1], [-1, 1]], np.float32)
    checker = (base[:, :, None, :, None, :] * signs[None, None, :, None, :, None]).reshape(4, 512, 512, 3)
    Gs = LinearGenerator(checker.reshape(4, -1), 512)
    assert np.all(
        ppl.path_length_samples(Gs, _squared_distance, crop=False, **{**kwargs, "num_samples": 4, "minibatch_size": 4})
        == 0
    )
    Gs = LinearGenerator(base.reshape(4, -1), 256)
    assert np.all(
        ppl.path_length_samples(Gs, _squared_distance, crop=False, **{**kwargs, "num_samples": 4, "minibatch_size": 4})
        > 0
    )


def test_lpips_from_variables_and_missing_weights(tmp_path, monkeypatch):
    rng = np.random.RandomState(0)
    variables = {}
    for idx, (cin, cout) in enumerate(ppl.VGG16_CONV_CHANNELS):
        variables[f"conv{idx}/weight"] = (rng.randn(3, 3, cin, cout) * np.sqrt(2 / (9 * cin))).astype(np.float32)
        variables[f"conv{idx}/bias"] = (rng.randn(cout) * 0.01).astype(np.float32)
    for idx, ch in enumerate(ppl.LPIPS_CHANNELS):
        variables[f"lin{idx}/weight"] = rng.uniform(0, 1, (1, 1, ch, 1)).astype(np.float32)
    distance = ppl.lpips_from_variables(variables)
    x = rng.uniform(0, 255, (2, 16, 16, 3)).astype(np.float32)
    y = np.clip(x + rng.normal(0, 30, x.shape), 0, 255).astype(np.float32)
    dxy, dyx = distance(x, y), distance(y, x)
    assert dxy.shape == (2,) and np.all(dxy > 0)
    np.testing.assert_allclose(dxy, dyx, rtol=1e-5)
    np.testing.assert_allclose(distance(x, x), 0, atol=1e-7)
    doubled = {k: (2 * v if k.startswith("lin") else v) for k, v in variables.items()}
    np.testing.assert_allclose(ppl.lpips_from_variables(doubled)(x, y), 2 * dxy, rtol=1e-5)
    # Features are unit-normalised per pixel: a global brightness gain barely matters compared to noise.
    assert np.all(distance(x, np.clip(x * 1.02, 0, 255)) < dxy)
    del variables["lin4/weight"]
    with pytest.raises(ValueError, match="LPIPS heads"):
        ppl.lpips_from_variables(variables)
    monkeypatch.delenv(ppl.VGG16_PERCEPTUAL_ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError, match="vgg16_zhang_perceptual.pkl") as missing:
        ppl.load_vgg16_perceptual(str(tmp_path / "absent.pkl"))
    assert "\n" not in str(missing.value)


# ----------------------------------------------------------------------------
# Linear separability.


def test_conditional_entropy_closed_forms():
    assert ls.conditional_entropy([[0.5, 0.0], [0.0, 0.5]]) == 0.0  # Perfect prediction.
    assert ls.conditional_entropy([[0.25, 0.25], [0.25, 0.25]]) == pytest.approx(1.0, abs=1e-6)  # Independent.
    assert ls.conditional_entropy([[0.0, 0.5], [0.5, 0.0]]) == 0.0  # Inverted is still informative.
    p = np.array([[0.1, 0.3], [0.2, 0.4]])
    joint = -np.sum(p * np.log2(p))
    px = p.sum(axis=1)
    assert ls.conditional_entropy(p) == pytest.approx(joint + np.sum(px * np.log2(px)), abs=1e-6)  # H(X,Y) - H(X).
    assert ls.conditional_entropy(p * 7) == pytest.approx(ls.conditional_entropy(p), abs=1e-6)  # Normalised.


def test_linear_separability_of_known_directions():
    # Attribute 0 is the sign of a fixed linear function of the image, hence of z and of w:
    # perfectly separable, entropy 0. Attribute 1 is a pseudo-random function of the image:
    # nearly one bit of entropy left. So each space scores 2 ** (0 + ~1) in (1.7, 2].
    res = 8
    matrix = _matrix(5, res, seed=5)
    Gs = LinearGenerator(matrix, res, noise_strength=0.0)
    direction = np.random.RandomState(6).randn(res * res * 3).astype(np.float32)
    linear = lambda images: 20 * np.reshape(images, (images.shape[0], -1)) @ direction
    hashed = lambda images: np.sin(1e4 * np.sum(np.reshape(images, (images.shape[0], -1)) ** 2, axis=1))
    results = ls.sample_attributes(Gs, {0: linear, 1: hashed}, num_samples=398, minibatch_size=8, seed=1)
    assert results["latents"].shape == (400, 5) and results["dlatents"].shape == (400, 5)  # Rounded up.
    np.testing.assert_allclose(results["dlatents"], results["latents"])  # Identity mapping, last layer.
    np.testing.assert_allclose(results[0].sum(axis=1), 1, rtol=1e-6)
    separable = ls.separability_scores(results, 398, 199, attrib_indices=[0], svm_random_state=0)
    assert separable == {"ls_z": 1.0, "ls_w": 1.0}
    both = ls.separability_scores(results, 398, 199, svm_random_state=0)
    for key in ("ls_z", "ls_w"):
        assert 1.7 < both[key] <= 2.0 + 1e-6
    assert ls.compute_ls(Gs, [linear], num_samples=64, num_keep=32, minibatch_size=8, seed=2, svm_random_state=0) == {
        "ls_z": 1.0,
        "ls_w": 1.0,
    }


def test_classifier_files_missing(tmp_path, monkeypatch):
    assert ls.classifier_filename(5) == "celebahq-classifier-05-5-o-clock-shadow.pkl"
    assert len(ls.CELEBAHQ_ATTRIBUTES) == 40 and ls.CELEBAHQ_ATTRIBUTES[39] == "wearing-necktie"
    monkeypatch.delenv(ls.CLASSIFIERS_ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError, match="celebahq-classifier"):
        ls.load_celebahq_classifiers(None)
    with pytest.raises(FileNotFoundError, match="celebahq-classifier-00-male.pkl"):
        ls.load_celebahq_classifiers(str(tmp_path), attrib_indices=[0])


# ----------------------------------------------------------------------------
