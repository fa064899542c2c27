"""The console script's first frame: Ctrl-C and SIGTERM end the run with one line, at any moment.

``fairopt`` (and ``python -m fairopt``) start here, before the heavy imports of
:mod:`fairopt.cli.main`, so that a Ctrl-C during those imports is an exit status like any other
and not a traceback. SIGTERM (``kill``, a batch system's time limit) is turned into
:class:`Terminated`, a KeyboardInterrupt, so every clean-up that an interruption runs (temporary
files removed, grid rows flushed) runs for it too; the exit status is 128 + signal number (130
for SIGINT, 143 for SIGTERM), as shells report them.
"""
from __future__ import annotations

import signal
import sys
import threading

__all__ = ["Terminated", "run", "exit_status"]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program was so that it unwinds like after Ctrl-C."""


def _on_sigterm(signum, frame):
    raise Terminated()


def exit_status(exc: BaseException) -> int:
    """130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)


def run(argv=None) -> int:
    """Entry point of the ``fairopt`` command."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        # Imported here, not at the top: an interruption during these imports must still end
        # with one line and status 130 (the import is the whole program, not an optional one).
        from fairopt.cli.main import main

        return main(argv)
    except KeyboardInterrupt as exc:
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"fairopt: {what}; no partial output was written", file=sys.stderr)
        return exit_status(exc)


if __name__ == "__main__":
    sys.exit(run())
