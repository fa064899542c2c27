"""``python -m fairopt``: the command line."""
import sys

from fairopt.cli.main import main

sys.exit(main())
