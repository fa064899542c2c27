"""The ``fairopt`` command: a thin layer over the Python API (one option, one keyword argument).

Subcommands, one module each in :mod:`fairopt.cli`: ``demo``, ``fair-kmeans``, ``strictly-fair``,
``barycenter``, ``balanced``, ``experiment``, ``solvers``. Every error becomes one line on stderr
and exit status 2.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

from fairopt import __version__
from fairopt.cli import (
    balanced,
    barycenter,
    demo,
    experiment,
    fair_kmeans,
    solvers,
    strictly_fair,
)
from fairopt.cli.common import OneLineParser, check_outputs
from fairopt.cli.entry import interruption
from fairopt.exceptions import FairoptError

#: The subcommands, in the order ``fairopt --help`` lists them: each module has add_subparser and run.
SUBCOMMANDS = (demo, fair_kmeans, strictly_fair, barycenter, balanced, experiment, solvers)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="fairopt", description="Fair and balanced clustering on declarative LPs.")
    parser.add_argument("--version", action="version", version=f"fairopt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in SUBCOMMANDS:
        module.add_subparser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "quiet", False):
        os.environ["FAIROPT_QUIET"] = "1"
    def one_line_warning(message, category, filename, lineno, file=None, line=None):
        print(f"fairopt {args.command}: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = one_line_warning
            check_outputs(args)
            return int(args.func(args) or 0)
    except BaseException as exc:
        found = interruption(exc)  # Ctrl-C or SIGTERM, also when a library turned it into another error
        if found is not None:
            print(f"fairopt {args.command}: {found[1]}; no partial output was written", file=sys.stderr)
            return found[0]
        if isinstance(exc, (FairoptError, OSError, ValueError, ImportError)):
            # OSError covers FileNotFoundError, FileExistsError and PermissionError of the outputs.
            print(f"fairopt {args.command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
            return 2
        if not isinstance(exc, Exception) or os.environ.get("FAIROPT_DEBUG"):
            raise
        # Not a refusal of ours: still one line, never a traceback.
        print(f"fairopt {args.command}: error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())} "
              "(a bug in fairopt; FAIROPT_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
