#!/usr/bin/env python3
"""Use a trained generator: images, videos, the StyleGAN paper figures, and serving exports.

The network is a snapshot of ours (`network-snapshot-%06d.pkl`, `network-final.pkl`) or an
official ProGAN / StyleGAN pickle; only Gs (the moving-average generator) is used.

  python generate.py images --network net.pkl --seeds 0-99 --outdir out
  python generate.py images --network net.pkl --seeds 0-31 --grid 8x4 --outdir out
  python generate.py interpolation-video --network net.pkl --grid 1x1 --duration_sec 60 --out lerp.mp4
  python generate.py training-video --run results/000-pgan-celebahq --out train.mp4
  python generate.py style-mixing --network ffhq.pkl --out figure03-style-mixing.png
  python generate.py truncation --network ffhq.pkl --seeds 91,388 --psis 1,0.7,0.5,0,-0.5,-1 --out fig.png
  python generate.py noise --network ffhq.pkl --figure detail --out figure04-noise-detail.png
  python generate.py export --network net.pkl --outdir exported

Seeds: image `k` comes from the latent `np.random.RandomState(k).randn(1, latent_size)`, as in
the official StyleGAN pretrained_example.py and generate_figures.py, so a seed names the same
image here and there. ProGAN's generate_fake_images instead draws every latent from one
RandomState(1000): its first image is our seed 1000, and `images --official_progan_batch`
reproduces its whole sequence and file names.

Pixels are converted to uint8 as the official code of the network's family does
(`networks.export.official_uint8`): ProGAN rounds half to even, StyleGAN adds 0.5 and truncates.

StyleGAN defaults follow the official scripts: `images` uses truncation_psi 0.7 with the
network's cutoff (8) and random noise (pretrained_example.py), except that our random noise is
seeded by the image seed, so outputs are reproducible; the figures use their official seeds,
psis and noise settings. Videos default to the stored noise maps (random noise flickers).

Bad arguments print one line on stderr and exit with status 2; other failures exit with 1.
"""

import argparse
import bisect
import os
import re
import sys

import numpy as np

from cli_types import nonnegative_float, positive_float, positive_int
from utils import quiet_tensorflow

quiet_tensorflow.install()  # TensorFlow's start-up log stays off the terminal.

DEFAULT_PSI = 0.7               # pretrained_example.py: Gs.run(..., truncation_psi=0.7).
MINIBATCH = 8                   # Official minibatch_size of every generation script.
STYLE_RANGES = {"coarse": (0, 4), "middle": (4, 8), "fine": (8, None)}     # generate_figures.py:150.
NOISE_DETAIL_CROP = (650, 180, 906, 436)                                   # generate_figures.py:89, at 1024.

#----------------------------------------------------------------------------
# Errors and argument parsing.

class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


