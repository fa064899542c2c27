"""Data larger than memory on the command line: Parquet files or a glob of CSV files through dask.dataframe.

``--parquet PATH_OR_GLOB`` (a file, a folder of Parquet files, or a glob) and ``--csv`` with a
``*`` in it are read lazily by dask.dataframe; only the schema (Parquet) or the first rows of
the first file (CSV) are read before the fit, to refuse a path that matches nothing or a column
that is not there, with the columns that are. The labels are written to one Parquet file
(column ``label``, one row per input row, in input order), whole or not at all.
"""
from __future__ import annotations

import glob
import os
from typing import Any

import numpy as np

from fairopt import datasets
from fairopt.cli.common import CLIError, _split
from fairopt.files import atomic_write, check_target

__all__ = ["wants_dask", "load_dask_data", "labels_path", "check_labels_path", "write_labels_parquet"]

GLOB_CHARS = "*?["
#: Rows per chunk of a named dataset sent to a cluster.
DATASET_CHUNK = 100_000


def wants_dask(args) -> bool:
    """True for ``--parquet``, or ``--csv`` with a glob pattern."""
    csv = getattr(args, "csv", None)
    return bool(getattr(args, "parquet", None)) or bool(csv and any(c in csv for c in GLOB_CHARS))


def _files(path: str, flag: str, parquet: bool) -> list[str]:
    if parquet and os.path.isdir(path):
        found = sorted(glob.glob(os.path.join(path, "*.parquet")))
    else:
        found = sorted(f for f in glob.glob(path) if os.path.isfile(f))
    if not found:
        raise CLIError(f"{flag} {path!r} matches no {'Parquet' if parquet else 'CSV'} file")
    return found


def _check_columns(available: list, feats: list, gcols: list, where: str) -> None:
    missing = [c for c in dict.fromkeys(feats + gcols) if c not in available]
    if missing:
        raise CLIError(f"column(s) {missing} not in {where}; columns are {available}")


def load_dask_data(args) -> tuple[Any, Any, dict]:
    """(X, groups, inputs) as dask arrays (row chunks = the files' partitions) from --parquet or a --csv glob."""
    import dask.dataframe as dd  # optional dependency (fairopt[dist])

    if sum(bool(v) for v in (args.dataset, args.csv, getattr(args, "parquet", None))) != 1:
        raise CLIError("give exactly one of --dataset NAME, --csv FILE (or a glob of CSV files) or --parquet PATH")
    if args.max_points is not None:
        raise CLIError("--max-points subsamples data in memory; with --parquet or a --csv glob select the rows "
                       "beforehand, or leave --max-points out")
    if args.dataset:  # a named dataset in memory, sent to the cluster in row chunks (e.g. to try --scheduler)
        import dask.array as da  # optional dependency (fairopt[dist])

        X, G = datasets.load(args.dataset, data_home=args.data_home, random_state=0,
                             attributes=_split(getattr(args, "attributes", None)))
        inputs = {"dataset": args.dataset, "csv": None, "parquet": None, "n": int(X.shape[0]), "d": int(X.shape[1]),
                  "max_points": None, "attributes": getattr(args, "attributes", None)}
        return (da.from_array(X, chunks=(DATASET_CHUNK, -1)), da.from_array(G, chunks=(DATASET_CHUNK,) + G.shape[1:]),
                inputs)
    feats, gcols = _split(args.features), _split(getattr(args, "groups", None))
    flag = "--parquet" if args.parquet else "--csv"
    if not feats or not gcols:
        raise CLIError(f"{flag} needs --features col1,col2,... and --groups col (one or more group columns)")
    files = _files(args.parquet or args.csv, flag, parquet=bool(args.parquet))
    if args.parquet:
        import pyarrow.parquet as pq  # optional dependency (pyarrow, with dask.dataframe)

        for name in files:  # footers only: every file must have the columns
            try:
                names = list(pq.read_schema(name).names)
            except Exception as exc:  # a file that is not Parquet
                raise CLIError(f"--parquet {name!r} is not a readable Parquet file: {exc}") from None
            _check_columns(names, feats, gcols, repr(name))
        df = dd.read_parquet(files, columns=feats + gcols)
    else:
        try:
            df = dd.read_csv(files, sep=args.sep, usecols=lambda c: c in set(feats + gcols), dtype={c: str for c in gcols})
        except (OSError, ValueError) as exc:
            raise CLIError(f"--csv {args.csv!r}: cannot read {files[0]!r}: {exc}") from None
        _check_columns(list(df.columns), feats, gcols, repr(files[0]))
    bad = [c for c in feats if _not_numeric(df[c].dtype)]
    if bad:
        raise CLIError(f"feature column(s) {bad} are not numeric in {flag} {args.parquet or args.csv!r}; "
                       "give numeric --features")
    # Row counts per partition: one pass each (``lengths=True`` can disagree with dask's own
    # merging of small Parquet files into one partition).
    X = df[feats].astype("float64").to_dask_array().compute_chunk_sizes()
    G = (df[gcols] if len(gcols) > 1 else df[gcols[0]]).astype(object).to_dask_array().compute_chunk_sizes()
    inputs = {"dataset": None, "csv": args.csv, "parquet": args.parquet, "files": len(files), "n": int(X.shape[0]),
              "d": int(X.shape[1]), "max_points": None, "attributes": None}
    return X, G, inputs


def _not_numeric(dtype) -> bool:
    """True when the dtype is not a numpy number (pandas extension types count as their numpy kind)."""
    try:
        return np.dtype(dtype).kind not in "iuf"
    except TypeError:
        return getattr(dtype, "kind", "O") not in "iuf"


def labels_path(args) -> str | None:
    """--labels-out, else the JSON summary's name with ``.labels.parquet`` (None without --json)."""
    if getattr(args, "labels_out", None):
        return args.labels_out
    if getattr(args, "json", None):
        return os.path.splitext(args.json)[0] + ".labels.parquet"
    return None


def check_labels_path(path: str, overwrite: bool) -> None:
    """Refuse a labels file that is not .parquet, or that exists (without --overwrite), before any work."""
    if os.path.splitext(path)[1].lower() != ".parquet":
        raise CLIError(f"--labels-out {path!r}: the labels file must end in .parquet")
    try:
        check_target(path, overwrite=overwrite, what="--labels-out")
    except FileExistsError:
        raise FileExistsError(f"--labels-out {path} exists; pass --overwrite to replace it") from None


def write_labels_parquet(labels: Any, path: str, overwrite: bool = False, batch: int = 4) -> str:
    """Write a dask array of labels to one Parquet file (column ``label``), ``batch`` chunks at a time."""
    import dask  # optional dependency (fairopt[dist])
    import pyarrow as pa  # optional dependency (pyarrow, with dask.dataframe)
    import pyarrow.parquet as pq  # optional dependency

    schema = pa.schema([("label", pa.int64())])

    def write(name):
        with pq.ParquetWriter(name, schema) as writer:
            blocks = labels.to_delayed(optimize_graph=False).ravel()
            for i in range(0, len(blocks), batch):
                for part in dask.compute(*blocks[i:i + batch]):
                    writer.write_table(pa.table({"label": np.asarray(part, dtype=np.int64)}, schema=schema))

    return atomic_write(path, write, overwrite=overwrite, by_name=True)
