"""GPU check in one step: training speed, memory and a short real training run on a CUDA machine.

    pip install -r requirements-cuda.txt
    python benchmarks/gpu_check.py                      # one GPU; 24 speed runs, not yet timed on a GPU
    python benchmarks/gpu_check.py --allow-cpu --quick  # smoke test on a CPU (13 min on 2 cores)

Prints, as it goes:
  1. the four benchmark configurations of the README (ProGAN 32 lod 0 batch 16 fmap 2048/256,
     ProGAN 64 lod 0 batch 16 fmap 1024/128, ProGAN 128 lod 3 batch 32 fmap 1024/128, StyleGAN 32
     lod 0 batch 16 fmap 2048/256 latent/dlatent 256) in fp32, fp16 and bf16, each with XLA off
     and on (`benchmarks/train_speed.py`, one process per run): images/s, sec/kimg and peak GPU
     memory (tf.config.experimental.get_memory_info('GPU:0')['peak']);
  2. the README's quickstart training (`train.py --config preset-cpu-quickstart` on a 32x32 shapes
     dataset it builds in a temporary folder): wall time and the last tick's sec/kimg;
  3. the ratio to the official TF1 graph on the same GPU, through
     ../shared/official-bench/side_by_side.sh when that file exists (else a note);
  4. the markdown lines to paste into the README's "GPUs" section.
Without a visible GPU it stops at once with one line and exit status 2, unless --allow-cpu.
Exit status 1 when any run failed (its last output line is shown).
"""

import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from cli_types import positive_int  # noqa: E402  (needs REPO on the path)
from utils import cli  # noqa: E402

# (arch, res, lod, batch, fmap_base, fmap_max); StyleGAN latent/dlatent = fmap_max, as side_by_side.sh.
CONFIGS = [
    ("progan", 32, 0, 16, 2048, 256),
    ("progan", 64, 0, 16, 1024, 128),
    ("progan", 128, 3, 32, 1024, 128),
    ("stylegan", 32, 0, 16, 2048, 256),
]
QUICK_CONFIGS = [("progan", 8, 0, 8, 64, 16), ("stylegan", 8, 0, 8, 64, 16)]
PRECISIONS = ("fp32", "fp16", "bf16")
SIDE_BY_SIDE = os.path.join(REPO, "..", "shared", "official-bench", "side_by_side.sh")
# The tiny schedule of --quick's training run (8x8, 8 iterations of minibatch 8).
QUICK_TRAIN = (
    "--res 8 --fmap_base 64 --fmap_max 16 --latent_size 16 --minibatch_base 8 --minibatch_dict {} "
    "--lod_initial_resolution 8 --tick_kimg_base 0.032 --tick_kimg_dict {} --total_kimg 0.064"
).split()

SPEED_LINE = re.compile(
    r"([\d.]+) img/s, ([\d.]+) sec/kimg, \d+ ms/iteration, first call ([\d.]+) s, "
    r"peak host ([\d.]+) GB(?:, peak GPU ([\d.]+) GB)?"
)
TICK_LINE = re.compile(r"^tick\s+\d+\s+kimg\s+([\d.]+)\s+lod\s+([\d.]+).*?sec/kimg\s+([\d.]+)")


def parse_args(argv):  # Command-line arguments (without the program name).
    """The command line of this script."""
    parser = cli.ArgumentParser(prog="gpu_check.py", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--allow-cpu",
        action="store_true",
        help="Run even when no GPU is visible, to smoke-test this script (default: off).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Tiny networks, 1 timed iteration, tiny training run, no side-by-side (default: off).",
    )
    parser.add_argument(
        "--iters", type=positive_int, default=None, help="Timed iterations per speed run (default 20; 1 with --quick)."
    )
    parser.add_argument("--xla", choices=["off", "on", "both"], default="both", help="XLA runs to do (default: both).")
    parser.add_argument(
        "--timeout", type=positive_int, default=3600, help="Seconds allowed per command (default: 3600)."
    )
    return parser.parse_args(argv)


