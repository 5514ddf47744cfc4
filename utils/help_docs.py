"""docs/*-help.txt: the real --help output of each tool and of each of its commands.

    python -m utils.help_docs           # rewrite the files
    python -m utils.help_docs --check   # exit 1 if a file differs from the tools' --help

The text is produced at COLUMNS=100, so that it does not depend on the terminal it is made in.
"""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLUMNS = 100

# docs file -> (script, its commands: each gets its own --help section).
TOOLS = {
    "train-help.txt": ("train.py", []),
    "dataset_tool-help.txt": (
        "dataset_tool.py",
        [
            "display",
            "extract",
            "compare",
            "create_mnist",
            "create_mnistrgb",
            "create_cifar10",
            "create_cifar100",
            "create_svhn",
            "create_lsun",
            "create_lsun_wide",
            "create_celeba",
            "create_celebahq",
            "create_from_images",
            "create_from_hdf5",
            "create_shapes",
        ],
    ),
    "generate-help.txt": (
        "generate.py",
        ["images", "interpolation-video", "training-video", "style-mixing", "truncation", "noise", "export"],
    ),
    "evaluate_metrics-help.txt": ("evaluate_metrics.py", []),
}


def render(name):  # A key of TOOLS.
    """The text of docs/<name>, from the tool's --help run now."""
    script, commands = TOOLS[name]
    env = dict(os.environ, COLUMNS=str(COLUMNS))
    what = f"'python {script} --help'" + (" and of each command's --help" if commands else "")
    parts = [f"# Output of {what} (COLUMNS={COLUMNS}).\n"]
    for command in [None] + commands:
        argv = [script] + ([command] if command else []) + ["--help"]
        out = subprocess.run(
            [sys.executable] + argv, cwd=REPO, env=env, capture_output=True, text=True, check=True
        ).stdout
        parts.append(f"$ python {' '.join(argv)}\n{out}")
    return "\n".join(parts)


def main(argv):  # Command-line arguments without the program name.
    """Write (or with --check, compare) every docs/*-help.txt; returns the exit status."""
    stale = []
    for name in TOOLS:
        path = os.path.join(REPO, "docs", name)
        text = render(name)
        with open(path, encoding="utf-8") as file:
            current = file.read() if os.path.exists(path) else None
        if text != current:
            stale.append(name)
            if "--check" not in argv:
                with open(path, "w", encoding="utf-8") as file:
                    file.write(text)
    if stale and "--check" in argv:
        print(f"stale: {', '.join(stale)}; run python -m utils.help_docs", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
