"""dataset_tool.py and the datasets/ package: official format, order and error handling."""

import gzip
import io
import os
import pickle
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest
import tensorflow as tf

import dataset_tool
from datasets import image_folder
from datasets import inspection
from datasets import lsun
from datasets import mnist
from datasets import pickled
from datasets import shapes
from datasets.celeba import create_celeba
from datasets.errors import DatasetError
from datasets.hdf5 import create_from_hdf5
from datasets.tfrecord_export import TFRecordExporter
from datasets.tfrecord_format import encode_image
from datasets.tfrecord_reader import TFRecordDataset
from tests.conftest import REPO
from tests.conftest import SHARED
from tests.conftest import golden_path
from tests.conftest import user_env

# ----------------------------------------------------------------------------
# Helpers (independent of the code under test: records are parsed with TensorFlow).


def parse_file(path):
    """Every record of a .tfrecords file as uint8 [C, H, W], parsed by tf.train.Example."""
    images = []
    for record in tf.data.TFRecordDataset(str(path)):
        example = tf.train.Example.FromString(record.numpy())
        shape = list(example.features.feature["shape"].int64_list.value)
        data = example.features.feature["data"].bytes_list.value[0]
        images.append(np.frombuffer(data, np.uint8).reshape(shape))
    return images


def tfrecord_files(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".tfrecords"))


