"""Compiled training steps: process_reals, the D step with its Gs update, and the G step.

Randomness is stateless and keyed by `(random_seed, step counter)`: the draws for the whole
global minibatch are made identically on every replica, which then takes its own slice. So a
run is reproducible, resumable from the counter alone, and gives the same random numbers on
one replica or many (the official code draws per GPU; only the stream differs, not the
distribution).
"""

import inspect

import numpy as np
import tensorflow as tf

from networks import base
from training import loss as losses


def process_reals(
    x,  # uint8 [N, C, h, w] reals as stored (CHW) at the file resolution for floor(lod).
    lod,  # Current level of detail (scalar tensor).
    mirror_draws,  # Uniform [N] draws for mirror augment, or None when disabled.
    drange_data,  # Dynamic range of the data, [0, 255].
    drange_net,  # Dynamic range of the networks, [-1, 1].
    resolution,  # Full network resolution (static int).
):
    """The official process_reals (train.py:56-80), returning NHWC: range, mirror, lod fade, upscale.

    The reader hands over the stored CHW bytes; transposing here, on the training device, is
    about 10x cheaper than transposing uint8 in the input pipeline.
    """
    x = tf.transpose(tf.cast(x, tf.float32), [0, 2, 3, 1])
    if drange_data != drange_net:
        scale = (np.float32(drange_net[1]) - np.float32(drange_net[0])) / (
            np.float32(drange_data[1]) - np.float32(drange_data[0])
        )
        bias = np.float32(drange_net[0]) - np.float32(drange_data[0]) * scale
        x = x * scale + bias
    if mirror_draws is not None:
        x = tf.where(tf.reshape(mirror_draws, [-1, 1, 1, 1]) < 0.5, x, tf.reverse(x, axis=[2]))
    # FadeLOD: blend toward the 2x2 box-filtered image as the next lod fades in.
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    y = tf.reshape(x, [-1, height // 2, 2, width // 2, 2, channels])
    y = tf.reduce_mean(y, axis=[2, 4], keepdims=True)
    y = tf.reshape(tf.tile(y, [1, 1, 2, 1, 2, 1]), [-1, height, width, channels])
    x = x + (y - x) * (lod - tf.floor(lod))
    # UpscaleLOD: nearest-neighbour back to the full network resolution.
    factor = resolution // height
    if factor > 1:
        x = tf.reshape(x, [-1, height, 1, width, 1, channels])
        x = tf.tile(x, [1, 1, factor, 1, factor, 1])
        x = tf.reshape(x, [-1, height * factor, width * factor, channels])
    return x


def trainable_variables(net):
    """The trainable variables of a network in official order."""
    return [var for var in net.all_official_variables().values() if var.trainable]


def _replica_slice(tensor, global_batch):
    context = tf.distribute.get_replica_context()
    per_replica = global_batch // context.num_replicas_in_sync
    start = tf.cast(context.replica_id_in_sync_group, tf.int32) * per_replica
    return tensor[start : start + per_replica]


def _local_slice(tensor, local_replicas):
    """This replica's rows of a batch that holds only this worker's replicas' rows.

    MultiWorkerMirroredStrategy numbers the replicas of worker w w*L .. w*L+L-1 (L local
    replicas), so the position among the local ones is the global id modulo L.
    """
    context = tf.distribute.get_replica_context()
    per_replica = tensor.shape[0] // local_replicas
    start = tf.cast(context.replica_id_in_sync_group % local_replicas, tf.int32) * per_replica
    return tensor[start : start + per_replica]


def local_replica_ids(strategy):
    """Global replica ids (replica_id_in_sync_group) of this process's replicas, in order."""
    ids = strategy.experimental_distribute_values_from_function(lambda context: context.replica_id_in_sync_group)
    return [int(i) for i in strategy.experimental_local_results(ids)]


class TrainSteps:
    """Builds the tf.function steps for one (G, D, Gs) setup under a distribution strategy."""

    def __init__(
        self,
        strategy,  # tf.distribute strategy (the default one for a single device).
        G,
        D,
        Gs,  # Networks (created under strategy.scope()).
        G_opt,
        D_opt,  # training.optimizer.Optimizer for G's and D's trainables.
        G_loss,  # Dict: `func_name` (a name in loss.G_LOSSES) and its kwargs.
        D_loss,  # Dict: `func_name` (a name in loss.D_LOSSES) and its kwargs.
        label_matrix,  # float32 [num_labels, label_size] labels to draw G's labels from.
        mirror_augment,  # Enable mirror augment?
        drange_data,  # Dynamic range of the data.
        drange_net,  # Dynamic range of the networks.
    ):
        self.strategy = strategy
        self.G, self.D, self.Gs = G, D, Gs
        self.G_opt, self.D_opt = G_opt, D_opt
        G_loss, D_loss = dict(G_loss), dict(D_loss)
        self.G_loss_fn = losses.G_LOSSES[G_loss.pop("func_name")]
        self.D_loss_name = D_loss.pop("func_name")
        self.D_loss_fn = losses.D_LOSSES[self.D_loss_name]
        self.G_loss_kwargs, self.D_loss_kwargs = G_loss, D_loss
        self.D_takes_loss_scale = "loss_scale" in inspect.signature(self.D_loss_fn).parameters
        self.label_matrix = tf.constant(label_matrix, tf.float32)
        self.mirror_augment = mirror_augment
        self.drange_data, self.drange_net = list(drange_data), list(drange_net)
        self.latent_size = int(G.latent_size)
        self.resolution = int(G.resolution)
        self.G_trainables = trainable_variables(G)
        self.D_trainables = trainable_variables(D)
        Gs_variables = Gs.all_official_variables()
        self.Gs_pairs = [(Gs_variables[name], var) for name, var in G.all_official_variables().items()]
        # D_step's reals hold this process's replicas' rows only (all rows with one process).
        self.local_replicas = len(local_replica_ids(strategy))
        self.D_step = tf.function(self._D_step)
        self.G_step = tf.function(self._G_step)
        self.update_Gs = tf.function(self._update_Gs)

    def _random_labels(self, count, seed):
        num = tf.shape(self.label_matrix)[0]
        if self.label_matrix.shape[1] == 0:
            return tf.zeros([count, 0], tf.float32)
        index = tf.random.stateless_uniform([count], seed, minval=0, maxval=num, dtype=tf.int32)
        return tf.gather(self.label_matrix, index)

    def _D_replica(self, reals, labels, seed, lod, learning_rate):
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        global_batch = reals.shape[0] // self.local_replicas * replicas
        seeds = tf.random.experimental.stateless_split(seed, 3)
        latents = tf.random.stateless_normal([global_batch, self.latent_size], seeds[0])
        mixing = tf.random.stateless_uniform([global_batch, 1, 1, 1], seeds[1])
        mirror = tf.random.stateless_uniform([global_batch], seeds[2]) if self.mirror_augment else None
        floor_lod = int(np.log2(self.resolution // reals.shape[2]))  # File resolution fixes floor(lod).
        reals, labels = _local_slice(reals, self.local_replicas), _local_slice(labels, self.local_replicas)
        latents, mixing = _replica_slice(latents, global_batch), _replica_slice(mixing, global_batch)
        if mirror is not None:
            mirror = _replica_slice(mirror, global_batch)
        reals = process_reals(reals, lod, mirror, self.drange_data, self.drange_net, self.resolution)
        kwargs = dict(self.D_loss_kwargs)
        if self.D_loss_name in losses.NEEDS_MIXING_FACTORS:
            kwargs["mixing_factors"] = mixing
        if self.D_opt.use_loss_scaling and self.D_takes_loss_scale:
            kwargs["loss_scale"] = self.D_opt.loss_scale()
        with tf.GradientTape() as tape, base.static_lod_floor(floor_lod):
            loss, stats = self.D_loss_fn(self.G, self.D, latents, reals, labels, **kwargs)
            loss = tf.reduce_mean(loss)
            scaled = self.D_opt.scale_loss(loss / replicas)
        grads = tape.gradient(scaled, self.D_trainables)
        finite = self.D_opt.apply(grads, learning_rate)
        stats = {name: tf.reduce_mean(value) for name, value in stats.items()}
        stats["Loss/D"] = loss
        stats["TrainD/finite"] = tf.cast(finite, tf.float32)
        return stats

    def _G_replica(self, global_batch, floor_lod, seed, learning_rate):
        seeds = tf.random.experimental.stateless_split(seed, 2)
        latents = tf.random.stateless_normal([global_batch, self.latent_size], seeds[0])
        labels = self._random_labels(global_batch, seeds[1])
        latents, labels = _replica_slice(latents, global_batch), _replica_slice(labels, global_batch)
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        with tf.GradientTape() as tape, base.static_lod_floor(floor_lod):
            loss, stats = self.G_loss_fn(self.G, self.D, latents, labels, **self.G_loss_kwargs)
            loss = tf.reduce_mean(loss)
            scaled = self.G_opt.scale_loss(loss / replicas)
        grads = tape.gradient(scaled, self.G_trainables)
        finite = self.G_opt.apply(grads, learning_rate)
        stats = {name: tf.reduce_mean(value) for name, value in stats.items()}
        stats["Loss/G"] = loss
        stats["TrainG/finite"] = tf.cast(finite, tf.float32)
        return stats

    def _mean(self, per_replica):
        return {
            name: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
            for name, value in per_replica.items()
        }

    def _update_Gs(self, beta):
        """Gs <- G + (Gs - G) * beta for trainables; non-trainables (lod, ...) are copied."""
        for gs_var, g_var in self.Gs_pairs:
            b = beta if g_var.trainable else 0.0
            self.strategy.extended.update(
                gs_var.value, lambda gs, g, b=b: gs.assign(g + (gs - g) * b), args=(g_var.value,), group=False
            )

    def _D_step(self, reals, labels, seed, lod, learning_rate, Gs_beta):
        """One D step and the Gs update; traced per reals shape, which fixes floor(lod).

        `reals` and `labels` are the rows of this process's replicas (see `local_replica_ids`):
        the whole global minibatch with one process, a worker's part with several.
        """
        stats = self.strategy.run(self._D_replica, args=(reals, labels, seed, lod, learning_rate))
        self._update_Gs(Gs_beta)
        return self._mean(stats)

    def _G_step(self, global_batch, floor_lod, seed, learning_rate):
        """One G step; traced per (minibatch, floor(lod)), which fixes the network level."""
        stats = self.strategy.run(self._G_replica, args=(global_batch, floor_lod, seed, learning_rate))
        return self._mean(stats)
