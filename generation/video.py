"""MP4 videos of generate.py: the interpolation video (smooth random walks in latent space)
and the training video (a run's fakes%06d.png snapshots with lod / time / kimg labels), the
H.264 writer, the official log.txt parsing and the glowing text labels of misc.py."""

import bisect
import os
import re

import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont
import scipy.ndimage

from generation import generator
from utils import cli
from utils import files
from utils.images import box_downsample
from utils.images import create_image_grid
from utils.progress import format_time

try:
    import imageio_ffmpeg
except ImportError:  # Optional: only MP4 output needs it, and says so when it is missing.
    imageio_ffmpeg = None

# ----------------------------------------------------------------------------
# H.264 writer.


class Mp4Writer:
    """H.264 (libx264, yuv420p) MP4 writer using the ffmpeg that imageio-ffmpeg bundles.

    Frames are HxWx3 uint8; odd sizes are padded with black to even ones (yuv420p needs them).
    The file is written under a temporary name and renamed by `close()`; on error it is removed.
    """

    def __init__(
        self,
        path,  # Output .mp4.
        fps,  # Frames per second.
        bitrate="16M",  # Official mp4_bitrate.
    ):
        if imageio_ffmpeg is None:
            raise cli.UsageError("writing MP4 needs imageio-ffmpeg (it bundles ffmpeg): pip install imageio-ffmpeg")
        self.path, self.fps, self.bitrate = os.path.abspath(path), fps, bitrate
        self.size = None
        self.frames = 0
        self._gen = None
        self._tmp = files.temp_sibling(self.path)

    def append(self, frame):  # [H, W, 3] uint8.
        """Encode one frame; the first one fixes the video size."""
        frame = np.asarray(frame, np.uint8)
        pad_h, pad_w = frame.shape[0] % 2, frame.shape[1] % 2
        if pad_h or pad_w:
            frame = np.pad(frame, [(0, pad_h), (0, pad_w), (0, 0)])
        if self._gen is None:
            self.size = (frame.shape[1], frame.shape[0])
            self._gen = imageio_ffmpeg.write_frames(
                self._tmp,
                self.size,
                fps=self.fps,
                codec="libx264",
                bitrate=self.bitrate,
                quality=None,
                pix_fmt_in="rgb24",
                pix_fmt_out="yuv420p",
                macro_block_size=1,
                ffmpeg_log_level="error",
                output_params=["-f", "mp4"],
            )
            self._gen.send(None)
        if (frame.shape[1], frame.shape[0]) != self.size:
            raise cli.UsageError(
                f"frame {self.frames} is {frame.shape[1]}x{frame.shape[0]}, "
                f"but the video is {self.size[0]}x{self.size[1]}"
            )
        self._gen.send(np.ascontiguousarray(frame))
        self.frames += 1

    def close(self):
        """Finish the file and rename it into place."""
        if self._gen is None:
            self.abort()
            raise cli.UsageError(f"{self.path}: no frames to write")
        self._gen.close()
        self._gen = None
        files.commit(self._tmp, self.path)

    def abort(self):
        """Stop ffmpeg and remove the unfinished file."""
        if self._gen is not None:
            try:
                self._gen.close()
            except Exception:  # ffmpeg may already be gone; the temp file is removed anyway.
                pass
            self._gen = None
        files.discard(self._tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


# ----------------------------------------------------------------------------
# Interpolation video.


def interpolation_latents(
    num_frames,  # Video length in frames.
    num_images,  # Images per frame (grid cells).
    latent_size,  # Gs latent dimensionality.
    smoothing_frames,  # Gaussian sigma along time, in frames.
    random_seed,  # Official random_seed (1000).
):
    """Official latents: randn [frames, N, latent], Gaussian-smoothed in time (looping), unit RMS."""
    random_state = np.random.RandomState(random_seed)
    latents = random_state.randn(num_frames, num_images, latent_size).astype(np.float32)
    latents = scipy.ndimage.gaussian_filter(latents, [smoothing_frames, 0, 0], mode="wrap")
    return latents / np.sqrt(np.mean(np.square(latents)))


def interpolation_video(
    Gs,  # Generator.
    info,  # generator_info(Gs).
    out,  # Output .mp4.
    grid,  # (columns, rows) of images per frame.
    all_latents,  # [num_frames, columns * rows, latent_size] from interpolation_latents.
    labels,  # [columns * rows, label_size].
    render,  # generator.synthesize() options.
    fps,  # Frames per second.
    bitrate,  # H.264 bitrate.
    shrink,  # Box-filter downscale factor.
    zoom,  # Nearest-neighbour upscale factor.
):
    """util_scripts.generate_interpolation_video: one grid of Gs images per frame."""
    num_frames = len(all_latents)
    with Mp4Writer(out, fps, bitrate) as writer:
        for frame_idx in range(num_frames):
            if frame_idx % max(1, int(fps)) == 0:
                print(f"Frame {frame_idx} / {num_frames}...", flush=True)
            images = generator.to_uint8(
                generator.synthesize(Gs, info, all_latents[frame_idx], labels, **render), info, shrink
            )
            frame = create_image_grid(images, grid)
            if zoom > 1:
                frame = scipy.ndimage.zoom(frame, [zoom, zoom, 1], order=0)
            if frame.shape[2] == 1:
                frame = frame.repeat(3, 2)  # Grayscale to RGB.
            writer.append(frame)
    print(f'Wrote {num_frames} frames ({writer.size[0]}x{writer.size[1]}, {fps:g} fps) to "{out}"')


# ----------------------------------------------------------------------------
# Training video.

_LOG_KIMG = re.compile(r"kimg ([\d\.]+) ")
_LOG_LOD = re.compile(r"lod ([\d\.]+) ")
_LOG_TIME = re.compile(r"time (\d+d)? *(\d+h)? *(\d+m)? *(\d+s)? ")


def parse_training_log(run_dir):  # Run directory with log.txt and fakes%06d.png.
    """Official parsing of log.txt: ([seconds], [(png, kimg, lod)]) for ticks whose fakes PNG exists."""
    log_path = os.path.join(run_dir, "log.txt")
    if not os.path.isfile(log_path):
        raise cli.UsageError(f"{run_dir}: no log.txt; give a training run directory with --run")
    times, snaps = [], []
    with open(log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            k, lod_match, t = _LOG_KIMG.search(line), _LOG_LOD.search(line), _LOG_TIME.search(line)
            if not (k and lod_match and t):
                continue
            try:
                kimg, lod = float(k.group(1)), float(lod_match.group(1))
            except ValueError:
                continue  # E.g. 'kimg 1.2.3': not a tick line.
            d, h, m, s = [int(t.group(i)[:-1]) if t.group(i) else 0 for i in range(1, 5)]
            png = os.path.join(run_dir, "fakes%06d.png" % int(np.floor(kimg)))
            if os.path.isfile(png):
                times.append(d * 86400 + h * 3600 + m * 60 + s)
                snaps.append((png, kimg, lod))
    if not times:
        raise cli.UsageError(f"{log_path}: no tick line (kimg/lod/time) with a matching fakes%06d.png")
    return times, snaps


def load_font(
    font_path,  # --font, or None for Calibri / DejaVuSans / Pillow's default.
    size,  # Pixel size (official fontsize 32).
):
    """The label font: the given file, else the first of Calibri and DejaVuSans found, else Pillow's."""
    for candidate in [font_path] if font_path else ["calibri.ttf", "Calibri.ttf", "DejaVuSans.ttf"]:
        try:
            return PIL.ImageFont.truetype(candidate, size)
        except OSError:
            if font_path:
                raise cli.UsageError(f"{font_path}: cannot load this font; give a TrueType/OpenType file") from None
    return PIL.ImageFont.load_default(size=size)


_label_cache = {}


def text_label(
    text,  # Label text.
    font,  # PIL font.
    padding=6,  # Official setup_text_label defaults ...
    glow_size=2.0,
    glow_coef=3.0,
    glow_exp=2.0,
):
    """(alpha, glow) of official misc.setup_text_label, with the text drawn by PIL (not moviepy)."""
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


def draw_text_label(
    img,  # [H, W, C] image (uint8 or float).
    text,  # Label text.
    x,
    y,  # Anchor position.
    font,  # PIL font.
    alignx=0.5,  # Anchor alignment within the label.
    aligny=0.5,
):
    """Official misc.draw_text_label with white text and full opacity: darken by the glow, add the text."""
    alpha, glow = text_label(text, font)
    xx, yy = int(np.rint(x - alpha.shape[1] * alignx)), int(np.rint(y - alpha.shape[0] * aligny))
    xb, yb = max(-xx, 0), max(-yy, 0)
    xe, ye = min(alpha.shape[1], img.shape[1] - xx), min(alpha.shape[0], img.shape[0] - yy)
    img = np.array(img)
    if xe <= xb or ye <= yb:
        return img
    region = img[yy + yb : yy + ye, xx + xb : xx + xe, :]
    a, g = alpha[yb:ye, xb:xe], glow[yb:ye, xb:xe]
    region[:] = region * (1.0 - (1.0 - (1.0 - a) * (1.0 - g)))[:, :, np.newaxis]
    region[:] = region + a[:, :, np.newaxis] * np.float32(255)
    return img


def training_frame(
    png,  # fakes%06d.png path.
    cache,  # {'png': path, 'img': array}: the last image read.
):
    """The snapshot image, halved (2x2 mean) until it fits 1920x1080, grayscale as RGB."""
    if cache.get("png") != png:
        try:
            with PIL.Image.open(png) as pil:
                img = np.asarray(pil.convert("RGB") if pil.mode not in ("RGB", "L") else pil)
        except OSError as error:
            raise cli.UsageError(f"{png}: cannot read image ({error})") from None
        if img.ndim == 2:
            img = np.repeat(img[:, :, np.newaxis], 3, axis=2)
        while img.shape[1] > 1920 or img.shape[0] > 1080:
            img = box_downsample(img[np.newaxis].astype(np.float32), 2)[0]
        cache.update(png=png, img=img)
    return cache["img"]


def training_video(
    out,  # Output .mp4.
    times,  # Wallclock seconds of the snapshots, from parse_training_log.
    snaps,  # (png, kimg, lod) of the snapshots, from parse_training_log.
    font,  # Label font.
    num_frames,  # Video length in frames.
    duration_sec,  # Video length in seconds.
    time_warp,  # Video time -> wallclock exponent.
    fps,  # Frames per second.
    bitrate,  # H.264 bitrate.
):
    """util_scripts.generate_training_video, with the labels drawn by PIL."""
    cache = {}
    with Mp4Writer(out, fps, bitrate) as writer:
        for frame_idx in range(num_frames):
            t = frame_idx / fps
            wallclock = ((t / duration_sec) ** time_warp) * times[-1]
            png, kimg, lod = snaps[max(bisect.bisect(times, wallclock) - 1, 0)]
            img = training_frame(png, cache)
            h, w = img.shape[0], img.shape[1]
            img = draw_text_label(img, "lod %.2f" % lod, 16, h - 4, font, alignx=0.0, aligny=1.0)
            img = draw_text_label(
                img, format_time(int(np.rint(wallclock))), w // 2, h - 4, font, alignx=0.5, aligny=1.0
            )
            img = draw_text_label(img, "%.0f kimg" % kimg, w - 16, h - 4, font, alignx=1.0, aligny=1.0)
            writer.append(np.clip(img, 0, 255).astype(np.uint8))  # moviepy truncates float frames.
    print(f'Wrote {num_frames} frames ({writer.size[0]}x{writer.size[1]}, {fps:g} fps) to "{out}"')
