"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class UsageError(Exception):
    """Bad user input (a parameter, a path, a file's content).

    The message must name the offending parameter or file and, where there is one, the fix;
    the CLI prints it on one line and exits with status 2 without writing any output.
    """