def visible_gpus():
    """[(name, 'major.minor')] of the GPUs TensorFlow sees (listing them allocates nothing)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    result = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        cc = details.get("compute_capability")
        result.append((details.get("device_name", gpu.name), f"{cc[0]}.{cc[1]}" if cc else "?"))
    return result


def parse_speed(output):  # Output of one benchmarks/train_speed.py run.
    """dict(img_s, sec_kimg, first_call_s, peak_host_gb, peak_gpu_gb or None) or None."""
    match = SPEED_LINE.search(output)
    if not match:
        return None
    img_s, sec_kimg, first, host, gpu = match.groups()
    return dict(
        img_s=float(img_s),
        sec_kimg=float(sec_kimg),
        first_call_s=float(first),
        peak_host_gb=float(host),
        peak_gpu_gb=None if gpu is None else float(gpu),
    )


def parse_ticks(log_text):  # Text of a train.py log.txt.
    """[(kimg, lod, sec_kimg)] of the tick lines."""
    ticks = []
    for line in log_text.splitlines():
        match = TICK_LINE.match(line)
        if match:
            ticks.append(tuple(float(value) for value in match.groups()))
    return ticks


def _last_line(output):
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


def _run(
    cmd,  # Command as a list.
    timeout,  # Seconds.
    cwd=REPO,  # Working folder.
):
    """(return code, stdout + stderr); a timeout gives code 124."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        return 124, f"{error.stdout or ''}\ntimed out after {timeout} s"
    return proc.returncode, proc.stdout + proc.stderr


def speed_run(
    config,  # (arch, res, lod, batch, fmap_base, fmap_max).
    precision,  # 'fp32', 'fp16' or 'bf16'.
    xla,  # Compile the steps with XLA?
    iters,  # Timed iterations.
    timeout,  # Seconds.
):
    """One train_speed.py process; its parsed figures, or dict(error=last output line)."""
    arch, res, lod, batch, fmap_base, fmap_max = config
    cmd = [
        sys.executable,
        os.path.join(REPO, "benchmarks", "train_speed.py"),
        "--arch",
        arch,
        "--res",
        str(res),
        "--lod",
        str(lod),
        "--batch",
        str(batch),
        "--fmap_base",
        str(fmap_base),
        "--fmap_max",
        str(fmap_max),
        "--precision",
        precision,
        "--iters",
        str(iters),
        "--xla" if xla else "--noxla",
    ]
    if arch == "stylegan":
        cmd += ["--latent_size", str(fmap_max), "--dlatent_size", str(fmap_max)]
    code, output = _run(cmd, timeout)
    figures = parse_speed(output) if code == 0 else None
    figures = figures or dict(error=f"exit {code}: {_last_line(output)}")
    warnings = [line for line in output.splitlines() if line.startswith("train_speed.py: warning:")]
    if warnings:
        figures["warning"] = warnings[0]
    return figures


def config_name(config):  # (arch, res, lod, batch, fmap_base, fmap_max).
    """The README's wording of a benchmark configuration."""
    arch, res, lod, batch, fmap_base, fmap_max = config
    name = f"{'ProGAN' if arch == 'progan' else 'StyleGAN'} res {res}, lod {lod}, batch {batch}, fmap {fmap_base}/{fmap_max}"
    return name + (f", latent {fmap_max}" if arch == "stylegan" else "")


def format_cell(figures):  # A speed_run result.
    """'12.3 img/s, 1.20 GB' (GPU peak, else host peak) or 'failed'."""
    if "error" in figures:
        return "failed"
    peak = figures["peak_gpu_gb"] if figures["peak_gpu_gb"] is not None else figures["peak_host_gb"]
    return f"{figures['img_s']:.1f} img/s, {peak:.2f} GB"


def markdown(
    device,  # Device description for the heading.
    columns,  # [(precision, xla)] in table order.
    results,  # {(config, precision, xla): speed_run result}.
    configs,  # Configurations in row order.
    training,  # Sentence about the training run.
    side_by_side,  # Lines of side_by_side.sh (may be empty).
):
    """The README lines for the measured figures."""
    memory = "peak GPU memory" if "CPU" not in device else "peak host memory"
    head = " | ".join(f"{p}{' XLA' if x else ''}" for p, x in columns)
    lines = [
        f"Measured on {device}, TensorFlow 2.21, {datetime.date.today().isoformat()} "
        f"(`python benchmarks/gpu_check.py`; img/s of one D step + Gs update + one G step, and {memory}):",
        "",
        f"| config | {head} |",
        "|---|" + "---|" * len(columns),
    ]
    for config in configs:
        cells = " | ".join(format_cell(results[(config, p, x)]) for p, x in columns)
        lines.append(f"| {config_name(config)} | {cells} |")
    lines += ["", f"- {training}"]
    lines += [f"- Official TF1 graph side by side: `{line}`" for line in side_by_side]
    return lines


