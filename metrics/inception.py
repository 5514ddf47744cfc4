"""The Inception-v3 graph of 2015-12-05 (`classify_image_graph_def.pb`) used by FID and IS.

The official ProGAN metrics (adapted from TTUR and improved-gan) import this frozen TF1 GraphDef,
feed NHWC float images in [0, 255] at their native size to the tensor `ExpandDims:0` (the graph
itself resizes to 299x299 and normalises), and read the 2048-D `pool_3:0` activations; the
Inception score uses `softmax(pool_3 @ W)` with W the weight matrix of `softmax/logits/MatMul`
and no bias. The graph was built for one JPEG at a time, so its batch dimension is static 1; the
official code patched the static shapes to make it dynamic. Here the same happens by importing
the GraphDef with `ExpandDims:0` mapped to a placeholder whose batch dimension is None, inside
`tf.compat.v1.wrap_function` (TF2 has no sessions).

The file cannot be downloaded here: pass its path (the .pb, or the .tgz it ships in) or set the
environment variable INCEPTION_GRAPH.
"""

import os
import tarfile

import numpy as np
import tensorflow as tf

INCEPTION_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
GRAPH_FILENAME = "classify_image_graph_def.pb"
INPUT_TENSOR = "ExpandDims:0"  # Feed point: [N, H, W, 3] float32 in [0, 255].
FEATURE_TENSOR = "pool_3:0"  # [N, 1, 1, 2048] average-pooled features.
LOGITS_MATMUL_OP = "softmax/logits/MatMul"  # Its second input is the 2048x1008 weight matrix.
ENV_VAR = "INCEPTION_GRAPH"

_loaded = {}  # Absolute path -> InceptionGraph, so FID and IS share one import.

# ----------------------------------------------------------------------------


class InceptionGraphError(RuntimeError):
    """The Inception graph file is missing or unusable (the message says what to do)."""


def resolve_graph_path(
    graph_path=None,  # Path to classify_image_graph_def.pb or inception-2015-12-05.tgz; None = $INCEPTION_GRAPH.
):
    """The graph file to use, or a one-line InceptionGraphError saying where to get it."""
    path = graph_path or os.environ.get(ENV_VAR)
    if not path:
        raise InceptionGraphError(
            f"no Inception graph given: download {INCEPTION_URL} and pass its path "
            f"(or that of {GRAPH_FILENAME} inside it) or set {ENV_VAR}"
        )
    if not os.path.isfile(path):
        raise InceptionGraphError(
            f"Inception graph {path!r} not found: download {INCEPTION_URL} and pass its path "
            f"(or that of {GRAPH_FILENAME} inside it) or set {ENV_VAR}"
        )
    return os.path.abspath(path)


def read_graph_def(
    graph_path=None,  # Path to the .pb or the .tgz; None = $INCEPTION_GRAPH.
):
    """Parse the GraphDef from the .pb file or from the member of the same name in the .tgz."""
    path = resolve_graph_path(graph_path)
    try:
        if tarfile.is_tarfile(path):
            with tarfile.open(path, "r:*") as archive:
                members = [m for m in archive.getmembers() if os.path.basename(m.name) == GRAPH_FILENAME]
                if not members:
                    raise InceptionGraphError(f"{path!r} has no {GRAPH_FILENAME}: expected the archive {INCEPTION_URL}")
                data = archive.extractfile(members[0]).read()
        else:
            with open(path, "rb") as file:
                data = file.read()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise InceptionGraphError(f"cannot read {path!r} ({error}): re-download {INCEPTION_URL}") from None
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except Exception:  # protobuf raises DecodeError, not a subclass of anything more specific.
        raise InceptionGraphError(f"{path!r} is not a TensorFlow GraphDef: re-download {INCEPTION_URL}") from None
    graph_def = replace_deprecated_ops(graph_def)
    names = {node.name for node in graph_def.node}
    for needed in (INPUT_TENSOR.split(":")[0], FEATURE_TENSOR.split(":")[0], LOGITS_MATMUL_OP):
        if needed not in names:
            raise InceptionGraphError(
                f"{path!r} has no node {needed!r}: it is not {GRAPH_FILENAME} from {INCEPTION_URL}"
            )
    return graph_def


def _node(graph_def, name, op, inputs, dtype_enum):
    node = graph_def.node.add()
    node.name = name
    node.op = op
    node.input.extend(inputs)
    node.attr["T"].type = dtype_enum
    return node


