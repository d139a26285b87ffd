"""Expectation maximisation that does not fail: Splink's EM with a retry and floored probabilities.

Splink's EM raises ("m_probability value ... is below the minimum allowed value") when an m
probability underflows: a comparison level that the matches in a training block never show (a sex
that never differs, a descriptive field that always agrees in simulated data) loses a constant
share of its m each iteration until it is smaller than a float can hold. :func:`em_session` then
retrains the block with the m probabilities of every comparison but the names and the birth date
held at their current values, then also one of those in turn; if all fail, the block is skipped and the comparisons keep
what the other blocks taught them. Each fallback is said in a warning. :func:`floor_probabilities`
finally keeps every m and u at or above :data:`PROBABILITY_FLOOR`, so that no single disagreement
can veto a match outright.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from splink import block_on

PROBABILITY_FLOOR = 1e-6
M_FLOOR = 1e-3
CORE_COMPARISONS = ("family_name", "given_name", "birth")
_UNDERFLOW = "below the minimum allowed"


def em_session(linker: Any, rule: Sequence[str], max_pairs: float | None = None) -> list[str]:
    """Train m probabilities by EM on the pairs that agree on ``rule``; warnings for any fallback.

    When EM underflows, the block is retrained with the minor comparisons' m held, then with one
    core comparison's m held as well (each in turn); the first that trains is kept.

    >>> em_session.__name__
    'em_session'
    """
    described = " & ".join(rule)
    if _try_em(linker, rule, max_pairs):
        return []
    names = [c.output_column_name for c in linker._settings_obj.comparisons]
    minor = [name for name in names if name not in CORE_COMPARISONS]
    core = [name for name in names if name in CORE_COMPARISONS]
    for held in ([minor] if minor else []) + [[*minor, name] for name in core]:
        with _m_held(linker, held):
            if _try_em(linker, rule, max_pairs):
                return [
                    f"linkage: EM blocked on {described} drove an m probability to zero (a comparison level the "
                    f"matches never showed); retrained with the m probabilities of {', '.join(held)} held at "
                    "their earlier values"
                ]
    return [
        f"linkage: EM blocked on {described} drove an m probability to zero however it was retrained; that "
        "training block was skipped and its comparisons keep what the other blocks estimated"
    ]


def _try_em(linker: Any, rule: Sequence[str], max_pairs: float | None) -> bool:
    """One EM session; False when it underflowed (the model is then restored as it was before)."""
    settings = linker._settings_obj
    before = settings.core_model_settings.copy()  # a failed session leaves the model half-edited
    try:
        with splink_errors_only():
            linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule), max_pairs=max_pairs)
    except ValueError as err:
        if _UNDERFLOW not in str(err):
            raise
        settings.core_model_settings = before
        return False
    return True


@contextlib.contextmanager
def _m_held(linker: Any, names: Iterable[str]) -> Iterator[None]:
    """Hold the m probabilities of the named comparisons fixed inside the block.

    Splink replaces the model's objects while training, so the levels are looked up again on exit.
    """
    names = set(names)
    held = {(c, level.comparison_vector_value) for c, level in _levels(linker, names) if not level._fix_m_probability}
    for c, level in _levels(linker, names):
        level._fix_m_probability = (c, level.comparison_vector_value) in held or level._fix_m_probability
    try:
        yield
    finally:
        for c, level in _levels(linker, names):
            if (c, level.comparison_vector_value) in held:
                level._fix_m_probability = False


def _levels(linker: Any, names: set[str]) -> Iterator[tuple[str, Any]]:
    for comparison in linker._settings_obj.comparisons:
        if comparison.output_column_name in names:
            for level in comparison.comparison_levels:
                if not level.is_null_level:
                    yield comparison.output_column_name, level


def floor_probabilities(linker: Any, floor: float = PROBABILITY_FLOOR, m_floor: float = M_FLOOR) -> int:
    """Raise every u probability below ``floor`` and every m below ``m_floor`` to it; the number raised.

    >>> floor_probabilities.__name__
    'floor_probabilities'
    """
    raised = 0
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            for name, lowest in (("m_probability", max(floor, m_floor)), ("u_probability", floor)):
                value = getattr(level, name)
                if isinstance(value, float) and value < lowest:
                    setattr(level, name, lowest)
                    raised += 1
    return raised


@contextlib.contextmanager
def splink_errors_only() -> Iterator[None]:
    """EM on a blocked sample routinely leaves some levels unobserved; Splink warns each time."""
    splink_logger = logging.getLogger("splink")
    before = splink_logger.level
    splink_logger.setLevel(max(before, logging.ERROR))
    try:
        yield
    finally:
        splink_logger.setLevel(before)
