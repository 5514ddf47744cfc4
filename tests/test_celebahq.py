"""create_celebahq: the official CelebA-HQ pipeline, bit-exact on a modern stack.

Ground truth: ../shared/data/celeba-samples (five CelebA originals with the MD5 of every stage
as computed by the genuine Pillow 3.1.1 + IJG libjpeg 8d + numpy 1.14 + scipy 1.1 stack, and
IJG's test image with its libjpeg 8d decode MD5). The resampling kernels are also checked
against scalar transcriptions of Pillow 3.1.1's C code written here, and the blur against
scipy's own C correlation loop.
"""

import base64
import bz2
import concurrent.futures
import hashlib
import json
import math
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
import scipy.ndimage
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

import dataset_tool
from datasets import celebahq
from datasets import jpeg8d
from datasets import pillow311
from datasets import scipy11
from datasets.errors import DatasetError
from datasets.tfrecord_format import read_images
from tests.conftest import REPO
from tests.conftest import SHARED
from tests.conftest import user_env
from utils import blas_threads

SAMPLES = SHARED / "data" / "celeba-samples"
VARIANTS = SHARED / "data" / "celeba-variants"
IJG_TESTORIG_8D_MD5 = "0722a5b14a6e04789ee3d03b363becc6"  # Published with the samples (spec).


def _shared(path):
    if not path.exists():
        pytest.fail(f"{path} is missing: ../shared must sit beside the repo")
    return path


def _cases():
    return json.loads(_shared(SAMPLES / "cases.json").read_text())


# Loaded at collection so that a missing ../shared fails loudly instead of emptying the parameters.
CASES = {case["file"]: case for case in json.loads((SAMPLES / "cases.json").read_text())}


def _md5(array):
    return hashlib.md5(np.ascontiguousarray(array).tobytes()).hexdigest()


# ----------------------------------------------------------------------------
# Decoder: genuine IJG libjpeg 8d.


def test_decoder_is_ijg_8d_on_ijg_testorig():
    assert jpeg8d.decode_md5(_shared(SAMPLES / "ijg-testorig.jpg")) == IJG_TESTORIG_8D_MD5


@pytest.mark.parametrize("name", sorted(CASES))
def test_decoder_is_ijg_8d_on_celeba_samples(name):
    img = jpeg8d.decode(_shared(SAMPLES / name))
    assert img.shape == (218, 178, 3) and img.dtype == np.uint8
    assert _md5(img) == CASES[name]["decode_8d_md5"]


def test_decoder_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    for path, words in ((bad, "not a readable JPEG"), (tmp_path / "missing.jpg", "does not exist")):
        with pytest.raises(DatasetError, match=words) as info:
            jpeg8d.decode(path)
        assert "\n" not in str(info.value)


# ----------------------------------------------------------------------------
# Pillow 3.1.1 ANTIALIAS resize, against a scalar transcription of Resample.c.


def _ref_sinc(x):  # sinc_filter(float): x*M_PI stored as float, sin/x in double.
    if x == 0.0:
        return np.float32(1.0)
    xpi = np.float32(float(x) * math.pi)
    return np.float32(math.sin(float(xpi)) / float(xpi))


def _ref_lanczos(x):
    if -3.0 <= x < 3.0:
        return np.float32(_ref_sinc(x) * _ref_sinc(np.float32(x / np.float32(3))))
    return np.float32(0.0)


def _ref_resample_line(line, out_size):
    """ImagingResampleHorizontal of Pillow 3.1.1 for one line, one band, scalar float32."""
    in_size = len(line)
    scale = np.float32(np.float32(in_size) / np.float32(out_size))
    filterscale = scale if scale >= 1.0 else np.float32(1.0)
    support = np.float32(np.float32(3.0) * filterscale)
    out = []
    for xx in range(out_size):
        center = np.float32((xx + 0.5) * float(scale))
        ss = np.float32(1.0 / float(filterscale))
        xmin = max(int(math.floor(np.float32(center - support))), 0)
        xmax = min(int(math.ceil(np.float32(center + support))), in_size)
        weights, ww = [], np.float32(0.0)
        for x in range(xmin, xmax):
            arg = np.float32((float(np.float32(np.float32(x) - center)) + 0.5) * float(ss))
            w = np.float32(_ref_lanczos(arg) * ss)
            weights.append(w)
            ww = np.float32(ww + w)
        if ww != 0.0:
            weights = [np.float32(w / ww) for w in weights]
        acc = np.float32(0.5)
        for x, w in zip(range(xmin, xmax), weights):
            acc = np.float32(acc + np.float32(np.float32(line[x]) * w))
        out.append(min(max(int(acc), 0), 255))  # clip8: C cast truncates toward zero.
    return out


