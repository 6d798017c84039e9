"""Imports every table module so the shared MetaData is complete (for Alembic autogenerate)."""

from fakeai.store import cassettes_table, tables  # noqa: F401

# Table modules register themselves here as they are added.
from fakeai.store import files, responses  # noqa: F401,E402
from fakeai.store import images  # noqa: F401,E402
