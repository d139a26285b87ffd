"""Alembic migrations of the case store (run by darkfigure.casestore.service.open_store)."""