def _ref_resize(img, size):
    """Image.resize(size, ANTIALIAS) of Pillow 3.1.1: horizontal pass, uint8, vertical pass."""
    h, w, c = img.shape
    across = np.array(
        [[_ref_resample_line(img[y, :, b].tolist(), size[0]) for b in range(c)] for y in range(h)], np.uint8
    ).transpose(0, 2, 1)  # [h, W, c]
    down = np.array(
        [[_ref_resample_line(across[:, x, b].tolist(), size[1]) for b in range(c)] for x in range(size[0])], np.uint8
    ).transpose(2, 0, 1)  # [H, W, c]
    return down


@pytest.mark.parametrize(
    "shape, size", [((7, 9, 3), (4, 11)), ((6, 5, 3), (13, 3)), ((8, 16, 3), (4, 2)), ((5, 4, 3), (40, 16))]
)
def test_resize_matches_scalar_pillow_311(shape, size):
    img = np.random.RandomState(sum(shape) + sum(size)).randint(0, 256, shape).astype(np.uint8)
    expected = _ref_resize(img, size)
    np.testing.assert_array_equal(pillow311.resize(img, size), expected)
    np.testing.assert_array_equal(pillow311.resize(img, size, exact=True), expected)


@pytest.mark.parametrize(
    "in_size, out_size, axis", [(613, 153, 0), (77, 616, 1), (600, 211, 0), (4096, 1024, 1), (700, 233, 1)]
)
def test_resample_fast_path_equals_sequential_float32_loop(in_size, out_size, axis):
    # Smooth data puts many float32 sums close to an integer, so the exact fallback runs too.
    rnd = np.random.RandomState(in_size)
    ramp = np.cumsum(rnd.randint(-3, 4, (in_size, 37)), axis=0) + 128
    src = np.clip(np.concatenate([ramp, rnd.randint(0, 256, (in_size, 23))], axis=1), 0, 255).astype(np.uint8)
    src = src if axis == 0 else np.ascontiguousarray(src.T)
    fast = pillow311.resample(src, out_size, axis)
    np.testing.assert_array_equal(fast, pillow311.resample(src, out_size, axis, exact=True))


# ----------------------------------------------------------------------------
# Pillow 3.1.1 QUAD transform with BILINEAR sampling, against Image.py + Geometry.c.


def _ref_quad_transform(img, size, data):
    d = [np.float32(v) for v in data]
    nw, sw, se, ne = d[0:2], d[2:4], d[4:6], d[6:8]
    x0, y0 = nw
    As, At = 1.0 / size[0], 1.0 / size[1]
    # Image.py: float32 corner differences (numpy 1.x scalars), then double products.
    a0, a1, a2 = float(x0), float(ne[0] - x0) * As, float(sw[0] - x0) * At
    a3 = float(se[0] - sw[0] - ne[0] + x0) * As * At
    a4, a5, a6 = float(y0), float(ne[1] - y0) * As, float(sw[1] - y0) * At
    a7 = float(se[1] - sw[1] - ne[1] + y0) * As * At
    height, width, bands = img.shape
    out = np.zeros((size[1], size[0], bands), np.uint8)
    for y in range(size[1]):
        for x in range(size[0]):
            xin = a0 + a1 * x + a2 * y + a3 * x * y
            yin = a4 + a5 * x + a6 * y + a7 * x * y
            if xin < 0.0 or xin >= width or yin < 0.0 or yin >= height:
                continue  # fill: 0
            xin, yin = xin - 0.5, yin - 0.5
            xi, yi = math.floor(xin), math.floor(yin)
            dx, dy = xin - xi, yin - yi
            xc0, xc1 = min(max(xi, 0), width - 1), min(max(xi + 1, 0), width - 1)
            row = img[min(max(yi, 0), height - 1)].astype(int)
            for b in range(bands):
                v1 = row[xc0, b] + (row[xc1, b] - row[xc0, b]) * dx
                if 0 <= yi + 1 < height:
                    row2 = img[yi + 1].astype(int)
                    v2 = row2[xc0, b] + (row2[xc1, b] - row2[xc0, b]) * dx
                else:
                    v2 = v1
                out[y, x, b] = int(v1 + (v2 - v1) * dy)  # (UINT8) truncation.
    return out