def box_mean_levels(img):
    """Official pyramid computed independently: rint of the exact 2^k box mean of level 0, in float64."""
    levels = [img]
    c, h, w = img.shape
    size = 2
    while h // size >= 4:
        mean = img.astype(np.float64).reshape(c, h // size, size, w // size, size).mean(axis=(2, 4))
        levels.append(np.rint(mean).astype(np.uint8))
        size *= 2
    return levels


def read_dataset(folder):
    """{resolution: [images]} of a dataset folder, parsed by TensorFlow."""
    return {
        parse_file(os.path.join(folder, name))[0].shape[1]: parse_file(os.path.join(folder, name))
        for name in tfrecord_files(folder)
    }


def assert_nothing_left(parent, name):
    """The output folder does not exist and no temporary folder remains next to it."""
    assert not os.path.exists(os.path.join(parent, name))
    leftovers = [entry for entry in os.listdir(parent) if name in entry]
    assert leftovers == [], leftovers


def save_png(path, array, mode=None):
    PIL.Image.fromarray(array, mode).save(path)


# ----------------------------------------------------------------------------
# Golden: our create_from_images against the official tool's output.


@pytest.mark.parametrize("case,shuffle", [("rgb32_shuffled", 1), ("gray16_ordered", 0)])
def test_create_from_images_matches_official(tmp_path, case, shuffle):
    golden = golden_path("datasets/%s" % case)
    out = tmp_path / "tfrecords"  # The official files are named after their folder, "tfrecords".
    image_folder.create_from_images(str(out), str(golden / "images"), shuffle=shuffle)
    assert tfrecord_files(out) == tfrecord_files(golden / "tfrecords")
    for name in tfrecord_files(out):
        ours, theirs = parse_file(out / name), parse_file(golden / "tfrecords" / name)
        assert len(ours) == len(theirs) == len(os.listdir(golden / "images"))
        for a, b in zip(ours, theirs):
            assert a.shape == b.shape and np.array_equal(a, b)
        assert (out / name).read_bytes() == (golden / "tfrecords" / name).read_bytes()
    assert not (out / "tfrecords-rxx.labels").exists()


@pytest.mark.parametrize("case", ["rgb32_shuffled", "gray16_ordered"])
def test_reader_reads_official_files(case):
    folder = golden_path("datasets/%s/tfrecords" % case)
    dataset = TFRecordDataset(str(folder), repeat=False, shuffle_mb=0)
    records = {name: parse_file(folder / name) for name in tfrecord_files(folder)}
    assert dataset.shape == list(records[tfrecord_files(folder)[-1]][0].shape)
    for lod in range(dataset.resolution_log2 - 1):
        expected = np.stack(records["tfrecords-r%02d.tfrecords" % (dataset.resolution_log2 - lod)])
        got = np.concatenate([images.numpy() for images, _ in dataset.get_dataset(3, lod)])
        np.testing.assert_array_equal(got, expected.transpose(0, 2, 3, 1))


def test_manual_record_encoding_equals_protobuf():
    # Protobuf's own map order varies between processes; ours is always "shape" then "data",
    # the order of the official files (their bytes are compared above).
    for shape in [(1, 4, 4), (3, 32, 32), (3, 256, 256), (1, 2048, 2048)]:
        img = np.random.RandomState(0).randint(0, 256, shape).astype(np.uint8)
        example = tf.train.Example(
            features=tf.train.Features(
                feature={
                    "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=shape)),
                    "data": tf.train.Feature(bytes_list=tf.train.BytesList(value=[img.tobytes()])),
                }
            )
        )
        ours = encode_image(img)
        assert tf.train.Example.FromString(ours) == example
        assert ours.startswith(b"\n") and ours.index(b"shape") < ours.index(b"data")
        assert len(ours) == len(example.SerializeToString())


# ----------------------------------------------------------------------------
# MNIST (real files in ../shared/data/mnist).


def _decode_mnist():
    mnist_dir = SHARED / "data" / "mnist"
    with gzip.open(mnist_dir / "train-images-idx3-ubyte.gz") as file:
        images = np.frombuffer(file.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(mnist_dir / "train-labels-idx1-ubyte.gz") as file:
        labels = np.frombuffer(file.read(), np.uint8, offset=8)
    return mnist_dir, images, labels


def test_create_mnist_subset_is_prefix_of_official_order(tmp_path, shared_dir):
    mnist_dir, images, labels = _decode_mnist()
    assert images.shape == (60000, 28, 28)
    order = np.arange(60000)
    np.random.RandomState(123).shuffle(order)
    n = 120
    out = tmp_path / "mnist"
    mnist.create_mnist(str(out), str(mnist_dir), num_images=n)
    assert tfrecord_files(out) == [
        "mnist-r02.tfrecords",
        "mnist-r03.tfrecords",
        "mnist-r04.tfrecords",
        "mnist-r05.tfrecords",
    ]
    records = parse_file(out / "mnist-r05.tfrecords")
    assert len(records) == n
    for record, idx in zip(records, order[:n]):
        assert record.shape == (1, 32, 32)
        assert not record[:, :2].any() and not record[:, -2:].any()
        assert not record[:, :, :2].any() and not record[:, :, -2:].any()
        np.testing.assert_array_equal(record[0, 2:30, 2:30], images[idx])
    onehot = np.load(out / "mnist-rxx.labels")
    assert onehot.dtype == np.float32 and onehot.shape == (n, 10)
    np.testing.assert_array_equal(onehot.argmax(1), labels[order[:n]])
    np.testing.assert_array_equal(onehot.sum(1), 1)
    low = parse_file(out / "mnist-r03.tfrecords")
    np.testing.assert_array_equal(low[7], box_mean_levels(records[7])[2])


def test_create_mnistrgb_official_draws(tmp_path, shared_dir):
    mnist_dir, images, _ = _decode_mnist()
    padded = np.pad(images, [(0, 0), (2, 2), (2, 2)])
    out = tmp_path / "mnistrgb"
    mnist.create_mnistrgb(str(out), str(mnist_dir), num_images=25, random_seed=7)
    records = parse_file(out / "mnistrgb-r05.tfrecords")
    rnd = np.random.RandomState(7)
    assert len(records) == 25
    for record in records:
        np.testing.assert_array_equal(record, padded[rnd.randint(60000, size=3)])
    assert not (out / "mnistrgb-rxx.labels").exists()


def test_create_mnist_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DatasetError, match='MNIST file .*train-images-idx3-ubyte.gz" not found'):
        mnist.create_mnist(str(tmp_path / "out"), str(tmp_path))
    assert_nothing_left(tmp_path, "out")
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"not a gzip file")
    with pytest.raises(DatasetError, match="cannot read .*download it again"):
        mnist.create_mnistrgb(str(tmp_path / "out"), str(tmp_path))
    assert_nothing_left(tmp_path, "out")


# ----------------------------------------------------------------------------
# create_shapes.


