"""generate.py: images, videos, StyleGAN figures and serving exports, on tiny networks and the golden snapshots."""

import bisect
import os
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest
import tensorflow as tf

import generate
from generation import video
from networks import export
from networks import official
from networks import progan
from networks import stylegan
from tests.conftest import REPO
from tests.conftest import golden_path
from tests.conftest import user_env
from utils.progress import format_time

TINY_PROGAN = dict(num_channels=3, resolution=16, fmap_base=64, fmap_max=32, latent_size=16)
TINY_STYLEGAN = dict(
    num_channels=3,
    resolution=16,
    fmap_base=64,
    fmap_max=32,
    latent_size=16,
    dlatent_size=16,
    mapping_fmaps=16,
    mapping_layers=2,
)
TINY_PROGAN_COND = dict(num_channels=1, resolution=8, label_size=3, fmap_base=64, fmap_max=16, latent_size=8)

# ----------------------------------------------------------------------------
# Fixtures and helpers.


def _save(path, G, D, Gs):
    official.save_pickle(str(path), G, D, Gs)
    return str(path)


@pytest.fixture(scope="module")
def pickles(tmp_path_factory):
    """Paths of the networks under test: tiny ones made here and the golden snapshots.

    The StyleGAN figures run on the golden snapshot (32x32: 8 style layers, coarse + middle).
    """
    tmp = tmp_path_factory.mktemp("nets")
    tf.random.set_seed(0)
    nets = {}
    nets["progan_tiny"] = _save(
        tmp / "progan_tiny.pkl",
        progan.Generator(**TINY_PROGAN, name="G"),
        progan.Discriminator(num_channels=3, resolution=16, fmap_base=64, fmap_max=32),
        progan.Generator(**TINY_PROGAN, name="Gs"),
    )
    nets["progan_cond"] = _save(
        tmp / "progan_cond.pkl",
        progan.Generator(**TINY_PROGAN_COND, name="G"),
        progan.Discriminator(num_channels=1, resolution=8, label_size=3, fmap_base=64, fmap_max=16),
        progan.Generator(**TINY_PROGAN_COND, name="Gs"),
    )
    Gs = stylegan.Generator(**TINY_STYLEGAN, seed=2, name="Gs")
    rng = np.random.RandomState(3)
    Gs.dlatent_avg.assign(rng.randn(16).astype(np.float32) * 0.5)  # A non-trivial average w, ...
    for name, var in Gs.synthesis.official_variables().items():
        if name.endswith("Noise/weight"):  # ... and noise that matters (init 0).
            var.assign(rng.uniform(0.2, 0.5, var.shape).astype(np.float32))
    nets["stylegan_tiny"] = _save(
        tmp / "stylegan_tiny.pkl",
        stylegan.Generator(**TINY_STYLEGAN, name="G"),
        stylegan.Discriminator(num_channels=3, resolution=16, fmap_base=64, fmap_max=32),
        Gs,
    )
    nets["progan_golden"] = str(golden_path("progan_snapshot_rgb32.pkl"))
    nets["stylegan_golden"] = str(golden_path("stylegan_snapshot_rgb32.pkl"))
    return nets


_loaded = {}


def load_Gs(path):
    if path not in _loaded:
        _loaded[path] = official.load_pickle(path)[2]
    return _loaded[path]


def run_ok(argv, capsys):
    status = generate.main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out