class CommandError(Exception):
    """The command cannot complete (missing tool, I/O failure): one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message):
        command = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        raise UsageError(f"{command}: {message}" if command else message)


def parse_int_list(text,            # '0-99', '1,5,7', '0-3,10' ...
                   what="seed"):    # Name for error messages.
    """Comma-separated non-negative integers and inclusive ranges A-B, in the given order."""
    values = []
    for part in str(text).split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise UsageError(f"malformed {what} list {text!r}: use e.g. '0-99' or '1,5,7' (non-negative integers)")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise UsageError(f"malformed {what} range {part!r}: the end is before the start")
        values.extend(range(first, last + 1))
    return values


def parse_seeds(text):              # Seed list as for `parse_int_list`.
    """Seeds valid for np.random.RandomState (0 <= seed < 2**32)."""
    seeds = parse_int_list(text, "seed")
    if any(seed >= 2 ** 32 for seed in seeds):
        raise UsageError(f"seed out of range in {text!r}: seeds must be below 2**32")
    return seeds


def parse_float_list(text):         # '-1,-0.5,0,0.5,1'.
    """Comma-separated floats."""
    try:
        return [float(part) for part in str(text).split(",")]
    except ValueError:
        raise UsageError(f"malformed number list {text!r}: use e.g. '1,0.7,0.5,0,-0.5,-1'") from None


def parse_grid(text):               # 'WxH', e.g. '8x4'.
    """(columns, rows) of an image grid."""
    match = re.fullmatch(r"(\d+)x(\d+)", str(text).strip().lower())
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise UsageError(f"malformed grid {text!r}: use WxH with positive integers, e.g. 8x4")
    return int(match.group(1)), int(match.group(2))


def parse_style_specs(text):        # 'coarse', '0-3', or one spec per row: 'coarse,coarse,middle,fine'.
    """List of style-range specs ('coarse' | 'middle' | 'fine' | 'A-B' | 'A'), resolved per network later."""
    specs = [part.strip().lower() for part in str(text).split(",")]
    for spec in specs:
        if spec not in STYLE_RANGES and not re.fullmatch(r"\d+(-\d+)?", spec):
            raise UsageError(f"malformed --styles entry {spec!r}: use coarse, middle, fine or a layer range like 0-3")
    return specs


def resolve_style_range(spec,       # One spec from `parse_style_specs`.
                        num_layers):    # Number of style inputs of the network.
    """Layer indices a spec names (official: coarse 0-3, middle 4-7, fine 8 and up)."""
    if spec in STYLE_RANGES:
        start, stop = STYLE_RANGES[spec]
        stop = num_layers if stop is None else min(stop, num_layers)
    else:
        bounds = [int(v) for v in spec.split("-")]
        start, stop = bounds[0], bounds[-1] + 1
    if not 0 <= start < stop <= num_layers:
        raise UsageError(f"--styles {spec!r} selects no layer or layers beyond the network's {num_layers} "
                         f"(valid indices 0-{num_layers - 1})")
    return list(range(start, stop))


#----------------------------------------------------------------------------
# Networks, latents and labels.

def load_generator(path):           # Snapshot or official pickle.
    """Load Gs from a pickle; a missing or unreadable file is a UsageError."""
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such network file; give a network pickle (.pkl) with --network")
    print(f'Loading network from "{path}"...', flush=True)
    from networks import official
    from networks.export import generator_info
    try:
        states = official.read_pickle(path)
        if len(states) != 3:
            raise UsageError(f"{path} holds {len(states)} network(s); expected a snapshot (G, D, Gs)")
        Gs = official.network_from_state(states[2], path)   # Only Gs is needed: skip building G and D.
    except ValueError as error:
        raise UsageError(str(error).splitlines()[0]) from None
    return Gs, generator_info(Gs)


def seed_latents(seed,              # Image seed.
                 latent_size):      # Gs latent dimensionality.
    """The official per-seed latent: RandomState(seed).randn(1, latent_size), as float32."""
    return np.random.RandomState(seed).randn(1, latent_size).astype(np.float32)


def make_labels(info,               # generator_info(Gs).
                count,              # Number of images that need a label.
                class_idx=None,     # --class: one-hot class index.
                labels_path=None):  # --labels: .npy of [label_size] or [count, label_size].
    """Labels [count, label_size] float32; conditional networks need --class or --labels."""
    size = info["label_size"]
    if size == 0:
        if class_idx is not None or labels_path is not None:
            raise UsageError("the network is unconditional (label_size 0); drop --class / --labels")
        return np.zeros([count, 0], np.float32)
    if class_idx is not None and labels_path is not None:
        raise UsageError("give either --class or --labels, not both")
    if class_idx is not None:
        if not 0 <= class_idx < size:
            raise UsageError(f"--class {class_idx} is out of range: the network has {size} classes (0-{size - 1})")
        labels = np.zeros([count, size], np.float32)
        labels[:, class_idx] = 1.0
        return labels
    if labels_path is None:
        raise UsageError(f"the network is conditional (label_size {size}); give --class K or --labels FILE.npy")
    try:
        labels = np.load(labels_path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise UsageError(f"{labels_path}: cannot read labels ({type(error).__name__}: {error}); "
                         f"give a .npy array of [label_size] or [count, label_size]") from None
    labels = np.asarray(labels, np.float32)
    if labels.shape == (size,):
        return np.tile(labels[np.newaxis], [count, 1])
    if labels.shape == (count, size):
        return labels
    raise UsageError(f"{labels_path}: labels have shape {labels.shape}; expected ({size},) or ({count}, {size})")


def check_family_options(info,      # generator_info(Gs).
                         args):     # Parsed arguments.
    """StyleGAN-only options on a ProGAN network are a UsageError."""
    if info["family"] == "stylegan":
        return
    for name in ("truncation_psi", "truncation_cutoff", "noise_mode"):
        if getattr(args, name, None) is not None:
            raise UsageError(f"--{name} applies to StyleGAN networks only; this is a ProGAN network")


def require_stylegan(info,          # generator_info(Gs).
                     command):      # Command name for the message.
    """Figures of the StyleGAN paper need a StyleGAN network."""
    if info["family"] != "stylegan":
        raise UsageError(f"'{command}' applies to StyleGAN networks only; this is a ProGAN network")


def set_noise_seed(Gs,              # StyleGAN generator.
                   seed):           # Seed of the random noise inputs.
    """Restart the synthesis noise generator at `seed`, so random noise is reproducible."""
    Gs.synthesis.seed_generator.state.assign(np.array([seed, 0], np.int64).astype(
        Gs.synthesis.seed_generator.state.dtype))


def synthesize(Gs,                  # Generator.
               info,                # generator_info(Gs).
               latents,             # [N, latent_size] float32.
               labels,              # [N, label_size] float32.
               psi=None,            # StyleGAN truncation_psi (None = the network's).
               cutoff=None,         # StyleGAN truncation_cutoff (None = the network's).
               noise_mode="const"):     # StyleGAN noise: 'const' stored maps, 'random' fresh draws.
    """Float NHWC images of Gs, in minibatches of the official size."""
    out = []
    for begin in range(0, len(latents), MINIBATCH):
        z, c = latents[begin:begin + MINIBATCH], labels[begin:begin + MINIBATCH]
        if info["family"] == "progan":
            images = Gs(z, c if info["label_size"] else None)
        else:
            images = Gs(z, c if info["label_size"] else None, truncation_psi=psi, truncation_cutoff=cutoff,
                        randomize_noise=noise_mode == "random")
        out.append(np.asarray(images, np.float32))
    return np.concatenate(out)


def to_uint8(images,                # [N, H, W, C] float generator output.
             info,                  # generator_info(Gs): picks the official conversion.
             shrink=1):             # Box-filter downscale factor.
    """uint8 images converted as the official code of the network's family does."""
    from networks.export import official_uint8
    return official_uint8(images, info["family"], shrink)

#----------------------------------------------------------------------------
# Output files (every file is written under a temporary name and renamed when complete).

def save_png(image,                 # [H, W, C] uint8, C = 1 or 3.
             path):                 # Destination .png.
    """Write a PNG ('L' or 'RGB') atomically."""
    import PIL.Image
    pil = PIL.Image.fromarray(image[:, :, 0], "L") if image.shape[2] == 1 else PIL.Image.fromarray(image, "RGB")
    save_pil(pil, path)


