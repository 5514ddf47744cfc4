"""Tool for creating, extracting, and visualizing Progressive GAN datasets.

Every command and argument of the official ProGAN `dataset_tool.py` (plus StyleGAN's
`create_lsun_wide`) works unchanged, e.g.

    python dataset_tool.py create_from_images datasets/mydataset myimagedir
    python dataset_tool.py create_mnist datasets/mnist ~/downloads/mnist

Extensions: `create_shapes` (a procedural dataset, no download), `--overwrite` on every
create command, `--resize`/`--crop` for create_from_images, `--num_images` for
create_mnist, `--num_threads` for the image decoders, and a headless `display` that
writes an image grid PNG. Errors are one line on stderr with a non-zero exit status, and
a failed command leaves no output folder behind.
"""

import importlib
import os
import sys

from utils import cli
from utils import quiet_tensorflow

quiet_tensorflow.install()  # TensorFlow's start-up log stays off the terminal.

# ----------------------------------------------------------------------------
# CelebA-HQ lives in datasets/celebahq.py; these delegate to it lazily.


def celebahq_process(
    jpeg_path,  # Original in-the-wild CelebA JPEG.
    landmarks,  # [5, 2] landmarks (eyes, nose, mouth corners).
):
    """The CelebA-HQ image before its delta is added: uint8 [3, 1024, 1024]."""
    from datasets.celebahq import celebahq_process as process  # Lazy: a module loads when its command runs (COMMANDS).

    return process(jpeg_path, landmarks)


def create_celebahq(
    tfrecord_dir,  # New dataset folder.
    celeba_dir,  # CelebA folder with img_celeba/ and Anno/.
    delta_dir,  # Folder with the CelebA-HQ deltas and image_list.txt.
    num_threads=4,  # Concurrent workers.
    num_tasks=100,  # Images in flight.
    overwrite=False,  # Replace an existing output folder.
):
    """Official `create_celebahq` (implemented in datasets/celebahq.py)."""
    from datasets.celebahq import create_celebahq as create  # Lazy: a module loads when its command runs (COMMANDS).

    kwargs = {"overwrite": True} if overwrite else {}
    return create(tfrecord_dir, celeba_dir, delta_dir, num_threads=num_threads, num_tasks=num_tasks, **kwargs)


# ----------------------------------------------------------------------------

# command -> (module, function); modules are imported only when their command runs.
COMMANDS = {
    "display": ("datasets.inspection", "display"),
    "extract": ("datasets.inspection", "extract"),
    "compare": ("datasets.inspection", "compare"),
    "create_mnist": ("datasets.mnist", "create_mnist"),
    "create_mnistrgb": ("datasets.mnist", "create_mnistrgb"),
    "create_cifar10": ("datasets.pickled", "create_cifar10"),
    "create_cifar100": ("datasets.pickled", "create_cifar100"),
    "create_svhn": ("datasets.pickled", "create_svhn"),
    "create_lsun": ("datasets.lsun", "create_lsun"),
    "create_lsun_wide": ("datasets.lsun", "create_lsun_wide"),
    "create_celeba": ("datasets.celeba", "create_celeba"),
    "create_celebahq": (__name__, "create_celebahq"),
    "create_from_images": ("datasets.image_folder", "create_from_images"),
    "create_from_hdf5": ("datasets.hdf5", "create_from_hdf5"),
    "create_shapes": ("datasets.shapes", "create_shapes"),
}