def run_usage_error(argv, capsys):
    """Run a command that must fail with one line on stderr and exit status 2; return that line."""
    status = generate.main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("generate.py: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def read_png(path):
    with PIL.Image.open(path) as image:
        return image.mode, np.asarray(image)


def progan_uint8(images):
    """Official ProGAN Gs.run(out_mul=127.5, out_add=127.5, out_dtype=uint8): round half to even, saturate."""
    return np.clip(np.rint(np.asarray(images) * np.float32(127.5) + np.float32(127.5)), 0, 255).astype(np.uint8)


def stylegan_uint8(images):
    """Official convert_images_to_uint8: x * 127.5 + 128, saturate_cast (truncation)."""
    return np.clip(np.asarray(images) * np.float32(127.5) + np.float32(128.0), 0, 255).astype(np.uint8)


def seed_z(seed, latent_size):
    return np.random.RandomState(seed).randn(1, latent_size).astype(np.float32)


def decode_mp4(path):
    """All frames of an MP4 as [N, H, W, 3] uint8, read back with the writer's library."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(path)
    meta = next(reader)
    width, height = meta["size"]
    frames = [np.frombuffer(frame, np.uint8).reshape(height, width, 3) for frame in reader]
    return meta, np.stack(frames)


# ----------------------------------------------------------------------------
# Argument errors (one line, exit status 2).


def test_cli_errors_are_one_line_in_a_real_process(tmp_path):
    """The real CLI rejects bad arguments before importing TensorFlow: one stderr line, status 2."""
    cases = [
        (
            ["images", "--network", tmp_path / "missing.pkl", "--seeds", "0-3", "--outdir", tmp_path],
            "no such network file",
        ),
        (
            ["images", "--network", tmp_path / "missing.pkl", "--seeds", "5-a", "--outdir", tmp_path],
            "malformed seed list '5-a'",
        ),
        (["truncation", "--network", "x.pkl", "--psis", "-1,-0.5,0", "--bogus"], "unrecognized arguments"),
        ([], "generate.py: error: give a command: images,"),  # The tool's name once, as every line has it.
    ]
    before = sorted(os.listdir(tmp_path))
    for argv, expected in cases:
        proc = subprocess.run(
            [sys.executable, os.path.join(REPO, "generate.py")] + [str(a) for a in argv],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=user_env(),
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and expected in proc.stderr, proc.stderr
        assert sorted(os.listdir(tmp_path)) == before, "a rejected command must not write anything"


def test_argument_errors(pickles, tmp_path, capsys):
    out = tmp_path / "out"
    net = pickles["progan_tiny"]
    assert "no such network" in run_usage_error(
        ["images", "--network", tmp_path / "no.pkl", "--seeds", "1", "--outdir", out], capsys
    )
    for seeds in ("5-a", "3-1", "-2", "1,,2", ""):
        assert "seed" in run_usage_error(["images", "--network", net, f"--seeds={seeds}", "--outdir", out], capsys)
    assert "malformed grid" in run_usage_error(
        ["images", "--network", net, "--seeds", "1", "--grid", "3by2", "--outdir", out], capsys
    )
    assert "invalid choice" in run_usage_error(
        ["images", "--network", net, "--seeds", "1", "--outdir", out, "--noise_mode", "loud"], capsys
    )
    assert "StyleGAN networks only" in run_usage_error(
        ["images", "--network", net, "--seeds", "1", "--outdir", out, "--truncation_psi", "0.5"], capsys
    )
    for command in ("style-mixing", "truncation", "noise"):
        assert "StyleGAN networks only" in run_usage_error([command, "--network", net], capsys)
    assert "unconditional" in run_usage_error(
        ["images", "--network", net, "--seeds", "1", "--outdir", out, "--class", "0"], capsys
    )
    corrupt = tmp_path / "corrupt.pkl"
    corrupt.write_bytes(b"not a pickle at all")
    assert "corrupt.pkl" in run_usage_error(["images", "--network", corrupt, "--seeds", "1", "--outdir", out], capsys)
    assert "log.txt" in run_usage_error(["training-video", "--run", tmp_path], capsys)
    assert not out.exists(), "a rejected command must not write anything"


# ----------------------------------------------------------------------------
# images


@pytest.mark.parametrize("name", ["progan_tiny", "progan_golden"])
def test_images_one_png_per_seed_equal_official_latents(name, pickles, tmp_path, capsys):
    Gs = load_Gs(pickles[name])
    config = Gs.get_config()
    res, latent_size = config["resolution"], config["latent_size"]
    seeds = [0, 1, 2, 7]
    out = run_ok(["images", "--network", pickles[name], "--seeds", "0-2,7", "--outdir", tmp_path / "a"], capsys)
    assert "Wrote 4 image(s)" in out
    assert sorted(os.listdir(tmp_path / "a")) == [f"seed{s:04d}.png" for s in seeds]
    images = {}
    for seed in seeds:
        mode, image = read_png(tmp_path / "a" / f"seed{seed:04d}.png")
        assert mode == "RGB" and image.shape == (res, res, 3)
        expected = progan_uint8(Gs(seed_z(seed, latent_size)).numpy())[0]
        np.testing.assert_array_equal(image, expected, err_msg=f"seed {seed}")
        images[seed] = image
    assert not np.array_equal(images[0], images[1]) and not np.array_equal(images[1], images[7])
    # Same seeds, another run, another order: the same bytes.
    run_ok(["images", "--network", pickles[name], "--seeds", "7,1", "--outdir", tmp_path / "b"], capsys)
    for seed in (1, 7):
        assert (tmp_path / "b" / f"seed{seed:04d}.png").read_bytes() == (
            tmp_path / "a" / f"seed{seed:04d}.png"
        ).read_bytes()


def test_images_grids_and_shrink(pickles, tmp_path, capsys):
    Gs = load_Gs(pickles["progan_tiny"])
    res = 16
    run_ok(
        ["images", "--network", pickles["progan_tiny"], "--seeds", "10-15", "--grid", "2x2", "--outdir", tmp_path],
        capsys,
    )
    assert sorted(os.listdir(tmp_path)) == ["grid0000.png", "grid0001.png"]
    _, first = read_png(tmp_path / "grid0000.png")
    _, second = read_png(tmp_path / "grid0001.png")
    assert first.shape == second.shape == (2 * res, 2 * res, 3)
    for idx, seed in enumerate(range(10, 16)):
        grid = first if idx < 4 else second
        row, col = (idx % 4) // 2, idx % 2
        expected = progan_uint8(Gs(seed_z(seed, 16)).numpy())[0]
        np.testing.assert_array_equal(grid[row * res : (row + 1) * res, col * res : (col + 1) * res], expected)
    assert not second[res:].any(), "unused grid cells stay black"
    # image_shrink: the official Network.run box-filters x * 127.5 + 127.5 (out_shrink), then rounds.
    run_ok(
        [
            "images",
            "--network",
            pickles["progan_tiny"],
            "--seeds",
            "3",
            "--image_shrink",
            "2",
            "--outdir",
            tmp_path / "s",
        ],
        capsys,
    )
    _, small = read_png(tmp_path / "s" / "seed0003.png")
    scaled = Gs(seed_z(3, 16)).numpy()[0] * np.float32(127.5) + np.float32(127.5)
    box = scaled.reshape(8, 2, 8, 2, 3).mean(axis=(1, 3))
    assert small.shape == (8, 8, 3)
    np.testing.assert_array_equal(small, np.clip(np.rint(box), 0, 255).astype(np.uint8))


def test_images_official_progan_batch(pickles, tmp_path, capsys):
    """generate_fake_images: RandomState(1000) drawn in sequence; its first image is our seed 1000."""
    Gs = load_Gs(pickles["progan_golden"])
    run_ok(
        [
            "images",
            "--network",
            pickles["progan_golden"],
            "--official_progan_batch",
            "--num_pngs",
            "2",
            "--grid",
            "2x1",
            "--png_prefix",
            "fake-",
            "--outdir",
            tmp_path,
        ],
        capsys,
    )
    assert sorted(os.listdir(tmp_path)) == ["fake-000000.png", "fake-000001.png"]
    state = np.random.RandomState(1000)
    for idx in range(2):
        latents = state.randn(2, 64).astype(np.float32)
        expected = progan_uint8(Gs(latents).numpy())
        _, grid = read_png(tmp_path / f"fake-{idx:06d}.png")
        np.testing.assert_array_equal(grid, np.concatenate(list(expected), axis=1))
    run_ok(["images", "--network", pickles["progan_golden"], "--seeds", "1000", "--outdir", tmp_path / "s"], capsys)
    _, seed1000 = read_png(tmp_path / "s" / "seed1000.png")
    _, grid = read_png(tmp_path / "fake-000000.png")
    np.testing.assert_array_equal(seed1000, grid[:, :32])


def test_images_conditional_network(pickles, tmp_path, capsys):
    net = pickles["progan_cond"]
    Gs = load_Gs(net)
    err = run_usage_error(["images", "--network", net, "--seeds", "0-1", "--outdir", tmp_path / "x"], capsys)
    assert "conditional" in err and "--class" in err
    assert "out of range" in run_usage_error(
        ["images", "--network", net, "--seeds", "0", "--class", "3", "--outdir", tmp_path / "x"], capsys
    )
    run_ok(["images", "--network", net, "--seeds", "0-1", "--class", "2", "--outdir", tmp_path / "c"], capsys)
    onehot = np.array([[0, 0, 1]], np.float32)
    for seed in (0, 1):
        mode, image = read_png(tmp_path / "c" / f"seed{seed:04d}.png")
        assert mode == "L" and image.shape == (8, 8)
        np.testing.assert_array_equal(image, progan_uint8(Gs(seed_z(seed, 8), onehot).numpy())[0, :, :, 0])
    # --labels: one row per seed.
    labels = np.array([[1, 0, 0], [0.2, 0.3, 0.5]], np.float32)
    np.save(tmp_path / "labels.npy", labels)
    run_ok(
        ["images", "--network", net, "--seeds", "4,5", "--labels", tmp_path / "labels.npy", "--outdir", tmp_path / "l"],
        capsys,
    )
    for idx, seed in enumerate((4, 5)):
        _, image = read_png(tmp_path / "l" / f"seed{seed:04d}.png")
        np.testing.assert_array_equal(
            image, progan_uint8(Gs(seed_z(seed, 8), labels[idx : idx + 1]).numpy())[0, ..., 0]
        )
    np.save(tmp_path / "bad.npy", np.zeros([3, 2], np.float32))
    assert "shape" in run_usage_error(
        ["images", "--network", net, "--seeds", "4,5", "--labels", tmp_path / "bad.npy", "--outdir", tmp_path / "x"],
        capsys,
    )
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", ["stylegan_tiny", "stylegan_golden"])
def test_images_stylegan_truncation_and_noise(name, pickles, tmp_path, capsys):
    Gs = load_Gs(pickles[name])
    z = seed_z(5, Gs.latent_size)
    run_ok(
        ["images", "--network", pickles[name], "--seeds", "5", "--noise_mode", "const", "--outdir", tmp_path / "c"],
        capsys,
    )
    _, const = read_png(tmp_path / "c" / "seed0005.png")
    # Default psi is pretrained_example's 0.7, conversion is StyleGAN's.
    np.testing.assert_array_equal(const, stylegan_uint8(Gs(z, None, truncation_psi=0.7, randomize_noise=False))[0])
    run_ok(
        [
            "images",
            "--network",
            pickles[name],
            "--seeds",
            "5",
            "--noise_mode",
            "const",
            "--truncation_psi",
            "1",
            "--outdir",
            tmp_path / "p",
        ],
        capsys,
    )
    _, untruncated = read_png(tmp_path / "p" / "seed0005.png")
    np.testing.assert_array_equal(
        untruncated, stylegan_uint8(Gs(z, None, truncation_psi=1.0, randomize_noise=False))[0]
    )
    assert not np.array_equal(const, untruncated)
    # Random noise (the default) is drawn from the synthesis noise generator restarted at [seed, 0]:
    # reproducible, and not the stored maps.
    run_ok(["images", "--network", pickles[name], "--seeds", "5", "--outdir", tmp_path / "r"], capsys)
    _, random = read_png(tmp_path / "r" / "seed0005.png")
    Gs.synthesis.seed_generator.state.assign(np.array([5, 0], np.int64))
    np.testing.assert_array_equal(random, stylegan_uint8(Gs(z, None, truncation_psi=0.7, randomize_noise=True))[0])
    assert not np.array_equal(random, const)


# ----------------------------------------------------------------------------
# Videos


def test_interpolation_video(pickles, tmp_path, capsys):
    net = pickles["progan_tiny"]
    Gs = load_Gs(net)
    out = tmp_path / "lerp.mp4"
    text = run_ok(
        [
            "interpolation-video",
            "--network",
            net,
            "--grid",
            "2x1",
            "--duration_sec",
            "0.5",
            "--fps",
            "8",
            "--smoothing_sec",
            "0.25",
            "--image_zoom",
            "2",
            "--seed",
            "7",
            "--out",
            out,
        ],
        capsys,
    )
    assert "Wrote 4 frames (64x32" in text
    meta, frames = decode_mp4(str(out))
    assert meta["codec"] == "h264" and meta["fps"] == 8
    assert frames.shape == (4, 32, 64, 3)
    # Official latents: randn [frames, N, latent], Gaussian filter in time (sigma 0.25 s * 8 fps), wrapped, unit RMS.
    import scipy.ndimage

    latents = np.random.RandomState(7).randn(4, 2, 16).astype(np.float32)
    latents = scipy.ndimage.gaussian_filter(latents, [2.0, 0, 0], mode="wrap")
    latents /= np.sqrt(np.mean(np.square(latents)))
    np.testing.assert_allclose(video.interpolation_latents(4, 2, 16, 2.0, 7), latents, rtol=1e-6)
    for idx in (0, 3):
        cells = progan_uint8(Gs(latents[idx]).numpy())
        expected = np.concatenate(list(cells), axis=1).repeat(2, axis=0).repeat(2, axis=1).astype(np.float32)
        error = np.abs(frames[idx].astype(np.float32) - expected).mean()
        other = np.abs(frames[idx].astype(np.float32) - np.roll(expected, 16, axis=1)).mean()
        assert error < 12 and error < other / 2, (error, other)  # H.264 is lossy, but close.
    # Deterministic: a second run decodes to the same frames.
    run_ok(
        [
            "interpolation-video",
            "--network",
            net,
            "--grid",
            "2x1",
            "--duration_sec",
            "0.5",
            "--fps",
            "8",
            "--smoothing_sec",
            "0.25",
            "--image_zoom",
            "2",
            "--seed",
            "7",
            "--out",
            tmp_path / "again.mp4",
        ],
        capsys,
    )
    np.testing.assert_array_equal(decode_mp4(str(tmp_path / "again.mp4"))[1], frames)
    assert sorted(os.listdir(tmp_path)) == ["again.mp4", "lerp.mp4"], "no temporary file is left behind"


def test_interpolation_video_grayscale_conditional(pickles, tmp_path, capsys):
    net = pickles["progan_cond"]
    assert "conditional" in run_usage_error(
        ["interpolation-video", "--network", net, "--duration_sec", "0.25", "--fps", "8", "--out", tmp_path / "v.mp4"],
        capsys,
    )
    run_ok(
        [
            "interpolation-video",
            "--network",
            net,
            "--class",
            "1",
            "--duration_sec",
            "0.25",
            "--fps",
            "8",
            "--out",
            tmp_path / "v.mp4",
        ],
        capsys,
    )
    meta, frames = decode_mp4(str(tmp_path / "v.mp4"))
    assert frames.shape == (2, 8, 8, 3)
    spread = np.abs(frames.astype(int) - frames.mean(axis=3, keepdims=True)).max()
    assert spread <= 3, "grayscale is written as equal RGB channels"


def _make_run(run_dir, colors, size=(128, 96)):
    """A run directory as training writes it: log.txt tick lines and solid-colour fakes%06d.png."""
    os.makedirs(run_dir)
    kimgs, lods, seconds = [0.0, 12.0, 24.1, 36.3], [3.0, 2.3, 1.6, 0.9], [0, 3700, 7400, 11100]
    lines = ["Building TensorFlow graph...\n"]
    for tick, (kimg, lod, sec, color) in enumerate(zip(kimgs, lods, seconds, colors)):
        PIL.Image.new("RGB", size, color).save(os.path.join(run_dir, "fakes%06d.png" % int(kimg)))
        if tick:
            lines.append(
                f"tick {tick:<5d} kimg {kimg:<8.1f} lod {lod:<5.2f} minibatch 16   "
                f"time {format_time(sec):<12s} sec/tick 1.0     sec/kimg 0.5\n"
            )
    lines.append("tick 9 kimg 99.0 lod 0.00 time 1d 00h 00m  (no fakes000099.png: skipped)\n")
    with open(os.path.join(run_dir, "log.txt"), "w") as log:
        log.writelines(lines)
    return kimgs[1:], lods[1:], seconds[1:]


def test_training_video(tmp_path, capsys):
    colors = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)]
    run_dir = str(tmp_path / "000-pgan-test")
    kimgs, lods, seconds = _make_run(run_dir, colors)
    times, snaps = video.parse_training_log(run_dir)
    assert times == seconds and [s[1] for s in snaps] == kimgs and [s[2] for s in snaps] == lods
    out = tmp_path / "train.mp4"
    run_ok(
        ["training-video", "--run", run_dir, "--duration_sec", "1", "--fps", "8", "--time_warp", "1.0", "--out", out],
        capsys,
    )
    meta, frames = decode_mp4(str(out))
    assert frames.shape == (8, 96, 128, 3)
    for idx in range(8):
        wallclock = (idx / 8) * seconds[-1]
        shown = max(bisect.bisect(seconds, wallclock) - 1, 0) + 1  # +1: colors[0] has no tick line.
        top = frames[idx, :30].reshape(-1, 3).mean(axis=0)
        np.testing.assert_allclose(top, colors[shown], atol=12, err_msg=f"frame {idx}")
        bottom = frames[idx, -40:]
        assert (bottom.min(axis=2) > 200).sum() > 50, "white label text at the bottom"
    # Default time warp 1.5 and frames larger than 1920x1080 are halved.
    big_run = str(tmp_path / "001-big")
    _make_run(big_run, colors, size=(2048, 64))
    run_ok(
        ["training-video", "--run", big_run, "--duration_sec", "0.25", "--fps", "8", "--out", tmp_path / "big.mp4"],
        capsys,
    )
    meta, frames = decode_mp4(str(tmp_path / "big.mp4"))
    assert frames.shape == (2, 32, 1024, 3)


# ----------------------------------------------------------------------------
# StyleGAN figures


def test_style_mixing_figure(pickles, tmp_path, capsys):
    net = pickles["stylegan_golden"]
    Gs = load_Gs(net)
    res, latent = 32, 64

    def synth(w):  # The figure renders each row (and the top row) as one minibatch, as officially.
        return stylegan_uint8(Gs.synthesis(w, randomize_noise=False))

    def mapping(seeds):
        return Gs.mapping(np.concatenate([seed_z(seed, latent) for seed in seeds])).numpy()

    run_ok(
        [
            "style-mixing",
            "--network",
            net,
            "--row_seeds",
            "1,2,6",
            "--col_seeds",
            "3,4",
            "--styles",
            "coarse,middle,0-7",
            "--out",
            tmp_path / "mix.png",
        ],
        capsys,
    )
    _, fig = read_png(tmp_path / "mix.png")
    assert fig.shape == ((3 + 1) * res, (2 + 1) * res, 3)
    assert (fig[:res, :res] == 255).all(), "top-left cell is white"
    cell = lambda r, c: fig[r * res : (r + 1) * res, c * res : (c + 1) * res]
    src, dst = mapping([3, 4]), mapping([1, 2, 6])
    for col, image in enumerate(synth(src)):
        np.testing.assert_array_equal(cell(0, col + 1), image)
    for row, image in enumerate(synth(dst)):
        np.testing.assert_array_equal(cell(row + 1, 0), image)
    # Row 1 takes layers 0-3 (coarse) from the column seeds, row 2 layers 4-7 (middle), row 3 all of them.
    for row, layers in enumerate([[0, 1, 2, 3], [4, 5, 6, 7], list(range(8))]):
        mixed = np.stack([dst[row]] * 2)
        mixed[:, layers] = src[:, layers]
        for col, image in enumerate(synth(mixed)):
            np.testing.assert_array_equal(cell(row + 1, col + 1), image, err_msg=f"row {row + 1} col {col + 1}")
    assert not np.array_equal(cell(1, 1), cell(0, 1)) and not np.array_equal(cell(1, 1), cell(1, 0))
    assert "beyond" in run_usage_error(
        ["style-mixing", "--network", net, "--styles", "fine", "--row_seeds", "1", "--out", tmp_path / "x.png"], capsys
    )  # 32x32 has layers 0-7 only.
    assert "one per row" in run_usage_error(
        [
            "style-mixing",
            "--network",
            net,
            "--styles",
            "coarse,middle",
            "--row_seeds",
            "1,2,3",
            "--out",
            tmp_path / "x.png",
        ],
        capsys,
    )
    assert not (tmp_path / "x.png").exists()


def test_truncation_figure(pickles, tmp_path, capsys):
    net = pickles["stylegan_golden"]
    Gs = load_Gs(net)
    res, latent = 32, 64
    run_ok(
        [
            "truncation",
            "--network",
            net,
            "--seeds",
            "91,388",
            "--psis",
            "-1,-0.5,0,0.5,1",
            "--out",
            tmp_path / "trunc.png",
        ],
        capsys,
    )
    _, fig = read_png(tmp_path / "trunc.png")
    assert fig.shape == (2 * res, 5 * res, 3)
    cell = lambda r, c: fig[r * res : (r + 1) * res, c * res : (c + 1) * res]
    avg = np.asarray(Gs.dlatent_avg)
    psis = np.array([-1, -0.5, 0, 0.5, 1])
    dlatents = Gs.mapping(np.concatenate([seed_z(91, latent), seed_z(388, latent)])).numpy()
    for row, (seed, w) in enumerate(zip((91, 388), dlatents)):
        # Official: all layers pulled toward dlatent_avg, one minibatch per row (float64 math, fed as float32).
        row_w = ((w[np.newaxis] - avg) * psis.reshape(-1, 1, 1) + avg).astype(np.float32)
        expected = stylegan_uint8(Gs.synthesis(row_w, randomize_noise=False))
        for col in range(5):
            np.testing.assert_array_equal(cell(row, col), expected[col], err_msg=f"seed {seed} psi {psis[col]}")
    np.testing.assert_array_equal(cell(0, 2), cell(1, 2))  # psi 0: every seed becomes the average w.
    assert not np.array_equal(cell(0, 0), cell(1, 0))


def test_noise_figures(pickles, tmp_path, capsys):
    net = pickles["stylegan_golden"]
    Gs = load_Gs(net)
    res, latent = 32, 64
    for name in ("d1.png", "d2.png"):
        run_ok(
            [
                "noise",
                "--network",
                net,
                "--figure",
                "detail",
                "--seeds",
                "3,4",
                "--num_samples",
                "6",
                "--out",
                tmp_path / name,
            ],
            capsys,
        )
    assert (tmp_path / "d1.png").read_bytes() == (tmp_path / "d2.png").read_bytes(), "seeded noise"
    _, detail = read_png(tmp_path / "d1.png")
    assert detail.shape == (2 * res, 3 * res, 3)
    std_panel = detail[:, 2 * res :]
    assert (std_panel[..., 0] == std_panel[..., 1]).all() and std_panel.max() > 0
    const = stylegan_uint8(Gs(seed_z(3, latent), truncation_psi=1.0, randomize_noise=False))[0]
    assert not np.array_equal(detail[:res, :res], const), "panel 1 uses random noise"

    run_ok(
        ["noise", "--network", net, "--figure", "components", "--seeds", "3,4", "--out", tmp_path / "comp.png"], capsys
    )
    _, comp = read_png(tmp_path / "comp.png")
    assert comp.shape == (2 * res, 2 * res, 3)
    half = res // 2
    saved = [np.asarray(v) for v in Gs.synthesis.noise_maps]

    def with_noise(seed, layers):  # Both seeds in one minibatch, as the figure renders them.
        try:
            for idx, var in enumerate(Gs.synthesis.noise_maps):
                var.assign(saved[idx] * (1 if idx in layers else 0))
            z = np.concatenate([seed_z(3, latent), seed_z(4, latent)])
            return stylegan_uint8(Gs(z, truncation_psi=1.0, randomize_noise=False))[[3, 4].index(seed)]
        finally:
            for var, value in zip(Gs.synthesis.noise_maps, saved):
                var.assign(value)

    # Quadrants: all noise | none ; fine (8+: none at 32x32) | coarse (0-7: all at 32x32).
    np.testing.assert_array_equal(comp[:res, :half], with_noise(3, range(8))[:, :half])
    np.testing.assert_array_equal(comp[:res, half:res], with_noise(3, [])[:, half:])
    np.testing.assert_array_equal(comp[res:, :half], with_noise(3, [])[:, :half])
    np.testing.assert_array_equal(comp[res:, half:res], with_noise(3, range(8))[:, half:])
    # Seed 4 (index 1) is mirrored, as the official flips=[1].
    np.testing.assert_array_equal(comp[:res, res : res + half], with_noise(4, range(8))[:, ::-1][:, :half])
    assert not np.array_equal(with_noise(3, range(8)), with_noise(3, []))
    # The network's noise maps are untouched afterwards.
    for var, value in zip(load_Gs(net).synthesis.noise_maps, saved):
        np.testing.assert_array_equal(np.asarray(var), value)


# ----------------------------------------------------------------------------
# Export


def _serve(loaded, latents, labels=None, psi=None):
    kwargs = dict(latents=tf.constant(latents))
    if labels is not None:
        kwargs["labels"] = tf.constant(labels)
    if psi is not None:
        kwargs["truncation_psi"] = tf.constant(psi, tf.float32)
    return loaded.signatures["serving_default"](**kwargs)["images"].numpy()


@pytest.mark.parametrize("name", [pytest.param("progan_golden", marks=pytest.mark.slow), "progan_cond"])
def test_export_progan(name, pickles, tmp_path, capsys):
    net = pickles[name]
    Gs = load_Gs(net)
    info = export.generator_info(Gs)
    (tmp_path / "saved_model").mkdir()
    (tmp_path / "saved_model" / "stale").write_text("from an earlier export")
    run_ok(["export", "--network", net, "--outdir", tmp_path], capsys)
    assert sorted(os.listdir(tmp_path)) == ["Gs.keras", "saved_model"], "replaced, no temporary left"
    assert not (tmp_path / "saved_model" / "stale").exists()
    latents = np.random.RandomState(0).randn(5, info["latent_size"]).astype(np.float32)
    labels = (
        np.eye(info["label_size"], dtype=np.float32)[np.arange(5) % info["label_size"]] if info["label_size"] else None
    )
    reference = Gs(latents, labels).numpy()
    loaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    images = _serve(loaded, latents, labels)
    assert images.dtype == np.uint8 and images.shape == (
        5,
        info["resolution"],
        info["resolution"],
        info["num_channels"],
    )
    np.testing.assert_array_equal(images, progan_uint8(reference))
    keras_Gs = export.load_keras(tmp_path / "Gs.keras")
    assert isinstance(keras_Gs, progan.Generator)
    np.testing.assert_array_equal(keras_Gs(latents, labels).numpy(), reference)


@pytest.mark.slow
def test_export_stylegan(pickles, tmp_path, capsys):
    net = pickles["stylegan_golden"]
    Gs = load_Gs(net)
    run_ok(["export", "--network", net, "--outdir", tmp_path], capsys)
    latents = np.random.RandomState(1).randn(4, Gs.latent_size).astype(np.float32)
    loaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    for psi in (0.7, 1.0, -0.5):
        reference = Gs(latents, truncation_psi=psi, randomize_noise=False).numpy()
        images = _serve(loaded, latents, psi=psi)
        assert images.dtype == np.uint8 and images.shape == (4, Gs.resolution, Gs.resolution, 3)
        # Graph and eager kernels may round differently in the last float bits: at most one level off.
        diff = np.abs(images.astype(int) - stylegan_uint8(reference).astype(int))
        assert diff.max() <= 1 and (diff == 0).mean() > 0.98, (psi, diff.max(), (diff == 0).mean())
    keras_Gs = export.load_keras(tmp_path / "Gs.keras")
    assert isinstance(keras_Gs, stylegan.Generator)
    np.testing.assert_array_equal(
        keras_Gs(latents, truncation_psi=0.7, randomize_noise=False).numpy(),
        Gs(latents, truncation_psi=0.7, randomize_noise=False).numpy(),
    )


def test_export_keras_replaces_file(pickles, tmp_path):
    Gs = load_Gs(pickles["progan_tiny"])
    path = tmp_path / "G.keras"
    path.write_bytes(b"old")
    assert export.export_keras(Gs, path) == str(path)
    assert sorted(os.listdir(tmp_path)) == ["G.keras"] and path.read_bytes()[:2] == b"PK"
    latents = np.random.RandomState(2).randn(3, 16).astype(np.float32)
    np.testing.assert_array_equal(export.load_keras(path)(latents).numpy(), Gs(latents).numpy())
    with pytest.raises(ValueError, match=".keras"):
        export.export_keras(Gs, tmp_path / "G.h5")


def test_official_uint8_conversions():
    """ProGAN rounds half to even; StyleGAN adds 0.5 and truncates; both saturate."""
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 1 / 127.5 * 0.5 - 1, 3 / 127.5 * 0.5 - 1], np.float32).reshape(1, 1, 7, 1)
    np.testing.assert_array_equal(export.official_uint8(x, "progan")[0, 0, :, 0], [0, 0, 128, 255, 255, 0, 2])
    np.testing.assert_array_equal(export.official_uint8(x, "stylegan")[0, 0, :, 0], [0, 0, 128, 255, 255, 1, 2])
    np.testing.assert_array_equal(export.official_uint8(x, "progan"), export.official_uint8_tf(x, "progan").numpy())
    np.testing.assert_array_equal(export.official_uint8(x, "stylegan"), export.official_uint8_tf(x, "stylegan").numpy())
