"""The ``fairopt`` command line: one module per subcommand, listed in :mod:`fairopt.cli.main`."""
