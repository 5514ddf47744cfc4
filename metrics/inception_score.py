"""Inception score (IS), as the official ProGAN `metrics/inception_score.py` (from improved-gan).

p(y|x) = softmax(pool_3 @ W) over the 1008 classes of the 2015-12-05 Inception graph, with W
the weight matrix of `softmax/logits/MatMul` and no bias; images are fed in batches of 100 at
native size. The images are cut into 10 splits; each split scores exp(mean_x KL(p(y|x) || p(y)))
with p(y) the split's mean prediction; the result is the mean and standard deviation over splits.
"""

import numpy as np

from metrics import inception
from metrics.metric_base import minibatches

# ----------------------------------------------------------------------------


def inception_score_from_probs(
    preds,  # [N, classes] float32 class probabilities.
    splits=10,  # Number of splits.
):
    """(mean, std) over splits of exp(E_x KL(p(y|x) || p(y))), with the official arithmetic."""
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[0] < splits:
        raise ValueError(f"need [N >= {splits}, classes] predictions, got shape {preds.shape}")
    scores = []
    for i in range(splits):
        part = preds[(i * preds.shape[0] // splits) : ((i + 1) * preds.shape[0] // splits), :]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        kl = np.mean(np.sum(kl, 1))
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


def compute_is(
    images,  # uint8 [N, H, W, C] array, or an iterable of such minibatches.
    graph_path=None,  # Inception graph (.pb or .tgz); None = $INCEPTION_GRAPH.
    num_splits=10,  # Number of splits.
    minibatch_size=100,  # Images per graph call when an array is given (official: 100).
):
    """Inception score of `images`: (IS_mean, IS_std)."""
    net = inception.load_inception(graph_path)
    preds = [net.softmax(batch) for batch in minibatches(images, minibatch_size)]
    if not preds:
        raise ValueError("no images given")
    return inception_score_from_probs(np.concatenate(preds, axis=0), num_splits)


class API:
    """The official metric API; every pass returns [IS_mean, IS_std] of the images it was fed."""

    def __init__(
        self,
        num_images=None,  # Images per pass (official API argument; informational).
        image_shape=None,  # [H, W, C] (official API argument; unused).
        image_dtype=np.uint8,  # Image dtype (official API argument; unused).
        minibatch_size=None,  # Images per feed (official API argument; unused).
        graph_path=None,  # Inception graph (.pb or .tgz); None = $INCEPTION_GRAPH.
        num_splits=10,  # Number of splits.
    ):
        self.net = inception.load_inception(graph_path)
        self.num_splits = num_splits
        self.preds = []

    def get_metric_names(self):
        """Names of the values `end` returns."""
        return ["IS_mean", "IS_std"]

    def get_metric_formatting(self):
        """printf formats of the values, as official."""
        return ["%-10.4f", "%-10.4f"]

    def begin(self, mode):
        """Start a pass."""
        if mode not in ("warmup", "reals", "fakes"):
            raise ValueError(f"mode must be 'warmup', 'reals' or 'fakes', got {mode!r}")
        self.preds = []

    def feed(self, mode, minibatch):
        """Classify one uint8 NHWC minibatch (in chunks of 100, as official)."""
        minibatch = np.asarray(minibatch)
        for begin in range(0, minibatch.shape[0], 100):
            self.preds.append(self.net.softmax(minibatch[begin : begin + 100]))

    def end(self, mode):
        """Finish a pass; returns [IS_mean, IS_std]."""
        preds = np.concatenate(self.preds, axis=0)
        self.preds = []
        return list(inception_score_from_probs(preds, self.num_splits))


# ----------------------------------------------------------------------------
