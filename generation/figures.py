"""The StyleGAN paper figures of generate_figures.py: style mixing (figure 3), noise detail
(figure 4), noise components (figure 5) and the truncation trick (figure 8). Each returns
the figure as an RGB PIL image."""

import numpy as np
import PIL.Image

from generation import generator
from utils import cli
from utils.images import to_pil

STYLE_RANGES = {"coarse": (0, 4), "middle": (4, 8), "fine": (8, None)}  # generate_figures.py:150.
NOISE_DETAIL_CROP = (650, 180, 906, 436)  # generate_figures.py:89, at 1024.


def resolve_style_range(
    spec,  # 'coarse' | 'middle' | 'fine' | 'A-B' | 'A'.
    num_layers,  # Number of style inputs of the network.
):
    """Layer indices a spec names (official: coarse 0-3, middle 4-7, fine 8 and up)."""
    if spec in STYLE_RANGES:
        start, stop = STYLE_RANGES[spec]
        stop = num_layers if stop is None else min(stop, num_layers)
    else:
        bounds = [int(v) for v in spec.split("-")]
        start, stop = bounds[0], bounds[-1] + 1
    if not 0 <= start < stop <= num_layers:
        raise cli.UsageError(
            f"--styles {spec!r} selects no layer or layers beyond the network's {num_layers} "
            f"(valid indices 0-{num_layers - 1})"
        )
    return list(range(start, stop))


def _rgb(image):  # [H, W, C] uint8.
    """The image as an RGB PIL image (grayscale converted), for pasting into a figure."""
    pil = to_pil(image)
    return pil.convert("RGB") if pil.mode == "L" else pil


def style_mixing(
    Gs,  # StyleGAN generator.
    info,  # generator_info(Gs).
    row_seeds,  # Destination seeds (left column).
    col_seeds,  # Source seeds (top row).
    ranges,  # Per row: the layer indices taken from the source.
    labels_src,  # [len(col_seeds), label_size].
    labels_dst,  # [len(row_seeds), label_size].
):
    """draw_style_mixing_figure: row seeds' w with the style layers replaced by column seeds' w."""
    src_dlatents = generator.mapping(Gs, info, generator.stacked_latents(col_seeds, info["latent_size"]), labels_src)
    dst_dlatents = generator.mapping(Gs, info, generator.stacked_latents(row_seeds, info["latent_size"]), labels_dst)
    src_images, dst_images = generator.synthesis_uint8(Gs, src_dlatents), generator.synthesis_uint8(Gs, dst_dlatents)
    w = h = info["resolution"]
    canvas = PIL.Image.new("RGB", (w * (len(col_seeds) + 1), h * (len(row_seeds) + 1)), "white")
    for col, image in enumerate(src_images):
        canvas.paste(_rgb(image), ((col + 1) * w, 0))
    for row, image in enumerate(dst_images):
        print(
            f"Row {row + 1} / {len(row_seeds)}: seed {row_seeds[row]}, layers {ranges[row][0]}-{ranges[row][-1]}",
            flush=True,
        )
        canvas.paste(_rgb(image), (0, (row + 1) * h))
        row_dlatents = np.stack([dst_dlatents[row]] * len(col_seeds))
        row_dlatents[:, ranges[row]] = src_dlatents[:, ranges[row]]
        for col, mixed in enumerate(generator.synthesis_uint8(Gs, row_dlatents)):
            canvas.paste(_rgb(mixed), ((col + 1) * w, (row + 1) * h))
    return canvas


def truncation(
    Gs,  # StyleGAN generator.
    info,  # generator_info(Gs).
    seeds,  # One row per seed.
    psis,  # One column per psi.
    labels,  # [len(seeds), label_size].
):
    """draw_truncation_trick_figure: w pulled toward dlatent_avg by each psi, on all layers."""
    dlatents = generator.mapping(Gs, info, generator.stacked_latents(seeds, info["latent_size"]), labels)
    dlatent_avg = np.asarray(Gs.dlatent_avg, np.float32)
    w = h = info["resolution"]
    canvas = PIL.Image.new("RGB", (w * len(psis), h * len(seeds)), "white")
    for row, dlatent in enumerate(dlatents):
        print(f"Row {row + 1} / {len(seeds)}: seed {seeds[row]}", flush=True)
        row_dlatents = (dlatent[np.newaxis] - dlatent_avg) * np.reshape(psis, [-1, 1, 1]) + dlatent_avg
        for col, image in enumerate(generator.synthesis_uint8(Gs, row_dlatents)):
            canvas.paste(_rgb(image), (col * w, row * h))
    return canvas


