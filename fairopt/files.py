"""Output files: the one atomic-write helper, stale temporary files, and an exclusive lock.

Every file fairopt writes (``fairopt.export``, ``results.write_json``, ``plot.save_figure``, the
CLI's ``--json``/``--plot``/``--export-lp``, grid tables rewritten on resume) goes through
:func:`atomic_write`: a temporary file in the target folder, then ``os.replace``. The file is
whole or absent, an existing file is replaced only when asked, and the mode is the one a plain
``open()`` would give (0666 minus the umask; ``mkstemp``'s 0600 is corrected).

Temporary files are named ``.fairopt-<pid>-<random>.tmp<ext>`` (the extension last, for writers
that choose the format by it); one whose process no longer
runs (killed by SIGKILL, power loss) is removed the next time fairopt writes into that folder.

This module sits at the bottom of the package (it imports only :mod:`fairopt.exceptions`), so
the solver layer can use it too.
"""
from __future__ import annotations

import glob
import os
import re
import tempfile
from collections.abc import Callable
from contextlib import contextmanager, suppress
from typing import Any

from fairopt.exceptions import ValidationError

__all__ = ["atomic_write", "file_mode", "clean_stale_temporaries", "exclusive_lock", "TMP_PREFIX"]

TMP_PREFIX = ".fairopt-"
_TMP_NAME = re.compile(r"^\.fairopt-(\d+)-[^/]*\.tmp(\.\w+)?$")


class MissingFolderError(ValidationError, FileNotFoundError):
    """The folder of an output file does not exist (a bad input and a missing file at once)."""


def file_mode() -> int:
    """0666 minus the process umask: the mode ``open(path, "w")`` gives a new file."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:  # Linux: read without changing it
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: the only portable way to read it is to set it
    os.umask(mask)
    return 0o666 & ~mask


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's process, or no way to tell: keep its file
    return True


def clean_stale_temporaries(folder: str) -> list[str]:
    """Remove fairopt's temporary files in ``folder`` whose writing process has ended."""
    removed = []
    for path in glob.glob(os.path.join(glob.escape(folder), TMP_PREFIX + "*.tmp*")):
        m = _TMP_NAME.match(os.path.basename(path))
        if m and not _alive(int(m.group(1))):
            with suppress(OSError):
                os.unlink(path)
                removed.append(path)
    return removed


def check_target(path: str, overwrite: bool = False, what: str = "output") -> str:
    """Refuse a folder, a missing parent folder, or an existing file (unless ``overwrite``)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValidationError(f"{what} {path!r} is a folder; give a file name")
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise MissingFolderError(f"the folder of {path!r} does not exist; create {folder!r} first")
    return folder


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], overwrite: bool = False,
                 binary: bool = False, by_name: bool = False) -> str:
    """Create ``path`` whole or not at all, with the user's normal file mode.

    ``write`` fills a temporary file in the same folder (so the final ``os.replace`` is a
    rename within one file system, which is atomic); any exception, KeyboardInterrupt and
    SIGTERM (through the CLI's handler) included, removes the temporary file and leaves
    ``path`` as it was.

    Parameters
    ----------
    path : str or path-like
    write : callable
        Called once with the open temporary file (text UTF-8, or binary when ``binary``), or
        with its name when ``by_name`` (for writers that open files themselves).
    overwrite : bool
        An existing ``path`` is only replaced when True (FileExistsError otherwise).
    binary : bool
    by_name : bool

    Returns
    -------
    str
        The path written.
    """
    path = os.fspath(path)
    folder = check_target(path, overwrite)
    clean_stale_temporaries(folder)
    ext = os.path.splitext(path)[1]
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=".tmp" + ext, dir=folder)
        os.fchmod(fd, file_mode())  # mkstemp makes 0600 files; a result file is an ordinary file
        if by_name:
            os.close(fd)
            write(tmp)
        else:
            with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")) as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
        if by_name:
            os.chmod(tmp, file_mode())  # some writers recreate the file
        if not overwrite and os.path.lexists(path):  # appeared meanwhile: never replace it unasked
            raise FileExistsError(f"{path} appeared while it was being written; nothing replaced")
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
    return path


@contextmanager
def exclusive_lock(fh, what: str):
    """Hold an exclusive, non-blocking lock on an open file; a second holder is refused at once.

    The lock is advisory (``fcntl.flock``) and released when the file closes, also when the
    process is killed. Where ``fcntl`` does not exist (Windows) no lock is taken.
    """
    try:
        import fcntl  # POSIX only; absent on Windows
    except ImportError:
        yield
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ValidationError(f"{what} is being written by another fairopt run (locked); wait for it to finish "
                              "or choose another output") from None
    try:
        yield
    finally:
        with suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
