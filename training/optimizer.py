"""The official optimizer wrapper (ProGAN tfutil.Optimizer / StyleGAN dnnlib.tflib.Optimizer).

Why not `keras.optimizers.Adam`: the official loop needs three things Keras' optimizer does not
give together: (1) the whole Adam state, step counter included, reset when a new lod starts;
(2) the whole update skipped when any gradient is non-finite; (3) the official fp16 loss
scaling in the log2 domain (start 2^64, +0.0005 per good step, -1 and skip on overflow).
The update rule is TF1's `AdamOptimizer`:
    t += 1;  lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
    m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;  w -= lr_t m / (sqrt(v) + eps)

Distribution: `apply()` is called in replica context with each replica's gradient of
(per-replica mean loss / num_replicas); gradients are summed over replicas (so they are the
gradient of the global-batch mean, as the official NCCL sum x 1/num_gpus), the finiteness test
is taken on the summed gradients (identical on every replica) and variables are updated through
`strategy.extended.update`, as Keras' own optimizers do.
"""

import keras
import tensorflow as tf


class Optimizer(tf.Module):
    """Adam with the official reset, non-finite skip and fp16 loss scaling."""

    def __init__(
        self,
        variables,  # List of keras/tf variables to train (fixed order).
        beta1=0.0,  # Adam beta1 (the official configs use 0).
        beta2=0.99,  # Adam beta2.
        epsilon=1e-8,  # Adam epsilon.
        use_loss_scaling=False,  # Official dynamic loss scaling for fp16.
        loss_scaling_init=64.0,  # Log2 of initial loss scaling factor.
        loss_scaling_inc=0.0005,  # Log2 increase after each successful iteration.
        loss_scaling_dec=1.0,  # Log2 decrease after an overflow.
        name="Adam",  # Name of the module (for checkpoints and logs).
    ):
        super().__init__(name=name)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.use_loss_scaling = use_loss_scaling
        self.loss_scaling_inc, self.loss_scaling_dec = loss_scaling_inc, loss_scaling_dec
        self.loss_scaling_init = float(loss_scaling_init)
        self._vars = [v.value if isinstance(v, keras.Variable) else v for v in variables]
        # Slots live beside their variable (same devices under a strategy).
        self.m, self.v = [], []
        for var in self._vars:
            with tf.init_scope():
                self.m.append(
                    tf.Variable(
                        tf.zeros(var.shape, tf.float32),
                        trainable=False,
                        name="m",
                        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
                    )
                )
                self.v.append(
                    tf.Variable(
                        tf.zeros(var.shape, tf.float32),
                        trainable=False,
                        name="v",
                        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
                    )
                )
        with tf.init_scope():
            self.step = tf.Variable(
                0.0, trainable=False, name="step", aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA
            )
            self.loss_scaling_log2 = tf.Variable(
                self.loss_scaling_init,
                trainable=False,
                name="loss_scaling_log2",
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
            )
            self.overflows = tf.Variable(
                0.0, trainable=False, name="overflows", aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA
            )

    @property
    def variables_to_train(self):
        return list(self._vars)

    def scale_loss(self, loss):
        """Multiply a float32 loss by the current loss scale (identity unless loss scaling is on)."""
        if not self.use_loss_scaling:
            return loss
        return loss * tf.pow(2.0, self.loss_scaling_log2)

    def loss_scale(self):
        """The current loss scale as a tensor, or None when loss scaling is off."""
        return tf.pow(2.0, self.loss_scaling_log2) if self.use_loss_scaling else None

    def reset(self):
        """Reset Adam moments and bias-correction counter (`reset_optimizer_state`)."""
        for slot in self.m + self.v:
            slot.assign(tf.zeros_like(slot))
        self.step.assign(0.0)

    def apply(
        self,
        grads,  # Gradients of the (scaled) per-replica loss, in variable order.
        learning_rate,  # Scalar learning rate.
    ):
        """Sum gradients over replicas, undo loss scaling, and apply Adam if all are finite."""
        grads = [
            tf.zeros(v.shape, tf.float32) if g is None else tf.cast(g, tf.float32) for g, v in zip(grads, self._vars)
        ]
        replica_context = tf.distribute.get_replica_context()
        if replica_context is not None and replica_context.num_replicas_in_sync > 1:
            grads = replica_context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
        if self.use_loss_scaling:
            grads = [g * tf.pow(2.0, -self.loss_scaling_log2) for g in grads]
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])
        learning_rate = tf.cast(learning_rate, tf.float32)
        tf.__internal__.distribute.interim.maybe_merge_call(
            self._distributed_apply, tf.distribute.get_strategy(), grads, finite, learning_rate
        )
        return finite

    def _distributed_apply(self, strategy, grads, finite, learning_rate):
        # Cross-replica context. Arguments coming from replicas are per-replica values, so all
        # arithmetic happens inside `extended.update`, once per device copy of each variable.
        beta1, beta2, epsilon = self.beta1, self.beta2, self.epsilon

        def update(var, grad, m, v, step, ok, lr):
            def apply():
                t = step + 1.0
                lr_t = lr * tf.sqrt(1.0 - tf.pow(beta2, t)) / (1.0 - tf.pow(beta1, t))
                m_new = beta1 * m + (1.0 - beta1) * grad
                v_new = beta2 * v + (1.0 - beta2) * tf.square(grad)
                m.assign(m_new)
                v.assign(v_new)
                var.assign_sub(tf.cast(lr_t * m_new / (tf.sqrt(v_new) + epsilon), var.dtype))
                return tf.constant(True)

            return tf.cond(ok, apply, lambda: tf.constant(False))

        for var, grad, m, v in zip(self._vars, grads, self.m, self.v):
            strategy.extended.update(var, update, args=(grad, m, v, self.step, finite, learning_rate), group=False)

        def update_counters(step, overflows, loss_scaling_log2, ok):
            step.assign_add(tf.where(ok, 1.0, 0.0))
            overflows.assign_add(tf.where(ok, 0.0, 1.0))
            if self.use_loss_scaling:
                loss_scaling_log2.assign_add(tf.where(ok, self.loss_scaling_inc, -self.loss_scaling_dec))
            return ok

        strategy.extended.update(
            self.step, update_counters, args=(self.overflows, self.loss_scaling_log2, finite), group=False
        )