def noise_detail(
    Gs,  # StyleGAN generator.
    info,  # generator_info(Gs).
    seeds,  # One row per seed.
    labels,  # [1, label_size].
    num_samples,  # Noise draws per seed.
):
    """draw_noise_detail_figure: one image, four crops of other noise draws, and the per-pixel
    std of num_samples draws."""
    w = h = info["resolution"]
    x0, y0, x1, y1 = [c * w // 1024 for c in NOISE_DETAIL_CROP]
    canvas = PIL.Image.new("RGB", (w * 3, h * len(seeds)), "white")
    for row, seed in enumerate(seeds):
        print(f"Row {row + 1} / {len(seeds)}: seed {seed}, {num_samples} noise samples", flush=True)
        generator.set_noise_seed(Gs, seed)
        latents = np.repeat(generator.seed_latents(seed, info["latent_size"]), num_samples, axis=0)
        images = generator.to_uint8(
            generator.synthesize(Gs, info, latents, np.repeat(labels, num_samples, axis=0), psi=1, noise_mode="random"),
            info,
        )
        canvas.paste(_rgb(images[0]), (0, row * h))
        for i in range(min(4, num_samples - 1)):
            crop = _rgb(images[i + 1]).crop((x0, y0, x1, y1)).resize((w // 2, h // 2), PIL.Image.NEAREST)
            canvas.paste(crop, (w + (i % 2) * w // 2, row * h + (i // 2) * h // 2))
        diff = np.std(np.mean(images, axis=3), axis=0) * 4
        diff = np.clip(diff + 0.5, 0, 255).astype(np.uint8)
        canvas.paste(to_pil(diff[:, :, np.newaxis]), (w * 2, row * h))
    return canvas


def noise_components(
    Gs,  # StyleGAN generator.
    info,  # generator_info(Gs).
    seeds,  # One column per seed.
    labels,  # [1, label_size].
    flips,  # Indices of seeds shown mirrored.
):
    """draw_noise_components_figure: quadrants per seed with noise in all layers / none /
    fine (8+) / coarse (0-7), the stored maps scaled by 1 or 0."""
    n = info["num_layers"]
    noise_ranges = [range(0, n), range(0, 0), range(min(8, n), n), range(0, min(8, n))]
    noise_vars = list(Gs.synthesis.noise_maps)
    saved = [np.asarray(var) for var in noise_vars]
    latents = generator.stacked_latents(seeds, info["latent_size"])
    labels = np.repeat(labels, len(seeds), axis=0)
    all_images = []
    try:
        for noise_range in noise_ranges:
            for i, (var, value) in enumerate(zip(noise_vars, saved)):
                var.assign(value * (1 if i in noise_range else 0))
            images = generator.to_uint8(
                generator.synthesize(Gs, info, latents, labels, psi=1, noise_mode="const"), info
            )
            images[flips] = images[flips, :, ::-1]
            all_images.append(list(images))
    finally:
        for var, value in zip(noise_vars, saved):
            var.assign(value)
    w = h = info["resolution"]
    canvas = PIL.Image.new("RGB", (w * len(seeds), h * 2), "white")
    for col, col_images in enumerate(zip(*all_images)):
        canvas.paste(_rgb(col_images[0]).crop((0, 0, w // 2, h)), (col * w, 0))
        canvas.paste(_rgb(col_images[1]).crop((w // 2, 0, w, h)), (col * w + w // 2, 0))
        canvas.paste(_rgb(col_images[2]).crop((0, 0, w // 2, h)), (col * w, h))
        canvas.paste(_rgb(col_images[3]).crop((w // 2, 0, w, h)), (col * w + w // 2, h))
    return canvas