def test_quad_transform_matches_scalar_pillow_311():
    img = np.random.RandomState(3).randint(0, 256, (17, 23, 3)).astype(np.uint8)
    # A rotated quad that reaches past every edge: exercises fill, clamping and the last row.
    data = np.float32([-3.2, 2.7, 4.1, 19.3, 25.6, 13.9, 18.3, -2.4])
    expected = _ref_quad_transform(img, (40, 30), data)
    assert (expected == 0).all(axis=2).any() and (expected != 0).any()
    np.testing.assert_array_equal(pillow311.transform_quad(img, (40, 30), data), expected)


# ----------------------------------------------------------------------------
# scipy 1.1 gaussian_filter.


def test_gaussian_kernel_is_the_scipy_1_1_formula():
    for sigma in (20.48, 33.7, 7.25):
        weights = scipy11.gaussian_kernel(sigma)
        radius = int(4.0 * sigma + 0.5)
        # scipy 1.0-1.2: numpy.polynomial evaluates the exponent as (c * x) * x.
        poly = np.polynomial.Polynomial([0, 0, -0.5 / (sigma * sigma)])
        phi = np.exp(poly(np.arange(-radius, radius + 1)))
        phi /= phi.sum()
        assert weights.shape == (2 * radius + 1,)
        np.testing.assert_array_equal(weights, weights[::-1])
        np.testing.assert_allclose(weights, phi, rtol=4e-16, atol=0)  # exp to the last bit.


@pytest.mark.parametrize("shape, sigma", [((120, 97, 3), 7.3), ((400, 350, 3), 20.48), ((30, 25, 3), 20.48)])
def test_gaussian_filter_equals_scipy_correlation_loop(shape, sigma):
    rnd = np.random.RandomState(shape[0])
    img = rnd.randint(0, 256, shape).astype(np.float32)
    img[: shape[0] // 2] = np.round(img[: shape[0] // 2] / 64) * 64  # Flat areas too.
    weights = scipy11.gaussian_kernel(sigma)
    expected = scipy.ndimage.correlate1d(img, weights, axis=0, mode="reflect")
    expected = scipy.ndimage.correlate1d(expected, weights, axis=1, mode="reflect")
    np.testing.assert_array_equal(scipy11.gaussian_filter(img, sigma), expected)
    if shape[0] < 200:
        np.testing.assert_array_equal(scipy11.gaussian_filter(img, sigma, exact=True), expected)


# ----------------------------------------------------------------------------
# The five official cases: every stage against the genuine old stack.


@pytest.fixture(scope="module")
def official_cases():
    """Run the pipeline stage by stage on every sample once; record MD5s and CPU seconds."""
    results = {}
    for case in _cases():
        start = time.process_time()
        img = jpeg8d.decode(_shared(SAMPLES / case["file"]))
        prepared, quad, route = celebahq.prepare_image(img, case["landmarks"])
        big = pillow311.transform_quad_planar(prepared, (4096, 4096), (quad + 0.5).flatten())
        proc = pillow311.resize_planar(big, (1024, 1024))
        results[case["file"]] = dict(
            before_md5=_md5(prepared),
            data=(quad + 0.5).flatten(),
            route=route,
            transform_md5=_md5(big.transpose(1, 2, 0)),
            proc=proc,
            seconds=time.process_time() - start,
        )
    return results


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_official_case_before_transform(official_cases, name):
    result, case = official_cases[name], CASES[name]
    assert result["route"] == case["route"]
    np.testing.assert_array_equal(result["data"], np.float32(case["quad"]))
    assert result["before_md5"] == case["before_transform_md5"]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_official_case_quad_transform(official_cases, name):
    assert official_cases[name]["transform_md5"] == CASES[name]["transform_md5"]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_official_case_pre_delta_image(official_cases, name):
    proc = official_cases[name]["proc"]
    assert proc.shape == (3, 1024, 1024) and proc.dtype == np.uint8
    assert _md5(proc) == CASES[name]["proc_md5"]


def test_celebahq_process_through_dataset_tool():
    case = CASES["200305.jpg"]
    proc = dataset_tool.celebahq_process(str(_shared(SAMPLES / case["file"])), case["landmarks"])
    assert proc.shape == (3, 1024, 1024) and proc.dtype == np.uint8
    assert _md5(proc) == case["proc_md5"]


def test_degenerate_landmarks_are_refused():
    with pytest.raises(DatasetError, match="do not define a face"):
        celebahq.prepare_image(np.zeros((218, 178, 3), np.uint8), [50.0, 60.0] * 5)
    with pytest.raises(DatasetError, match="outside the 178x218 image"):
        celebahq.prepare_image(np.zeros((218, 178, 3), np.uint8), np.float32(CASES["200305.jpg"]["landmarks"]) + 900)


# ----------------------------------------------------------------------------
# Deltas: written here the way the official encoder must have written them.


def _official_encrypt(delta, orig_bytes, orig_file):
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=orig_file.encode("ascii"), iterations=100000)
    key = base64.urlsafe_b64encode(kdf.derive(orig_bytes))
    return Fernet(key).encrypt(bz2.compress(np.ascontiguousarray(delta, np.uint8).tobytes()))


