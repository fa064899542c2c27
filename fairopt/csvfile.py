"""Strict CSV reading for ``datasets.load`` and the CLI's ``--csv``: every defect is one clear error.

A damaged or unexpected file (empty, only a header, Latin-1 bytes, a byte-order mark, a
separator of two characters, duplicate column names, rows with too few or too many fields,
text or NaN in a numeric column) raises :class:`~fairopt.exceptions.ValidationError` naming the
file, the row (1-based, the header being row 1) and the column, never an IndexError or a
UnicodeDecodeError, and never drops or keeps a bad row silently.
"""
from __future__ import annotations

import csv
import os
from collections.abc import Sequence

import numpy as np

from fairopt.exceptions import ValidationError

__all__ = ["check_separator", "read_rows", "check_header", "check_fields", "float_columns"]


def check_separator(sep: str, what: str = "sep") -> str:
    """One character that is not a quote, a newline or a space-like character csv cannot use."""
    if not isinstance(sep, str) or len(sep) != 1 or sep in "\"\r\n":
        raise ValidationError(f"{what} must be a single character such as ',' or ';'; got {sep!r}")
    return sep


def read_rows(path: str | os.PathLike, sep: str = ",", what: str = "the CSV file", skipinitialspace: bool = False
              ) -> list[tuple[int, list[str]]]:
    """Non-blank rows as (line number, fields); UTF-8 with or without a byte-order mark.

    Raises
    ------
    FileNotFoundError, PermissionError
        As ``open`` does.
    ValidationError
        Not UTF-8 text, a malformed quote, or no rows at all.
    """
    check_separator(sep)
    path = os.fspath(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=sep, skipinitialspace=skipinitialspace, strict=True)
            rows = [(reader.line_num, row) for row in reader if row and any(f.strip() for f in row)]
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{what} {path!r} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "convert it, e.g. iconv -f latin1 -t utf-8 IN > OUT"
        ) from None
    except csv.Error as exc:
        raise ValidationError(f"{what} {path!r} is not valid CSV: {exc}") from None
    if not rows:
        raise ValidationError(f"{what} {path!r} is empty: it needs a header row and data rows")
    return rows


def check_header(header: Sequence[str], path: str, what: str = "the CSV file") -> list[str]:
    """Column names stripped of spaces and quotes; duplicate or empty names are refused."""
    names = [h.strip().strip('"') for h in header]
    seen, dup = set(), []
    for h in names:
        if h in seen and h not in dup:
            dup.append(h)
        seen.add(h)
    if dup:
        raise ValidationError(f"{what} {path!r} has the column name(s) {dup} more than once; rename them")
    return names


def check_fields(rows: Sequence[tuple[int, list[str]]], n_fields: int, path: str, sep: str,
                 what: str = "the CSV file") -> None:
    """Every data row has exactly the header's number of fields."""
    for line, row in rows:
        if len(row) != n_fields:
            more = "more" if len(row) > n_fields else "fewer"
            raise ValidationError(
                f"{what} {path!r}, row {line}: {len(row)} field(s) where the header has {n_fields} ({more}); "
                f"is the separator {sep!r} right, or is a value quoted wrongly?"
            )


def float_columns(rows: Sequence[tuple[int, list[str]]], columns: Sequence[int], names: Sequence[str], path: str,
                  what: str = "the CSV file") -> np.ndarray:
    """The given columns as a float64 array (len(rows), len(columns)); every value finite."""
    X = np.empty((len(rows), len(columns)))
    for i, (line, row) in enumerate(rows):
        for j, col in enumerate(columns):
            text = row[col].strip()
            try:
                X[i, j] = float(text)
            except ValueError:
                raise ValidationError(f"{what} {path!r}, row {line}, column {names[col]!r}: {text!r} is not a number"
                                      ) from None
            if not np.isfinite(X[i, j]):
                raise ValidationError(f"{what} {path!r}, row {line}, column {names[col]!r}: {text!r} is not a finite "
                                      "number; drop or impute that row first")
    return X
