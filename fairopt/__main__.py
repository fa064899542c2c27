"""``python -m fairopt``: the command line."""
import sys

from fairopt.cli.entry import run

sys.exit(run())