def training_run(
    quick,  # Tiny run instead of the quickstart preset.
    timeout,  # Seconds.
):
    """(sentence for the README, ok) for a short train.py run on a shapes dataset."""
    work = tempfile.mkdtemp(prefix="gpu_check_")
    try:
        data = os.path.join(work, "shapes")
        res, count = (8, 64) if quick else (32, 5000)
        code, output = _run(
            [
                sys.executable,
                os.path.join(REPO, "dataset_tool.py"),
                "create_shapes",
                data,
                "--resolution",
                str(res),
                "--num_images",
                str(count),
            ],
            timeout,
        )
        if code != 0:
            return f"training run: dataset_tool.py failed: {_last_line(output)}", False
        args = QUICK_TRAIN if quick else ["--config", "preset-cpu-quickstart"]
        start = time.time()
        code, output = _run(
            [
                sys.executable,
                os.path.join(REPO, "train.py"),
                "--dataset",
                data,
                "--result_dir",
                os.path.join(work, "results"),
            ]
            + args,
            timeout,
        )
        minutes = (time.time() - start) / 60
        if code != 0:
            return f"training run: train.py failed: {_last_line(output)}", False
        ticks = parse_ticks(output)
        if not ticks:
            return "training run: train.py printed no tick line", False
        kimg, lod, sec_kimg = ticks[-1]
        command = "train.py " + " ".join(args)
        return (
            f"Training (`{command}` on {count} shapes at {res}x{res}): {minutes:.1f} min in all for "
            f"{kimg:g} kimg; last tick {sec_kimg:.2f} sec/kimg at lod {lod:g}."
        ), True
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):  # Command-line arguments (None = sys.argv[1:]).
    """Run the check; return the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    gpus = visible_gpus()
    if not gpus and not args.allow_cpu:
        return cli.report(
            "gpu_check.py",
            "no GPU visible to TensorFlow (install with pip install -r requirements-cuda.txt and check "
            "nvidia-smi); --allow-cpu runs it on the CPU",
        )
    import platform

    device = (
        f"{gpus[0][0]} (compute capability {gpus[0][1]})" + (f", {len(gpus)} visible" if len(gpus) > 1 else "")
        if gpus
        else f"CPU only ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    )
    print(f"Device: {device}", flush=True)
    configs = QUICK_CONFIGS if args.quick else CONFIGS
    iters = args.iters or (1 if args.quick else 20)
    xlas = {"off": [False], "on": [True], "both": [False, True]}[args.xla]
    columns = [(p, x) for x in xlas for p in PRECISIONS]
    results, failures, warned = {}, 0, set()

    print("\n1. Training speed (benchmarks/train_speed.py, one process per run)", flush=True)
    for config in configs:
        for precision, xla in columns:
            figures = speed_run(config, precision, xla, iters, args.timeout)
            results[(config, precision, xla)] = figures
            failures += "error" in figures
            detail = figures.get("error") or (
                f"{figures['sec_kimg']:.2f} sec/kimg, first call {figures['first_call_s']:.0f} s"
            )
            print(
                f"  {config_name(config)} | {precision}{' XLA' if xla else ''}: {format_cell(figures)} ({detail})",
                flush=True,
            )
            if figures.get("warning") and figures["warning"] not in warned:
                warned.add(figures["warning"])
                print(f"    {figures['warning']}", flush=True)

    print("\n2. Short training run (train.py)", flush=True)
    training, ok = training_run(args.quick, args.timeout)
    failures += not ok
    print(f"  {training}", flush=True)

    print("\n3. Side by side with the official TF1 graph", flush=True)
    side_lines = []
    if args.quick:
        print("  skipped with --quick (it runs the full-size configurations)")
    elif not os.path.isfile(SIDE_BY_SIDE):
        print(f"  skipped: {os.path.normpath(SIDE_BY_SIDE)} does not exist here")
    else:
        code, output = _run(["bash", SIDE_BY_SIDE, "1", str(iters)], args.timeout * len(CONFIGS))
        side_lines = [line for line in output.splitlines() if " | official " in line]
        for line in side_lines:
            print(f"  {line}")
        if code != 0 or not side_lines:
            failures += 1
            print(f"  side_by_side.sh failed: exit {code}: {_last_line(output)}")

    print("\n4. For the README (GPUs section):\n", flush=True)
    print("\n".join(markdown(device, columns, results, configs, training, side_lines)))
    if failures:
        print(f"\ngpu_check.py: {failures} run(s) failed (see above)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
