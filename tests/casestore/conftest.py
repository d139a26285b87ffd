"""A case store on SQLite (a file in tmp_path) and, when DARKFIGURE_TEST_POSTGRES_URL is set, PostgreSQL
(a fresh schema per test, dropped afterwards)."""

from __future__ import annotations

import os
import secrets

import pytest

from darkfigure.casestore import FAST_TEST_HASHER, KeyRing, open_store

POSTGRES_URL = os.environ.get("DARKFIGURE_TEST_POSTGRES_URL")


def _postgres_schema_url(schema: str) -> str:
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request, tmp_path):
    """A database URL for each backend (postgres skipped when its variable is unset)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("DARKFIGURE_TEST_POSTGRES_URL is not set")
    from sqlalchemy import create_engine, text

    schema = f"cs_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield _postgres_schema_url(schema)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def ring():
    return KeyRing.generate()


@pytest.fixture
def store(backend, ring):
    s = open_store(backend, ring, password_hasher=FAST_TEST_HASHER)
    yield s
    s.close()


@pytest.fixture
def people(store):
    """Two organisations; a caseworker, an analyst and an administrator in the first, a caseworker in the second."""
    shelter = store.create_organisation("Shelter", "NGO")
    police = store.create_organisation("Police", "LawEnforcement")
    return {
        "admin": store.create_user(shelter, "admin", "admin password 1", "administrator"),
        "kim": store.create_user(shelter, "kim", "kim password 12", "caseworker"),
        "ana": store.create_user(shelter, "ana", "ana password 12", "analyst"),
        "lee": store.create_user(police, "lee", "lee password 12", "caseworker"),
    }
