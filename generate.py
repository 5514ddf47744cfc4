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

Bad arguments or inputs, and a command that cannot complete with them (no imageio-ffmpeg for an
MP4), print one line on stderr and exit with status 2; an OS error (disk full) exits with 1.
"""

import os
import re
import sys

import numpy as np

from cli_types import nonnegative_float
from cli_types import positive_float
from cli_types import positive_int
from utils import quiet_tensorflow

quiet_tensorflow.install()  # TensorFlow's start-up log stays off the terminal.

# The library comes after install(): none of it imports TensorFlow at import time (so --help and
# argument errors stay fast), but whatever first does must find the filter in place.
from generation import figures  # noqa: E402
from generation import generator  # noqa: E402
from generation import images  # noqa: E402
from generation.figures import STYLE_RANGES  # noqa: E402
from generation.generator import DEFAULT_PSI  # noqa: E402
from utils import cli  # noqa: E402

# ----------------------------------------------------------------------------
# Errors and argument parsing.


def parse_int_list(
    text,  # '0-99', '1,5,7', '0-3,10' ...
    what="seed",  # Name for error messages.
):
    """Comma-separated non-negative integers and inclusive ranges A-B, in the given order."""
    values = []
    for part in str(text).split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise cli.UsageError(f"malformed {what} list {text!r}: use e.g. '0-99' or '1,5,7' (non-negative integers)")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise cli.UsageError(f"malformed {what} range {part!r}: the end is before the start")
        values.extend(range(first, last + 1))
    return values


def parse_seeds(text):  # Seed list as for `parse_int_list`.
    """Seeds valid for np.random.RandomState (0 <= seed < 2**32)."""
    seeds = parse_int_list(text, "seed")
    if any(seed >= 2**32 for seed in seeds):
        raise cli.UsageError(f"seed out of range in {text!r}: seeds must be below 2**32")
    return seeds


def parse_float_list(text):  # '-1,-0.5,0,0.5,1'.
    """Comma-separated floats."""
    try:
        return [float(part) for part in str(text).split(",")]
    except ValueError:
        raise cli.UsageError(f"malformed number list {text!r}: use e.g. '1,0.7,0.5,0,-0.5,-1'") from None


def parse_grid(text):  # 'WxH', e.g. '8x4'.
    """(columns, rows) of an image grid."""
    match = re.fullmatch(r"(\d+)x(\d+)", str(text).strip().lower())
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise cli.UsageError(f"malformed grid {text!r}: use WxH with positive integers, e.g. 8x4")
    return int(match.group(1)), int(match.group(2))


def parse_style_specs(text):  # 'coarse', '0-3', or one spec per row: 'coarse,coarse,middle,fine'.
    """List of style-range specs ('coarse' | 'middle' | 'fine' | 'A-B' | 'A'), resolved per network later."""
    specs = [part.strip().lower() for part in str(text).split(",")]
    for spec in specs:
        if spec not in STYLE_RANGES and not re.fullmatch(r"\d+(-\d+)?", spec):
            raise cli.UsageError(
                f"malformed --styles entry {spec!r}: use coarse, middle, fine or a layer range like 0-3"
            )
    return specs


# ----------------------------------------------------------------------------
# Commands: check the arguments, then run the library (generation/).


def cmd_images(args):
    """One PNG per seed (seed%04d.png) or grids; or the official ProGAN generate_fake_images batch."""
    grid = parse_grid(args.grid) if args.grid else None
    if args.official_progan_batch:
        if args.seeds is not None:
            raise cli.UsageError("--official_progan_batch draws latents from --random_seed; drop --seeds")
    else:
        if args.seeds is None:
            raise cli.UsageError("give --seeds, e.g. --seeds 0-99 (or --official_progan_batch)")
        seeds = parse_seeds(args.seeds)
    Gs, info = generator.load(args.network)
    generator.check_family_options(info, args)
    psi = DEFAULT_PSI if args.truncation_psi is None else args.truncation_psi
    render = dict(psi=psi, cutoff=args.truncation_cutoff, noise_mode=args.noise_mode or "random")
    if args.official_progan_batch:
        grid = grid or (1, 1)
        prefix = args.png_prefix if args.png_prefix is not None else generator.network_id(args.network) + "-"
        labels = generator.make_labels(info, grid[0] * grid[1] * args.num_pngs, args.class_idx, args.labels)
        images.official_batch(
            Gs, info, grid, labels, render, args.image_shrink, args.num_pngs, args.random_seed, prefix, args.outdir
        )
        return 0
    labels = generator.make_labels(info, len(seeds), args.class_idx, args.labels)
    os.makedirs(args.outdir, exist_ok=True)
    if grid is None:
        images.seed_images(Gs, info, seeds, labels, render, args.image_shrink, args.outdir)
        print(f'Wrote {len(seeds)} image(s) to "{args.outdir}"')
        return 0
    images.write_grids(
        np.stack(images.seed_images(Gs, info, seeds, labels, render, args.image_shrink)), seeds, grid, args.outdir
    )
    return 0


def cmd_interpolation_video(args):
    """util_scripts.generate_interpolation_video."""
    from generation import video  # Lazy: scipy.ndimage takes longer to import than the rest of --help.

    grid = parse_grid(args.grid)
    Gs, info = generator.load(args.network)
    generator.check_family_options(info, args)
    num_frames = int(np.rint(args.duration_sec * args.fps))
    if num_frames < 1:
        raise cli.UsageError(f"--duration_sec {args.duration_sec} at --fps {args.fps} gives no frame")
    num_images = grid[0] * grid[1]
    labels = generator.make_labels(info, num_images, args.class_idx, args.labels)
    out = args.out or generator.network_id(args.network) + "-lerp.mp4"
    print("Generating latent vectors...", flush=True)
    all_latents = video.interpolation_latents(
        num_frames, num_images, info["latent_size"], args.smoothing_sec * args.fps, args.seed
    )
    noise_mode = args.noise_mode or "const"
    if info["family"] == "stylegan" and noise_mode == "random":
        generator.set_noise_seed(Gs, args.seed)
    render = dict(
        psi=DEFAULT_PSI if args.truncation_psi is None else args.truncation_psi,
        cutoff=args.truncation_cutoff,
        noise_mode=noise_mode,
    )
    video.interpolation_video(
        Gs, info, out, grid, all_latents, labels, render, args.fps, args.bitrate, args.image_shrink, args.image_zoom
    )
    return 0


def cmd_training_video(args):
    """util_scripts.generate_training_video, with the labels drawn by PIL."""
    from generation import video  # Lazy: scipy.ndimage takes longer to import than the rest of --help.

    run_dir = args.run.rstrip("/\\")
    if not os.path.isdir(run_dir):
        raise cli.UsageError(f"{run_dir}: no such run directory; give a training run directory with --run")
    times, snaps = video.parse_training_log(run_dir)
    font = video.load_font(args.font, 32)
    out = args.out or os.path.basename(os.path.abspath(run_dir)) + "-train.mp4"
    num_frames = int(np.rint(args.duration_sec * args.fps))
    if num_frames < 1:
        raise cli.UsageError(f"--duration_sec {args.duration_sec} at --fps {args.fps} gives no frame")
    print(f'Found {len(snaps)} snapshot image(s) in "{run_dir}"; rendering {num_frames} frames...', flush=True)
    video.training_video(out, times, snaps, font, num_frames, args.duration_sec, args.time_warp, args.fps, args.bitrate)
    return 0


def _figure_setup(
    args,  # Parsed arguments with --network.
    command,  # Command name for the message.
):
    Gs, info = generator.load(args.network)
    generator.require_stylegan(info, command)
    return Gs, info


def cmd_style_mixing(args):
    """draw_style_mixing_figure: row seeds' w with the style layers replaced by column seeds' w."""
    row_seeds, col_seeds = parse_seeds(args.row_seeds), parse_seeds(args.col_seeds)
    specs = parse_style_specs(args.styles)
    if len(specs) not in (1, len(row_seeds)):
        raise cli.UsageError(
            f"--styles has {len(specs)} entries; give one for all rows or one per row ({len(row_seeds)})"
        )
    Gs, info = _figure_setup(args, "style-mixing")
    ranges = [figures.resolve_style_range(spec, info["num_layers"]) for spec in specs]
    ranges = ranges * len(row_seeds) if len(ranges) == 1 else ranges
    labels_src = generator.make_labels(info, len(col_seeds), args.class_idx, args.labels)
    labels_dst = generator.make_labels(info, len(row_seeds), args.class_idx, args.labels)
    canvas = figures.style_mixing(Gs, info, row_seeds, col_seeds, ranges, labels_src, labels_dst)
    images.save_pil(canvas, args.out)
    print(f'Wrote "{args.out}"')
    return 0


def cmd_truncation(args):
    """draw_truncation_trick_figure: w pulled toward dlatent_avg by each psi, on all layers."""
    seeds, psis = parse_seeds(args.seeds), parse_float_list(args.psis)
    Gs, info = _figure_setup(args, "truncation")
    labels = generator.make_labels(info, len(seeds), args.class_idx, args.labels)
    images.save_pil(figures.truncation(Gs, info, seeds, psis, labels), args.out)
    print(f'Wrote "{args.out}"')
    return 0


def cmd_noise(args):
    """draw_noise_detail_figure (--figure detail) or draw_noise_components_figure (components)."""
    seeds = parse_seeds(args.seeds) if args.seeds else ([1157, 1012] if args.figure == "detail" else [1967, 1555])
    flips = parse_int_list(args.flips, "flip index") if args.flips else []
    Gs, info = _figure_setup(args, "noise")
    labels = generator.make_labels(info, 1, args.class_idx, args.labels)
    if not Gs.synthesis.noise_maps:
        raise cli.UsageError("the network has no noise inputs (use_noise=False)")
    out = args.out or ("figure04-noise-detail.png" if args.figure == "detail" else "figure05-noise-components.png")
    if args.figure == "detail":
        canvas = figures.noise_detail(Gs, info, seeds, labels, args.num_samples)
    else:
        if any(not 0 <= flip < len(seeds) for flip in flips):
            raise cli.UsageError(f"--flips {args.flips} names an image outside the {len(seeds)} seeds")
        canvas = figures.noise_components(Gs, info, seeds, labels, flips)
    images.save_pil(canvas, out)
    print(f'Wrote "{out}"')
    return 0


def cmd_export(args):
    """SavedModel (DIR/saved_model) and native Keras file (DIR/Gs.keras) of Gs."""
    Gs, info = generator.load(args.network)
    generator.check_family_options(info, args)
    from networks import export  # Lazy: it imports TensorFlow, which --help and argument errors need not load.

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
    print(
        f"serving_default: {inputs} -> images uint8 [N, {info['resolution']}, {info['resolution']}, "
        f"{info['num_channels']}]"
    )
    print(f'Wrote "{saved_model}" and "{keras_path}"')
    return 0


# ----------------------------------------------------------------------------
# Command line.


def _add_network(parser):
    parser.add_argument(
        "--network",
        required=True,
        metavar="PKL",
        help="network pickle: our snapshot (network-snapshot-*.pkl) or an official one",
    )


def _add_labels(parser):
    parser.add_argument(
        "--class",
        dest="class_idx",
        type=int,
        metavar="K",
        help="class index for a conditional network, as a one-hot label (default: none; a conditional "
        "network needs --class or --labels)",
    )
    parser.add_argument(
        "--labels",
        metavar="NPY",
        help="labels for a conditional network: .npy of [label_size] or [count, label_size] (default: none)",
    )


def _add_stylegan(
    parser,  # Sub-command parser.
    noise_default,  # Help text of the --noise_mode default.
):
    parser.add_argument(
        "--truncation_psi",
        type=float,
        metavar="PSI",
        help=f"StyleGAN truncation (default {DEFAULT_PSI}, as pretrained_example.py; 1 = off)",
    )
    parser.add_argument(
        "--truncation_cutoff", type=int, metavar="N", help="StyleGAN: truncate layers < N (default: the network's, 8)"
    )
    parser.add_argument(
        "--noise_mode",
        choices=["const", "random"],
        help=f"StyleGAN noise inputs: stored maps or fresh draws (default {noise_default})",
    )


def build_parser():
    parser = cli.ArgumentParser(prog="generate.py", description=__doc__, formatter_class=cli.HelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=cli.ArgumentParser)

    p = sub.add_parser("images", help="one PNG per seed, or image grids")
    _add_network(p)
    p.add_argument(
        "--seeds",
        help="seeds, e.g. 0-99 or 1,5,7: image k = Gs(RandomState(k).randn(1, latent_size)) "
        "(required without --official_progan_batch)",
    )
    p.add_argument("--outdir", required=True, help="output directory (seed%%04d.png or grid%%04d.png)")
    p.add_argument(
        "--grid",
        metavar="WxH",
        help="write WxH grids of consecutive seeds instead of single images (default: single images)",
    )
    p.add_argument(
        "--image_shrink", type=positive_int, default=1, help="box-filter downscale factor (default: 1, as official)"
    )
    p.add_argument(
        "--official_progan_batch",
        action="store_true",
        help="ProGAN generate_fake_images: latents drawn in sequence from RandomState(--random_seed) "
        "(default: off, one latent per seed)",
    )
    p.add_argument(
        "--num_pngs", type=positive_int, default=1, help="with --official_progan_batch: files to write (default: 1)"
    )
    p.add_argument(
        "--random_seed",
        type=int,
        default=1000,
        help="with --official_progan_batch: the RandomState seed (default: 1000, as official)",
    )
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
    p.add_argument("--seed", type=int, default=1000, help="random seed of the latents (default: 1000, as official)")
    p.add_argument("--image_shrink", type=positive_int, default=1, help="box-filter downscale factor (default: 1)")
    p.add_argument("--image_zoom", type=positive_int, default=1, help="nearest-neighbour upscale factor (default: 1)")
    p.add_argument("--bitrate", default="16M", help="H.264 bitrate (default: 16M, as official)")
    p.add_argument("--out", help="output .mp4 (default '<run>-<pkl>-lerp.mp4')")
    _add_labels(p)
    _add_stylegan(p, "const")
    p.set_defaults(func=cmd_interpolation_video)

    p = sub.add_parser("training-video", help="MP4 of a run's fakes%%06d.png snapshots with lod/time/kimg labels")
    p.add_argument("--run", required=True, help="training run directory (log.txt, fakes%%06d.png)")
    p.add_argument("--duration_sec", type=positive_float, default=20.0, help="length (default 20)")
    p.add_argument(
        "--time_warp", type=positive_float, default=1.5, help="video time -> wallclock exponent (default: 1.5)"
    )
    p.add_argument("--fps", type=positive_float, default=30.0, help="frames per second (default 30)")
    p.add_argument("--bitrate", default="16M", help="H.264 bitrate (default: 16M, as official)")
    p.add_argument("--font", help="TrueType font for the labels (default Calibri if installed, else Pillow's)")
    p.add_argument("--out", help="output .mp4 (default '<run name>-train.mp4')")
    p.set_defaults(func=cmd_training_video)

    p = sub.add_parser("style-mixing", help="StyleGAN figure 3: style mixing")
    _add_network(p)
    p.add_argument(
        "--row_seeds",
        default="888,829,1898,1733,1614,845",
        help="destination seeds, the left column (default: the official figure's, 888,829,1898,1733,1614,845)",
    )
    p.add_argument(
        "--col_seeds",
        default="639,701,687,615,2268",
        help="source seeds, the top row (default: the official figure's, 639,701,687,615,2268)",
    )
    p.add_argument(
        "--styles",
        default="coarse,coarse,coarse,middle,middle,fine",
        help="layers taken from the source: coarse (0-3), middle (4-7), fine (8+) or A-B; "
        "one for all rows or one per row (default: the official figure)",
    )
    p.add_argument("--out", default="figure03-style-mixing.png", help="output PNG (default: figure03-style-mixing.png)")
    _add_labels(p)
    p.set_defaults(func=cmd_style_mixing)

    p = sub.add_parser("truncation", help="StyleGAN figure 8: truncation trick")
    _add_network(p)
    p.add_argument("--seeds", default="91,388", help="one row per seed (default 91,388)")
    p.add_argument("--psis", default="1,0.7,0.5,0,-0.5,-1", help="one column per psi (default 1,0.7,0.5,0,-0.5,-1)")
    p.add_argument(
        "--out", default="figure08-truncation-trick.png", help="output PNG (default: figure08-truncation-trick.png)"
    )
    _add_labels(p)
    p.set_defaults(func=cmd_truncation)

    p = sub.add_parser("noise", help="StyleGAN figures 4 (noise detail) and 5 (noise components)")
    _add_network(p)
    p.add_argument(
        "--figure",
        choices=["detail", "components"],
        default="detail",
        help="detail: variation under random noise; components: noise on/off per layer group (default: detail)",
    )
    p.add_argument("--seeds", help="default 1157,1012 (detail) or 1967,1555 (components)")
    p.add_argument("--num_samples", type=positive_int, default=100, help="detail: noise draws per seed (default: 100)")
    p.add_argument("--flips", default="1", help="components: indices of seeds shown mirrored (default 1)")
    p.add_argument("--out", help="output PNG (default the official figure name)")
    _add_labels(p)
    p.set_defaults(func=cmd_noise)

    p = sub.add_parser("export", help="SavedModel (uint8 serving signature) and .keras file of Gs")
    _add_network(p)
    p.add_argument("--outdir", required=True, help="writes OUTDIR/saved_model and OUTDIR/Gs.keras")
    p.add_argument(
        "--noise_mode", choices=["const", "random"], help="StyleGAN noise in the serving signature (default const)"
    )
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


def main(argv=None):  # Arguments without the program name; None = sys.argv[1:].
    """Run one command; return the exit status (0 ok, 2 bad input or a file that cannot be read or written)."""
    argv = _join_negative_values(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise cli.UsageError(
                "give a command: "
                + ", ".join(
                    ["images", "interpolation-video", "training-video", "style-mixing", "truncation", "noise", "export"]
                )
            )
        return args.func(args)
    except cli.UsageError as error:
        return cli.report("generate.py", error)
    except SystemExit as exit_:  # cli.ArgumentParser.error: its line is on stderr already.
        return exit_.code
    except OSError as error:
        message = f"{error.filename}: {error.strerror}" if error.filename and error.strerror else str(error)
        return cli.report("generate.py", message)


if __name__ == "__main__":
    sys.exit(main())
