"""Memory estimates for the dense models, checked before a model is built.

A dense LP (2) on n points and k candidate centres has n k + k variables and about
(2 + 2a) n k nonzeros (a group attributes); on a 100,000-point set with every point a
candidate that is 10^10 variables, far beyond any machine. Building it anyway ends in a swap
storm or the kernel's OOM killer after minutes, with no message. :func:`check_fits` refuses
such a model up front with the sizes, the estimate, the memory available, and the fix.

Calibration (``resource.getrusage`` peak RSS over a process that had already imported
everything, LP (2) with n = 1,000..5,000 and k = 30..80, LP (16) with 5 measures of 200..400
points on 100..200 support points; HiGHS 1.16, Pyomo 6, CVXPY 1.9, numpy 2):

=====================  =================================  ==========================
path                    measured bytes per entry           constant used here
=====================  =================================  ==========================
direct (highspy)        190 (LP 2), 260 (LP 16)            260
cvxpy (HiGHS)           260 (LP 2), 335 (LP 16)            350
pyomo (HiGHS)           570 (LP 2), 890 (LP 16)            900
+ glpk / cbc            + about 1,100 in the solver process, which reads the LP as text
=====================  =================================  ==========================

An *entry* is a variable, a row or a nonzero of the constraint matrix (variables and
nonzeros dominate). The direct path is far above the 40-60 bytes a nonzero takes in HiGHS's
own matrix because the cost matrix, the scipy CSR/CSC copies, HiGHS's copy of the LP, its
presolved LP and the simplex factor all live at the peak. Matrices solved by GLPK or CBC
go through a generic Pyomo model (about 400 bytes per entry) and an LP file.

The budget is 90% of the memory available now (``MemAvailable`` of ``/proc/meminfo``, capped
by a cgroup limit when there is one; ``os.sysconf`` elsewhere). The environment variable
``FAIROPT_MEMORY_LIMIT`` (bytes; suffixes K, M, G, T allowed) replaces it, to run a model the
check refuses or to test the refusal on small data; a ``memory_limit`` argument wins over both.
"""
from __future__ import annotations

import os

from fairopt.exceptions import ResourceLimitError, ValidationError

__all__ = [
    "BYTES_PER_ENTRY",
    "EXTERNAL_SOLVER_BYTES",
    "ENV_VAR",
    "estimate_lp_size",
    "available_memory",
    "memory_budget",
    "check_fits",
    "check_bytes",
    "format_bytes",
]

#: Peak bytes per variable, row or nonzero, by modelling path (see the module docstring).
BYTES_PER_ENTRY = {"direct": 260, "cvxpy": 350, "pyomo": 900, "direct-via-pyomo": 400}
#: Extra bytes per entry of a solver that runs as a second process on an LP text file.
EXTERNAL_SOLVER_BYTES = 1100
EXTERNAL_SOLVERS = ("glpk", "cbc")
ENV_VAR = "FAIROPT_MEMORY_LIMIT"
USABLE_FRACTION = 0.9

LP2_FIX = ("use method='colgen' (the default with HiGHS), which never builds the dense model, or a smaller "
           "candidate set: candidate_ratio=0.2 or n_candidates=...")
LP16_FIX = ("use method='colgen' (column generation on HiGHS), which never builds the dense model, or fewer "
            "candidates: candidate_ratio=0.2 or n_candidates=...")


def estimate_lp_size(n_vars: int, n_rows: int, nnz: int, path: str = "direct", solver: str = "highs") -> int:
    """Estimated peak bytes to build and solve an LP of the given size on one path.

    Parameters
    ----------
    n_vars, n_rows, nnz : int
        Columns, rows and nonzeros of the constraint matrix.
    path : {"direct", "pyomo", "cvxpy"}
        How the model is built: sparse matrices handed to the solver, a Pyomo model, or a
        CVXPY problem.
    solver : str
        ``"glpk"`` and ``"cbc"`` run as a separate process on an LP file and add
        :data:`EXTERNAL_SOLVER_BYTES` per entry.

    Returns
    -------
    int
        Bytes (see the calibration table in the module docstring).
    """
    if path not in ("direct", "pyomo", "cvxpy"):
        raise ValidationError(f"path must be 'direct', 'pyomo' or 'cvxpy'; got {path!r}")
    external = str(solver).lower() in EXTERNAL_SOLVERS and path != "cvxpy"
    key = "direct-via-pyomo" if external and path == "direct" else path
    per_entry = BYTES_PER_ENTRY[key] + (EXTERNAL_SOLVER_BYTES if external else 0)
    return int((int(n_vars) + int(n_rows) + int(nnz)) * per_entry)


