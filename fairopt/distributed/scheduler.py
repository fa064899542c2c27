"""Reaching a Dask scheduler: addresses checked up front, and a bounded wait for the answer.

``Client("tcp://host:port")`` on a port where something other than Dask listens waits for a
handshake that never comes (over 450 s measured, its own ``timeout`` does not cover it). So the
address is checked first (form, scheme, an open port), and the connection is made in a helper
thread that the caller waits for at most ``timeout`` seconds: a scheduler that does not answer
in that time is a clear :class:`~fairopt.exceptions.ValidationError`.

Only ``tcp://`` (or a bare ``host:port``) is accepted as text: ``tls://`` needs certificates
(pass a connected ``dask.distributed.Client`` built with your ``Security`` instead), and
``inproc://`` addresses live inside one process (pass the ``LocalCluster`` object).
"""
from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from fairopt.exceptions import ValidationError

__all__ = ["check_dask", "parse_address", "connect", "connected", "DEFAULT_TIMEOUT"]

#: Seconds to wait for a scheduler's answer.
DEFAULT_TIMEOUT = 20.0


def check_dask() -> None:
    """ImportError naming the extra when dask.distributed is missing (before any file is created)."""
    try:
        import dask.distributed  # noqa: F401  (optional dependency: fairopt[dist])
    except ImportError:
        raise ImportError("experiment grids run on Dask: pip install 'fairopt[dist]'") from None


def parse_address(address: str) -> tuple[str, int]:
    """(host, port) of ``tcp://host:port`` or ``host:port``; ValidationError otherwise."""
    text = str(address).strip()
    if "://" not in text:
        text = "tcp://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "tls":
        raise ValidationError(
            f"scheduler {address!r}: tls:// needs certificates, which fairopt does not configure; from Python pass "
            "scheduler=Client(address, security=Security(...)), or use a tcp:// address"
        )
    if scheme != "tcp":
        raise ValidationError(f"scheduler {address!r}: only tcp://HOST:PORT addresses are supported (got {scheme}://); "
                              "from Python you may pass a LocalCluster or a connected Client instead")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or not 0 < port < 65536 or parts.path not in ("", "/"):
        raise ValidationError(f"scheduler {address!r} is not of the form tcp://HOST:PORT (e.g. tcp://127.0.0.1:8786)")
    return parts.hostname, port


def connect(scheduler: Any, timeout: float = DEFAULT_TIMEOUT):
    """A ``dask.distributed.Client`` for an address or a cluster object, within ``timeout`` seconds.

    Returns (client, owned): ``owned`` is False when ``scheduler`` already was a Client (the
    caller must not close it).
    """
    from dask.distributed import Client  # optional dependency (fairopt[dist])

    if isinstance(scheduler, Client):
        return scheduler, False
    address = getattr(scheduler, "scheduler_address", None)
    if address is None:
        if not isinstance(scheduler, str):
            raise ValidationError(f"scheduler must be an address such as 'tcp://host:8786', a LocalCluster or a "
                                  f"Client; got {type(scheduler).__name__}")
        host, port = parse_address(scheduler)
        try:
            socket.create_connection((host, port), timeout=min(timeout, 10.0)).close()
        except OSError as exc:
            raise ValidationError(f"no Dask scheduler answers at {scheduler!r}: {exc.strerror or exc}; start one with "
                                  "`dask scheduler` or leave --scheduler out for a local cluster") from None
        address = f"tcp://{host}:{port}"
    box: dict = {}

    def target():
        try:
            box["client"] = Client(address, timeout=timeout)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name="fairopt-dask-connect", daemon=True)
    worker.start()
    worker.join(timeout + 1.0)
    if worker.is_alive():
        raise ValidationError(f"the scheduler at {address!r} did not answer as a Dask scheduler within {timeout:g} s; "
                              "is that port a Dask scheduler (`dask scheduler` prints its address)?")
    if "error" in box:
        exc = box["error"]
        raise ValidationError(f"could not connect to the Dask scheduler at {address!r}: {type(exc).__name__}: {exc}") from None
    return box["client"], True


@contextmanager
def connected(scheduler: Any, timeout: float = DEFAULT_TIMEOUT):
    """:func:`connect` as a context: the client, closed on exit unless the caller passed it in."""
    client, owned = connect(scheduler, timeout)
    try:
        yield client
    finally:
        if owned:
            client.close()
