"""What every subcommand shares: the parser, data options (--dataset / --csv), output options.

A subcommand module provides ``add_subparser(subparsers)`` and ``run(args) -> int``;
:mod:`fairopt.cli.main` lists them in one table.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

from fairopt import datasets
from fairopt.csvfile import (
    check_fields,
    check_header,
    check_separator,
    float_columns,
    read_rows,
)
from fairopt.exceptions import ValidationError
from fairopt.files import check_target
from fairopt.plot import save_figure
from fairopt.results import write_json


class CLIError(ValidationError):
    """A command-line usage error (bad option combination, unreadable CSV)."""


class OneLineParser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), exit status 2 as usual."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# --------------------------------------------------------------------------- data options
def add_data_options(p: argparse.ArgumentParser, groups: bool = True) -> None:
    """Options shared by the subcommands that read points (and groups)."""
    src = p.add_argument_group("data (a named dataset or a CSV file)")
    src.add_argument("--dataset", help="dataset name (see `fairopt.datasets.available_datasets()`)")
    src.add_argument("--data-home", help="folder with the dataset files (default: $FAIROPT_DATA, then ~/fairopt_data)")
    src.add_argument("--max-points", type=int, help="subsample uniformly to this many points (fixed seed)")
    if groups:
        src.add_argument("--attributes", help="comma-separated group columns of the dataset (default: all)")
    src.add_argument("--csv", help="a CSV file with a header row")
    src.add_argument("--features", help="comma-separated feature columns of --csv")
    if groups:
        src.add_argument("--groups", help="comma-separated group columns of --csv")
    src.add_argument("--sep", default=",", help="CSV separator (default ',')")


def _split(text):
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def read_csv(path: str, features: list, group_cols: list | None, sep: str = ","):
    """Read feature columns (as floats) and group columns (as strings) from a CSV with a header.

    Strict (fairopt.csvfile): UTF-8 (a byte-order mark is fine), one-character separator, unique
    column names, every row with the header's number of fields, finite numbers in the features.
    """
    try:
        check_separator(sep, what="--sep")
        numbered = read_rows(path, sep, what="--csv")
    except OSError as exc:
        raise CLIError(f"cannot read --csv {path!r}: {exc.strerror}") from None
    header = check_header(numbered[0][1], path, what="--csv")
    body = numbered[1:]
    if not body:
        raise CLIError(f"--csv {path!r} has no data rows (only a header)")
    index = {h: i for i, h in enumerate(header)}
    for col in (features or []) + (group_cols or []):
        if col not in index:
            raise CLIError(f"column {col!r} is not in {path!r}; columns are {header}")
    check_fields(body, len(header), path, sep, what="--csv")
    X = float_columns(body, [index[c] for c in features], header, path, what="--csv")
    G = None
    if group_cols:
        G = np.array([[r[index[c]].strip() for c in group_cols] for _, r in body], dtype=object)
        blank = np.flatnonzero((G == "").any(axis=1))
        if blank.size:
            raise CLIError(f"--csv {path!r}: a group column is empty in {blank.size} data row(s) (first: row "
                           f"{body[blank[0]][0]}); fill in or drop those rows")
        G = G[:, 0] if G.shape[1] == 1 else G
    return X, G


def load_data(args, groups: bool = True):
    """(X, groups or None) from --dataset or --csv."""
    if bool(args.dataset) == bool(args.csv):
        raise CLIError("give exactly one of --dataset NAME or --csv FILE")
    if args.max_points is not None and args.max_points < 1:
        raise CLIError(f"--max-points must be a positive number of points; got {args.max_points}")
    if args.dataset:
        attrs = _split(getattr(args, "attributes", None))
        X, G = datasets.load(args.dataset, data_home=args.data_home, max_points=args.max_points,
                             random_state=0, attributes=attrs)
        return X, (G if groups else None)
    feats = _split(args.features)
    if not feats:
        raise CLIError("--csv needs --features col1,col2,...")
    gcols = _split(getattr(args, "groups", None)) if groups else None
    if groups and not gcols:
        raise CLIError("--csv needs --groups col (one or more group columns)")
    X, G = read_csv(args.csv, feats, gcols, args.sep)
    if args.max_points and args.max_points < X.shape[0]:
        idx = np.sort(np.random.default_rng(0).choice(X.shape[0], args.max_points, replace=False))
        X, G = X[idx], (None if G is None else G[idx])
    return X, G


def add_output_options(p: argparse.ArgumentParser) -> None:
    out = p.add_argument_group("output")
    out.add_argument("--json", help="write a JSON result (inputs, parameters, seeds, versions, costs, seconds)")
    out.add_argument("--plot", help="write a figure (PNG)")
    out.add_argument("--overwrite", action="store_true", help="replace existing output files")
    out.add_argument("--quiet", action="store_true", help="no progress bars")


def write_outputs(args, record: dict, figure_fn=None) -> None:
    """Write --json and --plot; files are written whole or not at all."""
    if getattr(args, "json", None):
        write_json(record, args.json, overwrite=args.overwrite)
        print(f"wrote {args.json}")
    if getattr(args, "plot", None) and figure_fn is not None:
        save_figure(figure_fn(), args.plot, overwrite=args.overwrite)
        print(f"wrote {args.plot}")


def inputs_record(args, X):
    return {"dataset": args.dataset, "csv": args.csv, "n": int(X.shape[0]), "d": int(X.shape[1]),
            "max_points": args.max_points, "attributes": getattr(args, "attributes", None)}


def params_record(args):
    skip = {"func", "json", "plot", "overwrite", "quiet", "command"}
    return {k: v for k, v in vars(args).items() if k not in skip}


OUTPUT_OPTIONS = ("json", "plot", "export_lp", "labels_out")


def plot_formats() -> list[str]:
    """File extensions matplotlib can write; CLIError naming the extra when it is missing."""
    try:
        from matplotlib.figure import Figure  # optional dependency (fairopt[plot])
    except ImportError:
        raise CLIError("--plot needs matplotlib: pip install 'fairopt[plot]' (or drop --plot)") from None
    return sorted(Figure().canvas.get_supported_filetypes())


def check_outputs(args) -> None:
    """Check every output path before any work, so that a refused run writes nothing at all.

    Refused: an existing file (without --overwrite), a missing folder, a folder given as a file,
    two options naming the same file, an extension the writer cannot produce (--plot: matplotlib's
    formats, --export-lp: .lp or .mps), and --plot without matplotlib.
    """
    seen: dict = {}
    for name in OUTPUT_OPTIONS:
        path = getattr(args, name, None)
        if not path:
            continue
        flag = "--" + name.replace("_", "-")
        real = os.path.realpath(path)
        if real in seen:
            raise CLIError(f"{seen[real]} and {flag} both name {path!r}; give each output its own file")
        seen[real] = flag
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        if name == "plot" and ext not in plot_formats():
            raise CLIError(f"--plot {path!r}: the extension must be one of {plot_formats()} (e.g. .png)")
        if name == "export_lp" and ext not in ("lp", "mps"):
            raise CLIError(f"--export-lp {path!r}: export path must end in .lp or .mps")
        try:
            check_target(path, overwrite=getattr(args, "overwrite", False), what=flag)
        except FileExistsError:
            raise FileExistsError(f"{flag} {path} exists; pass --overwrite to replace it") from None


def int_list(text: str, name: str, minimum: int = 0) -> list[int]:
    """Comma-separated integers or ranges ``a..b`` (``"2..4,8"`` -> [2, 3, 4, 8]), each >= ``minimum``."""
    values = []
    try:
        for token in filter(None, (t.strip() for t in text.split(","))):
            lo, _, hi = token.partition("..")
            values += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    except ValueError:
        raise CLIError(f"--{name} must be comma-separated integers or ranges a..b; got {text!r}") from None
    if not values or min(values) < minimum:
        raise CLIError(f"--{name} must list integers >= {minimum}; got {text!r}")
    return values


def name_list(text: str, allowed, name: str) -> list[str]:
    """Comma-separated names, each one of ``allowed``."""
    values = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        raise CLIError(f"--{name}: unknown {unknown or values!r}; choose from {sorted(allowed)}")
    return values


def fill_defaults(args: argparse.Namespace, defaults: dict) -> argparse.Namespace:
    """Set every option of ``defaults`` that the command line left at None."""
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args