def build_parser(prog):
    """The argparse parser: the official commands and arguments, plus our extensions."""
    parser = cli.ArgumentParser(
        prog=prog,
        description="Tool for creating, extracting, and visualizing Progressive GAN datasets.",
        epilog='Type "%s <command> -h" for more information.' % prog,
    )
    subparsers = parser.add_subparsers(dest="command")
    subparsers.required = True

    def add_command(cmd, desc, example=None):
        epilog = "Example: %s %s" % (prog, example) if example is not None else None
        return subparsers.add_parser(cmd, description=desc, help=desc, epilog=epilog)

    def add_create(cmd, desc, example, source, source_help):
        p = add_command(cmd, desc, example)
        p.add_argument("tfrecord_dir", help="New dataset directory to be created")
        if source:
            p.add_argument(source, help=source_help)
        p.add_argument(
            "--overwrite", help="Replace an existing non-empty output directory (default: refuse)", action="store_true"
        )
        return p

    def add_threads(p):
        p.add_argument("--num_threads", help="Decoding threads (default: one per core)", type=int, default=None)

    p = add_command("display", "Display images in dataset (writes an image grid PNG).", "display datasets/mnist")
    p.add_argument("tfrecord_dir", help="Directory containing dataset")
    p.add_argument("--out", help="PNG file to write (default: <name>-display.png)", default=None)
    p.add_argument("--num", help="Number of images to show (default: 64)", type=int, default=64)
    p.add_argument("--columns", help="Images per grid row (default: 8)", type=int, default=8)

    p = add_command("extract", "Extract images from dataset.", "extract datasets/mnist mnist-images")
    p.add_argument("tfrecord_dir", help="Directory containing dataset")
    p.add_argument("output_dir", help="Directory to extract the images into")

    p = add_command("compare", "Compare two datasets.", "compare datasets/mydataset datasets/mnist")
    p.add_argument("tfrecord_dir_a", help="Directory containing first dataset")
    p.add_argument("tfrecord_dir_b", help="Directory containing second dataset")
    p.add_argument("--ignore_labels", help="Ignore labels (default: 0)", type=int, default=0)

    p = add_create(
        "create_mnist",
        "Create dataset for MNIST.",
        "create_mnist datasets/mnist ~/downloads/mnist",
        "mnist_dir",
        "Directory containing MNIST",
    )
    p.add_argument(
        "--num_images",
        help="Keep only the first N records of the official dataset (default: all 60000)",
        type=int,
        default=None,
    )

    p = add_create(
        "create_mnistrgb",
        "Create dataset for MNIST-RGB.",
        "create_mnistrgb datasets/mnistrgb ~/downloads/mnist",
        "mnist_dir",
        "Directory containing MNIST",
    )
    p.add_argument(
        "--num_images", help="Number of composite images to create (default: 1000000)", type=int, default=1000000
    )
    p.add_argument("--random_seed", help="Random seed (default: 123)", type=int, default=123)

    add_create(
        "create_cifar10",
        "Create dataset for CIFAR-10.",
        "create_cifar10 datasets/cifar10 ~/downloads/cifar10",
        "cifar10_dir",
        "Directory containing CIFAR-10",
    )
    add_create(
        "create_cifar100",
        "Create dataset for CIFAR-100.",
        "create_cifar100 datasets/cifar100 ~/downloads/cifar100",
        "cifar100_dir",
        "Directory containing CIFAR-100",
    )
    add_create(
        "create_svhn",
        "Create dataset for SVHN.",
        "create_svhn datasets/svhn ~/downloads/svhn",
        "svhn_dir",
        "Directory containing SVHN",
    )

    p = add_create(
        "create_lsun",
        "Create dataset for single LSUN category.",
        "create_lsun datasets/lsun-car-100k ~/downloads/lsun/car_lmdb --resolution 256 --max_images 100000",
        "lmdb_dir",
        "Directory containing LMDB database",
    )
    p.add_argument("--resolution", help="Output resolution (default: 256)", type=int, default=256)
    p.add_argument("--max_images", help="Maximum number of images (default: none)", type=int, default=None)
    add_threads(p)

    p = add_create(
        "create_lsun_wide",
        "Create LSUN dataset with non-square aspect ratio.",
        "create_lsun_wide datasets/lsun-car-512x384 ~/downloads/lsun/car_lmdb --width 512 --height 384",
        "lmdb_dir",
        "Directory containing LMDB database",
    )
    p.add_argument("--width", help="Output width (default: 512)", type=int, default=512)
    p.add_argument("--height", help="Output height (default: 384)", type=int, default=384)
    p.add_argument("--max_images", help="Maximum number of images (default: none)", type=int, default=None)
    add_threads(p)

    p = add_create(
        "create_celeba",
        "Create dataset for CelebA.",
        "create_celeba datasets/celeba ~/downloads/celeba",
        "celeba_dir",
        "Directory containing CelebA",
    )
    p.add_argument("--cx", help="Center X coordinate (default: 89)", type=int, default=89)
    p.add_argument("--cy", help="Center Y coordinate (default: 121)", type=int, default=121)
    add_threads(p)

    p = add_command(
        "create_celebahq",
        "Create dataset for CelebA-HQ.",
        "create_celebahq datasets/celebahq ~/downloads/celeba ~/downloads/celeba-hq-deltas",
    )
    p.add_argument("tfrecord_dir", help="New dataset directory to be created")
    p.add_argument("celeba_dir", help="Directory containing CelebA")
    p.add_argument("delta_dir", help="Directory containing CelebA-HQ deltas")
    p.add_argument("--num_threads", help="Number of concurrent threads (default: 4)", type=int, default=4)
    p.add_argument("--num_tasks", help="Number of concurrent processing tasks (default: 100)", type=int, default=100)
    p.add_argument(
        "--overwrite", help="Replace an existing non-empty output directory (default: refuse)", action="store_true"
    )

    p = add_create(
        "create_from_images",
        "Create dataset from a directory full of images.",
        "create_from_images datasets/mydataset myimagedir",
        "image_dir",
        "Directory containing the images",
    )
    p.add_argument("--shuffle", help="Randomize image order (default: 1)", type=int, default=1)
    p.add_argument(
        "--resize", help="Resize every image to this power-of-two size (default: off)", type=int, default=None
    )
    p.add_argument("--crop", help="Centre-crop every image to a square first (default: 0)", type=int, default=0)
    add_threads(p)

    p = add_create(
        "create_from_hdf5",
        "Create dataset from legacy HDF5 archive.",
        "create_from_hdf5 datasets/celebahq ~/downloads/celeba-hq-1024x1024.h5",
        "hdf5_filename",
        "HDF5 archive containing the images",
    )
    p.add_argument("--shuffle", help="Randomize image order (default: 1)", type=int, default=1)

    p = add_create(
        "create_shapes",
        "Create a procedural dataset of coloured shapes (no download).",
        "create_shapes datasets/shapes32 --resolution 32 --num_images 10000",
        None,
        None,
    )
    p.add_argument("--resolution", help="Output resolution, a power of two (default: 32)", type=int, default=32)
    p.add_argument("--num_images", help="Number of images (default: 10000)", type=int, default=10000)
    p.add_argument("--num_channels", help="3 = RGB, 1 = grayscale (default: 3)", type=int, default=3)
    p.add_argument(
        "--random_seed", help="Random seed; same seed gives identical files (default: 123)", type=int, default=123
    )
    p.add_argument(
        "--labels", help="1 = one shape kind per image, stored as a one-hot label (default: 0)", type=int, default=0
    )
    add_threads(p)
    return parser


def execute_cmdline(argv):
    """Run one command; bad input ends as every tool's does: `dataset_tool.py: error: <message>`, exit status 2."""
    prog = os.path.basename(argv[0]) if argv else "dataset_tool.py"
    args = build_parser(prog).parse_args(argv[1:] if len(argv) > 1 else ["-h"])
    module_name, func_name = COMMANDS[args.command]
    kwargs = {key: value for key, value in vars(args).items() if key != "command"}

    from datasets.errors import DatasetError  # pylint: disable=import-outside-toplevel

    try:
        module = sys.modules[__name__] if module_name == __name__ else importlib.import_module(module_name)
        getattr(module, func_name)(**kwargs)
    except DatasetError as err:
        cli.fail(prog, str(err))
    except ModuleNotFoundError as err:
        if err.name != "datasets.celebahq":
            raise
        cli.fail(prog, "create_celebahq needs datasets/celebahq.py, which is missing from this checkout")
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        sys.exit(130)


# ----------------------------------------------------------------------------

if __name__ == "__main__":
    execute_cmdline(sys.argv)

# ----------------------------------------------------------------------------
