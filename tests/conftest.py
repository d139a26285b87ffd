"""Shared fixtures: the reference data of ../shared/reference/mse, a seed, and three tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from darkfigure.histories import CaptureHistories

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference" / "mse"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The folder with REFERENCE.md and the reference tables (skips when it is not there)."""
    if not (REFERENCE_DIR / "REFERENCE.md").exists():
        pytest.skip(f"reference data not found at {REFERENCE_DIR}")
    return REFERENCE_DIR


@pytest.fixture
def seed() -> int:
    """One seed for every randomised test: the same numbers on every run and machine."""
    return 20130601


@pytest.fixture(scope="session")
def uk6(reference_dir: Path) -> CaptureHistories:
    return CaptureHistories.read_csv(reference_dir / "uk2013_6lists.csv")


@pytest.fixture(scope="session")
def uk5(reference_dir: Path) -> CaptureHistories:
    return CaptureHistories.read_csv(reference_dir / "uk2013_5lists.csv")


@pytest.fixture(scope="session")
def artificial(reference_dir: Path) -> CaptureHistories:
    return CaptureHistories.read_csv(reference_dir / "artificial_3lists.csv")


@pytest.fixture
def erase_on_next_read(monkeypatch):
    """``erase_on_next_read(store)``: the store's next case reads see the case, then have it erased before
    the write goes on (as a PostgreSQL transaction sees an erasure committed in between)."""
    from sqlalchemy import delete

    from darkfigure.casestore.models import cases

    def arrange(store) -> None:
        read = store._case_row

        def read_then_erase(conn, actor, code):
            row = read(conn, actor, code)
            conn.execute(delete(cases).where(cases.c.id == row.id))
            return row

        monkeypatch.setattr(store, "_case_row", read_then_erase)

    return arrange
