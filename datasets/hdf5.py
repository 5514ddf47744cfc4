"""`create_from_hdf5`: a dataset from the legacy ProGAN HDF5 archive."""

import os

import numpy as np

from datasets.errors import DatasetError
from datasets.tfrecord_export import TFRecordExporter


def create_from_hdf5(
    tfrecord_dir,  # New dataset folder.
    hdf5_filename,  # Legacy archive with datasets data4x4 ... dataNxN of [N, C, H, W] uint8.
    shuffle=1,  # 1 = official shuffled order (RandomState(123)), 0 = archive order.
    overwrite=False,  # Replace an existing output folder.
):
    """Official `create_from_hdf5`: uses the highest-resolution `data*` array; labels from `<stem>-labels.npy`."""
    print('Loading HDF5 archive from "%s"' % hdf5_filename)
    import h5py  # Lazy: an optional dependency, needed by create_from_hdf5 only.

    if not os.path.isfile(hdf5_filename):
        raise DatasetError('HDF5 archive "%s" does not exist' % hdf5_filename)
    try:
        hdf5_file = h5py.File(hdf5_filename, "r")
    except OSError as err:
        raise DatasetError('cannot open HDF5 archive "%s" (%s)' % (hdf5_filename, err)) from None
    with hdf5_file:
        arrays = [
            value for key, value in hdf5_file.items() if key.startswith("data") and isinstance(value, h5py.Dataset)
        ]
        if not arrays or any(array.ndim != 4 for array in arrays):
            raise DatasetError(
                '"%s" holds no [N, C, H, W] arrays named data*; it is not a ProGAN HDF5 archive' % hdf5_filename
            )
        hdf5_data = max(arrays, key=lambda array: array.shape[3])
        num_images = hdf5_data.shape[0]
        labels = None
        npy_filename = os.path.splitext(hdf5_filename)[0] + "-labels.npy"
        if os.path.isfile(npy_filename):
            try:
                labels = np.load(npy_filename)
            except (OSError, ValueError) as err:
                raise DatasetError('cannot read labels "%s" (%s)' % (npy_filename, err)) from None
            if labels.ndim != 2 or labels.shape[0] != num_images:
                raise DatasetError(
                    'labels "%s" have shape %s; expected [%d, label_size]' % (npy_filename, labels.shape, num_images)
                )
        with TFRecordExporter(tfrecord_dir, num_images, overwrite=overwrite) as tfr:
            order = tfr.choose_shuffled_order() if shuffle else np.arange(num_images)
            for idx in order:
                try:
                    img = hdf5_data[idx]
                except (OSError, RuntimeError) as err:
                    raise DatasetError(
                        'cannot read image %d of "%s" (%s); the archive is corrupt' % (idx, hdf5_filename, err)
                    ) from None
                tfr.add_image(img)
            if labels is not None:
                tfr.add_labels(labels[order])
