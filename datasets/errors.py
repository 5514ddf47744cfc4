"""The one exception type that dataset tools raise for bad user input."""


class DatasetError(ValueError):
    """Bad input or environment, described in one line that says what to do.

    `dataset_tool.py` prints the message as `dataset_tool.py: error: <message>` on stderr and
    exits with status 2 without a traceback, as every tool does. It is a ValueError, so callers that already catch bad
    values (train.py) report it the same way.
    """