def test_delta_round_trip_and_uint8_wraparound():
    orig_bytes = _shared(SAMPLES / "200305.jpg").read_bytes()
    delta = np.random.RandomState(1).randint(0, 256, (3, 1024, 1024)).astype(np.uint8)
    decoded = celebahq.decrypt_delta(_official_encrypt(delta, orig_bytes, "000001.jpg"), orig_bytes, "000001.jpg")
    np.testing.assert_array_equal(decoded, delta)
    base = np.full((3, 1024, 1024), 250, np.uint8)
    np.testing.assert_array_equal(base + decoded, ((250 + delta.astype(int)) % 256).astype(np.uint8))


def test_delta_only_decrypts_with_its_jpeg():
    orig_bytes = _shared(SAMPLES / "200305.jpg").read_bytes()
    token = _official_encrypt(np.zeros((3, 1024, 1024), np.uint8), orig_bytes, "000001.jpg")
    for other_bytes, other_name in ((orig_bytes[:-1] + b"\0", "000001.jpg"), (orig_bytes, "000002.jpg")):
        with pytest.raises(DatasetError, match="does not decrypt") as info:
            celebahq.decrypt_delta(token, other_bytes, other_name)
        assert "\n" not in str(info.value)
    with pytest.raises(DatasetError, match="holds 12 bytes"):
        celebahq.decrypt_delta(_official_encrypt(np.zeros(12), orig_bytes, "a.jpg"), orig_bytes, "a.jpg")


# ----------------------------------------------------------------------------
# create_celebahq on a tiny CelebA tree in the official layout.

TREE_FILES = ("000001.jpg", "000002.jpg", "000003.jpg")  # img_celeba names ...
TREE_SOURCES = ("200305.jpg", "098340.jpg", "104690.jpg")  # ... and the sample each copies.
LANDMARK_HEADER = (
    "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
)


