"""Throughput of the training input pipeline (datasets/tfrecord_reader.py), in images per second.

Creates a procedural shapes dataset in a temporary folder, then pulls batches from
`TFRecordDataset.get_dataset` for a fixed time, optionally copying every batch to an
accelerator as training would:

    python benchmarks/input_pipeline.py --res 256 --batch 16 --seconds 20
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from utils import cli  # noqa: E402
from utils import quiet_tensorflow  # noqa: E402

quiet_tensorflow.install()  # TensorFlow's start-up log stays off the terminal.

DEFAULT_IMAGES = {32: 2000, 64: 2000, 128: 1000, 256: 500, 512: 200, 1024: 100}
DEFAULT_BATCH = {32: 128, 64: 64, 128: 32, 256: 16, 512: 8, 1024: 4}  # ProGAN-like minibatches.


def measure(
    tfrecord_dir,  # Dataset folder.
    minibatch_size,  # Images per batch.
    seconds,  # How long to pull batches.
    lod=0,  # Level of detail to read.
    device=None,  # Copy each batch to this device ('/GPU:0'), None = stay on the host.
    num_threads=2,  # TFRecordDataset num_threads (int or 'auto').
    data_format="NHWC",  # TFRecordDataset data_format.
):
    """Images per second delivered by the reader after a short warm-up."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from datasets.tfrecord_reader import TFRecordDataset  # pylint: disable=import-outside-toplevel

    dataset = TFRecordDataset(tfrecord_dir, seed=0, num_threads=num_threads, data_format=data_format)
    iterator = iter(dataset.get_dataset(minibatch_size, lod))

    def pull():
        images, labels = next(iterator)
        if device is not None:
            with tf.device(device):
                images = tf.identity(images)
            images.numpy()[:1]  # Wait for the copy.
        return images

    warmup_end = time.time() + min(2.0, seconds / 5)
    while time.time() < warmup_end:
        pull()
    count = 0
    start = time.time()
    while time.time() - start < seconds:
        count += int(pull().shape[0])
    return count / (time.time() - start)


def main():
    parser = cli.ArgumentParser(description="Measure the images/s of the training input pipeline.")
    parser.add_argument("--res", help="Image resolution (default: 32)", type=int, default=32)
    parser.add_argument("--batch", help="Minibatch size (default: depends on --res)", type=int, default=None)
    parser.add_argument("--seconds", help="Measurement time (default: 20)", type=float, default=20)
    parser.add_argument("--num_images", help="Dataset size (default: depends on --res)", type=int, default=None)
    parser.add_argument("--num_threads", help="Batches loaded in parallel, or 'auto' (default: 2)", default="2")
    parser.add_argument("--data_format", help="NHWC or NCHW (default: NHWC)", default="NHWC")
    parser.add_argument("--device", help="Copy batches to this device, e.g. '/GPU:0' (default: none)", default=None)
    parser.add_argument("--data_dir", help="Reuse or keep the dataset here (default: a temporary folder)", default=None)
    args = parser.parse_args()
    batch = args.batch or DEFAULT_BATCH.get(args.res, 16)
    num_images = args.num_images or DEFAULT_IMAGES.get(args.res, 500)

    from datasets.shapes import create_shapes  # pylint: disable=import-outside-toplevel

    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(args.data_dir or tmp, "shapes%d-%d" % (args.res, num_images))
        if not os.path.isdir(folder):
            start = time.time()
            create_shapes(folder, resolution=args.res, num_images=num_images)
            print("Created %d %dx%d images in %.1f s" % (num_images, args.res, args.res, time.time() - start))
        num_threads = args.num_threads if args.num_threads == "auto" else int(args.num_threads)
        rate = measure(
            folder, batch, args.seconds, device=args.device, num_threads=num_threads, data_format=args.data_format
        )
    print(
        "res %d  batch %d  %s  num_threads %s  %s: %.0f images/s (%.1f MB/s)"
        % (
            args.res,
            batch,
            args.data_format,
            args.num_threads,
            args.device or "host",
            rate,
            rate * 3 * args.res * args.res / 1e6,
        )
    )


if __name__ == "__main__":
    main()
