"""datasets/tfrecord_reader.py: the tf.data reader of official multi-resolution datasets."""

import os
import struct

import numpy as np
import pytest
import tensorflow as tf

from datasets.errors import DatasetError
from datasets.tfrecord_export import TFRecordExporter
from datasets.tfrecord_reader import TFRecordDataset
from datasets.tfrecord_reader import load_dataset

NUM_IMAGES = 20

# ----------------------------------------------------------------------------


def _images(num, resolution, channels=3, seed=0):
    return np.random.RandomState(seed).randint(0, 256, [num, channels, resolution, resolution]).astype(np.uint8)


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    """A 16x16 RGB dataset of random images with labels [N, 5]; row i = 10*i + [0..4]."""
    folder = tmp_path_factory.mktemp("reader") / "ds"
    images = _images(NUM_IMAGES, 16)
    labels = (10 * np.arange(NUM_IMAGES)[:, None] + np.arange(5)[None]).astype(np.float32)
    with TFRecordExporter(str(folder), NUM_IMAGES, print_progress=False) as tfr:
        for img in images:
            tfr.add_image(img)
        tfr.add_labels(labels)
    return folder, images, labels


def _identify(batch, images):
    """Index of every NHWC image of a batch in the NCHW source array."""
    lookup = {img.transpose(1, 2, 0).tobytes(): idx for idx, img in enumerate(images)}
    return [lookup[img.tobytes()] for img in batch]


def _stream(dataset, minibatch_size, lod, num_batches, skip_batches=0):
    return [
        (images.numpy(), labels.numpy())
        for images, labels in dataset.get_dataset(minibatch_size, lod, skip_batches).take(num_batches)
    ]


# ----------------------------------------------------------------------------


def test_attributes(dataset_dir):
    folder, _, _ = dataset_dir
    dataset = TFRecordDataset(str(folder))
    assert dataset.shape == [3, 16, 16] and dataset.resolution == 16 and dataset.resolution_log2 == 4
    assert dataset.num_channels == 3 and dataset.num_images == NUM_IMAGES
    assert dataset.label_size == 0 and dataset.label_dtype == "float32"  # max_label_size=0 ignores the file.
    assert dataset.dynamic_range == [0, 255] and dataset.dtype == "uint8"
    images, labels = _stream(dataset, 4, 0, 1)[0]
    assert images.shape == (4, 16, 16, 3) and images.dtype == np.uint8
    assert labels.shape == (4, 0) and labels.dtype == np.float32
    spec = dataset.get_dataset(4, 0).element_spec
    assert spec[0].shape.as_list() == [4, 16, 16, 3] and spec[1].shape.as_list() == [4, 0]


def test_seeded_stream_is_deterministic_and_reshuffles_each_epoch(dataset_dir):
    folder, images, _ = dataset_dir
    first = _stream(TFRecordDataset(str(folder), seed=7), 5, 0, 12)
    second = _stream(TFRecordDataset(str(folder), seed=7), 5, 0, 12)
    other = _stream(TFRecordDataset(str(folder), seed=8), 5, 0, 12)
    per_stream = [
        (images.numpy(), labels.numpy())
        for images, labels in TFRecordDataset(str(folder)).get_dataset(5, 0, seed=7).take(12)
    ]  # The seed of one stream.
    for (a, _), (b, _), (c, _) in zip(first, second, per_stream):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    order = [idx for batch, _ in first for idx in _identify(batch, images)]
    epochs = [order[k : k + NUM_IMAGES] for k in range(0, 60, NUM_IMAGES)]
    assert all(sorted(epoch) == list(range(NUM_IMAGES)) for epoch in epochs)  # Whole epochs, each a permutation.
    assert epochs[0] != epochs[1] != epochs[2] and epochs[0] != list(range(NUM_IMAGES))
    assert order != [idx for batch, _ in other for idx in _identify(batch, images)]


@pytest.mark.parametrize("skip", [1, 3, 9])
def test_skip_batches_resumes_exactly(dataset_dir, skip):
    folder, _, _ = dataset_dir
    dataset = TFRecordDataset(str(folder), max_label_size="full", seed=11)
    fresh = _stream(dataset, 3, 1, skip + 6)
    resumed = _stream(dataset, 3, 1, 6, skip_batches=skip)
    for (a, la), (b, lb) in zip(fresh[skip:], resumed):
        assert a.shape == (3, 8, 8, 3)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)