def _build_tree(root, procs=None, proc_md5=None, final_md5=None):
    """img_celeba (3 JPEGs), Anno landmarks, deltas00000.zip + image_list.txt for 2 images.

    `procs` are the pre-delta images of the first two files; with None, the deltas and MD5s
    are placeholders (enough for the input checks). Returns (celeba_dir, delta_dir, finals).
    """
    celeba, deltas = root / "celeba", root / "deltas"
    (celeba / "img_celeba").mkdir(parents=True)
    (celeba / "Anno").mkdir()
    deltas.mkdir()
    rows = []
    for name, source in zip(TREE_FILES, TREE_SOURCES):
        shutil.copyfile(_shared(SAMPLES / source), celeba / "img_celeba" / name)
        rows.append("%s %s" % (name, " ".join("%d" % v for v in CASES[source]["landmarks"])))
    (celeba / "Anno" / "list_landmarks_celeba.txt").write_text("3\n%s\n%s\n" % (LANDMARK_HEADER, "\n".join(rows)))
    lines, finals = ["idx orig_idx orig_file proc_md5 final_md5"], []
    rnd = np.random.RandomState(5)
    with zipfile.ZipFile(deltas / "deltas00000.zip", "w") as archive:
        for idx in range(2):
            name = TREE_FILES[idx]
            if procs is None:
                archive.writestr("delta%05d.dat" % idx, b"placeholder")
                lines.append("%d %d %s %s %s" % (idx, idx, name, "0" * 32, "0" * 32))
                continue
            delta = rnd.randint(0, 256, (3, 1024, 1024)).astype(np.uint8)
            archive.writestr(
                "delta%05d.dat" % idx, _official_encrypt(delta, (celeba / "img_celeba" / name).read_bytes(), name)
            )
            finals.append(procs[idx] + delta)  # uint8: wraps modulo 256, as the official tool.
            lines.append(
                "%d %d %s %s %s"
                % (
                    idx,
                    idx,
                    name,
                    (proc_md5 or {}).get(idx, _md5(procs[idx])),
                    (final_md5 or {}).get(idx, _md5(finals[-1])),
                )
            )
    (deltas / "image_list.txt").write_text("\n".join(lines) + "\n")
    return celeba, deltas, finals


def _create(root, celeba, deltas, num_threads=1):
    celebahq.create_celebahq(
        str(root / "out"),
        str(celeba),
        str(deltas),
        num_threads=num_threads,
        num_tasks=2,
        expected_celeba_images=3,
        expected_images=2,
        libjpeg_check=("000001.jpg", CASES["200305.jpg"]["decode_8d_md5"]),
    )


@pytest.fixture
def tree_procs(official_cases):
    return [official_cases[source]["proc"] for source in TREE_SOURCES[:2]]


@pytest.mark.slow
def test_create_celebahq_end_to_end(tmp_path, tree_procs):
    celeba, deltas, finals = _build_tree(tmp_path, tree_procs)
    _create(tmp_path, celeba, deltas, num_threads=2)
    out = tmp_path / "out"
    assert sorted(os.listdir(tmp_path)) == ["celeba", "deltas", "out"]
    assert sorted(os.listdir(out)) == ["out-r%02d.tfrecords" % r for r in range(2, 11)]
    images = list(read_images(out / "out-r10.tfrecords"))
    order = np.arange(2)
    np.random.RandomState(123).shuffle(order)  # The official shuffled order: [1, 0].
    assert len(images) == 2
    for img, idx in zip(images, order):
        np.testing.assert_array_equal(img, finals[idx])


@pytest.mark.slow
def test_create_celebahq_proc_md5_mismatch_stops_before_any_delta(tmp_path, tree_procs):
    # Image 1 is processed first in the shuffled order; a wrong base must stop everything.
    celeba, deltas, _ = _build_tree(tmp_path, tree_procs, proc_md5={1: "f" * 32})
    with pytest.raises(DatasetError) as info:
        _create(tmp_path, celeba, deltas, num_threads=2)
    message = str(info.value)
    assert "\n" not in message
    assert "image 1 (img_celeba/000002.jpg)" in message and "f" * 32 in message
    assert _md5(tree_procs[1]) in message and "nothing was written" in message
    assert sorted(os.listdir(tmp_path)) == ["celeba", "deltas"]


@pytest.mark.slow
def test_create_celebahq_final_md5_mismatch_leaves_nothing(tmp_path, tree_procs):
    celeba, deltas, _ = _build_tree(tmp_path, tree_procs, final_md5={1: "e" * 32})
    with pytest.raises(DatasetError, match=r"image 1 \(img_celeba/000002.jpg\): the final image has MD5") as info:
        _create(tmp_path, celeba, deltas)
    assert "deltas00000.zip is damaged" in str(info.value)
    assert sorted(os.listdir(tmp_path)) == ["celeba", "deltas"]


