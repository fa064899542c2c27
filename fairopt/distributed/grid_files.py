"""The output pair of an experiment grid: ``NAME.csv`` (one row per cell) and ``NAME.jsonl``.

Rules, in the order :class:`GridTable` applies them:

1. **Ownership first, nothing touched before.** An existing CSV must start with the grid
   header, an existing JSONL with a grid record; anything else (a user's ``notes.csv``, a
   foreign ``X.jsonl`` beside a new ``X.csv``) is refused before a byte is read for repair or
   written.
2. **One writer.** An exclusive lock (``fcntl.flock``, non-blocking) on a hidden lock file
   beside the CSV: a second grid run into the same output is refused at once, with the reason.
   The lock file is removed on exit (the lock dies with the process if it is killed).
3. **Repair under the lock.** A kill can leave half a line (cut back to the last newline), a
   JSONL record whose CSV row was never written (dropped: the CSV is the table of record, so
   that cell runs again and gets exactly one record), or a doubled header or duplicate row
   from older versions (dropped; the first row of a cell wins). Repairs rewrite the file
   atomically (:func:`fairopt.files.atomic_write`).
4. **Append.** Each finished cell appends its JSONL record, then its CSV row, each one
   ``write`` of a whole line, flushed to disk.
"""
from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping
from contextlib import ExitStack, contextmanager, suppress

from fairopt.exceptions import ValidationError
from fairopt.files import atomic_write, exclusive_lock

__all__ = ["KEY", "COLUMNS", "GridTable", "read_table", "cell_key"]

KEY = ("dataset", "method", "k", "delta", "seed")
COLUMNS = KEY + ("status", "cost", "fractional_cost", "violation", "seconds", "n", "d", "n_groups", "solver", "message")
HEADER = ",".join(COLUMNS)
_TEXT = ("dataset", "method", "status", "solver", "message")
_RECORD_START = b'{"kind": "experiment-cell"'


def cell_key(row: Mapping) -> tuple:
    """(dataset, method, k, delta, seed) of a table row or a cell."""
    return (str(row["dataset"]), str(row["method"]), int(row["k"]), float(row["delta"]), int(row["seed"]))


def _record_key(record: Mapping) -> tuple | None:
    try:
        p = record["parameters"]
        return (str(record["inputs"]["dataset"]), str(p["method"]), int(p["k"]), float(p["delta"]),
                int(record["seeds"]["seed"]))
    except (KeyError, TypeError, ValueError):
        return None


def _number(text: str):
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _rows(lines: list[str]) -> list[dict]:
    out = []
    for row in csv.DictReader(io.StringIO("".join(lines)), fieldnames=COLUMNS):
        if None in row.values() or None in row or list(row.values()) == list(COLUMNS):
            continue  # short/long lines of a damaged file, and repeated headers
        try:
            cell_key(row)
        except (TypeError, ValueError):
            continue
        out.append({c: (row[c] if c in _TEXT else _number(row[c])) for c in COLUMNS})
    return out


