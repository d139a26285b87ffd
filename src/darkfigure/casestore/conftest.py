"""Doctest collection: Alembic's env.py runs only inside Alembic, so it is not imported here."""

collect_ignore = ["migrations/env.py"]