def _drop_jpeg(celeba, deltas):
    os.remove(celeba / "img_celeba" / "000003.jpg")


def _drop_landmarks(celeba, deltas):
    os.remove(celeba / "Anno" / "list_landmarks_celeba.txt")


def _short_landmarks(celeba, deltas):
    path = celeba / "Anno" / "list_landmarks_celeba.txt"
    path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n")


def _extra_zip(celeba, deltas):
    shutil.copyfile(deltas / "deltas00000.zip", deltas / "deltas01000.zip")


def _bad_header(celeba, deltas):
    path = deltas / "image_list.txt"
    path.write_text(path.read_text().replace("proc_md5", "md5"))


def _other_000001(celeba, deltas):
    shutil.copyfile(_shared(SAMPLES / "024683.jpg"), celeba / "img_celeba" / "000001.jpg")


@pytest.mark.parametrize(
    "damage, words",
    [
        (_drop_jpeg, "expected to find 3 images"),
        (_drop_landmarks, "landmark file"),
        (_short_landmarks, "holds 2 landmark rows, expected 3"),
        (_extra_zip, "expected the 1 zips"),
        (_bad_header, "lacks the header"),
        (_other_000001, "000001.jpg decodes to MD5"),
    ],
)
def test_create_celebahq_validates_inputs(tmp_path, damage, words):
    celeba, deltas, _ = _build_tree(tmp_path)
    damage(celeba, deltas)
    with pytest.raises(DatasetError, match=words) as info:
        _create(tmp_path, celeba, deltas)
    assert "\n" not in str(info.value)
    assert sorted(os.listdir(tmp_path)) == ["celeba", "deltas"]


def test_cli_reports_missing_input_in_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "dataset_tool.py",
            "create_celebahq",
            str(tmp_path / "out"),
            str(tmp_path / "celeba"),
            str(tmp_path / "deltas"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=user_env(),
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("dataset_tool.py: error: ") and "img_celeba" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------
# Unusual routes (no published MD5s): crash-free, right shape and deterministic.


def _centre_landmarks(path, scale):
    from PIL import Image  # Only for the size of the file.

    with Image.open(path) as img:
        width, height = img.size
    cx, cy = width / 2, height / 2
    return [
        cx - 19 * scale,
        cy - 15 * scale,
        cx + 19 * scale,
        cy - 15 * scale,
        cx,
        cy + 5 * scale,
        cx - 14 * scale,
        cy + 22 * scale,
        cx + 14 * scale,
        cy + 22 * scale,
    ]


@pytest.mark.slow
def test_canvas_route_crops_without_pad_and_is_deterministic():
    path = _shared(VARIANTS / "canvas" / "019563.jpg")
    landmarks = _centre_landmarks(path, 1.0)
    _, _, route = celebahq.prepare_image(jpeg8d.decode(path), landmarks)
    assert route == "crop+superres8"
    local = celebahq.celebahq_process(str(path), landmarks)
    assert local.shape == (3, 1024, 1024) and local.dtype == np.uint8 and local.std() > 10
    # Same bytes from a spawned worker (single-threaded BLAS there, as create_celebahq runs it).
    with (
        blas_threads.single_threaded_children(),
        concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool,
    ):
        remote = pool.submit(celebahq.celebahq_process, str(path), landmarks).result()
    np.testing.assert_array_equal(remote, local)


@pytest.mark.slow
def test_huge_route_shrinks_before_crop():
    path = _shared(VARIANTS / "huge" / "102946.jpg")
    landmarks = _centre_landmarks(path, 40.0)
    prepared, quad, route = celebahq.prepare_image(jpeg8d.decode(path), landmarks)
    assert route.startswith("shrink2+crop")
    final = celebahq.transform_image(prepared, quad)
    assert final.shape == (3, 1024, 1024) and final.dtype == np.uint8 and final.std() > 10
