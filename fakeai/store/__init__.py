"""Persistence: the only package that imports SQLAlchemy.

One SQLite file (or any SQLAlchemy async URL) holds uploaded files, generated images, stored
responses and cassettes. The schema is owned by the Alembic scripts in ``migrations/``.
"""

from fakeai.store.engine import Database, upgrade_database

__all__ = ["Database", "upgrade_database"]
