"""Reading the official TFRecord dataset format without a TensorFlow graph.

A `.tfrecords` file is a sequence of frames: uint64 little-endian payload length, a
4-byte masked CRC of that length, the payload, a 4-byte masked CRC of the payload. The
payload is a serialized `tf.train.Example` with two features, `shape` (int64 [C, H, W])
and `data` (raw uint8 bytes, C-order CHW).

Because every record of a file stores an image of the same shape, every frame of a file
written by the official tool (or ours) has the same length and the same bytes around the
pixels. `RecordLayout` captures that, which lets the training reader index records
directly instead of streaming and parsing them one at a time.
"""

import os
import struct

import numpy as np

from datasets.errors import DatasetError

FRAME_HEADER_BYTES = 12  # uint64 length + masked CRC32C of the length.
FRAME_FOOTER_BYTES = 4  # masked CRC32C of the payload.

# ----------------------------------------------------------------------------
# Minimal protobuf wire-format walking for tf.train.Example.


def _read_varint(buf, pos):
    result = 0
    shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _fields(buf, start, end):
    """Yield (field_number, wire_type, value_start, value_end_or_int) for one message."""
    pos = start
    while pos < end:
        key, pos = _read_varint(buf, pos)
        field, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = _read_varint(buf, pos)
            yield field, wire_type, value, None
        elif wire_type == 2:
            length, pos = _read_varint(buf, pos)
            if pos + length > end:
                raise ValueError("truncated field")
            yield field, wire_type, pos, pos + length
            pos += length
        elif wire_type == 1:
            pos += 8
            yield field, wire_type, None, None
        elif wire_type == 5:
            pos += 4
            yield field, wire_type, None, None
        else:
            raise ValueError("unsupported wire type %d" % wire_type)
    if pos != end:
        raise ValueError("truncated message")


def _example_features(payload):
    """Map feature name -> (start, end) of its serialized tf.train.Feature inside `payload`."""
    features = {}
    for field, wire_type, start, end in _fields(payload, 0, len(payload)):
        if field != 1 or wire_type != 2:
            continue
        for entry_field, entry_type, entry_start, entry_end in _fields(payload, start, end):
            if entry_field != 1 or entry_type != 2:
                continue
            key, value = None, None
            for kv_field, kv_type, kv_start, kv_end in _fields(payload, entry_start, entry_end):
                if kv_field == 1 and kv_type == 2:
                    key = bytes(payload[kv_start:kv_end]).decode("utf-8")
                elif kv_field == 2 and kv_type == 2:
                    value = (kv_start, kv_end)
            if key is not None:
                features[key] = value if value is not None else (entry_end, entry_end)
    return features


def locate_image(payload):
    """Find the image inside one serialized record.

    Returns:
        (shape, data_start): the [C, H, W] tuple and the offset of the raw pixel bytes in
        `payload`. Raises ValueError if the record is not an official image record.
    """
    features = _example_features(payload)
    if "shape" not in features or "data" not in features:
        raise ValueError('record lacks the "shape" and "data" features')
    shape = []
    start, end = features["shape"]
    for field, wire_type, value_start, value_end in _fields(payload, start, end):
        if field != 3 or wire_type != 2:
            raise ValueError('"shape" is not an int64 list')
        for list_field, list_type, item, item_end in _fields(payload, value_start, value_end):
            if list_field != 1:
                continue
            if list_type == 0:
                shape.append(item)
            elif list_type == 2:
                pos = item
                while pos < item_end:
                    dim, pos = _read_varint(payload, pos)
                    shape.append(dim)
    data_pos = None
    start, end = features["data"]
    for field, wire_type, value_start, value_end in _fields(payload, start, end):
        if field != 1 or wire_type != 2:
            raise ValueError('"data" is not a bytes list')
        for list_field, list_type, item, item_end in _fields(payload, value_start, value_end):
            if list_field == 1 and list_type == 2:
                data_pos = (item, item_end)
    if len(shape) != 3 or data_pos is None:
        raise ValueError('"shape" must hold 3 numbers and "data" one byte string')
    if data_pos[1] - data_pos[0] != int(np.prod(shape)):
        raise ValueError(
            '"data" holds %d bytes but shape %s needs %d' % (data_pos[1] - data_pos[0], shape, int(np.prod(shape)))
        )
    return tuple(shape), data_pos[0]


# ----------------------------------------------------------------------------
# Writing: the exact bytes tf.train.Example.SerializeToString() gives for an image record
# (features "shape" then "data", as in the official files), without per-record protobuf
# objects.


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(field, payload_length):
    return bytes([(field << 3) | 2]) + _varint(payload_length)


