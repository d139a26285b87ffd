"""Parameter validation with scikit-learn style messages."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np

from darkfigure.errors import InputError


def check_int(owner: str, name: str, value: Any, low: int = 0) -> int:
    """An int of at least ``low``, or an InputError in scikit-learn's words.

    >>> check_int("Stepwise", "nboot", 10)
    10
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise InputError(
            f"The {name!r} parameter of {owner} must be an int in the range [{low}, inf). Got {value!r} instead."
        )
    return int(value)


def check_real(owner: str, name: str, value: Any, low: float, high: float, *, open_low: bool = False) -> float:
    """A finite float in the range, or an InputError in scikit-learn's words.

    >>> check_real("Stepwise", "level", 0.95, 0, 1, open_low=True)
    0.95
    """
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))
    ok = ok and (value > low if open_low else value >= low) and value <= high
    if not ok:
        bracket = "(" if open_low else "["
        raise InputError(
            f"The {name!r} parameter of {owner} must be a float in the range {bracket}{low}, {high}]. "
            f"Got {value!r} instead."
        )
    return float(value)


def check_level(owner: str, value: Any) -> float:
    """A confidence level strictly between 0 and 1.

    >>> check_level("Stepwise", 0.8)
    0.8
    """
    ok = isinstance(value, Real) and not isinstance(value, bool) and 0.0 < float(value) < 1.0
    if not ok:
        raise InputError(
            f"The 'level' parameter of {owner} must be a float in the range (0, 1), like 0.95. Got {value!r} instead."
        )
    return float(value)


def make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A NumPy generator from a seed, a generator (used as is) or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0):
        raise InputError(f"The 'seed' parameter must be a non-negative int or None. Got {seed!r} instead.")
    return np.random.default_rng(seed)


MAX_LOGLINEAR_LISTS = 15  # 2**15 cells; beyond that the design matrices outgrow memory


def check_lists(owner: str, n_lists: int, most: int = MAX_LOGLINEAR_LISTS) -> None:
    """Refuse more lists than a method supports, saying what to do instead.

    >>> check_lists("Stepwise", 16)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    darkfigure.errors.InputError: Stepwise supports at most 15 lists; the table has 16. Merge...
    """
    if n_lists > most:
        raise InputError(
            f"{owner} supports at most {most} lists; the table has {n_lists}. "
            "Merge lists that work together or omit some."
        )