def test_create_shapes_deterministic(tmp_path):
    for name, seed in [("a", 5), ("b", 5), ("c", 6)]:
        shapes.create_shapes(str(tmp_path / name), resolution=16, num_images=40, random_seed=seed, num_threads=2)
    names = tfrecord_files(tmp_path / "a")
    assert names == ["a-r02.tfrecords", "a-r03.tfrecords", "a-r04.tfrecords"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name.replace("a-", "b-")).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name.replace("a-", "c-")).read_bytes()
    images = parse_file(tmp_path / "a" / "a-r04.tfrecords")
    assert len({img.tobytes() for img in images}) == 40  # Every image differs.
    assert all(img.std() > 0 for img in images)


@pytest.mark.parametrize("resolution,num_channels", [(32, 3), (64, 1)])
def test_create_shapes_pyramid(tmp_path, resolution, num_channels):
    shapes.create_shapes(str(tmp_path / "s"), resolution=resolution, num_images=6, num_channels=num_channels)
    levels = read_dataset(tmp_path / "s")
    assert sorted(levels) == [4 << k for k in range(int(np.log2(resolution)) - 1)]
    for idx, full in enumerate(levels[resolution]):
        assert full.shape == (num_channels, resolution, resolution)
        for expected in box_mean_levels(full)[1:]:
            np.testing.assert_array_equal(levels[expected.shape[1]][idx], expected)


def test_create_shapes_labels(tmp_path):
    shapes.create_shapes(str(tmp_path / "s"), resolution=8, num_images=30, labels=1)
    labels = np.load(tmp_path / "s" / "s-rxx.labels")
    assert labels.shape == (30, 3) and labels.dtype == np.float32
    np.testing.assert_array_equal(labels.sum(1), 1)
    assert len(set(labels.argmax(1))) == 3


# ----------------------------------------------------------------------------
# TFRecordExporter: atomic output.


def test_exporter_pyramid_of_float_input_matches_official_formula(tmp_path):
    img = np.random.RandomState(1).uniform(-10, 265, [3, 16, 16]).astype(np.float32)
    with TFRecordExporter(str(tmp_path / "f"), 1, print_progress=False) as tfr:
        tfr.add_image(img)
    levels = read_dataset(tmp_path / "f")
    np.testing.assert_array_equal(levels[16][0], np.rint(img).clip(0, 255).astype(np.uint8))
    running = img
    for res in (8, 4):
        running = (
            running[:, 0::2, 0::2] + running[:, 0::2, 1::2] + running[:, 1::2, 0::2] + running[:, 1::2, 1::2]
        ) * 0.25
        np.testing.assert_array_equal(levels[res][0], np.rint(running).clip(0, 255).astype(np.uint8))


def test_exporter_error_inside_block_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with TFRecordExporter(str(tmp_path / "new" / "deep" / "ds"), 3, print_progress=False) as tfr:
            tfr.add_image(np.zeros([3, 8, 8], np.uint8))
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []  # Even the parent folders it created are gone.


def test_exporter_abort_and_empty_and_labels(tmp_path):
    tfr = TFRecordExporter(str(tmp_path / "ds"), 2, print_progress=False)
    tfr.add_image(np.zeros([1, 4, 4], np.uint8))
    tfr.abort()
    assert_nothing_left(tmp_path, "ds")
    with pytest.raises(DatasetError, match="no images were added"):
        with TFRecordExporter(str(tmp_path / "ds"), 2, print_progress=False):
            pass
    assert_nothing_left(tmp_path, "ds")
    with pytest.raises(DatasetError, match="one row per added image"):
        with TFRecordExporter(str(tmp_path / "ds"), 2, print_progress=False) as tfr:
            tfr.add_image(np.zeros([1, 4, 4], np.uint8))
            tfr.add_labels(np.zeros([2, 3]))
    assert_nothing_left(tmp_path, "ds")


