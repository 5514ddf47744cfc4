"""The command-line convention of every tool (train.py, generate.py, evaluate_metrics.py,
dataset_tool.py, benchmarks/).

Options are declared with argparse through `ArgumentParser`; boolean options use
`BooleanFlag`, which keeps absl's spellings (`--flag`, `--noflag`, `--flag=true/false`) that
train.py and the benchmarks accepted when they were absl tools. Bad input, whether found by the
parser or later, ends the same way: one line on stderr, `<tool>: error: <message>`, and exit
status 2. The tools raise `UsageError` for it (and map the libraries' own domain errors, such
as DatasetError, to it through `run`).
"""

import argparse
import os
import sys

USAGE_STATUS = 2  # argparse's exit status for bad input.


class UsageError(Exception):
    """Bad input (options, files, their combination): reported as one line, exit status 2."""


def report(
    prog,  # Tool name, e.g. 'train.py'.
    message,  # One line saying what is wrong and what to do.
):
    """Print `prog: error: message` on stderr; return the exit status that goes with it (2)."""
    sys.stdout.flush()
    print(f"{prog}: error: {message}", file=sys.stderr)
    return USAGE_STATUS


def fail(
    prog,  # Tool name, e.g. 'train.py'.
    message,  # One line saying what is wrong and what to do.
):
    """Print `prog: error: message` on stderr and exit with status 2."""
    sys.exit(report(prog, message))


def first_line(error):  # An exception.
    """The one line that reports `error`: its message's first line, or its type's name."""
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def run(
    main,  # The tool's main(): returns the exit status (None = 0).
    input_errors=tuple,  # Callable returning further exception types that mean bad input, not a bug
    # (called only once an exception arrives: their modules may be slow to import).
    prog=None,  # Tool name; None = the script's file name.
):
    """Call `main()` and exit with its status; UsageError and `input_errors` become one stderr line."""
    prog = prog or os.path.basename(sys.argv[0])
    try:
        status = main()
    except Exception as error:  # noqa: BLE001 -- re-raised unless it is bad input.
        if not isinstance(error, (UsageError,) + tuple(input_errors())):
            raise
        fail(prog, first_line(error))
    sys.exit(status or 0)


_TRUE = ("true", "t", "1")  # absl's spellings of a boolean value, compared in lower case.
_FALSE = ("false", "f", "0")


class BooleanFlag(argparse.Action):
    """A boolean option with absl's spellings: `--name`, `--noname`, `--name=true|false` (also
    t/f and 1/0, in any case).

    An option whose own name starts with 'no' (ProGAN's ablation switches `--nogrowing`...) is a
    plain switch as in absl: `--nogrowing` sets it, `--nonogrowing` clears it.
    """

    def __init__(
        self,
        option_strings,  # ['--name'] as given to add_argument.
        dest,  # Attribute name.
        default=False,  # Value without the option (None = not given, for preset-backed options).
        help=None,  # Help text.  # noqa: A002 -- argparse's keyword.
        **kwargs,  # Other add_argument keywords (required, ...).
    ):
        self.negative = ["--no" + name[2:] for name in option_strings if name.startswith("--")]
        super().__init__(
            list(option_strings) + self.negative,
            dest,
            nargs="?",
            default=default,
            metavar="true|false",
            help=help,
            **kwargs,
        )

    def __call__(self, parser, namespace, value, option_string=None):
        if option_string in self.negative:
            if value is not None:
                parser.error(f"{option_string} takes no value, got {value!r}")
            setattr(namespace, self.dest, False)
        elif value is None or value.lower() in _TRUE:
            setattr(namespace, self.dest, True)
        elif value.lower() in _FALSE:
            setattr(namespace, self.dest, False)
        else:
            parser.error(f"argument {option_string}: expected true or false, got {value!r}")

    def format_usage(self):
        return self.option_strings[0]


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser with its errors as one line (`prog: error: message`, no usage dump) and
    exit status 2; subcommand parsers made by add_subparsers are of the same class."""

    def error(self, message):
        tool, _, command = self.prog.partition(" ")  # A subcommand's prog is 'tool.py command'.
        fail(tool, f"{command}: {message}" if command else message)


def default_text(
    value,  # An option's default.
):
    """How a help text shows a default: lists and strings as written on the command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's help with the description as written, and a BooleanFlag as
    `--name[=true|false], --noname`."""

    def _format_action_invocation(self, action):
        if isinstance(action, BooleanFlag):
            positive = [name for name in action.option_strings if name not in action.negative]
            return ", ".join([f"{name}[=true|false]" for name in positive] + action.negative)
        return super()._format_action_invocation(action)


def absl_spellings(
    argv,  # Command-line arguments without the program name.
    parser,  # The tool's ArgumentParser.
):
    """`argv` with absl's single-dash long options (`-dataset x`, `-res=8`) as `--dataset x`, `--res=8`.

    Only names of `parser`'s own long options are rewritten, and nothing after a bare '--'.
    """
    known = {name for action in parser._actions for name in action.option_strings}  # noqa: SLF001
    out = []
    for index, arg in enumerate(argv):
        if arg == "--":
            return out + list(argv[index:])
        if arg.startswith("-") and not arg.startswith("--") and "-" + arg.split("=", 1)[0] in known:
            arg = "-" + arg
        out.append(arg)
    return out
