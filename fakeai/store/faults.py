"""``is_unavailable``: whether an exception means the database cannot be reached right now.

Apart from ``engine`` so that the API's catch-all error handler can ask without importing SQLAlchemy:
a synthetic server that never touched the store cannot be holding one of SQLAlchemy's exceptions, so
its classes are looked up in ``sys.modules`` instead of imported.
"""

from __future__ import annotations

import errno
import socket
import sys

__all__ = ["is_unavailable"]

_CONNECTION_ERRNOS = {
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH, errno.ENETUNREACH,
    errno.ETIMEDOUT, errno.EPIPE,
}  # fmt: skip
_ASYNCPG_UNAVAILABLE = (
    "PostgresConnectionError",  # 08xxx
    "CannotConnectNowError",  # 57P03: starting up / shutting down
    "AdminShutdownError",  # 57P01: terminated by a shutdown
    "CrashShutdownError",
    "TooManyConnectionsError",  # 53300
    "ConnectionDoesNotExistError",  # the connection was closed under the query
    "InterfaceError",
)


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) means the database cannot be reached right now —
    refused, reset, restarting, out of connections, timed out — rather than a bug: the request
    that needed it gets a retryable 503 instead of a 500."""
    sa_exc = sys.modules.get("sqlalchemy.exc")  # None: SQLAlchemy never loaded, so none of its errors
    timeouts: tuple[type[BaseException], ...] = (TimeoutError, socket.gaierror, ConnectionError)
    if sa_exc is not None:
        timeouts += (sa_exc.TimeoutError,)
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, timeouts):
            return True
        if isinstance(current, OSError) and (
            current.errno in _CONNECTION_ERRNOS or "Multiple exceptions" in str(current)
        ):
            return True
        if sa_exc is not None and isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if type(current).__module__.startswith("asyncpg") and any(
            cls.__name__ in _ASYNCPG_UNAVAILABLE for cls in type(current).__mro__
        ):
            return True
        pending.extend((getattr(current, "orig", None), current.__cause__, current.__context__))
    return False