def test_labels_follow_their_images(dataset_dir):
    folder, images, labels = dataset_dir
    for max_label_size, columns in [(0, 0), ("full", 5), (3, 3), (9, 5)]:
        dataset = TFRecordDataset(str(folder), max_label_size=max_label_size, seed=1)
        assert dataset.label_size == columns
        for batch, batch_labels in _stream(dataset, 7, 0, 4):
            np.testing.assert_array_equal(batch_labels, labels[_identify(batch, images)][:, :columns])
        random_labels = dataset.get_random_labels_np(50)
        assert random_labels.shape == (50, columns) and random_labels.dtype == np.float32
        random_tf = dataset.get_random_labels_tf(50).numpy()
        assert random_tf.shape == (50, columns)
        if columns:
            rows = {tuple(row) for row in labels[:, :columns]}
            assert all(tuple(row) in rows for row in random_labels) and all(tuple(row) in rows for row in random_tf)
            assert len({tuple(row) for row in random_labels}) > 5


def test_file_order_without_shuffle_and_end_of_data(dataset_dir):
    folder, images, _ = dataset_dir
    dataset = TFRecordDataset(str(folder), repeat=False, shuffle_mb=0)
    batches = [dataset.get_minibatch_np(6, lod=0.0)[0] for _ in range(4)]
    assert [len(batch) for batch in batches] == [6, 6, 6, 2]  # The official reader keeps the last partial batch.
    np.testing.assert_array_equal(np.concatenate(batches), images.transpose(0, 2, 3, 1))
    with pytest.raises(tf.errors.OutOfRangeError):
        dataset.get_minibatch_np(6, lod=0.0)


def test_nchw_format(dataset_dir):
    folder, images, _ = dataset_dir
    dataset = TFRecordDataset(str(folder), repeat=False, shuffle_mb=0, data_format="NCHW")
    batches = [batch.numpy() for batch, _ in dataset.get_dataset(8, 0)]
    np.testing.assert_array_equal(np.concatenate(batches), images)
    with pytest.raises(ValueError, match="data_format"):
        TFRecordDataset(str(folder), data_format="HWC")


def test_configure_switches_only_on_change(dataset_dir):
    folder, _, _ = dataset_dir
    dataset = TFRecordDataset(str(folder), seed=4)
    expected = _stream(TFRecordDataset(str(folder), seed=4), 4, 1, 3)
    got = [dataset.get_minibatch_np(4, lod=1.2)[0], dataset.get_minibatch_np(4, lod=1.9)[0]]  # Same file, continues.
    dataset.configure(4, 1.5)
    got.append(dataset.get_minibatch_tf()[0].numpy())
    for a, (b, _) in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    restarted = dataset.get_minibatch_np(4, lod=0)[0]  # Another lod restarts from a fresh stream.
    np.testing.assert_array_equal(restarted, _stream(TFRecordDataset(str(folder), seed=4), 4, 0, 1)[0][0])
    with pytest.raises(ValueError, match="lod 3 is outside 0..2"):
        dataset.configure(4, 3)


def test_lower_resolution_and_lods(tmp_path):
    images = _images(6, 32, channels=1)
    with TFRecordExporter(str(tmp_path / "ds"), 6, print_progress=False) as tfr:
        for img in images:
            tfr.add_image(img)
    full = TFRecordDataset(str(tmp_path / "ds"), repeat=False, shuffle_mb=0)
    lower = TFRecordDataset(str(tmp_path / "ds"), resolution=16, repeat=False, shuffle_mb=0)
    assert full.shape == [1, 32, 32] and lower.shape == [1, 16, 16] and lower.resolution_log2 == 4
    for lod in range(3):
        a = np.concatenate([x.numpy() for x, _ in lower.get_dataset(4, lod)])
        b = np.concatenate([x.numpy() for x, _ in full.get_dataset(4, lod + 1)])
        assert a.shape == (6, 16 >> lod, 16 >> lod, 1)
        np.testing.assert_array_equal(a, b)
    mean = images.astype(np.float64).reshape(6, 1, 16, 2, 16, 2).mean(axis=(3, 5))
    np.testing.assert_array_equal(
        np.concatenate([x.numpy() for x, _ in lower.get_dataset(6, 0)]),
        np.rint(mean).astype(np.uint8).transpose(0, 2, 3, 1),
    )
    with pytest.raises(ValueError, match="lod 3 is outside"):
        lower.get_dataset(4, 3)
    assert load_dataset(data_dir=str(tmp_path), tfrecord_dir="ds", resolution=8).shape == [1, 8, 8]