def _cgroup_room() -> int | None:
    """Bytes left under a cgroup v2 memory limit, or None without one."""
    try:
        with open("/sys/fs/cgroup/memory.max") as fh:
            limit = fh.read().strip()
        if limit == "max":
            return None
        with open("/sys/fs/cgroup/memory.current") as fh:
            used = int(fh.read().strip())
        return max(int(limit) - used, 0)
    except (OSError, ValueError):
        return None


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now, or None when it cannot be told.

    ``MemAvailable`` of ``/proc/meminfo`` (Linux), capped by a cgroup v2 limit; elsewhere
    ``os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")``.
    """
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        avail = None
    if avail is None:
        try:
            avail = int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, OSError, ValueError):
            avail = None
    room = _cgroup_room()
    if room is not None:
        avail = room if avail is None else min(avail, room)
    return avail


_SUFFIX = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3,
           "T": 1024**4, "TB": 1024**4}


#: FAIROPT_MEMORY_LIMIT values that switch the check off.
_NO_LIMIT = ("inf", "infinity", "none", "off", "unlimited")


def _parse_bytes(text: str) -> int:
    t = str(text).strip().upper().replace("_", "")
    num = t.rstrip("KMGTB")
    try:
        value = float(num) * _SUFFIX[t[len(num):]]
    except (KeyError, ValueError):
        raise ValidationError(
            f"{ENV_VAR}={text!r} is not a number of bytes; use e.g. {ENV_VAR}=8000000000 or {ENV_VAR}=8G"
        ) from None
    if not 0 < value < 2**63:
        raise ValidationError(f"{ENV_VAR} must be a positive, finite number of bytes (or 'inf' for no limit); got {text!r}")
    return int(value)


def memory_budget(memory_limit: int | None = None) -> tuple[int | None, str]:
    """The bytes a model may take, and where that number comes from.

    ``memory_limit`` if given, else ``$FAIROPT_MEMORY_LIMIT``, else 90% of
    :func:`available_memory` (None when that is unknown: nothing is refused).
    """
    if memory_limit is not None:
        if isinstance(memory_limit, bool) or not isinstance(memory_limit, (int, float)) or not memory_limit > 0:
            raise ValidationError(f"memory_limit must be a positive number of bytes; got {memory_limit!r}")
        return int(memory_limit), "memory_limit"
    env = os.environ.get(ENV_VAR)
    if env is not None and env.strip().lower() in _NO_LIMIT:
        return None, f"${ENV_VAR} (no limit)"
    if env not in (None, ""):
        return _parse_bytes(env), f"${ENV_VAR}"
    avail = available_memory()
    if avail is None:
        return None, "unknown"
    return int(USABLE_FRACTION * avail), f"{int(100 * USABLE_FRACTION)}% of the available memory"


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_bytes(what: str, n_bytes: int, fix: str, memory_limit: int | None = None) -> int:
    """Refuse a computation estimated at ``n_bytes`` that does not fit the memory budget.

    Parameters
    ----------
    what : str
        What would be built, with its sizes (``"LP (2) with 10,000,000 variables ..."``).
    n_bytes : int
        The estimate.
    fix : str
        What to do instead; ends the message.
    memory_limit : int, optional
        Bytes; overrides ``$FAIROPT_MEMORY_LIMIT`` and the available memory.

    Returns
    -------
    int
        ``n_bytes``, when it fits.

    Raises
    ------
    ResourceLimitError
    """
    budget, source = memory_budget(memory_limit)
    if budget is not None and n_bytes > budget:
        raise ResourceLimitError(
            f"{what} would need about {format_bytes(n_bytes)} of memory, but the budget is {format_bytes(budget)} "
            f"({source}); {fix}. (Set {ENV_VAR}=<bytes> to override this check.)"
        )
    return int(n_bytes)


def check_fits(kind: str, n_vars: int, nnz: int, path: str = "direct", n_rows: int = 0, solver: str = "highs",
               fix: str | None = None, memory_limit: int | None = None) -> int:
    """Refuse to build a dense LP whose estimated memory exceeds the budget.

    Parameters
    ----------
    kind : str
        The model's name in the message (``"LP (2)"``, ``"LP (16)"``).
    n_vars, nnz : int
        Variables and nonzeros of the model.
    path : {"direct", "pyomo", "cvxpy"}
    n_rows : int
        Rows of the model.
    solver : str
    fix : str, optional
        What to do instead (default: the column-generation path or a smaller candidate set).
    memory_limit : int, optional
        Bytes; overrides ``$FAIROPT_MEMORY_LIMIT`` and the available memory.

    Returns
    -------
    int
        The estimate in bytes, when it fits.

    Raises
    ------
    ResourceLimitError
        With the sizes, the estimate, the budget and ``fix``.
    """
    estimate = estimate_lp_size(n_vars, n_rows, nnz, path=path, solver=solver)
    what = (f"{kind} with {int(n_vars):,} variables, {int(n_rows):,} rows and {int(nnz):,} nonzeros "
            f"on the {path} path ({solver})")
    return check_bytes(what, estimate, fix or LP2_FIX, memory_limit=memory_limit)
