"""The one command-line convention (utils/cli.py): absl's boolean spellings, a default in every
option's help, train.py's option table, and docs/*-help.txt equal to the tools' --help."""

import argparse
import importlib.util
import os
import subprocess
import sys

import pytest
from conftest import REPO
from conftest import user_env

from utils import cli
from utils import help_docs


def _load(path):  # A tool's script, relative to the repository.
    """Import a script (benchmarks/ are no package) without running its __main__ block."""
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3] + "_under_test", os.path.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parsers():
    """(name, parser) of every tool, subcommands included."""
    import dataset_tool
    import evaluate_metrics
    import generate
    import train

    tops = [
        ("train.py", train.build_parser()),
        ("generate.py", generate.build_parser()),
        ("evaluate_metrics.py", evaluate_metrics.build_parser()),
        ("dataset_tool.py", dataset_tool.build_parser("dataset_tool.py")),
        ("train_speed.py", _load("benchmarks/train_speed.py").build_parser()),
        ("metrics.py", _load("benchmarks/metrics.py").build_parser()),
    ]
    for name, parser in tops:
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                yield from ((f"{name} {command}", sub) for command, sub in action.choices.items())


def test_every_option_help_states_its_default():
    missing = []
    for name, parser in _parsers():
        for action in parser._actions:
            if not action.option_strings or action.dest == "help" or action.required:
                continue  # A required option has no default (the usage line marks it).
            text = (action.help or "").lower()
            if "default" not in text and "required" not in text:
                missing.append(f"{name} {action.option_strings[0]}: {action.help!r}")
    assert not missing, "\n".join(missing)


def test_boolean_flag_spellings():
    """absl's spellings, kept when train.py and the benchmarks left absl."""
    import train

    bools = [option.name for option in train.OPTIONS if option.kwargs.get("action") is cli.BooleanFlag]
    assert {"dry_run", "mirror_augment", "deterministic", "fused_scale", "nogrowing", "noreset"} <= set(bools)
    for name in bools:
        unset = None if name == "fused_scale" else False
        cases = {
            (): unset,
            (f"--{name}",): True,
            (f"--no{name}",): False,
            (f"--{name}=true",): True,
            (f"--{name}=false",): False,
            (f"--{name}=False",): False,
            (f"--{name}=T",): True,
            (f"--{name}=1",): True,
            (f"--{name}=0",): False,
            (f"--{name}", f"--no{name}"): False,
            (f"-{name}",): True,
        }
        for argv, expected in cases.items():
            assert getattr(train.parse_args(list(argv)), name) is expected, (name, argv)
    # The ablations are named --noX themselves: plain switches, as in absl.
    args = train.parse_args(["--nogrowing", "--nonoreset"])
    assert args.nogrowing is True and args.noreset is False


def test_train_options_are_declared_once_with_a_group():
    import train

    names = [option.name for option in train.OPTIONS]
    assert len(names) == len(set(names))
    assert all(option.group in train.GROUPS for option in train.OPTIONS)
    assert [option.name for option in train.targeted("ablation")] == [
        "nogrowing",
        "nopixelnorm",
        "nowscale",
        "noleakyrelu",
        "nosmoothing",
        "norepeat",
        "noreset",
    ]
    from training import presets

    assert [option.name for option in train.targeted("ablation")] == list(presets.PROGAN_ABLATIONS)
    args = train.parse_args(
        ["--dataset", "d", "--G_arg", "a=1", "--G_arg=b=2", "--minibatch_base", "8", "--grid_size=4k"]
    )
    assert args.G_arg == ["a=1", "b=2"] and args.D_arg == [] and args.minibatch_base == 8.0
    assert train.parse_args([]).G_arg == []  # The default list is not shared between parses.


def test_bad_option_is_one_line_without_tensorflow():
    code = (
        "import sys, train\n"
        "try:\n    train.parse_args(['--grid_size', '8k'])\n"
        "except SystemExit as e:\n    print(e.code, 'tensorflow' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=user_env(), capture_output=True, text=True, timeout=120
    )
    assert result.stdout == "2 False\n", result.stderr
    assert result.stderr.startswith("train.py: error: argument --grid_size: invalid choice: '8k'")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("name", list(help_docs.TOOLS))
def test_docs_help_files_are_the_real_help(name):
    with open(os.path.join(REPO, "docs", name), encoding="utf-8") as file:
        assert file.read() == help_docs.render(name), f"docs/{name} is stale: run python -m utils.help_docs"
