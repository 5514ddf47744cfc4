"""The two failures of generate.py's commands, each reported as one line on stderr."""


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


class CommandError(Exception):
    """The command cannot complete (missing tool, I/O failure): one line, exit status 1."""
