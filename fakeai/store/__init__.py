"""Persistence: the only package that imports SQLAlchemy.

One SQLite file (or any SQLAlchemy async URL) holds uploaded files, generated images, stored
responses and cassettes. The schema is owned by the Alembic scripts in ``migrations/``.

Importing this package does not import SQLAlchemy: ``Database`` and ``upgrade_database`` come from
modules that load it only when an engine is made or a migration runs (see ``database``, ``upgrade``),
so a synthetic server starts without it.
"""

from fakeai.store.database import Database
from fakeai.store.upgrade import upgrade_database

__all__ = ["Database", "upgrade_database"]
