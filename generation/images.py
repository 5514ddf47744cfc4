"""PNG output of generate.py `images`: one file per seed, grids of seeds, or the official
ProGAN generate_fake_images batch. Every file is written under a temporary name and renamed
when complete."""

import os

import numpy as np

from generation import generator
from utils import files
from utils.images import create_image_grid
from utils.images import to_pil


def save_png(
    image,  # [H, W, C] uint8, C = 1 or 3.
    path,  # Destination .png.
):
    """Write a PNG ('L' or 'RGB') atomically."""
    save_pil(to_pil(image), path)


def save_pil(
    pil,  # PIL image.
    path,  # Destination .png.
):
    """Save a PIL image as PNG under a temporary name, then rename it into place."""
    with files.atomic_path(path) as tmp:
        pil.save(tmp, format="PNG")


def seed_images(
    Gs,  # Generator.
    info,  # generator_info(Gs).
    seeds,  # Image seeds.
    labels,  # [len(seeds), label_size] float32.
    render,  # generator.synthesize() options: psi, cutoff, noise_mode.
    shrink,  # Box-filter downscale factor.
    outdir=None,  # Write seed%04d.png here; None = return the images instead.
):
    """One image per seed from its official latent; random StyleGAN noise is seeded by the seed."""
    images = []
    for idx, seed in enumerate(seeds):
        print(f"Generating image for seed {seed} ({idx + 1}/{len(seeds)})...", flush=True)
        if render["noise_mode"] == "random" and info["family"] == "stylegan":
            generator.set_noise_seed(Gs, seed)
        image = generator.to_uint8(
            generator.synthesize(
                Gs, info, generator.seed_latents(seed, info["latent_size"]), labels[idx : idx + 1], **render
            ),
            info,
            shrink,
        )[0]
        if outdir is None:
            images.append(image)
        else:
            save_png(image, os.path.join(outdir, f"seed{seed:04d}.png"))
    return images


def write_grids(
    images,  # [N, H, W, C] uint8, one per seed.
    seeds,  # The seeds, for the log.
    grid,  # (columns, rows).
    outdir,  # Output directory.
):
    """grid%04d.png files of consecutive seeds, row-major."""
    per_grid = grid[0] * grid[1]
    count = 0
    for start in range(0, len(images), per_grid):
        path = os.path.join(outdir, f"grid{count:04d}.png")
        save_png(create_image_grid(images[start : start + per_grid], grid), path)
        chunk = seeds[start : start + per_grid]
        print(f'Wrote "{path}" (seeds {chunk[0]}..{chunk[-1]}, {grid[0]}x{grid[1]})')
        count += 1
    print(f'Wrote {count} grid(s) to "{outdir}"')


def official_batch(
    Gs,  # Generator.
    info,  # generator_info(Gs).
    grid,  # (columns, rows) per PNG.
    labels,  # [columns * rows * num_pngs, label_size] float32.
    render,  # generator.synthesize() options.
    shrink,  # Box-filter downscale factor.
    num_pngs,  # Files to write.
    random_seed,  # Official random_seed (1000).
    prefix,  # File name prefix.
    outdir,  # Output directory.
):
    """util_scripts.generate_fake_images: latents drawn in sequence from RandomState(random_seed)."""
    random_state = np.random.RandomState(random_seed)
    if info["family"] == "stylegan" and render["noise_mode"] == "random":
        generator.set_noise_seed(Gs, random_seed)
    count = grid[0] * grid[1]
    os.makedirs(outdir, exist_ok=True)
    for png_idx in range(num_pngs):
        print(f"Generating png {png_idx} / {num_pngs}...", flush=True)
        latents = random_state.randn(count, info["latent_size"]).astype(np.float32)
        images = generator.to_uint8(
            generator.synthesize(Gs, info, latents, labels[png_idx * count : (png_idx + 1) * count], **render),
            info,
            shrink,
        )
        save_png(create_image_grid(images, grid), os.path.join(outdir, f"{prefix}{png_idx:06d}.png"))
    print(f'Wrote {num_pngs} image(s) to "{outdir}"')
