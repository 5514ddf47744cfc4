"""The official loss functions (ProGAN loss.py and StyleGAN training/loss.py).

Differences from the official signatures, all deliberate:
- The random draws (latents, random labels, gradient-penalty mixing factors) are arguments
  instead of being drawn inside, so that a training step owns its random state (exact
  resume) and tests can feed the official draws.
- Every loss returns `(per_sample_loss [N], stats)`; `stats` holds the official
  autosummary quantities (`Loss/real_scores`, ...) as per-sample tensors. The official code
  adds [N,1] scores to [N] penalties, giving an [N,N] tensor whose mean equals the mean of
  our [N] vector.
- `loss_scale` replaces `opt.apply_loss_scaling`/`undo_loss_scaling`: the inner gradient of a
  penalty is taken of the scaled sum and divided back, as the official fp16 graph does.

Networks are called at full resolution (lower lods are nearest-upscaled by G and average-pooled
by D), so gradient penalties are taken w.r.t. full-resolution images as in the official graph.
"""

import tensorflow as tf


def _fp32(*values):
    return [tf.cast(value, tf.float32) for value in values]


def _softmax_cross_entropy(labels, logits):
    return tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)


def _input_gradient(
    D_fn,  # Callable images -> per-sample scores [N] (float32).
    images,  # [N, H, W, C] images to differentiate at.
    loss_scale=None,  # Optional loss scale for fp16 (scaled before, divided after).
):
    """Gradient of sum(D(images)) w.r.t. images, and the per-sample scores."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        scores = D_fn(images)
        total = tf.reduce_sum(scores)
        if loss_scale is not None:
            total = total * loss_scale
    grads = tape.gradient(total, images)
    grads = tf.cast(grads, tf.float32)
    if loss_scale is not None:
        grads = grads / loss_scale
    return grads, scores


def _squared_norm(grads):
    return tf.reduce_sum(tf.square(grads), axis=[1, 2, 3])


# ---------------------------------------------------------------------------------------------
# ProGAN (loss.py:25-80).


def G_wgan_acgan(
    G,  # Generator: G(latents, labels) -> images.
    D,  # Discriminator: D(images) -> (scores, label_logits).
    latents,  # [N, latent_size] latents.
    labels,  # [N, label_size] labels drawn at random from the dataset.
    cond_weight=1.0,  # Weight of the AC-GAN term.
):
    """WGAN generator loss, plus the AC-GAN label term when D predicts labels."""
    fake_images = G(latents, labels, training=True)
    fake_scores, fake_labels = D(fake_images, training=True)
    fake_scores, fake_labels = _fp32(fake_scores, fake_labels)
    loss = -fake_scores[:, 0]
    stats = {}
    if fake_labels.shape[1]:
        label_penalty = _softmax_cross_entropy(labels, fake_labels)
        loss += label_penalty * cond_weight
        stats["Loss/label_penalty_fakes"] = label_penalty
    return loss, stats


def D_wgangp_acgan(
    G,  # Generator: G(latents, labels) -> images.
    D,  # Discriminator: D(images) -> (scores, label_logits).
    latents,  # [N, latent_size] latents for the fakes.
    reals,  # [N, H, W, C] processed reals at full resolution.
    labels,  # [N, label_size] labels of the reals (also given to G).
    mixing_factors,  # [N, 1, 1, 1] uniform [0,1) interpolation factors of the penalty.
    wgan_lambda=10.0,  # Weight for the gradient penalty term.
    wgan_epsilon=0.001,  # Weight for the epsilon (drift) term.
    wgan_target=1.0,  # Target value for the gradient norm.
    cond_weight=1.0,  # Weight of the AC-GAN terms.
    loss_scale=None,  # fp16 loss scale for the penalty's inner gradient.
):
    """WGAN-GP discriminator loss with drift term and AC-GAN label terms."""
    fake_images = G(latents, labels, training=True)
    real_scores, real_labels = _fp32(*D(reals, training=True))
    fake_scores, fake_labels = _fp32(*D(fake_images, training=True))
    real_scores, fake_scores = real_scores[:, 0], fake_scores[:, 0]
    loss = fake_scores - real_scores

    gradient_penalty, mixed_norms, mixed_scores = _gradient_penalty(
        lambda x: tf.cast(D(x, training=True)[0][:, 0], tf.float32),
        reals,
        fake_images,
        mixing_factors,
        wgan_lambda,
        wgan_target,
        loss_scale,
    )
    loss += gradient_penalty

    epsilon_penalty = tf.square(real_scores)
    loss += epsilon_penalty * wgan_epsilon
    stats = {
        "Loss/real_scores": real_scores,
        "Loss/fake_scores": fake_scores,
        "Loss/mixed_scores": mixed_scores,
        "Loss/mixed_norms": mixed_norms,
        "Loss/epsilon_penalty": epsilon_penalty,
    }
    if real_labels.shape[1]:
        label_penalty_reals = _softmax_cross_entropy(labels, real_labels)
        label_penalty_fakes = _softmax_cross_entropy(labels, fake_labels)
        loss += (label_penalty_reals + label_penalty_fakes) * cond_weight
        stats["Loss/label_penalty_reals"] = label_penalty_reals
        stats["Loss/label_penalty_fakes"] = label_penalty_fakes
    return loss, stats


# ---------------------------------------------------------------------------------------------
# StyleGAN (training/loss.py). D takes labels and returns the label-selected score [N, 1].


def _scores(D, images, labels):
    scores = D(images, labels, training=True)
    if isinstance(scores, (tuple, list)):
        # ProGAN's D_paper: (scores, AC-GAN logits). The StyleGAN repository's copy of it
        # (networks_progan.py) returns the scores only, and they do not depend on the logits.
        scores = scores[0]
    return tf.cast(scores, tf.float32)[:, 0]


def G_wgan(
    G,  # Generator: G(latents, labels, training=True) -> images.
    D,  # Discriminator: D(images, labels) -> scores [N, 1].
    latents,  # [N, latent_size] latents.
    labels,  # [N, label_size] random dataset labels.
):
    """WGAN generator loss: -D(G(z))."""
    fake_scores = _scores(D, G(latents, labels, training=True), labels)
    return -fake_scores, {"Loss/scores/fake": fake_scores}


def D_wgan(
    G,  # Generator.
    D,  # Discriminator.
    latents,  # [N, latent_size] latents for the fakes.
    reals,  # [N, H, W, C] processed reals.
    labels,  # [N, label_size] labels of the reals.
    wgan_epsilon=0.001,  # Weight for the epsilon (drift) term.
):
    """WGAN discriminator loss with drift term, no penalty."""
    real_scores = _scores(D, reals, labels)
    fake_scores = _scores(D, G(latents, labels, training=True), labels)
    epsilon_penalty = tf.square(real_scores)
    loss = fake_scores - real_scores + epsilon_penalty * wgan_epsilon
    return loss, {
        "Loss/scores/real": real_scores,
        "Loss/scores/fake": fake_scores,
        "Loss/epsilon_penalty": epsilon_penalty,
    }


def _gradient_penalty(
    D_fn,  # Callable images -> per-sample float32 scores [N].
    reals,  # [N, H, W, C] processed reals.
    fakes,  # [N, H, W, C] generated images.
    mixing_factors,  # [N, 1, 1, 1] interpolation factors.
    wgan_lambda,  # Weight of the penalty.
    wgan_target,  # Target gradient norm.
    loss_scale,  # fp16 loss scale for the inner gradient, or None.
):
    """WGAN-GP penalty at mixed = reals + (fakes - reals) * t; returns (penalty, norms, mixed scores)."""
    fakes = tf.cast(fakes, reals.dtype)
    mixed = reals + (fakes - reals) * tf.cast(mixing_factors, reals.dtype)
    grads, scores = _input_gradient(D_fn, mixed, loss_scale)
    norms = tf.sqrt(_squared_norm(grads))
    return tf.square(norms - wgan_target) * (wgan_lambda / (wgan_target**2)), norms, scores


def D_wgan_gp(
    G,  # Generator.
    D,  # Discriminator.
    latents,  # [N, latent_size] latents for the fakes.
    reals,  # [N, H, W, C] processed reals.
    labels,  # [N, label_size] labels of the reals.
    mixing_factors,  # [N, 1, 1, 1] uniform [0,1) interpolation factors.
    wgan_lambda=10.0,  # Weight for the gradient penalty term.
    wgan_epsilon=0.001,  # Weight for the epsilon term.
    wgan_target=1.0,  # Target value for gradient magnitudes.
    loss_scale=None,  # fp16 loss scale for the penalty's inner gradient.
):
    """WGAN-GP discriminator loss (StyleGAN's, without AC-GAN terms)."""
    fakes = G(latents, labels, training=True)
    real_scores = _scores(D, reals, labels)
    fake_scores = _scores(D, fakes, labels)
    penalty, _, _ = _gradient_penalty(
        lambda x: _scores(D, x, labels), reals, fakes, mixing_factors, wgan_lambda, wgan_target, loss_scale
    )
    epsilon_penalty = tf.square(real_scores)
    loss = fake_scores - real_scores + penalty + epsilon_penalty * wgan_epsilon
    return loss, {
        "Loss/scores/real": real_scores,
        "Loss/scores/fake": fake_scores,
        "Loss/gradient_penalty": penalty,
        "Loss/epsilon_penalty": epsilon_penalty,
    }


def D_hinge(
    G,  # Generator.
    D,  # Discriminator.
    latents,  # [N, latent_size] latents for the fakes.
    reals,  # [N, H, W, C] processed reals.
    labels,  # [N, label_size] labels of the reals.
):
    """Hinge discriminator loss."""
    real_scores = _scores(D, reals, labels)
    fake_scores = _scores(D, G(latents, labels, training=True), labels)
    loss = tf.maximum(0.0, 1.0 + fake_scores) + tf.maximum(0.0, 1.0 - real_scores)
    return loss, {"Loss/scores/real": real_scores, "Loss/scores/fake": fake_scores}


def D_hinge_gp(
    G,  # Generator.
    D,  # Discriminator.
    latents,  # [N, latent_size] latents for the fakes.
    reals,  # [N, H, W, C] processed reals.
    labels,  # [N, label_size] labels of the reals.
    mixing_factors,  # [N, 1, 1, 1] uniform [0,1) interpolation factors.
    wgan_lambda=10.0,  # Weight for the gradient penalty term.
    wgan_target=1.0,  # Target value for gradient magnitudes.
    loss_scale=None,  # fp16 loss scale for the penalty's inner gradient.
):
    """Hinge discriminator loss with the WGAN-GP gradient penalty."""
    fakes = G(latents, labels, training=True)
    real_scores = _scores(D, reals, labels)
    fake_scores = _scores(D, fakes, labels)
    loss = tf.maximum(0.0, 1.0 + fake_scores) + tf.maximum(0.0, 1.0 - real_scores)
    penalty, _, _ = _gradient_penalty(
        lambda x: _scores(D, x, labels), reals, fakes, mixing_factors, wgan_lambda, wgan_target, loss_scale
    )
    return loss + penalty, {
        "Loss/scores/real": real_scores,
        "Loss/scores/fake": fake_scores,
        "Loss/gradient_penalty": penalty,
    }


def G_logistic_saturating(
    G,  # Generator.
    D,  # Discriminator.
    latents,  # [N, latent_size] latents.
    labels,  # [N, label_size] random dataset labels.
):
    """Original (saturating) GAN generator loss: -softplus(D(G(z)))."""
    fake_scores = _scores(D, G(latents, labels, training=True), labels)
    return -tf.nn.softplus(fake_scores), {"Loss/scores/fake": fake_scores}


def G_logistic_nonsaturating(
    G,  # Generator.
    D,  # Discriminator.
    latents,  # [N, latent_size] latents.
    labels,  # [N, label_size] random dataset labels.
):
    """Non-saturating logistic generator loss, StyleGAN's default: softplus(-D(G(z)))."""
    fake_scores = _scores(D, G(latents, labels, training=True), labels)
    return tf.nn.softplus(-fake_scores), {"Loss/scores/fake": fake_scores}


def D_logistic(
    G,  # Generator.
    D,  # Discriminator.
    latents,  # [N, latent_size] latents for the fakes.
    reals,  # [N, H, W, C] processed reals.
    labels,  # [N, label_size] labels of the reals.
):
    """Logistic discriminator loss: softplus(D(fake)) + softplus(-D(real))."""
    real_scores = _scores(D, reals, labels)
    fake_scores = _scores(D, G(latents, labels, training=True), labels)
    loss = tf.nn.softplus(fake_scores) + tf.nn.softplus(-real_scores)
    return loss, {"Loss/scores/real": real_scores, "Loss/scores/fake": fake_scores}


def D_logistic_simplegp(
    G,  # Generator.
    D,  # Discriminator.
    latents,  # [N, latent_size] latents for the fakes.
    reals,  # [N, H, W, C] processed reals.
    labels,  # [N, label_size] labels of the reals.
    r1_gamma=10.0,  # Weight of the R1 penalty (gradient at the reals).
    r2_gamma=0.0,  # Weight of the R2 penalty (gradient at the fakes).
    loss_scale=None,  # fp16 loss scale for the penalties' inner gradients.
):
    """Logistic discriminator loss with R1/R2 penalties, StyleGAN's default (R1 gamma 10)."""
    fakes = G(latents, labels, training=True)
    stats = {}
    if r1_gamma != 0.0:
        real_grads, real_scores = _input_gradient(lambda x: _scores(D, x, labels), reals, loss_scale)
    else:
        real_scores = _scores(D, reals, labels)
    if r2_gamma != 0.0:
        fakes = tf.cast(fakes, reals.dtype)
        fake_grads, fake_scores = _input_gradient(lambda x: _scores(D, x, labels), fakes, loss_scale)
    else:
        fake_scores = _scores(D, fakes, labels)
    loss = tf.nn.softplus(fake_scores) + tf.nn.softplus(-real_scores)
    stats["Loss/scores/real"] = real_scores
    stats["Loss/scores/fake"] = fake_scores
    if r1_gamma != 0.0:
        r1_penalty = _squared_norm(real_grads)
        loss += r1_penalty * (r1_gamma * 0.5)
        stats["Loss/r1_penalty"] = r1_penalty
    if r2_gamma != 0.0:
        r2_penalty = _squared_norm(fake_grads)
        loss += r2_penalty * (r2_gamma * 0.5)
        stats["Loss/r2_penalty"] = r2_penalty
    return loss, stats


G_LOSSES = {f.__name__: f for f in (G_wgan_acgan, G_wgan, G_logistic_saturating, G_logistic_nonsaturating)}
D_LOSSES = {
    f.__name__: f for f in (D_wgangp_acgan, D_wgan, D_wgan_gp, D_hinge, D_hinge_gp, D_logistic, D_logistic_simplegp)
}
# ProGAN's losses, which read D's AC-GAN label outputs.
ACGAN_LOSSES = {"G_wgan_acgan", "D_wgangp_acgan"}
# Losses whose signature takes gradient-penalty mixing factors.
NEEDS_MIXING_FACTORS = {"D_wgangp_acgan", "D_wgan_gp", "D_hinge_gp"}
