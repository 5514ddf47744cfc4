"""Linear separability (LS), as the official StyleGAN `metrics/linear_separability.py`.

Images are generated from z ~ N(0, I) (mapping without truncation, fresh noise), box-downsampled
to 256x256 and scored by 40 binary CelebA-HQ attribute classifiers (one logit each, turned into
p = softmax([logit, -logit])). Per attribute, the most confident half of the samples is kept, a
linear SVM is fitted to predict the classifier's label from z and from w (the last layer's
dlatent), and the conditional entropy H(label | SVM prediction) is measured in bits. The score
per space is 2 ** (sum of the entropies over the attributes); lower means more separable.

The generator interface is `Gs.mapping(latents, labels) -> [N, num_layers, dlatent_size]`,
`Gs.synthesis(dlatents, randomize_noise=True) -> [N, H, W, C]` in [-1, 1], `Gs.latent_size`.
Classifiers are callables `classifier(images) -> [N] or [N, 1]` logits on NHWC images in
[-1, 1]; `load_celebahq_classifiers` reads the official pickles.
"""

import os

import numpy as np
import sklearn.svm

from metrics.metric_base import downsample_to_256
from metrics.metric_base import to_numpy
from networks import official

# The 40 CelebA attributes, in the order (and with the file names) of the official classifiers.
CELEBAHQ_ATTRIBUTES = [
    "male",
    "smiling",
    "attractive",
    "wavy-hair",
    "young",
    "5-o-clock-shadow",
    "arched-eyebrows",
    "bags-under-eyes",
    "bald",
    "bangs",
    "big-lips",
    "big-nose",
    "black-hair",
    "blond-hair",
    "blurry",
    "brown-hair",
    "bushy-eyebrows",
    "chubby",
    "double-chin",
    "eyeglasses",
    "goatee",
    "gray-hair",
    "heavy-makeup",
    "high-cheekbones",
    "mouth-slightly-open",
    "mustache",
    "narrow-eyes",
    "no-beard",
    "oval-face",
    "pale-skin",
    "pointy-nose",
    "receding-hairline",
    "rosy-cheeks",
    "sideburns",
    "straight-hair",
    "wearing-earrings",
    "wearing-hat",
    "wearing-lipstick",
    "wearing-necklace",
    "wearing-necktie",
]
CLASSIFIER_URL_DIR = "https://nvlabs-fi-cdn.nvidia.com/stylegan/networks/metrics/"
CLASSIFIERS_ENV_VAR = "CELEBAHQ_CLASSIFIERS"

# Official preset (metric_base.py).
LS_PRESET = dict(num_samples=200000, num_keep=100000, attrib_indices=range(40), minibatch_size=4)

# ----------------------------------------------------------------------------
# Information theory, with the official float32 normalisation and bit units.


def prob_normalize(p):
    """Joint probability table as float32 summing to 1."""
    p = np.asarray(p).astype(np.float32)
    if p.ndim != 2:
        raise ValueError(f"expected a 2-D probability table, got shape {p.shape}")
    return p / np.sum(p)


def mutual_information(p):
    """I(X; Y) in bits of a joint table (X along axis 0, Y along axis 1)."""
    p = prob_normalize(p)
    px = np.sum(p, axis=1)
    py = np.sum(p, axis=0)
    result = 0.0
    for x in range(p.shape[0]):
        for y in range(p.shape[1]):
            if p[x][y] > 0.0:
                result += p[x][y] * np.log2(p[x][y] / (px[x] * py[y]))
    return result


def entropy(p):
    """H in bits of a (joint) probability table."""
    p = prob_normalize(p)
    result = 0.0
    for x in range(p.shape[0]):
        for y in range(p.shape[1]):
            if p[x][y] > 0.0:
                result -= p[x][y] * np.log2(p[x][y])
    return result


def conditional_entropy(p):
    """H(Y | X) in bits = max(0, H(Y) - I(X; Y)), X along axis 0 (rounding can dip below 0)."""
    p = prob_normalize(p)
    y = np.sum(p, axis=0, keepdims=True)
    return max(0.0, entropy(y) - mutual_information(p))


# ----------------------------------------------------------------------------


def sample_attributes(
    Gs,  # Generator (see module docstring).
    classifiers,  # {attrib_idx: classifier} (or a list, indexed from 0).
    num_samples=200000,  # Samples (rounded up to whole minibatches, as official).
    minibatch_size=4,  # Samples per minibatch.
    seed=None,  # Seed or RandomState of the latents.
):
    """Generate and classify: {'latents': [N, Z], 'dlatents': [N, W], attrib_idx: [N, 2] p}."""
    if not isinstance(classifiers, dict):
        classifiers = dict(enumerate(classifiers))
    rng = seed if isinstance(seed, np.random.RandomState) else np.random.RandomState(seed)
    results = {key: [] for key in ["latents", "dlatents"] + list(classifiers)}
    for _ in range(0, num_samples, minibatch_size):
        latents = rng.standard_normal([minibatch_size, Gs.latent_size]).astype(np.float32)
        dlatents = to_numpy(Gs.mapping(latents, None))
        images = downsample_to_256(to_numpy(Gs.synthesis(dlatents, randomize_noise=True)))
        results["latents"].append(latents)
        results["dlatents"].append(dlatents[:, -1])
        for attrib_idx, classifier in classifiers.items():
            logits = np.asarray(to_numpy(classifier(images)), np.float32).reshape(-1, 1)
            both = np.concatenate([logits, -logits], axis=1)
            both = np.exp(both - both.max(axis=1, keepdims=True))
            results[attrib_idx].append(both / both.sum(axis=1, keepdims=True))
    return {key: np.concatenate(value, axis=0) for key, value in results.items()}