def test_exporter_overwrite(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "old.txt").write_text("old")
    with pytest.raises(DatasetError, match="already exists and is not empty.*--overwrite"):
        TFRecordExporter(str(tmp_path / "ds"), 1, print_progress=False)
    with pytest.raises(DatasetError, match="is 8x4"):  # A failed overwrite keeps the old folder.
        with TFRecordExporter(str(tmp_path / "ds"), 1, print_progress=False, overwrite=True) as tfr:
            tfr.add_image(np.zeros([3, 4, 8], np.uint8))
    assert os.listdir(tmp_path / "ds") == ["old.txt"] and sorted(os.listdir(tmp_path)) == ["ds"]
    with TFRecordExporter(str(tmp_path / "ds"), 1, print_progress=False, overwrite=True) as tfr:
        tfr.add_image(np.full([3, 8, 8], 7, np.uint8))
    assert sorted(os.listdir(tmp_path / "ds")) == ["ds-r02.tfrecords", "ds-r03.tfrecords"]
    assert sorted(os.listdir(tmp_path)) == ["ds"]
    (tmp_path / "empty").mkdir()  # An existing empty folder is fine without --overwrite.
    with TFRecordExporter(str(tmp_path / "empty"), 1, print_progress=False) as tfr:
        tfr.add_image(np.full([3, 4, 4], 7, np.uint8))
    assert os.listdir(tmp_path / "empty") == ["empty-r02.tfrecords"]


def test_exporter_shuffled_order_is_official(tmp_path):
    order = np.arange(1000)
    np.random.RandomState(123).shuffle(order)
    tfr = TFRecordExporter(str(tmp_path / "ds"), 1000, print_progress=False)
    np.testing.assert_array_equal(tfr.choose_shuffled_order(), order)
    tfr.abort()
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------
# create_from_images: bad input, each leaving nothing behind.


def _images_dir(tmp_path, arrays, names=None):
    folder = tmp_path / "images"
    folder.mkdir()
    for idx, array in enumerate(arrays):
        save_png(folder / (names[idx] if names else "img%03d.png" % idx), array)
    return folder


def _expect_error(tmp_path, image_dir, pattern, **kwargs):
    with pytest.raises(DatasetError, match=pattern):
        image_folder.create_from_images(str(tmp_path / "out"), str(image_dir), **kwargs)
    assert_nothing_left(tmp_path, "out")


def rgb(size, value=0):
    return np.full([size[1], size[0], 3], value, np.uint8)


def test_bad_input_missing_folder(tmp_path):
    _expect_error(tmp_path, tmp_path / "nope", 'image folder ".*nope" does not exist')


def test_bad_input_empty_folder(tmp_path):
    (tmp_path / "images").mkdir()
    _expect_error(tmp_path, tmp_path / "images", "no input images found")


def test_bad_input_non_image_file(tmp_path):
    folder = _images_dir(tmp_path, [rgb((8, 8)), rgb((8, 8))])
    (folder / "img001.png").write_bytes(b"this is not an image")
    _expect_error(tmp_path, folder, r'cannot read image ".*img001.png" \(not an image\); remove or replace the file')