def _first_line(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.readline(1 << 16)


def read_table(path: str | os.PathLike) -> list[dict]:
    """Rows of a grid CSV as dicts (numbers parsed, empty cells as None); [] when absent.

    Raises ValidationError when the file is not a grid table.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        return []
    if os.path.getsize(path) and _first_line(path).rstrip(b"\r\n") != HEADER.encode():
        raise ValidationError(f"{path} is not a fairopt grid table (its first line is not {HEADER!r}); "
                              "choose another output file")
    with open(path, encoding="utf-8", newline="") as fh:
        lines = fh.readlines()
    return _rows([line for line in lines[1:] if line.endswith("\n")])


def _csv_line(row: Mapping) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(
        ["" if row.get(c) is None else repr(row[c]) if isinstance(row.get(c), float) else row[c] for c in COLUMNS])
    return buf.getvalue()


def _append(path: str, text: str) -> None:
    # One write of whole lines, flushed to disk: what is in the file survives an interruption.
    with open(path, "a", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


class GridTable:
    """The CSV/JSONL pair of one grid output; see the module docstring.

    Parameters
    ----------
    csv_path : str
        The CSV; the JSONL is the same path with ``.jsonl``.
    """

    def __init__(self, csv_path: str):
        self.csv_path = os.path.abspath(os.fspath(csv_path))
        self.jsonl_path = os.path.splitext(self.csv_path)[0] + ".jsonl"
        folder, name = os.path.split(self.csv_path)
        self.lock_path = os.path.join(folder, f".{name}.lock")

    # ------------------------------------------------------------------ checks (read only)
    def check(self) -> None:
        """Refuse outputs this grid does not own; reads first lines only, changes nothing."""
        if not self.csv_path.lower().endswith(".csv"):
            raise ValidationError(f"the grid output must be a .csv file (a .jsonl is written beside it); "
                                  f"got {self.csv_path!r}")
        for path in (self.csv_path, self.jsonl_path):
            if os.path.lexists(path) and not os.path.isfile(path):
                raise ValidationError(f"grid output {path!r} exists and is not a regular file; choose another output")
        csv_used = os.path.isfile(self.csv_path) and os.path.getsize(self.csv_path) > 0
        jsonl_used = os.path.isfile(self.jsonl_path) and os.path.getsize(self.jsonl_path) > 0
        if csv_used:
            first = _first_line(self.csv_path)
            if first.rstrip(b"\r\n") != HEADER.encode() or not first.endswith(b"\n"):
                raise ValidationError(
                    f"{self.csv_path} exists and is not a fairopt grid table (first line {first[:60]!r}); "
                    "nothing was changed: choose another output"
                )
        if jsonl_used:
            if not csv_used:
                raise ValidationError(f"{self.jsonl_path} exists without the grid table {self.csv_path}; nothing was "
                                      "changed: move it away or choose another output")
            if not _first_line(self.jsonl_path).startswith(_RECORD_START):
                raise ValidationError(f"{self.jsonl_path} exists and does not hold fairopt grid records; nothing was "
                                      "changed: choose another output")

    # ------------------------------------------------------------------ writing (locked)
    @contextmanager
    def open(self, retry_errors: bool = False):
        """Lock, repair, write the header if new; yields the set of finished cell keys."""
        self.check()
        os.makedirs(os.path.dirname(self.csv_path), exist_ok=True)
        with ExitStack() as stack:
            self._lock(stack)
            self.check()  # again under the lock: another run may have written meanwhile
            rows = self._repair(retry_errors)
            if not os.path.exists(self.csv_path) or os.path.getsize(self.csv_path) == 0:
                _append(self.csv_path, HEADER + "\n")
            yield {cell_key(r) for r in rows}

    def _lock(self, stack: ExitStack) -> None:
        while True:
            fh = stack.enter_context(open(self.lock_path, "a"))
            stack.enter_context(exclusive_lock(fh, f"the grid output {self.csv_path}"))
            # The lock file may have been removed by the run that held it; lock the current one.
            with suppress(FileNotFoundError):
                if os.stat(self.lock_path).st_ino == os.fstat(fh.fileno()).st_ino:
                    break
        stack.callback(lambda: os.path.exists(self.lock_path) and os.unlink(self.lock_path))

    def _repair(self, retry_errors: bool) -> list[dict]:
        rows, changed = [], False
        if os.path.exists(self.csv_path):
            with open(self.csv_path, encoding="utf-8", newline="") as fh:
                lines = fh.readlines()
            whole = [line for line in lines[1:] if line.endswith("\n")]
            parsed = _rows(whole)
            seen = set()
            for r in parsed:
                key = cell_key(r)
                if key in seen or (retry_errors and r["status"] == "error"):
                    continue
                seen.add(key)
                rows.append(r)
            changed = len(rows) != len(lines) - 1 or (lines and not lines[-1].endswith("\n"))
            if changed:
                atomic_write(self.csv_path, lambda f: f.write(HEADER + "\n" + "".join(_csv_line(r) for r in rows)),
                             overwrite=True)
        keys = {cell_key(r) for r in rows}
        if os.path.exists(self.jsonl_path):
            with open(self.jsonl_path, encoding="utf-8") as fh:
                lines = fh.readlines()
            keep, seen = [], set()
            for line in lines:
                if not line.endswith("\n"):
                    continue  # half a line from a kill
                try:
                    key = _record_key(json.loads(line))
                except ValueError:
                    continue
                if key in keys and key not in seen:  # a record whose row was never written runs again
                    seen.add(key)
                    keep.append(line)
            if len(keep) != len(lines):
                atomic_write(self.jsonl_path, lambda f: f.write("".join(keep)), overwrite=True)
        return rows

    def append(self, row: Mapping, record: Mapping | None) -> None:
        """The JSONL record first, then the CSV row: a kill in between is repaired on the next run."""
        if record is not None:
            _append(self.jsonl_path, json.dumps(record, allow_nan=False) + "\n")
        _append(self.csv_path, _csv_line(row))
