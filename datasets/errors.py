"""The one exception type that dataset tools raise for bad user input."""


class DatasetError(ValueError):
    """Bad input or environment, described in one line that says what to do.

    `dataset_tool.py` prints the message as `Error: <message>` on stderr and exits
    non-zero without a traceback. It is a ValueError, so callers that already catch bad
    values (train.py) report it the same way.
    """