def test_shuffle_window_follows_official_megabytes(tmp_path):
    images = _images(60, 4, channels=1, seed=3)
    with TFRecordExporter(str(tmp_path / "ds"), 60, print_progress=False) as tfr:
        for img in images:
            tfr.add_image(img)
    window = 5
    dataset = TFRecordDataset(str(tmp_path / "ds"), shuffle_mb=window * 16 / 2**20, repeat=False, seed=2)
    order = [idx for batch, _ in dataset.get_dataset(10, 0) for idx in _identify(batch.numpy(), images)]
    assert sorted(order) == list(range(60)) and order != list(range(60))
    assert all(idx < pos + window for pos, idx in enumerate(order))  # Only a 5-image window is shuffled.
    assert max(pos - idx for pos, idx in enumerate(order)) < 40


# ----------------------------------------------------------------------------
# Files the fast path cannot index, and broken files.


def _frames(path):
    data = path.read_bytes()
    frames, pos = [], 0
    while pos < len(data):
        length = struct.unpack("<Q", data[pos : pos + 8])[0]
        frames.append(data[pos : pos + 16 + length])
        pos += 16 + length
    return frames


def _variable_length_dataset(folder, images):
    """8x8 and 4x4 files of `images` whose odd records carry an extra feature (frames not alike: streamed)."""
    folder.mkdir()
    for lod in range(2):
        with tf.io.TFRecordWriter(str(folder / ("var-r%02d.tfrecords" % (3 - lod)))) as writer:
            for idx, img in enumerate(images):
                level = img if lod == 0 else np.rint(img.reshape(3, 4, 2, 4, 2).mean(axis=(2, 4))).astype(np.uint8)
                feature = {
                    "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=level.shape)),
                    "data": tf.train.Feature(bytes_list=tf.train.BytesList(value=[level.tobytes()])),
                }
                if idx % 2:
                    feature["extra"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[idx] * idx))
                writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return str(folder)


def test_variable_length_records_are_streamed(tmp_path):
    images = _images(9, 8, seed=5)
    folder = tmp_path / "var"
    _variable_length_dataset(folder, images)
    plain = TFRecordDataset(str(folder), repeat=False, shuffle_mb=0)
    assert plain.num_images == 9
    got = np.concatenate([x.numpy() for x, _ in plain.get_dataset(4, 0)])
    np.testing.assert_array_equal(got, images.transpose(0, 2, 3, 1))
    seeded = TFRecordDataset(str(folder), seed=3)
    fresh, resumed = _stream(seeded, 2, 0, 8), _stream(seeded, 2, 0, 5, skip_batches=3)
    for (a, _), (b, _) in zip(fresh[3:], resumed):
        np.testing.assert_array_equal(a, b)
    order = [idx for batch, _ in fresh for idx in _identify(batch, images)]
    assert sorted(order[:9]) == list(range(9)) and order[:9] != list(range(9))


def test_corrupt_and_truncated_files(tmp_path, dataset_dir):
    folder, _, _ = dataset_dir
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in os.listdir(folder):
        (broken / name.replace("ds-", "broken-", 1)).write_bytes((folder / name).read_bytes())
    path = broken / "broken-r04.tfrecords"
    frames = _frames(path)
    damaged = bytearray(frames[3])
    damaged[20] ^= 0xFF  # Inside the protobuf structure, before the pixels.
    frames[3] = bytes(damaged)
    path.write_bytes(b"".join(frames))
    dataset = TFRecordDataset(str(broken), repeat=False, shuffle_mb=0)
    with pytest.raises(tf.errors.OpError, match="holds a record unlike its first one"):
        for _ in dataset.get_dataset(5, 0):
            pass
    path.write_bytes(b"".join(frames)[:-7])
    with pytest.raises(DatasetError, match='broken-r04.tfrecords" is truncated or corrupt'):
        TFRecordDataset(str(broken))


