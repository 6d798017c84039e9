"""Imports every table module so the shared MetaData is complete (for Alembic autogenerate)."""

from fakeai.store import tables  # noqa: F401

# Table modules register themselves here as they are added, e.g.:
# from fakeai.store import resources, cassettes  # noqa: F401