def _fit_predict(inputs, targets, svm_random_state):
    """LinearSVC with the defaults of the official era (dual, squared hinge, C=1, 1000 iterations)."""
    try:
        svm = sklearn.svm.LinearSVC(
            penalty="l2", loss="squared_hinge", dual=True, tol=1e-4, C=1.0, max_iter=1000, random_state=svm_random_state
        )
        svm.fit(inputs, targets)
        return svm.predict(inputs)
    except Exception:  # Official: e.g. a single class among the targets -> assume perfect prediction.
        return targets


def separability_scores(
    results,  # Output of sample_attributes.
    num_samples,  # Samples considered (the first num_samples).
    num_keep,  # Most confident samples kept per attribute.
    attrib_indices=None,  # Attributes to use; None = all classified ones.
    svm_random_state=None,  # Random state of LinearSVC (official: None).
):
    """{'ls_z': ..., 'ls_w': ...} = 2 ** sum over attributes of H(label | SVM prediction)."""
    if num_keep > num_samples:
        raise ValueError(f"num_keep ({num_keep}) must not exceed num_samples ({num_samples})")
    if attrib_indices is None:
        attrib_indices = [key for key in results if key not in ("latents", "dlatents")]
    entropies = {"latents": [], "dlatents": []}
    for attrib_idx in attrib_indices:
        probs = results[attrib_idx][:num_samples]
        # Stable sort on -max(p), as Python's sorted in the official code.
        pruned = np.argsort(-np.max(probs, axis=1), kind="stable")[:num_keep]
        targets = np.argmax(probs[pruned], axis=1)
        for space in ("latents", "dlatents"):
            outputs = _fit_predict(results[space][:num_samples][pruned], targets, svm_random_state)
            table = [[np.mean((outputs == row) & (targets == col)) for col in (0, 1)] for row in (0, 1)]
            entropies[space].append(conditional_entropy(table))
    return {"ls_z": float(2 ** np.sum(entropies["latents"])), "ls_w": float(2 ** np.sum(entropies["dlatents"]))}


def compute_ls(
    Gs,  # Generator (see module docstring).
    classifiers,  # {attrib_idx: classifier} or a list of classifiers.
    num_samples=200000,  # Samples to generate.
    num_keep=100000,  # Most confident samples kept per attribute.
    minibatch_size=4,  # Samples per minibatch.
    seed=None,  # Seed or RandomState of the latents.
    svm_random_state=None,  # Random state of LinearSVC (official: None).
):
    """Linear separability of `Gs`: {'ls_z': ..., 'ls_w': ...}."""
    results = sample_attributes(Gs, classifiers, num_samples, minibatch_size, seed)
    return separability_scores(results, num_samples, num_keep, None, svm_random_state)


# ----------------------------------------------------------------------------


def classifier_filename(attrib_idx):
    """Official file name of one attribute classifier."""
    return f"celebahq-classifier-{attrib_idx:02d}-{CELEBAHQ_ATTRIBUTES[attrib_idx]}.pkl"


def load_celebahq_classifiers(
    directory=None,  # Folder holding the official pickles; None = $CELEBAHQ_CLASSIFIERS.
    attrib_indices=range(40),  # Attributes to load.
):
    """{attrib_idx: classifier} from the official pickles, read safely (no code from the files runs).

    Each classifier is the official network rebuilt in Keras; it is called on NHWC images in
    [-1, 1] and returns its first output (the logit).
    """
    directory = directory or os.environ.get(CLASSIFIERS_ENV_VAR)
    if not directory or not os.path.isdir(directory):
        raise FileNotFoundError(
            f"classifier folder {directory or '(none given)'} not found: download the 40 "
            f"celebahq-classifier-XX-*.pkl from {CLASSIFIER_URL_DIR} into a folder and pass it or set {CLASSIFIERS_ENV_VAR}"
        )
    classifiers = {}
    for attrib_idx in attrib_indices:
        path = os.path.join(directory, classifier_filename(attrib_idx))
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{path} not found: download it from {CLASSIFIER_URL_DIR}{classifier_filename(attrib_idx)}"
            )
        net = official.network_from_state(official.read_pickle(path)[-1], path)

        def classify(images, net=net):
            out = net(images)
            return out[0] if isinstance(out, (tuple, list)) else out

        classifiers[attrib_idx] = classify
    return classifiers


# ----------------------------------------------------------------------------