def test_bad_folders(tmp_path, dataset_dir):
    folder, _, _ = dataset_dir
    with pytest.raises(DatasetError, match='dataset folder ".*nope" does not exist'):
        TFRecordDataset(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no \\*.tfrecords files"):
        TFRecordDataset(str(tmp_path / "empty"))
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ["ds-r04.tfrecords", "ds-r02.tfrecords"]:
        (partial / name).write_bytes((folder / name).read_bytes())
    with pytest.raises(DatasetError, match="lacks the 8x8 file"):
        TFRecordDataset(str(partial))
    (partial / "ds-r03.tfrecords").write_bytes((folder / "ds-r03.tfrecords").read_bytes())
    np.save(partial / "wrong.npy", np.zeros([3, 2], np.float32))
    os.rename(partial / "wrong.npy", partial / "ds-rxx.labels")
    assert TFRecordDataset(str(partial)).label_size == 0
    with pytest.raises(DatasetError, match="has 3 rows but the dataset has 20 images"):
        TFRecordDataset(str(partial), max_label_size="full")
    with pytest.raises(ValueError, match="max_label_size"):
        TFRecordDataset(str(folder), max_label_size=-1)


def test_unlabeled_dataset_beyond_2_pow_20_is_not_truncated(tmp_path):
    # The official reader zips images with a [2^20, 0] label matrix and drops everything
    # after image 1,048,576. Build a 4x4 file a little larger than that, frame by frame.
    with TFRecordExporter(str(tmp_path / "big"), 1, print_progress=False) as tfr:
        tfr.add_image(np.zeros([1, 4, 4], np.uint8))
    path = tmp_path / "big" / "big-r02.tfrecords"
    frame = np.frombuffer(path.read_bytes(), np.uint8)
    num = (1 << 20) + 3
    frames = np.tile(frame, (num, 1))
    ids = np.arange(num, dtype=np.uint32)
    data_start = len(frame) - 4 - 16
    frames[:, data_start : data_start + 4] = ids.view(np.uint8).reshape(num, 4)  # Pixels carry the index.
    path.write_bytes(frames.tobytes())
    dataset = TFRecordDataset(str(tmp_path / "big"), repeat=False, shuffle_mb=0)
    assert dataset.num_images == num and dataset.label_size == 0
    seen = np.concatenate(
        [
            images.numpy().reshape(-1, 16)[:, :4].copy().view(np.uint32)[:, 0]
            for images, _ in dataset.get_dataset(1 << 16, 0)
        ]
    )
    np.testing.assert_array_equal(seen, ids)


def test_shards_are_the_rows_of_the_full_batch(tmp_path, dataset_dir):
    """A worker's shard (start, stop) of every batch holds exactly those rows of the full batch,
    images and labels, on the memory-mapped and on the streamed path."""
    folder, _, _ = dataset_dir
    streamed = _variable_length_dataset(tmp_path / "var", _images(9, 8, seed=5))
    for path in (str(folder), streamed):
        dataset = TFRecordDataset(path, seed=7, max_label_size="full")
        full = list(dataset.get_dataset(4, 0, skip_batches=1).take(3))
        parts = [list(dataset.get_dataset(4, 0, skip_batches=1, shard=shard).take(3)) for shard in ((0, 1), (1, 4))]
        for i, (images, labels) in enumerate(full):
            np.testing.assert_array_equal(np.concatenate([part[i][0] for part in parts]), images)
            np.testing.assert_array_equal(np.concatenate([part[i][1] for part in parts]), labels)
        assert parts[0][0][0].shape[0] == 1 and parts[1][0][0].shape[0] == 3
    for shard in ((2, 2), (0, 5), (-1, 2)):
        with pytest.raises(ValueError, match="shard"):
            dataset.get_dataset(4, 0, shard=shard)