def test_bad_input_truncated_file(tmp_path):
    folder = _images_dir(tmp_path, [np.random.RandomState(0).randint(0, 256, [64, 64, 3]).astype(np.uint8)] * 3)
    data = (folder / "img002.png").read_bytes()
    (folder / "img002.png").write_bytes(data[: len(data) // 2])
    _expect_error(tmp_path, folder, r'cannot read image ".*img002.png" \(.*truncated.*\)', shuffle=0)


def test_bad_input_mixed_sizes(tmp_path):
    folder = _images_dir(tmp_path, [rgb((8, 8)), rgb((8, 8)), rgb((16, 16))])
    _expect_error(
        tmp_path, folder, r'image ".*img002.png" is 16x16 RGB but ".*img000.png" is 8x8 RGB.*--resize', shuffle=0
    )


def test_bad_input_mixed_modes(tmp_path):
    folder = _images_dir(tmp_path, [rgb((8, 8)), np.zeros([8, 8], np.uint8)])
    _expect_error(tmp_path, folder, "is 8x8 grayscale but .* is 8x8 RGB; all images must have the same size and mode$")


def test_bad_input_non_power_of_two(tmp_path):
    folder = _images_dir(tmp_path, [rgb((24, 24))])
    _expect_error(tmp_path, folder, "is 24x24; the resolution must be a power of two >= 4 .pass --resize N")


def test_bad_input_non_square(tmp_path):
    folder = _images_dir(tmp_path, [rgb((32, 16))])
    _expect_error(tmp_path, folder, "is 32x16; input images must have the same width and height .pass --crop 1")


def test_bad_input_unsupported_channels(tmp_path):
    folder = _images_dir(tmp_path, [np.zeros([8, 8, 4], np.uint8)])
    _expect_error(tmp_path, folder, "has mode RGBA; only RGB and grayscale .L. images are supported")


def test_bad_input_existing_output(tmp_path):
    folder = _images_dir(tmp_path, [rgb((8, 8))])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(DatasetError, match="already exists and is not empty; choose another path or pass --overwrite"):
        image_folder.create_from_images(str(tmp_path / "out"), str(folder))
    assert os.listdir(tmp_path / "out") == ["keep.txt"]


def test_crop_and_resize_options(tmp_path):
    rnd = np.random.RandomState(3)
    arrays = [rnd.randint(0, 256, [30, 50, 3]).astype(np.uint8), rnd.randint(0, 256, [40, 40, 3]).astype(np.uint8)]
    folder = _images_dir(tmp_path, arrays)
    image_folder.create_from_images(str(tmp_path / "out"), str(folder), shuffle=0, resize=16, crop=1)
    records = parse_file(tmp_path / "out" / "out-r04.tfrecords")
    expected0 = np.asarray(PIL.Image.fromarray(arrays[0][:, 10:40]).resize((16, 16), PIL.Image.LANCZOS))
    expected1 = np.asarray(PIL.Image.fromarray(arrays[1]).resize((16, 16), PIL.Image.LANCZOS))
    np.testing.assert_array_equal(records[0], expected0.transpose(2, 0, 1))
    np.testing.assert_array_equal(records[1], expected1.transpose(2, 0, 1))
    with pytest.raises(DatasetError, match="not square; pass --crop 1"):
        image_folder.create_from_images(str(tmp_path / "out2"), str(folder), resize=16)
    assert_nothing_left(tmp_path, "out2")


# ----------------------------------------------------------------------------
# The CLI: one line on stderr, non-zero exit, no traceback.


def run_tool(*args, cwd=None):
    return subprocess.run(
        [sys.executable, str(REPO / "dataset_tool.py"), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=user_env(),
        timeout=120,
    )


def test_cli_missing_folder(tmp_path):
    result = run_tool("create_from_images", tmp_path / "out", tmp_path / "missing")
    assert result.returncode == 2
    assert result.stderr == 'dataset_tool.py: error: image folder "%s" does not exist\n' % (tmp_path / "missing")
    assert_nothing_left(tmp_path, "out")


def test_cli_non_square_and_existing_output(tmp_path):
    folder = _images_dir(tmp_path, [rgb((16, 8))])
    result = run_tool("create_from_images", tmp_path / "out", folder)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith('dataset_tool.py: error: image "') and "is 16x8" in result.stderr
    assert_nothing_left(tmp_path, "out")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x")
    save_png(folder / "img000.png", rgb((8, 8)))
    result = run_tool("create_from_images", tmp_path / "taken", folder)
    assert result.returncode == 2
    assert result.stderr == (
        'dataset_tool.py: error: output folder "%s" already exists and is not empty; '
        "choose another path or pass --overwrite\n" % (tmp_path / "taken")
    )
    assert os.listdir(tmp_path / "taken") == ["x"]


@pytest.mark.slow
def test_cli_error_after_writing_started(tmp_path, capsys):
    # TensorFlow is loaded by then: its start-up chatter must not reach stderr either.
    folder = _images_dir(tmp_path, [rgb((8, 8), k) for k in range(5)] + [rgb((4, 4))])
    result = run_tool("create_from_images", tmp_path / "out", folder, "--shuffle", "0")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert 'img005.png" is 4x4 RGB but' in result.stderr
    assert_nothing_left(tmp_path, "out")
    dataset_tool.execute_cmdline(
        ["dataset_tool.py", "create_from_images", str(tmp_path / "out"), str(folder), "--shuffle", "0", "--resize", "8"]
    )
    assert "Added 6 images." in capsys.readouterr().out
    assert tfrecord_files(tmp_path / "out") == ["out-r02.tfrecords", "out-r03.tfrecords"]
    with pytest.raises(SystemExit) as exit_info:
        dataset_tool.execute_cmdline(["dataset_tool.py", "create_shapes", str(tmp_path / "s"), "--resolution", "12"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == "dataset_tool.py: error: --resolution must be a power of two >= 4, got 12\n"


def test_official_command_lines_parse():
    parser = dataset_tool.build_parser("dataset_tool.py")
    lines = [
        "display datasets/mnist",
        "extract datasets/mnist mnist-images",
        "compare datasets/mydataset datasets/mnist --ignore_labels 1",
        "create_mnist datasets/mnist ~/downloads/mnist",
        "create_mnistrgb datasets/mnistrgb ~/downloads/mnist --num_images 1000 --random_seed 1",
        "create_cifar10 datasets/cifar10 ~/downloads/cifar10",
        "create_cifar100 datasets/cifar100 ~/downloads/cifar100",
        "create_svhn datasets/svhn ~/downloads/svhn",
        "create_lsun datasets/lsun-car-100k ~/downloads/lsun/car_lmdb --resolution 256 --max_images 100000",
        "create_lsun_wide datasets/lsun-car-512x384 ~/downloads/lsun/car_lmdb --width 512 --height 384",
        "create_celeba datasets/celeba ~/downloads/celeba --cx 89 --cy 121",
        "create_celebahq datasets/celebahq ~/downloads/celeba ~/downloads/celeba-hq-deltas --num_threads 4 --num_tasks 100",
        "create_from_images datasets/mydataset myimagedir --shuffle 0",
        "create_from_hdf5 datasets/celebahq ~/downloads/celeba-hq-1024x1024.h5 --shuffle 1",
        "create_shapes datasets/shapes --resolution 64 --num_images 100 --num_channels 1 --random_seed 5",
    ]
    for line in lines:
        args = vars(parser.parse_args(line.split()))
        module, func = dataset_tool.COMMANDS[args.pop("command")]
        assert func == line.split()[0]
        assert "tfrecord_dir" in args or "tfrecord_dir_a" in args
    assert callable(dataset_tool.celebahq_process)


# ----------------------------------------------------------------------------
# Other creators on small synthetic inputs in the official formats.


def _cifar_like(rnd, n):
    return rnd.randint(0, 256, [n, 3072]).astype(np.uint8), rnd.randint(0, 10, n)


def test_create_cifar10_and_svhn(tmp_path):
    rnd = np.random.RandomState(0)
    src = tmp_path / "cifar"
    src.mkdir()
    images, labels = [], []
    for batch in range(1, 6):
        data, lab = _cifar_like(rnd, 3)
        with open(src / ("data_batch_%d" % batch), "wb") as file:
            pickle.dump({"data": data, "labels": lab.tolist()}, file)
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(lab)
    images, labels = np.concatenate(images), np.concatenate(labels)
    pickled.create_cifar10(str(tmp_path / "c10"), str(src))
    order = np.arange(15)
    np.random.RandomState(123).shuffle(order)
    records = parse_file(tmp_path / "c10" / "c10-r05.tfrecords")
    np.testing.assert_array_equal(np.stack(records), images[order])
    onehot = np.load(tmp_path / "c10" / "c10-rxx.labels")
    assert onehot.shape == (15, 10)
    np.testing.assert_array_equal(onehot.argmax(1), labels[order])

    svhn = tmp_path / "svhn"
    svhn.mkdir()
    for batch in range(1, 4):
        with open(svhn / ("train_%d.pkl" % batch), "wb") as file:
            pickle.dump((images[batch * 3 : batch * 3 + 3], labels[batch * 3 : batch * 3 + 3].astype(np.uint8)), file)
    pickled.create_svhn(str(tmp_path / "svhn_ds"), str(svhn))
    order = np.arange(9)
    np.random.RandomState(123).shuffle(order)
    np.testing.assert_array_equal(
        np.stack(parse_file(tmp_path / "svhn_ds" / "svhn_ds-r05.tfrecords")), images[3:12][order]
    )

    with pytest.raises(DatasetError, match='CIFAR-100 file ".*train" not found'):
        pickled.create_cifar100(str(tmp_path / "c100"), str(src))
    assert_nothing_left(tmp_path, "c100")
    (src / "train").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="cannot read CIFAR-100 file"):
        pickled.create_cifar100(str(tmp_path / "c100"), str(src))
    assert_nothing_left(tmp_path, "c100")


def test_create_cifar100(tmp_path):
    rnd = np.random.RandomState(1)
    data, labels = rnd.randint(0, 256, [6, 3072]).astype(np.uint8), rnd.randint(0, 100, 6)
    with open(tmp_path / "train", "wb") as file:
        pickle.dump({"data": data, "fine_labels": labels.tolist(), "coarse_labels": [0] * 6}, file)
    pickled.create_cifar100(str(tmp_path / "c100"), str(tmp_path))
    order = np.arange(6)
    np.random.RandomState(123).shuffle(order)
    onehot = np.load(tmp_path / "c100" / "c100-rxx.labels")
    assert onehot.shape == (6, 100)
    np.testing.assert_array_equal(onehot.argmax(1), labels[order])


def _encode(array, fmt):
    buffer = io.BytesIO()
    PIL.Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def test_create_lsun_and_lsun_wide(tmp_path):
    import lmdb

    rnd = np.random.RandomState(2)
    arrays = [
        rnd.randint(0, 256, shape).astype(np.uint8)
        for shape in [(20, 30, 3), (64, 48, 3), (40, 40), (50, 96, 3), (40, 70, 3)]
    ]
    values = [
        _encode(arrays[0], "PNG"),
        _encode(arrays[1], "WEBP"),
        _encode(arrays[2], "PNG"),
        b"corrupt",
        _encode(arrays[3], "PNG"),
        _encode(arrays[4], "PNG"),
    ]
    env = lmdb.open(str(tmp_path / "db"), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for idx, value in enumerate(values):
            txn.put(b"%04d" % idx, value)
    env.close()

    lsun.create_lsun(str(tmp_path / "sq"), str(tmp_path / "db"), resolution=16, num_threads=2)
    records = parse_file(tmp_path / "sq" / "sq-r04.tfrecords")
    decoded = [np.asarray(PIL.Image.open(io.BytesIO(value)).convert("RGB")) for value in values if value != b"corrupt"]
    assert len(records) == 5  # The corrupt value is reported and skipped.
    for record, img in zip(records, decoded):
        crop = min(img.shape[:2])
        top, left = (img.shape[0] - crop) // 2, (img.shape[1] - crop) // 2
        expected = PIL.Image.fromarray(img[top : top + crop, left : left + crop]).resize((16, 16), PIL.Image.LANCZOS)
        np.testing.assert_array_equal(record, np.asarray(expected).transpose(2, 0, 1))

    lsun.create_lsun(str(tmp_path / "sq2"), str(tmp_path / "db"), resolution=8, max_images=2)
    assert len(parse_file(tmp_path / "sq2" / "sq2-r03.tfrecords")) == 2

    lsun.create_lsun_wide(str(tmp_path / "wide"), str(tmp_path / "db"), width=64, height=32)
    records = parse_file(tmp_path / "wide" / "wide-r06.tfrecords")
    assert len(records) == 2  # Only the 96- and 70-wide images are at least 64 wide and tall enough.
    img = arrays[3]
    ch = int(np.round(64 * 50 / 96))
    expected = np.asarray(PIL.Image.fromarray(img[(50 - ch) // 2 : (50 + ch) // 2]).resize((64, 32), PIL.Image.LANCZOS))
    np.testing.assert_array_equal(records[0][:, 16:48], expected.transpose(2, 0, 1))
    assert not records[0][:, :16].any() and not records[0][:, 48:].any()

    with pytest.raises(DatasetError, match='LMDB database ".*nodb" does not exist'):
        lsun.create_lsun(str(tmp_path / "x"), str(tmp_path / "nodb"))
    assert_nothing_left(tmp_path, "x")


def test_create_celeba(tmp_path):
    rnd = np.random.RandomState(4)
    folder = tmp_path / "celeba" / "img_align_celeba_png"
    folder.mkdir(parents=True)
    arrays = [rnd.randint(0, 256, [218, 178, 3]).astype(np.uint8) for _ in range(5)]
    for idx, array in enumerate(arrays):
        save_png(folder / ("%06d.png" % (idx + 1)), array)
    with pytest.raises(DatasetError, match="expected to find 202599 images in .*, found 5"):
        create_celeba(str(tmp_path / "out"), str(tmp_path / "celeba"))
    assert_nothing_left(tmp_path, "out")
    create_celeba(str(tmp_path / "out"), str(tmp_path / "celeba"), cx=80, cy=100, expected_images=5)
    order = np.arange(5)
    np.random.RandomState(123).shuffle(order)
    records = parse_file(tmp_path / "out" / "out-r07.tfrecords")
    for record, idx in zip(records, order):
        np.testing.assert_array_equal(record, arrays[idx][36:164, 16:144].transpose(2, 0, 1))
    save_png(folder / "000003.png", arrays[0][:200])
    with pytest.raises(DatasetError, match='000003.png" is 200x178x3; aligned CelebA images are 178x218 RGB'):
        create_celeba(str(tmp_path / "out2"), str(tmp_path / "celeba"), expected_images=5)
    assert_nothing_left(tmp_path, "out2")


def test_create_from_hdf5(tmp_path):
    import h5py

    rnd = np.random.RandomState(5)
    images = rnd.randint(0, 256, [7, 3, 16, 16]).astype(np.uint8)
    labels = rnd.uniform(size=[7, 4]).astype(np.float32)
    with h5py.File(tmp_path / "legacy.h5", "w") as file:
        file["data16x16"] = images
        file["data8x8"] = images[:, :, ::2, ::2]
    np.save(tmp_path / "legacy-labels.npy", labels)
    create_from_hdf5(str(tmp_path / "out"), str(tmp_path / "legacy.h5"), shuffle=1)
    order = np.arange(7)
    np.random.RandomState(123).shuffle(order)
    np.testing.assert_array_equal(np.stack(parse_file(tmp_path / "out" / "out-r04.tfrecords")), images[order])
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "out-rxx.labels"), labels[order])
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    with pytest.raises(DatasetError, match="cannot open HDF5 archive"):
        create_from_hdf5(str(tmp_path / "out2"), str(tmp_path / "bad.h5"), shuffle=0)
    assert_nothing_left(tmp_path, "out2")


# ----------------------------------------------------------------------------
# display / extract / compare.


def test_extract_display_compare(tmp_path, capsys):
    golden = golden_path("datasets/rgb32_shuffled/tfrecords")
    records = parse_file(golden / "tfrecords-r05.tfrecords")
    inspection.extract(str(golden), str(tmp_path / "png"))
    names = sorted(os.listdir(tmp_path / "png"))
    assert names == ["img%08d.png" % idx for idx in range(len(records))]
    for name, record in zip(names, records):
        np.testing.assert_array_equal(np.asarray(PIL.Image.open(tmp_path / "png" / name)), record.transpose(1, 2, 0))

    inspection.display(str(golden), out=str(tmp_path / "grid.png"), num=10, columns=4)
    grid = np.asarray(PIL.Image.open(tmp_path / "grid.png"))
    assert grid.shape == (3 * 32, 4 * 32, 3)
    np.testing.assert_array_equal(grid[32:64, 64:96], records[6].transpose(1, 2, 0))
    assert "idx = 9 " in capsys.readouterr().out

    image_folder.create_from_images(str(tmp_path / "same"), str(golden.parent / "images"), shuffle=1)
    image_folder.create_from_images(str(tmp_path / "other"), str(golden.parent / "images"), shuffle=0)
    capsys.readouterr()
    assert inspection.compare(str(golden), str(tmp_path / "same")) == (24, 24, 24)
    assert "Identical images: 24 / 24" in capsys.readouterr().out
    identical, _, total = inspection.compare(str(golden), str(tmp_path / "other"), ignore_labels=1)
    out = capsys.readouterr().out
    assert total == 24 and identical < 24
    assert "Identical images: %d / 24" % identical in out
    assert "Image 0 is different" in out and "Identical labels" not in out