def example_prefix(shape):
    """Serialized record bytes that precede the raw pixel data of an image of this [C, H, W] shape."""
    dims = b"".join(_varint(int(d)) for d in shape)
    int64_list = _length_delimited(1, len(dims)) + dims
    shape_feature = _length_delimited(3, len(int64_list)) + int64_list
    shape_entry = _length_delimited(1, 5) + b"shape" + _length_delimited(2, len(shape_feature)) + shape_feature
    num_bytes = int(np.prod(shape))
    bytes_list_head = _length_delimited(1, num_bytes)
    bytes_list_length = len(bytes_list_head) + num_bytes
    data_feature_head = _length_delimited(1, bytes_list_length)
    data_feature_length = len(data_feature_head) + bytes_list_length
    data_entry_head = _length_delimited(1, 4) + b"data" + _length_delimited(2, data_feature_length)
    data_entry_length = len(data_entry_head) + data_feature_length
    features = _length_delimited(1, len(shape_entry)) + shape_entry + _length_delimited(1, data_entry_length)
    features_length = len(features) + data_entry_length
    return _length_delimited(1, features_length) + features + data_entry_head + data_feature_head + bytes_list_head


def encode_image(img):
    """Serialize a uint8 [C, H, W] image as an official record payload."""
    return example_prefix(img.shape) + img.tobytes()


# ----------------------------------------------------------------------------
# Frames.


def iterate_payloads(path):
    """Yield the payload of every record of a .tfrecords file, in order (no CRC check)."""
    with open(path, "rb") as file:
        while True:
            header = file.read(FRAME_HEADER_BYTES)
            if not header:
                return
            if len(header) != FRAME_HEADER_BYTES:
                raise DatasetError('"%s" is truncated; recreate the dataset' % path)
            length = struct.unpack("<Q", header[:8])[0]
            payload = file.read(length)
            footer = file.read(FRAME_FOOTER_BYTES)
            if len(payload) != length or len(footer) != FRAME_FOOTER_BYTES:
                raise DatasetError('"%s" is truncated; recreate the dataset' % path)
            yield payload


def parse_image(payload):
    """Decode one record into a uint8 [C, H, W] array."""
    shape, start = locate_image(payload)
    return np.frombuffer(payload, np.uint8, count=int(np.prod(shape)), offset=start).reshape(shape)


def read_images(path):
    """Yield every image of a .tfrecords file as uint8 [C, H, W], in file order."""
    for payload in iterate_payloads(path):
        try:
            yield parse_image(payload)
        except ValueError as err:
            raise DatasetError(
                '"%s" holds a record that is not an image (%s); recreate the dataset' % (path, err)
            ) from None


# ----------------------------------------------------------------------------


class RecordLayout:
    """Shape of a .tfrecords file's images and, when all frames are alike, their position.

    Attributes:
        path:         the file.
        shape:        (C, H, W) of the first record.
        frame_bytes:  length of one frame if every frame is equally long, else None.
        num_records:  number of records.
        data_start:   offset of the pixel bytes inside a frame.
        head, tail:   the bytes of the first frame before and after its pixels (up to the
                      payload CRC); equal in every frame of a well-formed file.
    """

    def __init__(self, path):
        self.path = path
        try:
            file_size = os.path.getsize(path)
            with open(path, "rb") as file:
                header = file.read(FRAME_HEADER_BYTES)
                if len(header) != FRAME_HEADER_BYTES:
                    raise DatasetError('"%s" is empty or truncated; recreate the dataset' % path)
                length = struct.unpack("<Q", header[:8])[0]
                if length > file_size:
                    raise DatasetError('"%s" is not an uncompressed TFRecord file; recreate the dataset' % path)
                payload = file.read(length)
                if len(payload) != length:
                    raise DatasetError('"%s" is truncated; recreate the dataset' % path)
                frame_bytes = FRAME_HEADER_BYTES + length + FRAME_FOOTER_BYTES
                last_header = None
                if file_size % frame_bytes == 0:
                    file.seek(file_size - frame_bytes)
                    last_header = file.read(FRAME_HEADER_BYTES)
        except OSError as err:
            raise DatasetError('cannot read "%s": %s' % (path, err.strerror)) from None
        try:
            self.shape, data_start = locate_image(payload)
        except ValueError as err:
            raise DatasetError('"%s" does not hold official image records (%s)' % (path, err)) from None
        self.data_start = FRAME_HEADER_BYTES + data_start
        self.data_bytes = int(np.prod(self.shape))
        self.head = np.frombuffer(header + payload[:data_start], np.uint8)
        self.tail = np.frombuffer(payload[data_start + self.data_bytes :], np.uint8)
        if last_header == header:
            self.frame_bytes = frame_bytes
            self.num_records = file_size // frame_bytes
        else:
            self.frame_bytes = None
            self.num_records = _count_frames(path, file_size)


def _count_frames(path, file_size):
    """Walk the frame headers of a file whose frames differ in length; DatasetError if it is truncated."""
    count = 0
    pos = 0
    with open(path, "rb") as file:
        while pos < file_size:
            file.seek(pos)
            header = file.read(FRAME_HEADER_BYTES)
            if len(header) != FRAME_HEADER_BYTES:
                break
            pos += FRAME_HEADER_BYTES + struct.unpack("<Q", header[:8])[0] + FRAME_FOOTER_BYTES
            count += 1
    if pos != file_size:
        raise DatasetError('"%s" is truncated or corrupt; recreate the dataset' % path)
    return count


# ----------------------------------------------------------------------------