def replace_deprecated_ops(
    graph_def,  # tf.compat.v1.GraphDef, modified copy returned.
):
    """Rewrite `BatchNormWithGlobalNormalization` (removed in GraphDef version 9) with current ops.

    The 2015 graph uses it after every convolution. TF2 still imports it, but functions run at
    the current GraphDef version, where its kernel refuses to run. The replacement computes what
    the old kernel did, in the same order: (t - mean) * (rsqrt(var + eps) * gamma) + beta (gamma
    is skipped without `scale_after_normalization`).
    """
    result = tf.compat.v1.GraphDef()
    result.versions.CopyFrom(graph_def.versions)
    result.library.CopyFrom(graph_def.library)
    for node in graph_def.node:
        if node.op != "BatchNormWithGlobalNormalization":
            result.node.add().CopyFrom(node)
            continue
        t, mean, var, beta, gamma = node.input[:5]
        dtype = node.attr["T"].type
        name = node.name
        eps = result.node.add()
        eps.name = name + "/_epsilon"
        eps.op = "Const"
        eps.attr["dtype"].type = dtype
        eps.attr["value"].tensor.CopyFrom(
            tf.make_tensor_proto(np.asarray(node.attr["variance_epsilon"].f, tf.dtypes.as_dtype(dtype).as_numpy_dtype))
        )
        if node.device:
            eps.device = node.device
        _node(result, name + "/_add", "AddV2", [var, eps.name], dtype)
        _node(result, name + "/_rsqrt", "Rsqrt", [name + "/_add"], dtype)
        scale = name + "/_rsqrt"
        if node.attr["scale_after_normalization"].b:
            _node(result, name + "/_scale", "Mul", [scale, gamma], dtype)
            scale = name + "/_scale"
        _node(result, name + "/_sub", "Sub", [t, mean], dtype)
        _node(result, name + "/_mul", "Mul", [name + "/_sub", scale], dtype)
        _node(result, name, "AddV2", [name + "/_mul", beta], dtype)
        result.node[-1].input.extend([i for i in node.input[5:] if i.startswith("^")])
    return result


# ----------------------------------------------------------------------------


class InceptionGraph:
    """Callable wrapper of the imported graph: uint8/float NHWC images -> pool_3 features (and logits).

    Example:
        >>> net = InceptionGraph("inception-2015-12-05.tgz")
        >>> features = net.features(images)          # [N, 2048] float32
        >>> probs = net.softmax(images)              # [N, 1008] float32
    """

    def __init__(
        self,
        graph_path=None,  # Path to the .pb or the .tgz; None = $INCEPTION_GRAPH.
        minibatch_size=50,  # Images per graph call (memory only).
    ):
        self.graph_path = resolve_graph_path(graph_path)
        self.minibatch_size = int(minibatch_size)
        graph_def = read_graph_def(self.graph_path)

        def _import(images):
            pool3, matmul = tf.compat.v1.import_graph_def(
                graph_def,
                input_map={INPUT_TENSOR: images},
                return_elements=[FEATURE_TENSOR, LOGITS_MATMUL_OP],
                name="inception",
            )
            features = tf.reshape(pool3, [-1, pool3.shape[-1]])  # Official squeeze, safe for N = 1.
            logits = tf.matmul(features, matmul.inputs[1])  # No bias, as official.
            return features, logits, tf.nn.softmax(logits)

        spec = tf.TensorSpec([None, None, None, 3], tf.float32)
        try:
            self._function = tf.compat.v1.wrap_function(_import, [spec])
        except (ValueError, TypeError, tf.errors.OpError) as error:
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise InceptionGraphError(
                f"cannot import {self.graph_path!r} ({first_line}): re-download {INCEPTION_URL}"
            ) from None

    def _run(self, images, index):
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ValueError(f"expected [N, H, W, 1 or 3] images, got shape {images.shape}")
        if images.shape[-1] == 1:
            images = np.tile(images, [1, 1, 1, 3])
        outputs = []
        for begin in range(0, images.shape[0], self.minibatch_size):
            batch = tf.constant(images[begin : begin + self.minibatch_size], tf.float32)
            outputs.append(self._function(batch)[index].numpy())
        return np.concatenate(outputs, axis=0)

    def features(self, images):
        """[N, 2048] float32 pool_3 activations of NHWC images in [0, 255]."""
        return self._run(images, 0)

    def logits(self, images):
        """[N, 1008] float32 `pool_3 @ W` (no bias)."""
        return self._run(images, 1)

    def softmax(self, images):
        """[N, 1008] float32 class probabilities as the official Inception score uses them."""
        return self._run(images, 2)

    __call__ = features


def load_inception(
    graph_path=None,  # Path to the .pb or the .tgz; None = $INCEPTION_GRAPH.
):
    """The InceptionGraph for `graph_path`, imported once per process."""
    path = resolve_graph_path(graph_path)
    if path not in _loaded:
        _loaded[path] = InceptionGraph(path)
    return _loaded[path]


# ----------------------------------------------------------------------------
