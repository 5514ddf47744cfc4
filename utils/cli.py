"""One way for every tool to end on bad input: one line on stderr, `<tool>: error: <message>`,
and exit status 2. `run` wraps absl's app.run (train.py, benchmarks); `ArgumentParser` is
argparse's parser without the usage dump."""

import argparse
import os
import sys

from absl import app
from absl import flags

USAGE_STATUS = 2    # argparse's exit status for bad input; absl's own is 1.


def fail(
    prog,       # Tool name, e.g. 'train.py'.
    message,    # One line saying what is wrong and what to do.
):
    """Print `prog: error: message` on stderr and exit with status 2."""
    sys.stdout.flush()
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(USAGE_STATUS)


def run(
    main,               # absl main(argv).
    input_errors=tuple,  # Callable returning the exception types that mean bad input, not a bug
                         # (called only once an exception arrives: their modules may be slow to import).
    prog=None,          # Tool name; None = the script's file name.
):
    """`absl.app.run(main)` with flag-parsing errors and `input_errors` as one stderr line.

    absl itself prints two lines for a bad flag ("FATAL Flags parsing error: ..." and a hint)
    and exits 1.
    """
    prog = prog or os.path.basename(sys.argv[0])

    def parse_flags(argv):
        try:
            return flags.FLAGS(argv)
        except flags.Error as error:
            fail(prog, f"{error}; see --help")

    try:
        app.run(main, flags_parser=parse_flags)
    except Exception as error:  # noqa: BLE001 -- re-raised unless it is bad input.
        if not isinstance(error, tuple(input_errors())):
            raise
        fail(prog, str(error).splitlines()[0] if str(error) else type(error).__name__)


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser with its errors as one line (`prog: error: message`, no usage dump) and
    exit status 2; subcommand parsers made by add_subparsers are of the same class."""

    def error(self, message):
        tool, _, command = self.prog.partition(" ")   # A subcommand's prog is 'tool.py command'.
        fail(tool, f"{command}: {message}" if command else message)
