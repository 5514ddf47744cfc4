"""Losses and every gradient against the official graph (golden vectors)."""

import inspect
import json

import numpy as np
import pytest
import tensorflow as tf
from conftest import golden_path

from training import loss as losses


def _nhwc(x):
    return tf.constant(np.transpose(x, [0, 2, 3, 1]), tf.float32)


def _progan_nets(data):
    from networks import progan

    config = json.loads(str(data["config"]))
    G = progan.Generator(**config["common"], **config.get("G", {}))
    D = progan.Discriminator(**config["common"], **config.get("D", {}))
    for prefix, net in (("G/", G), ("D/", D)):
        values = {k[len(prefix) :]: data[k] for k in data.keys() if k.startswith(prefix)}
        values.setdefault("lod", np.float32(0))
        net.set_official_values(values)
    return G, D


def _grads_of_mean(loss_fn, net):
    variables = net.all_official_variables()
    trainables = {name: v for name, v in variables.items() if v.trainable}
    with tf.GradientTape() as tape:
        per_sample, _ = loss_fn()
        mean = tf.reduce_mean(per_sample)
    grads = tape.gradient(mean, list(trainables.values()))
    return mean, dict(zip(trainables, grads))


def _check_grads(data, prefix, grads):
    expected_names = sorted(k[len(prefix) :] for k in data.keys() if k.startswith(prefix))
    assert sorted(grads) == expected_names
    for name, grad in grads.items():
        want = data[prefix + name]
        got = np.zeros_like(want) if grad is None else np.asarray(grad)
        # Elements that are sums cancelling to ~0 carry float32 error relative to the tensor's
        # scale, not to their own value: the absolute tolerance follows the tensor's magnitude.
        atol = max(1e-5, 1e-3 * float(np.max(np.abs(want))))
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=atol, err_msg=name)


def _check_losses(data, G, D, g_loss, d_loss):
    """Both losses' means and every gradient against the golden's loss_G / loss_D entries."""
    g_mean, g_grads = _grads_of_mean(g_loss, G)
    np.testing.assert_allclose(g_mean, np.mean(data["loss_G"]), rtol=1e-4)
    _check_grads(data, "loss_G_grad/", g_grads)
    d_mean, d_grads = _grads_of_mean(d_loss, D)
    np.testing.assert_allclose(d_mean, np.mean(data["loss_D"]), rtol=1e-4)
    _check_grads(data, "loss_D_grad/", d_grads)


@pytest.mark.parametrize("golden", ["progan_rgb32.npz", "progan_gray16_cond_unfused.npz"])
def test_progan_losses_and_gradients(golden):
    data = np.load(golden_path(golden))
    G, D = _progan_nets(data)
    lod = float(data["loss_lod"])
    G.lod.assign(lod)
    D.lod.assign(lod)
    wgan = json.loads(str(data["loss_wgan"]) or "{}")
    labels = tf.constant(data["loss_labels"], tf.float32)

    def g_loss():
        return losses.G_wgan_acgan(G, D, tf.constant(data["loss_G_latents"], tf.float32), labels)

    def d_loss():
        return losses.D_wgangp_acgan(
            G,
            D,
            tf.constant(data["loss_D_latents"], tf.float32),
            _nhwc(data["loss_reals"]),
            labels,
            tf.constant(data["loss_mixing_factors"], tf.float32),
            **wgan,
        )

    _check_losses(data, G, D, g_loss, d_loss)


def test_stylegan_repo_wgan_losses_on_progan_networks():
    """Config A of the StyleGAN paper: the StyleGAN repository's G_wgan / D_wgan_gp on ProGAN's
    networks. Unconditional, they are ProGAN's G_wgan_acgan / D_wgangp_acgan term for term, so
    the official ProGAN golden holds for them, values and gradients."""
    data = np.load(golden_path("progan_rgb32.npz"))
    G, D = _progan_nets(data)
    assert D.get_config()["label_size"] == 0
    lod = float(data["loss_lod"])
    G.lod.assign(lod)
    D.lod.assign(lod)
    labels = tf.constant(data["loss_labels"], tf.float32)

    def g_loss():
        return losses.G_wgan(G, D, tf.constant(data["loss_G_latents"], tf.float32), labels)

    def d_loss():
        return losses.D_wgan_gp(
            G,
            D,
            tf.constant(data["loss_D_latents"], tf.float32),
            _nhwc(data["loss_reals"]),
            labels,
            tf.constant(data["loss_mixing_factors"], tf.float32),
        )

    _check_losses(data, G, D, g_loss, d_loss)


def test_stylegan_losses_and_gradients():
    from networks import stylegan

    data = np.load(golden_path("stylegan_rgb32.npz"))
    config = json.loads(str(data["config"]))
    G = stylegan.Generator(**config["common"], **config.get("G", {}))
    # The official D_basic ignores the generator-only keys of the shared config.
    d_params = inspect.signature(stylegan.Discriminator.__init__).parameters
    D = stylegan.Discriminator(**{k: v for k, v in config["common"].items() if k in d_params}, **config.get("D", {}))
    _load_stylegan(G, D, data)
    lod = float(data["loss_lod"])
    G.lod.assign(lod)
    D.lod.assign(lod)
    labels = tf.constant(data["loss_labels"], tf.float32)

    def g_loss():
        return losses.G_logistic_nonsaturating(G, D, tf.constant(data["loss_G_latents"], tf.float32), labels)

    def d_loss():
        return losses.D_logistic_simplegp(
            G,
            D,
            tf.constant(data["loss_D_latents"], tf.float32),
            _nhwc(data["loss_reals"]),
            labels,
            r1_gamma=float(data["loss_r1_gamma"]),
        )

    _check_losses(data, G, D, g_loss, d_loss)


def _load_stylegan(G, D, data):
    for prefix, net in (("G/", G), ("D/", D)):
        variables = net.all_official_variables()
        for name, var in variables.items():
            var.assign(data[prefix + name])


@pytest.mark.parametrize("golden", ["progan_rgb32.npz", "progan_gray16_cond_unfused.npz"])
def test_progan_losses_compiled_match_official(golden):
    """The training step runs the losses in a tf.function at a static level (base.static_lod_floor)
    with the penalty's double backprop; it must give the official values too."""
    from networks import base

    data = np.load(golden_path(golden))
    G, D = _progan_nets(data)
    G.lod.assign(float(data["loss_lod"]))
    D.lod.assign(float(data["loss_lod"]))
    wgan = json.loads(str(data["loss_wgan"]) or "{}")
    trainables = [v for v in D.official_variables().values() if v.trainable]
    names = [name for name, v in D.official_variables().items() if v.trainable]

    @tf.function
    def d_grads(latents, reals, labels, mixing):
        with tf.GradientTape() as tape, base.static_lod_floor(int(np.floor(float(data["loss_lod"])))):
            loss = tf.reduce_mean(losses.D_wgangp_acgan(G, D, latents, reals, labels, mixing, **wgan)[0])
        return loss, tape.gradient(loss, trainables)

    loss, grads = d_grads(
        tf.constant(data["loss_D_latents"], tf.float32),
        _nhwc(data["loss_reals"]),
        tf.constant(data["loss_labels"], tf.float32),
        tf.constant(data["loss_mixing_factors"], tf.float32),
    )
    np.testing.assert_allclose(loss, np.mean(data["loss_D"]), rtol=1e-4)
    _check_grads(data, "loss_D_grad/", dict(zip(names, grads)))
