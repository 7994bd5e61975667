"""The one exception type the CLI turns into a one-line message and a non-zero exit."""

from __future__ import annotations

import sys
from collections.abc import Callable


class UsageError(Exception):
    """Bad user input (a parameter, a path, a file's content).

    The message must name the offending parameter or file and, where there is one, the fix;
    the CLI prints it on one line and exits with status 2 without writing any output.
    """


def exit_status(main: Callable[[], int | None], prog: str) -> int:
    """Run ``main``: its exit status, or 2 after a :class:`UsageError` printed on one line as
    ``prog: error: message`` (the contract of `dynatree` and of the benchmark scripts)."""
    try:
        return int(main() or 0)
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