def save_pil(pil,                   # PIL image.
             path):                 # Destination .png.
    """Save a PIL image as PNG under a temporary name, then rename it into place."""
    tmp = temp_name(path)
    try:
        pil.save(tmp, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def temp_name(path):                # Final output path.
    """A sibling name to write `path` under until it is complete (its directory is created)."""
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")


def network_id(path):               # Network pickle path.
    """Official get_id_string_for_network_pkl: '<run dir>-<pkl stem>'."""
    parts = os.path.abspath(path).replace(".pkl", "").replace("\\", "/").split("/")
    return "-".join(parts[max(len(parts) - 2, 0):])


class Mp4Writer:
    """H.264 (libx264, yuv420p) MP4 writer using the ffmpeg that imageio-ffmpeg bundles.

    Frames are HxWx3 uint8; odd sizes are padded with black to even ones (yuv420p needs them).
    The file is written under a temporary name and renamed by `close()`; on error it is removed.
    """

    def __init__(self,
                 path,              # Output .mp4.
                 fps,               # Frames per second.
                 bitrate="16M"):    # Official mp4_bitrate.
        try:
            import imageio_ffmpeg
        except ImportError:
            raise CommandError("writing MP4 needs imageio-ffmpeg (it bundles ffmpeg): pip install imageio-ffmpeg") from None
        self._ffmpeg = imageio_ffmpeg
        self.path, self.fps, self.bitrate = os.path.abspath(path), fps, bitrate
        self.size = None
        self.frames = 0
        self._gen = None
        self._tmp = temp_name(self.path)

    def append(self, frame):        # [H, W, 3] uint8.
        frame = np.asarray(frame, np.uint8)
        pad_h, pad_w = frame.shape[0] % 2, frame.shape[1] % 2
        if pad_h or pad_w:
            frame = np.pad(frame, [(0, pad_h), (0, pad_w), (0, 0)])
        if self._gen is None:
            self.size = (frame.shape[1], frame.shape[0])
            self._gen = self._ffmpeg.write_frames(
                self._tmp, self.size, fps=self.fps, codec="libx264", bitrate=self.bitrate, quality=None,
                pix_fmt_in="rgb24", pix_fmt_out="yuv420p", macro_block_size=1, ffmpeg_log_level="error",
                output_params=["-f", "mp4"])
            self._gen.send(None)
        if (frame.shape[1], frame.shape[0]) != self.size:
            raise CommandError(f"frame {self.frames} is {frame.shape[1]}x{frame.shape[0]}, "
                               f"but the video is {self.size[0]}x{self.size[1]}")
        self._gen.send(np.ascontiguousarray(frame))
        self.frames += 1

    def close(self):
        if self._gen is None:
            self.abort()
            raise CommandError(f"{self.path}: no frames to write")
        self._gen.close()
        self._gen = None
        os.replace(self._tmp, self.path)

    def abort(self):
        if self._gen is not None:
            try:
                self._gen.close()
            except Exception:  # ffmpeg may already be gone; the temp file is removed anyway.
                pass
            self._gen = None
        if os.path.exists(self._tmp):
            os.unlink(self._tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False

#----------------------------------------------------------------------------
# images

def cmd_images(args):
    """One PNG per seed (seed%04d.png) or grids; or the official ProGAN generate_fake_images batch."""
    grid = parse_grid(args.grid) if args.grid else None
    if args.official_progan_batch:
        if args.seeds is not None:
            raise UsageError("--official_progan_batch draws latents from --random_seed; drop --seeds")
    else:
        if args.seeds is None:
            raise UsageError("give --seeds, e.g. --seeds 0-99 (or --official_progan_batch)")
        seeds = parse_seeds(args.seeds)
    Gs, info = load_generator(args.network)
    check_family_options(info, args)
    psi = DEFAULT_PSI if args.truncation_psi is None else args.truncation_psi
    noise_mode = args.noise_mode or "random"
    render = dict(psi=psi, cutoff=args.truncation_cutoff, noise_mode=noise_mode)
    if args.official_progan_batch:
        return _official_batch(args, Gs, info, grid or (1, 1), render)

    labels = make_labels(info, len(seeds), args.class_idx, args.labels)
    os.makedirs(args.outdir, exist_ok=True)
    images = []
    for idx, seed in enumerate(seeds):
        print(f"Generating image for seed {seed} ({idx + 1}/{len(seeds)})...", flush=True)
        if noise_mode == "random" and info["family"] == "stylegan":
            set_noise_seed(Gs, seed)
        image = to_uint8(synthesize(Gs, info, seed_latents(seed, info["latent_size"]), labels[idx:idx + 1],
                                    **render), info, args.image_shrink)[0]
        if grid is None:
            save_png(image, os.path.join(args.outdir, f"seed{seed:04d}.png"))
        else:
            images.append(image)
    if grid is None:
        print(f'Wrote {len(seeds)} image(s) to "{args.outdir}"')
        return 0
    _write_grids(np.stack(images), seeds, grid, args.outdir)
    return 0


def _write_grids(images,            # [N, H, W, C] uint8, one per seed.
                 seeds,             # The seeds, for the log.
                 grid,              # (columns, rows).
                 outdir):           # Output directory.
    from training import misc
    per_grid = grid[0] * grid[1]
    count = 0
    for start in range(0, len(images), per_grid):
        path = os.path.join(outdir, f"grid{count:04d}.png")
        save_png(misc.create_image_grid(images[start:start + per_grid], grid), path)
        chunk = seeds[start:start + per_grid]
        print(f'Wrote "{path}" (seeds {chunk[0]}..{chunk[-1]}, {grid[0]}x{grid[1]})')
        count += 1
    print(f'Wrote {count} grid(s) to "{outdir}"')


def _official_batch(args,           # Parsed arguments of `images`.
                    Gs,             # Generator.
                    info,           # generator_info(Gs).
                    grid,           # (columns, rows) per PNG.
                    render):        # synthesize() options.
    """util_scripts.generate_fake_images: latents drawn in sequence from RandomState(random_seed)."""
    from training import misc
    prefix = args.png_prefix if args.png_prefix is not None else network_id(args.network) + "-"
    random_state = np.random.RandomState(args.random_seed)
    if info["family"] == "stylegan" and render["noise_mode"] == "random":
        set_noise_seed(Gs, args.random_seed)
    count = grid[0] * grid[1]
    labels = make_labels(info, count * args.num_pngs, args.class_idx, args.labels)
    os.makedirs(args.outdir, exist_ok=True)
    for png_idx in range(args.num_pngs):
        print(f"Generating png {png_idx} / {args.num_pngs}...", flush=True)
        latents = random_state.randn(count, info["latent_size"]).astype(np.float32)
        images = to_uint8(synthesize(Gs, info, latents, labels[png_idx * count:(png_idx + 1) * count], **render),
                          info, args.image_shrink)
        save_png(misc.create_image_grid(images, grid), os.path.join(args.outdir, f"{prefix}{png_idx:06d}.png"))
    print(f'Wrote {args.num_pngs} image(s) to "{args.outdir}"')
    return 0

#----------------------------------------------------------------------------
# interpolation-video

def interpolation_latents(num_frames,       # Video length in frames.
                          num_images,       # Images per frame (grid cells).
                          latent_size,      # Gs latent dimensionality.
                          smoothing_frames,     # Gaussian sigma along time, in frames.
                          random_seed):     # Official random_seed (1000).
    """Official latents: randn [frames, N, latent], Gaussian-smoothed in time (looping), unit RMS."""
    import scipy.ndimage
    random_state = np.random.RandomState(random_seed)
    latents = random_state.randn(num_frames, num_images, latent_size).astype(np.float32)
    latents = scipy.ndimage.gaussian_filter(latents, [smoothing_frames, 0, 0], mode="wrap")
    return latents / np.sqrt(np.mean(np.square(latents)))


def cmd_interpolation_video(args):
    """util_scripts.generate_interpolation_video."""
    import scipy.ndimage
    from training import misc
    grid = parse_grid(args.grid)
    Gs, info = load_generator(args.network)
    check_family_options(info, args)
    num_frames = int(np.rint(args.duration_sec * args.fps))
    if num_frames < 1:
        raise UsageError(f"--duration_sec {args.duration_sec} at --fps {args.fps} gives no frame")
    num_images = grid[0] * grid[1]
    labels = make_labels(info, num_images, args.class_idx, args.labels)
    out = args.out or network_id(args.network) + "-lerp.mp4"
    print("Generating latent vectors...", flush=True)
    all_latents = interpolation_latents(num_frames, num_images, info["latent_size"], args.smoothing_sec * args.fps,
                                        args.seed)
    noise_mode = args.noise_mode or "const"
    if info["family"] == "stylegan" and noise_mode == "random":
        set_noise_seed(Gs, args.seed)
    render = dict(psi=DEFAULT_PSI if args.truncation_psi is None else args.truncation_psi,
                  cutoff=args.truncation_cutoff, noise_mode=noise_mode)
    with Mp4Writer(out, args.fps, args.bitrate) as writer:
        for frame_idx in range(num_frames):
            if frame_idx % max(1, int(args.fps)) == 0:
                print(f"Frame {frame_idx} / {num_frames}...", flush=True)
            images = to_uint8(synthesize(Gs, info, all_latents[frame_idx], labels, **render), info, args.image_shrink)
            frame = misc.create_image_grid(images, grid)
            if args.image_zoom > 1:
                frame = scipy.ndimage.zoom(frame, [args.image_zoom, args.image_zoom, 1], order=0)
            if frame.shape[2] == 1:
                frame = frame.repeat(3, 2)     # Grayscale to RGB.
            writer.append(frame)
    print(f'Wrote {num_frames} frames ({writer.size[0]}x{writer.size[1]}, {args.fps:g} fps) to "{out}"')
    return 0

#----------------------------------------------------------------------------
# training-video

_LOG_KIMG = re.compile(r"kimg ([\d\.]+) ")
_LOG_LOD = re.compile(r"lod ([\d\.]+) ")
_LOG_TIME = re.compile(r"time (\d+d)? *(\d+h)? *(\d+m)? *(\d+s)? ")


def parse_training_log(run_dir):    # Run directory with log.txt and fakes%06d.png.
    """Official parsing of log.txt: ([seconds], [(png, kimg, lod)]) for ticks whose fakes PNG exists."""
    log_path = os.path.join(run_dir, "log.txt")
    if not os.path.isfile(log_path):
        raise UsageError(f"{run_dir}: no log.txt; give a training run directory with --run")
    times, snaps = [], []
    with open(log_path, "rt", encoding="utf-8", errors="replace") as log:
        for line in log:
            k, l, t = _LOG_KIMG.search(line), _LOG_LOD.search(line), _LOG_TIME.search(line)
            if not (k and l and t):
                continue
            try:
                kimg, lod = float(k.group(1)), float(l.group(1))
            except ValueError:
                continue    # E.g. 'kimg 1.2.3': not a tick line.
            d, h, m, s = [int(t.group(i)[:-1]) if t.group(i) else 0 for i in range(1, 5)]
            png = os.path.join(run_dir, "fakes%06d.png" % int(np.floor(kimg)))
            if os.path.isfile(png):
                times.append(d * 86400 + h * 3600 + m * 60 + s)
                snaps.append((png, kimg, lod))
    if not times:
        raise UsageError(f"{log_path}: no tick line (kimg/lod/time) with a matching fakes%06d.png")
    return times, snaps


_label_cache = {}


def _load_font(font_path,           # --font, or None for Calibri / DejaVuSans / Pillow's default.
               size):               # Pixel size (official fontsize 32).
    import PIL.ImageFont
    for candidate in ([font_path] if font_path else ["calibri.ttf", "Calibri.ttf", "DejaVuSans.ttf"]):
        try:
            return PIL.ImageFont.truetype(candidate, size)
        except OSError:
            if font_path:
                raise UsageError(f"{font_path}: cannot load this font; give a TrueType/OpenType file") from None
    return PIL.ImageFont.load_default(size=size)


def text_label(text,                # Label text.
               font,                # PIL font.
               padding=6,           # Official setup_text_label defaults ...
               glow_size=2.0,
               glow_coef=3.0,
               glow_exp=2.0):
    """(alpha, glow) of official misc.setup_text_label, with the text drawn by PIL (not moviepy)."""
    import PIL.Image
    import PIL.ImageDraw
    import scipy.ndimage
    key = (text, id(font))
    if key not in _label_cache:
        left, top, right, bottom = font.getbbox(text)
        canvas = PIL.Image.new("L", (max(right - left, 1), max(bottom - top, 1)), 0)
        PIL.ImageDraw.Draw(canvas).text((-left, -top), text, fill=255, font=font)
        alpha = np.asarray(canvas, np.float64) / 255.0
        alpha = np.pad(alpha, padding, mode="constant", constant_values=0.0)
        glow = scipy.ndimage.gaussian_filter(alpha, glow_size)
        glow = 1.0 - np.maximum(1.0 - glow * glow_coef, 0.0) ** glow_exp
        _label_cache[key] = (alpha, glow)
    return _label_cache[key]


def draw_text_label(img,            # [H, W, C] image (uint8 or float).
                    text,           # Label text.
                    x, y,           # Anchor position.
                    font,           # PIL font.
                    alignx=0.5,     # Anchor alignment within the label.
                    aligny=0.5):
    """Official misc.draw_text_label with white text and full opacity: darken by the glow, add the text."""
    alpha, glow = text_label(text, font)
    xx, yy = int(np.rint(x - alpha.shape[1] * alignx)), int(np.rint(y - alpha.shape[0] * aligny))
    xb, yb = max(-xx, 0), max(-yy, 0)
    xe, ye = min(alpha.shape[1], img.shape[1] - xx), min(alpha.shape[0], img.shape[0] - yy)
    img = np.array(img)
    if xe <= xb or ye <= yb:
        return img
    region = img[yy + yb:yy + ye, xx + xb:xx + xe, :]
    a, g = alpha[yb:ye, xb:xe], glow[yb:ye, xb:xe]
    region[:] = region * (1.0 - (1.0 - (1.0 - a) * (1.0 - g)))[:, :, np.newaxis]
    region[:] = region + a[:, :, np.newaxis] * np.float32(255)
    return img


def training_frame(png,             # fakes%06d.png path.
                   cache):          # {'png': path, 'img': array}: the last image read.
    """The snapshot image, halved (2x2 mean) until it fits 1920x1080, grayscale as RGB."""
    import PIL.Image
    if cache.get("png") != png:
        try:
            with PIL.Image.open(png) as pil:
                img = np.asarray(pil.convert("RGB") if pil.mode not in ("RGB", "L") else pil)
        except OSError as error:
            raise CommandError(f"{png}: cannot read image ({error})") from None
        if img.ndim == 2:
            img = np.repeat(img[:, :, np.newaxis], 3, axis=2)
        while img.shape[1] > 1920 or img.shape[0] > 1080:
            h, w = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2
            img = img[:h, :w].astype(np.float32).reshape(h // 2, 2, w // 2, 2, -1).mean(axis=(1, 3))
        cache.update(png=png, img=img)
    return cache["img"]


def cmd_training_video(args):
    """util_scripts.generate_training_video, with the labels drawn by PIL."""
    from training import misc
    run_dir = args.run.rstrip("/\\")
    if not os.path.isdir(run_dir):
        raise UsageError(f"{run_dir}: no such run directory; give a training run directory with --run")
    times, snaps = parse_training_log(run_dir)
    font = _load_font(args.font, 32)
    out = args.out or os.path.basename(os.path.abspath(run_dir)) + "-train.mp4"
    num_frames = int(np.rint(args.duration_sec * args.fps))
    if num_frames < 1:
        raise UsageError(f"--duration_sec {args.duration_sec} at --fps {args.fps} gives no frame")
    print(f"Found {len(snaps)} snapshot image(s) in \"{run_dir}\"; rendering {num_frames} frames...", flush=True)
    cache = {}
    with Mp4Writer(out, args.fps, args.bitrate) as writer:
        for frame_idx in range(num_frames):
            t = frame_idx / args.fps
            wallclock = ((t / args.duration_sec) ** args.time_warp) * times[-1]
            png, kimg, lod = snaps[max(bisect.bisect(times, wallclock) - 1, 0)]
            img = training_frame(png, cache)
            h, w = img.shape[0], img.shape[1]
            img = draw_text_label(img, "lod %.2f" % lod, 16, h - 4, font, alignx=0.0, aligny=1.0)
            img = draw_text_label(img, misc.format_time(int(np.rint(wallclock))), w // 2, h - 4, font,
                                  alignx=0.5, aligny=1.0)
            img = draw_text_label(img, "%.0f kimg" % kimg, w - 16, h - 4, font, alignx=1.0, aligny=1.0)
            writer.append(np.clip(img, 0, 255).astype(np.uint8))   # moviepy truncates float frames.
    print(f'Wrote {num_frames} frames ({writer.size[0]}x{writer.size[1]}, {args.fps:g} fps) to "{out}"')
    return 0

#----------------------------------------------------------------------------
# StyleGAN figures (generate_figures.py).

def _figure_setup(args,             # Parsed arguments with --network.
                  command):         # Command name for the message.
    Gs, info = load_generator(args.network)
    require_stylegan(info, command)
    return Gs, info


def _mapping(Gs,                    # StyleGAN generator.
             info,                  # generator_info(Gs).
             latents,               # [N, latent_size] float32.
             labels):               # [N, label_size] float32.
    """dlatents [N, num_layers, dlatent_size] from Gs.mapping (no truncation), as float32."""
    out = []
    for begin in range(0, len(latents), MINIBATCH):
        c = labels[begin:begin + MINIBATCH] if info["label_size"] else None
        out.append(np.asarray(Gs.mapping(latents[begin:begin + MINIBATCH], c), np.float32))
    return np.concatenate(out)


def _synthesis(Gs,                  # StyleGAN generator.
               dlatents):           # [N, num_layers, dlatent_size].
    """uint8 images of Gs.synthesis with the stored noise (randomize_noise=False)."""
    out = []
    for begin in range(0, len(dlatents), MINIBATCH):
        out.append(np.asarray(Gs.synthesis(np.asarray(dlatents[begin:begin + MINIBATCH], np.float32),
                                           randomize_noise=False), np.float32))
    from networks.export import official_uint8
    return official_uint8(np.concatenate(out), "stylegan")


def _pil(image):                    # [H, W, C] uint8.
    import PIL.Image
    return PIL.Image.fromarray(image[:, :, 0], "L").convert("RGB") if image.shape[2] == 1 else \
        PIL.Image.fromarray(image, "RGB")


def _stacked_latents(seeds,         # Image seeds.
                     latent_size):  # Gs latent dimensionality.
    """[len(seeds), latent_size] official per-seed latents."""
    return np.concatenate([seed_latents(seed, latent_size) for seed in seeds])


def cmd_style_mixing(args):
    """draw_style_mixing_figure: row seeds' w with the style layers replaced by column seeds' w."""
    import PIL.Image
    row_seeds, col_seeds = parse_seeds(args.row_seeds), parse_seeds(args.col_seeds)
    specs = parse_style_specs(args.styles)
    if len(specs) not in (1, len(row_seeds)):
        raise UsageError(f"--styles has {len(specs)} entries; give one for all rows or one per row ({len(row_seeds)})")
    Gs, info = _figure_setup(args, "style-mixing")
    ranges = [resolve_style_range(spec, info["num_layers"]) for spec in specs]
    ranges = ranges * len(row_seeds) if len(ranges) == 1 else ranges
    labels_src = make_labels(info, len(col_seeds), args.class_idx, args.labels)
    labels_dst = make_labels(info, len(row_seeds), args.class_idx, args.labels)
    src_dlatents = _mapping(Gs, info, _stacked_latents(col_seeds, info["latent_size"]), labels_src)
    dst_dlatents = _mapping(Gs, info, _stacked_latents(row_seeds, info["latent_size"]), labels_dst)
    src_images, dst_images = _synthesis(Gs, src_dlatents), _synthesis(Gs, dst_dlatents)
    w = h = info["resolution"]
    canvas = PIL.Image.new("RGB", (w * (len(col_seeds) + 1), h * (len(row_seeds) + 1)), "white")
    for col, image in enumerate(src_images):
        canvas.paste(_pil(image), ((col + 1) * w, 0))
    for row, image in enumerate(dst_images):
        print(f"Row {row + 1} / {len(row_seeds)}: seed {row_seeds[row]}, layers {ranges[row][0]}-{ranges[row][-1]}",
              flush=True)
        canvas.paste(_pil(image), (0, (row + 1) * h))
        row_dlatents = np.stack([dst_dlatents[row]] * len(col_seeds))
        row_dlatents[:, ranges[row]] = src_dlatents[:, ranges[row]]
        for col, mixed in enumerate(_synthesis(Gs, row_dlatents)):
            canvas.paste(_pil(mixed), ((col + 1) * w, (row + 1) * h))
    save_pil(canvas, args.out)
    print(f'Wrote "{args.out}"')
    return 0


def cmd_truncation(args):
    """draw_truncation_trick_figure: w pulled toward dlatent_avg by each psi, on all layers."""
    import PIL.Image
    seeds, psis = parse_seeds(args.seeds), parse_float_list(args.psis)
    Gs, info = _figure_setup(args, "truncation")
    labels = make_labels(info, len(seeds), args.class_idx, args.labels)
    dlatents = _mapping(Gs, info, _stacked_latents(seeds, info["latent_size"]), labels)
    dlatent_avg = np.asarray(Gs.dlatent_avg, np.float32)
    w = h = info["resolution"]
    canvas = PIL.Image.new("RGB", (w * len(psis), h * len(seeds)), "white")
    for row, dlatent in enumerate(dlatents):
        print(f"Row {row + 1} / {len(seeds)}: seed {seeds[row]}", flush=True)
        row_dlatents = (dlatent[np.newaxis] - dlatent_avg) * np.reshape(psis, [-1, 1, 1]) + dlatent_avg
        for col, image in enumerate(_synthesis(Gs, row_dlatents)):
            canvas.paste(_pil(image), (col * w, row * h))
    save_pil(canvas, args.out)
    print(f'Wrote "{args.out}"')
    return 0


def cmd_noise(args):
    """draw_noise_detail_figure (--figure detail) or draw_noise_components_figure (components)."""
    seeds = parse_seeds(args.seeds) if args.seeds else ([1157, 1012] if args.figure == "detail" else [1967, 1555])
    flips = parse_int_list(args.flips, "flip index") if args.flips else []
    Gs, info = _figure_setup(args, "noise")
    labels = make_labels(info, 1, args.class_idx, args.labels)
    if not Gs.synthesis.noise_maps:
        raise UsageError("the network has no noise inputs (use_noise=False)")
    out = args.out or ("figure04-noise-detail.png" if args.figure == "detail" else "figure05-noise-components.png")
    if args.figure == "detail":
        canvas = _noise_detail(Gs, info, seeds, labels, args.num_samples)
    else:
        if any(not 0 <= flip < len(seeds) for flip in flips):
            raise UsageError(f"--flips {args.flips} names an image outside the {len(seeds)} seeds")
        canvas = _noise_components(Gs, info, seeds, labels, flips)
    save_pil(canvas, out)
    print(f'Wrote "{out}"')
    return 0


def _noise_detail(Gs,               # StyleGAN generator.
                  info,             # generator_info(Gs).
                  seeds,            # One row per seed.
                  labels,           # [1, label_size].
                  num_samples):     # Noise draws per seed.
    """One image, four crops of other noise draws, and the per-pixel std of num_samples draws."""
    import PIL.Image
    w = h = info["resolution"]
    x0, y0, x1, y1 = [c * w // 1024 for c in NOISE_DETAIL_CROP]
    canvas = PIL.Image.new("RGB", (w * 3, h * len(seeds)), "white")
    for row, seed in enumerate(seeds):
        print(f"Row {row + 1} / {len(seeds)}: seed {seed}, {num_samples} noise samples", flush=True)
        set_noise_seed(Gs, seed)
        latents = np.repeat(seed_latents(seed, info["latent_size"]), num_samples, axis=0)
        images = to_uint8(synthesize(Gs, info, latents, np.repeat(labels, num_samples, axis=0), psi=1,
                                     noise_mode="random"), info)
        canvas.paste(_pil(images[0]), (0, row * h))
        for i in range(min(4, num_samples - 1)):
            crop = _pil(images[i + 1]).crop((x0, y0, x1, y1)).resize((w // 2, h // 2), PIL.Image.NEAREST)
            canvas.paste(crop, (w + (i % 2) * w // 2, row * h + (i // 2) * h // 2))
        diff = np.std(np.mean(images, axis=3), axis=0) * 4
        diff = np.clip(diff + 0.5, 0, 255).astype(np.uint8)
        canvas.paste(PIL.Image.fromarray(diff, "L"), (w * 2, row * h))
    return canvas


def _noise_components(Gs,           # StyleGAN generator.
                      info,         # generator_info(Gs).
                      seeds,        # One column per seed.
                      labels,       # [1, label_size].
                      flips):       # Indices of seeds shown mirrored.
    """Quadrants per seed: noise in all layers / none / fine (8+) / coarse (0-7), stored maps scaled 1 or 0."""
    import PIL.Image
    n = info["num_layers"]
    noise_ranges = [range(0, n), range(0, 0), range(min(8, n), n), range(0, min(8, n))]
    noise_vars = list(Gs.synthesis.noise_maps)
    saved = [np.asarray(var) for var in noise_vars]
    latents = _stacked_latents(seeds, info["latent_size"])
    labels = np.repeat(labels, len(seeds), axis=0)
    all_images = []
    try:
        for noise_range in noise_ranges:
            for i, (var, value) in enumerate(zip(noise_vars, saved)):
                var.assign(value * (1 if i in noise_range else 0))
            images = to_uint8(synthesize(Gs, info, latents, labels, psi=1, noise_mode="const"), info)
            images[flips] = images[flips, :, ::-1]
            all_images.append(list(images))
    finally:
        for var, value in zip(noise_vars, saved):
            var.assign(value)
    w = h = info["resolution"]
    canvas = PIL.Image.new("RGB", (w * len(seeds), h * 2), "white")
    for col, col_images in enumerate(zip(*all_images)):
        canvas.paste(_pil(col_images[0]).crop((0, 0, w // 2, h)), (col * w, 0))
        canvas.paste(_pil(col_images[1]).crop((w // 2, 0, w, h)), (col * w + w // 2, 0))
        canvas.paste(_pil(col_images[2]).crop((0, 0, w // 2, h)), (col * w, h))
        canvas.paste(_pil(col_images[3]).crop((w // 2, 0, w, h)), (col * w + w // 2, h))
    return canvas

#----------------------------------------------------------------------------
# export

def cmd_export(args):
    """SavedModel (DIR/saved_model) and native Keras file (DIR/Gs.keras) of Gs."""
    Gs, info = load_generator(args.network)
    check_family_options(info, args)
    from networks import export
    saved_model = os.path.join(args.outdir, "saved_model")
    keras_path = os.path.join(args.outdir, "Gs.keras")
    print(f'Exporting SavedModel to "{saved_model}"...', flush=True)
    export.export_saved_model(Gs, saved_model, noise_mode=args.noise_mode or "const")
    print(f'Exporting Keras model to "{keras_path}"...', flush=True)
    export.export_keras(Gs, keras_path)
    inputs = "latents [N, %d]" % info["latent_size"]
    if info["label_size"]:
        inputs += ", labels [N, %d]" % info["label_size"]
    if info["family"] == "stylegan":
        inputs += ", truncation_psi []"
    print(f"serving_default: {inputs} -> images uint8 [N, {info['resolution']}, {info['resolution']}, "
          f"{info['num_channels']}]")
    print(f'Wrote "{saved_model}" and "{keras_path}"')
    return 0

#----------------------------------------------------------------------------
# Command line.

def _add_network(parser):
    parser.add_argument("--network", required=True, metavar="PKL",
                        help="network pickle: our snapshot (network-snapshot-*.pkl) or an official one")


def _add_labels(parser):
    parser.add_argument("--class", dest="class_idx", type=int, metavar="K",
                        help="class index for a conditional network (one-hot label)")
    parser.add_argument("--labels", metavar="NPY",
                        help="labels for a conditional network: .npy of [label_size] or [count, label_size]")


def _add_stylegan(parser,           # Sub-command parser.
                  noise_default):   # Help text of the --noise_mode default.
    parser.add_argument("--truncation_psi", type=float, metavar="PSI",
                        help=f"StyleGAN truncation (default {DEFAULT_PSI}, as pretrained_example.py; 1 = off)")
    parser.add_argument("--truncation_cutoff", type=int, metavar="N",
                        help="StyleGAN: truncate layers < N (default: the network's, 8)")
    parser.add_argument("--noise_mode", choices=["const", "random"],
                        help=f"StyleGAN noise inputs: stored maps or fresh draws (default {noise_default})")


def build_parser():
    parser = _Parser(prog="generate.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("images", help="one PNG per seed, or image grids")
    _add_network(p)
    p.add_argument("--seeds", help="seeds, e.g. 0-99 or 1,5,7: image k = Gs(RandomState(k).randn(1, latent_size))")
    p.add_argument("--outdir", required=True, help="output directory (seed%%04d.png or grid%%04d.png)")
    p.add_argument("--grid", metavar="WxH", help="write WxH grids of consecutive seeds instead of single images")
    p.add_argument("--image_shrink", type=positive_int, default=1, help="box-filter downscale factor (official)")
    p.add_argument("--official_progan_batch", action="store_true",
                   help="ProGAN generate_fake_images: latents drawn in sequence from RandomState(--random_seed)")
    p.add_argument("--num_pngs", type=positive_int, default=1, help="with --official_progan_batch: files to write")
    p.add_argument("--random_seed", type=int, default=1000, help="with --official_progan_batch (official 1000)")
    p.add_argument("--png_prefix", help="with --official_progan_batch: file prefix (default '<run>-<pkl>-')")
    _add_labels(p)
    _add_stylegan(p, "random, seeded by the image seed")
    p.set_defaults(func=cmd_images)

    p = sub.add_parser("interpolation-video", help="MP4 of smooth random walks in latent space")
    _add_network(p)
    p.add_argument("--grid", default="1x1", metavar="WxH", help="images per frame (default 1x1)")
    p.add_argument("--duration_sec", type=positive_float, default=60.0, help="length (default 60)")
    p.add_argument("--smoothing_sec", type=nonnegative_float, default=1.0, help="Gaussian sigma in time (default 1)")
    p.add_argument("--fps", type=positive_float, default=30.0, help="frames per second (default 30)")
    p.add_argument("--seed", type=int, default=1000, help="random seed of the latents (official 1000)")
    p.add_argument("--image_shrink", type=positive_int, default=1, help="box-filter downscale factor")
    p.add_argument("--image_zoom", type=positive_int, default=1, help="nearest-neighbour upscale factor")
    p.add_argument("--bitrate", default="16M", help="H.264 bitrate (official 16M)")
    p.add_argument("--out", help="output .mp4 (default '<run>-<pkl>-lerp.mp4')")
    _add_labels(p)
    _add_stylegan(p, "const")
    p.set_defaults(func=cmd_interpolation_video)

    p = sub.add_parser("training-video", help="MP4 of a run's fakes%%06d.png snapshots with lod/time/kimg labels")
    p.add_argument("--run", required=True, help="training run directory (log.txt, fakes%%06d.png)")
    p.add_argument("--duration_sec", type=positive_float, default=20.0, help="length (default 20)")
    p.add_argument("--time_warp", type=positive_float, default=1.5, help="video time -> wallclock exponent")
    p.add_argument("--fps", type=positive_float, default=30.0, help="frames per second (default 30)")
    p.add_argument("--bitrate", default="16M", help="H.264 bitrate (official 16M)")
    p.add_argument("--font", help="TrueType font for the labels (default Calibri if installed, else Pillow's)")
    p.add_argument("--out", help="output .mp4 (default '<run name>-train.mp4')")
    p.set_defaults(func=cmd_training_video)

    p = sub.add_parser("style-mixing", help="StyleGAN figure 3: style mixing")
    _add_network(p)
    p.add_argument("--row_seeds", default="888,829,1898,1733,1614,845", help="destination seeds (left column)")
    p.add_argument("--col_seeds", default="639,701,687,615,2268", help="source seeds (top row)")
    p.add_argument("--styles", default="coarse,coarse,coarse,middle,middle,fine",
                   help="layers taken from the source: coarse (0-3), middle (4-7), fine (8+) or A-B; "
                        "one for all rows or one per row (default: the official figure)")
    p.add_argument("--out", default="figure03-style-mixing.png", help="output PNG")
    _add_labels(p)
    p.set_defaults(func=cmd_style_mixing)

    p = sub.add_parser("truncation", help="StyleGAN figure 8: truncation trick")
    _add_network(p)
    p.add_argument("--seeds", default="91,388", help="one row per seed (default 91,388)")
    p.add_argument("--psis", default="1,0.7,0.5,0,-0.5,-1", help="one column per psi (default 1,0.7,0.5,0,-0.5,-1)")
    p.add_argument("--out", default="figure08-truncation-trick.png", help="output PNG")
    _add_labels(p)
    p.set_defaults(func=cmd_truncation)

    p = sub.add_parser("noise", help="StyleGAN figures 4 (noise detail) and 5 (noise components)")
    _add_network(p)
    p.add_argument("--figure", choices=["detail", "components"], default="detail",
                   help="detail: variation under random noise; components: noise on/off per layer group")
    p.add_argument("--seeds", help="default 1157,1012 (detail) or 1967,1555 (components)")
    p.add_argument("--num_samples", type=positive_int, default=100, help="detail: noise draws per seed")
    p.add_argument("--flips", default="1", help="components: indices of seeds shown mirrored (default 1)")
    p.add_argument("--out", help="output PNG (default the official figure name)")
    _add_labels(p)
    p.set_defaults(func=cmd_noise)

    p = sub.add_parser("export", help="SavedModel (uint8 serving signature) and .keras file of Gs")
    _add_network(p)
    p.add_argument("--outdir", required=True, help="writes OUTDIR/saved_model and OUTDIR/Gs.keras")
    p.add_argument("--noise_mode", choices=["const", "random"],
                   help="StyleGAN noise in the serving signature (default const)")
    p.set_defaults(func=cmd_export)
    return parser


_LIST_OPTIONS = ("--psis", "--seeds", "--row_seeds", "--col_seeds", "--styles", "--flips")


def _join_negative_values(argv):
    """Let list options take values that start with '-' ('--psis -1,-0.5,0')."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in _LIST_OPTIONS and i + 1 < len(argv) and re.match(r"-[\d.]", argv[i + 1]):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv=None):                # Arguments without the program name; None = sys.argv[1:].
    """Run one command; return the exit status (0 ok, 1 failure, 2 bad arguments)."""
    argv = _join_negative_values(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError("generate.py: give a command: " + ", ".join(
                ["images", "interpolation-video", "training-video", "style-mixing", "truncation", "noise", "export"]))
        return args.func(args)
    except UsageError as error:
        print(f"generate.py: error: {error}", file=sys.stderr)
        return 2
    except CommandError as error:
        print(f"generate.py: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        message = f"{error.filename}: {error.strerror}" if error.filename and error.strerror else str(error)
        print(f"error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
