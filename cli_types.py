"""argparse argument types shared by the command-line tools (generate.py, evaluate_metrics.py)."""

import argparse


def _convert(
    text,  # Command-line text.
    convert,  # int or float.
    kind,  # What the text should be, for the error message.
):
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid {kind} {text!r}") from None


def positive_int(text):  # Command-line text.
    """An integer >= 1."""
    value = _convert(text, int, "positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return value


def positive_float(text):  # Command-line text.
    """A number > 0."""
    value = _convert(text, float, "number")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def nonnegative_float(text):  # Command-line text.
    """A number >= 0."""
    value = _convert(text, float, "number")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value
