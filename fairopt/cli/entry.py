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

__all__ = ["Terminated", "run", "exit_status", "interruption"]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program was so that it unwinds like after Ctrl-C."""


#: Signals received during the current run(): an import machinery (numpy's C extensions) may turn
#: the KeyboardInterrupt into an ImportError, and this still tells an interruption from a bug.
_RECEIVED: list = []


def _on_signal(signum, frame):
    _RECEIVED.append(signum)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def exit_status(exc: BaseException) -> int:
    """130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)


def interruption(exc: BaseException) -> tuple[int, str] | None:
    """(exit status, what) when ``exc`` is, or was caused by, Ctrl-C or SIGTERM; None otherwise."""
    if isinstance(exc, KeyboardInterrupt):
        sig = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
    elif _RECEIVED:
        sig = _RECEIVED[-1]
    else:
        return None
    return 128 + int(sig), ("terminated (SIGTERM)" if sig == signal.SIGTERM else "interrupted")


def run(argv=None) -> int:
    """Entry point of the ``fairopt`` command."""
    _RECEIVED.clear()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    try:
        # Imported here, not at the top: an interruption during these imports must still end
        # with one line and status 130 (the import is the whole program, not an optional one).
        from fairopt.cli.main import main

        return main(argv)
    except BaseException as exc:
        found = interruption(exc)
        if found is None:
            raise
        print(f"fairopt: {found[1]}; no partial output was written", file=sys.stderr)
        return found[0]
    finally:
        _RECEIVED.clear()


if __name__ == "__main__":
    sys.exit(run())
