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
