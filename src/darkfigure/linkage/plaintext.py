"""Probabilistic linkage of plaintext lists with Splink (Fellegi-Sunter), on DuckDB by default.

Every list is mapped to the standard identity fields (:mod:`darkfigure.linkage.fields`); Splink then
deduplicates within and links across the lists (``link_and_dedupe``), trained without labels: the
chance that two records match from a deterministic rule (same family name, given name and birth
year, or names alone without years; taken to find 70% of matches), u by random sampling (seeded),
m by EM on blocking rules chosen so that every comparison is trained (:func:`em_rules`). Scored
pairs are clustered at several thresholds (:mod:`darkfigure.linkage.cluster`).

The database backend is injectable: pass a Splink ``DatabaseAPI`` (``DuckDBAPI``, ``SparkAPI``) or a
function that makes one. Splink logs through the ``splink`` logger; darkfigure keeps it at WARNING and
never prints.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import splink.comparison_level_library as cll
from splink import Linker, SettingsCreator, block_on
from splink.comparison_library import CustomComparison

from darkfigure._timing import StageClock
from darkfigure.errors import InputError, LinkageError
from darkfigure.linkage.cluster import LinkageResult, cluster_at_thresholds
from darkfigure.linkage.fields import CASE_FIELDS, ColumnMapping, identity_frame
from darkfigure.linkage.training import em_session, floor_probabilities

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLDS = (0.5, 0.8, 0.95)
# A blocking rule that would generate more pairs than this (and more than PAIRS_PER_RECORD per
# record) is refined or dropped: it would cost minutes and add almost no true matches.
MAX_PAIRS_PER_RULE = 250_000
PAIRS_PER_RECORD = 20
U_SAMPLE_PAIRS = 2e6
EM_MAX_PAIRS = 1e6
DETERMINISTIC_RECALL = 0.7
_TABLE_NUMBERS = itertools.count()


def link(
    lists: Mapping[str, pd.DataFrame],
    mapping: ColumnMapping | Mapping[str, Mapping[str, Any]],
    *,
    deduplicate: bool = True,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    threshold: float | None = None,
    seed: int = 0,
    db_api: Any = None,
    ignore_fields: Sequence[str] | None = None,
) -> LinkageResult:
    """Deduplicate and link any number of lists; entity ids at each threshold.

    ``mapping`` is a :class:`~darkfigure.linkage.fields.ColumnMapping` or ``{list: {field: column}}``.
    ``threshold`` (default: the middle of ``thresholds``) is the clustering ``records.entity_id``
    follows. ``deduplicate=False`` links across lists only. ``db_api`` is a Splink database API, or a
    function returning one (default: a fresh in-memory DuckDB). ``ignore_fields`` names extra fields
    not to compare; by default the fields that describe the case rather than the person
    (:data:`~darkfigure.linkage.fields.CASE_FIELDS`: event date, place and form of exploitation);
    ``()`` compares every mapped field. ``result.warnings`` says where training had to fall back.

    >>> people = pd.DataFrame({"first": ["Min-ji", "Yong-hui", "Anna"], "last": ["Kim", "Ri", "Berg"],
    ...                        "dob": ["1990-05-04", "1985-01-30", "1979-12-01"]})
    >>> other = pd.DataFrame({"first": ["Minji", "Yeong-hui"], "last": ["Gim", "Lee"],
    ...                       "dob": ["1990-05-04", "1985-01-30"]})
    >>> spec = {"given_name": "first", "family_name": "last", "birth_date": "dob"}
    >>> result = link({"A": people, "B": other}, {"A": spec, "B": spec}, seed=1)
    >>> result.records["entity_id"].tolist()
    [1, 2, 3, 1, 2]
    """
    mapping = mapping if isinstance(mapping, ColumnMapping) else ColumnMapping.from_dict(mapping)
    mapping = mapping.without_extras(CASE_FIELDS if ignore_fields is None else ignore_fields)
    cut_offs, chosen = _thresholds(thresholds, threshold)
    clock = StageClock()
    frame = identity_frame(lists, mapping)
    clock.lap("prepare")
    scored = _score_pairs(frame, _link_type(len(lists), deduplicate), min(cut_offs), seed, db_api, clock)
    clusterings = cluster_at_thresholds(len(frame), scored.pairs, cut_offs)
    clock.lap("cluster")
    return LinkageResult.from_clusterings(
        frame,
        _named_pairs(frame, scored.pairs),
        clusterings,
        chosen,
        model=scored.model,
        blocking_rules=scored.rules,
        timings=clock.laps,
        warnings=scored.warnings,
    )


@dataclass(frozen=True)
class _Scored:
    pairs: pd.DataFrame
    model: dict[str, Any]
    rules: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def _thresholds(thresholds: Sequence[float], threshold: float | None) -> tuple[tuple[float, ...], float]:
    cut_offs = sorted({float(t) for t in thresholds} | ({float(threshold)} if threshold is not None else set()))
    if not cut_offs or not all(0.0 < t <= 1.0 for t in cut_offs):
        raise InputError(f"match probability thresholds must lie in (0, 1]; got {list(thresholds)}, {threshold}")
    chosen = float(threshold) if threshold is not None else sorted(float(t) for t in thresholds)[len(thresholds) // 2]
    return tuple(cut_offs), chosen


def _link_type(n_lists: int, deduplicate: bool) -> str:
    if n_lists == 1:
        if not deduplicate:
            raise InputError("one list can only be deduplicated; give two or more lists or deduplicate=True")
        return "dedupe_only"
    return "link_and_dedupe" if deduplicate else "link_only"


def _score_pairs(
    frame: pd.DataFrame, link_type: str, floor: float, seed: int, db_api: Any, clock: StageClock
) -> _Scored:
    present = _present_columns(frame)
    rules = prediction_rules(frame, present, link_type)
    settings = SettingsCreator(
        link_type=link_type,
        comparisons=default_comparisons(frame, present),
        blocking_rules_to_generate_predictions=[block_on(*r) for r in rules],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    _quiet_splink()
    tables = _register(_database_api(db_api), frame, link_type)
    try:
        linker = Linker(tables, settings, log_level=None)
        clock.lap("prepare")
        warnings = _train(linker, frame, link_type, seed)
        clock.lap("train")
        predicted = linker.inference.predict(threshold_match_probability=floor, warning_mode="never")
        pairs = predicted.as_pandas_dataframe()[["unique_id_l", "unique_id_r", "match_probability", "match_weight"]]
        clock.lap("predict")
        model = linker.misc.save_model_to_json()
    except Exception as err:  # Splink and the database raise many kinds; say where it failed
        raise LinkageError(f"Splink could not link these lists: {err}") from err
    pairs = pairs.astype({"unique_id_l": "int64", "unique_id_r": "int64"})
    return _Scored(pairs, model, tuple(" & ".join(r) for r in rules), tuple(warnings))


def _quiet_splink() -> None:
    splink_logger = logging.getLogger("splink")
    if splink_logger.level < logging.WARNING:  # NOTSET (0) included
        splink_logger.setLevel(logging.WARNING)


def _database_api(db_api: Any) -> Any:
    if db_api is None:
        from splink import DuckDBAPI

        return DuckDBAPI()
    is_factory = isinstance(db_api, type) or (callable(db_api) and not hasattr(db_api, "register"))
    return db_api() if is_factory else db_api


def _register(api: Any, frame: pd.DataFrame, link_type: str) -> list[Any]:
    if link_type == "dedupe_only":
        return [api.register(frame, table_name=f"darkfigure_records_{next(_TABLE_NUMBERS)}")]
    return [
        api.register(
            part.reset_index(drop=True),
            table_name=f"darkfigure_list_{next(_TABLE_NUMBERS)}",
            dataset_display_name=f"list_{i}",
        )
        for i, (_, part) in enumerate(frame.groupby("list", sort=False))
    ]


def _present_columns(frame: pd.DataFrame) -> frozenset[str]:
    return frozenset(c for c in frame.columns if frame[c].notna().any())


# ---------------------------------------------------------------- comparisons
def default_comparisons(frame: pd.DataFrame, present: frozenset[str] | None = None) -> list[CustomComparison]:
    """Splink comparisons for person records, for the fields some list has.

    Names: same Hangul (when both have it), then on the romanisation keys exact, family and given
    swapped, exact on the coarse key, Levenshtein 1, Jaro-Winkler 0.9 and 0.8. Birth date
    exact, day and month swapped, one character off, same year, year within 1 and 3; sex; place of
    origin; each extra field as text.

    >>> frame = pd.DataFrame({"family_key": ["kim"], "given_key": ["minji"], "birth_year": [1990]})
    >>> [c.create_output_column_name() for c in default_comparisons(frame)]
    ['family_name', 'given_name', 'birth']
    """
    present = _present_columns(frame) if present is None else present
    comparisons = [_name_comparison(part, present) for part in ("family", "given") if f"{part}_key" in present]
    if "birth_year" in present:
        comparisons.append(_birth_comparison(present))
    if "sex" in present:
        comparisons.append(CustomComparison([cll.NullLevel("sex"), cll.ExactMatchLevel("sex"), cll.ElseLevel()], "sex"))
    if "place_key" in present:
        comparisons.append(_text_comparison("place_key", "place"))
    comparisons += [_text_comparison(c, c) for c in sorted(present) if c.startswith("x_")]
    if not comparisons:
        raise InputError("no list has any identity field filled in; linkage needs names, birth dates or places")
    return comparisons


def _name_comparison(part: str, present: frozenset[str]) -> CustomComparison:
    key, other = f"{part}_key", "given_key" if part == "family" else "family_key"
    levels = [cll.NullLevel(key), cll.ExactMatchLevel(key, term_frequency_adjustments=True)]
    if other in present:
        levels.append(cll.CustomLevel(f"{key}_l = {other}_r AND {other}_l = {key}_r", "family and given swapped"))
    levels += [
        cll.ExactMatchLevel(f"{part}_coarse").configure(label_for_charts="same coarse romanisation key"),
        cll.LevenshteinLevel(key, 1),
        cll.JaroWinklerLevel(key, 0.9),
        cll.JaroWinklerLevel(key, 0.8),
        cll.ElseLevel(),
    ]
    return CustomComparison(levels, f"{part}_name")


def _text_comparison(column: str, name: str) -> CustomComparison:
    levels = [cll.NullLevel(column), cll.ExactMatchLevel(column), cll.LevenshteinLevel(column, 1)]
    return CustomComparison([*levels, cll.JaroWinklerLevel(column, 0.88), cll.ElseLevel()], name)


def _birth_comparison(present: frozenset[str]) -> CustomComparison:
    levels: list[Any] = [cll.NullLevel("birth_year")]
    if "birth_date" in present:
        levels += [
            cll.ExactMatchLevel("birth_date"),
            cll.CustomLevel(
                "birth_year_l = birth_year_r AND birth_month_l = birth_day_r AND birth_day_l = birth_month_r",
                "day and month swapped",
            ),
            cll.LevenshteinLevel("birth_date", 1),
        ]
    if "birth_date" in present:  # a year is all one can agree on when one record has no full date
        one_year_only = "(birth_date_l IS NULL OR birth_date_r IS NULL)"
        levels += [
            cll.CustomLevel(f"birth_year_l = birth_year_r AND {one_year_only}", "same year, one has the year only"),
            cll.CustomLevel(
                f"abs(birth_year_l - birth_year_r) <= 1 AND {one_year_only}", "year within 1, one has the year only"
            ),
        ]
    levels += [
        cll.CustomLevel("birth_year_l = birth_year_r", "same year"),
        cll.CustomLevel("abs(birth_year_l - birth_year_r) <= 1", "year within 1"),
        cll.CustomLevel("abs(birth_year_l - birth_year_r) <= 3", "year within 3"),
        cll.ElseLevel(),
    ]
    return CustomComparison(levels, "birth")


# ---------------------------------------------------------------- blocking and training
def prediction_rules(
    frame: pd.DataFrame, present: frozenset[str] | None = None, link_type: str = "link_and_dedupe"
) -> list[tuple[str, ...]]:
    """Blocking rules (tuples of columns that must agree) that keep the pairs to score manageable.

    Each candidate comes with finer fallbacks: family and given name; family name and birth year
    (or with the given name's first three letters too); given name alone (or with the birth year: alone,
    it finds the pairs with no family name and no usable year); birth date (or with the
    given name's first three letters); each extra field (or with the birth year). The first form that
    generates at most ``max(MAX_PAIRS_PER_RULE, PAIRS_PER_RECORD * records)`` pairs is used; a
    candidate with no such form is dropped (logged).

    >>> frame = pd.DataFrame({"list": ["A", "B"], "family_key": ["kim", "kim"], "given_key": ["minji", "minji"]})
    >>> prediction_rules(frame)
    [('family_coarse', 'given_coarse'), ('given_coarse',)]
    """
    present = _present_columns(frame) if present is None else present
    candidates = [
        [("family_coarse", "given_coarse")],
        [("family_coarse", "birth_year"), ("family_coarse", "birth_year", "given_prefix")],
        [("given_coarse",), ("given_coarse", "birth_year")],
        [("birth_date",), ("birth_date", "given_prefix")],
        *[[(c,), (c, "birth_year")] for c in sorted(present) if c.startswith("x_")],
    ]
    usable = [[r for r in forms if all(_has(present, c) for c in r)] for forms in candidates]
    rules = [rule for forms in usable if (rule := _affordable(frame, forms, link_type))]
    if not rules:
        raise InputError(
            "no fields to block on: map family and given name, a birth date, or an extra field, in some list"
        )
    return rules


def _has(present: frozenset[str], column: str) -> bool:
    return column in present or column.replace("coarse", "key") in present


def _affordable(frame: pd.DataFrame, forms: list[tuple[str, ...]], link_type: str) -> tuple[str, ...] | None:
    cap = max(MAX_PAIRS_PER_RULE, PAIRS_PER_RECORD * len(frame))
    for rule in forms:
        pairs = count_pairs(frame, rule, link_type)
        if pairs <= cap:
            return rule
        logger.info("blocking on %s would score %s pairs (over %s)", " & ".join(rule), f"{pairs:,}", f"{cap:,}")
    return None


def count_pairs(frame: pd.DataFrame, columns: Sequence[str], link_type: str = "link_and_dedupe") -> int:
    """Record pairs agreeing on all ``columns`` (none missing): the pairs a blocking rule generates.

    >>> frame = pd.DataFrame({"list": ["A", "A", "B"], "k": ["x", "x", "x"]})
    >>> count_pairs(frame, ["k"]), count_pairs(frame, ["k"], "link_only")
    (3, 2)
    """
    cols = [_blocking_column(frame, c) for c in columns]
    keyed = pd.concat([*cols, frame["list"]], axis=1).dropna()
    sizes = keyed.groupby(list(keyed.columns[:-1]), sort=False).size().to_numpy()
    total = int((sizes * (sizes - 1) // 2).sum())
    if link_type == "link_only":
        within = keyed.groupby(list(keyed.columns), sort=False).size().to_numpy()
        total -= int((within * (within - 1) // 2).sum())
    return total


def _blocking_column(frame: pd.DataFrame, column: str) -> pd.Series:
    if column in frame.columns:
        return frame[column].rename(column)
    return frame[column.replace("coarse", "key")].rename(column)


def _train(linker: Linker, frame: pd.DataFrame, link_type: str, seed: int) -> list[str]:
    training, present = linker.training, _present_columns(frame)
    for deterministic in (("family_key", "given_key", "birth_year"), ("family_key", "given_key")):
        if set(deterministic) <= present and count_pairs(frame, deterministic, link_type) > 0:
            training.estimate_probability_two_random_records_match([block_on(*deterministic)], DETERMINISTIC_RECALL)
            break
    training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=seed)
    warnings = []
    for rule in em_rules(present):
        pairs = count_pairs(frame, rule, link_type)
        if pairs == 0:  # nothing to learn from; the comparisons keep Splink's starting values
            logger.info("no record pairs agree on %s; EM on it skipped", " & ".join(rule))
            continue
        warnings += em_session(linker, rule, EM_MAX_PAIRS if pairs > EM_MAX_PAIRS else None)
    floor_probabilities(linker)
    return warnings


# EM blocking rules in order of preference: names block to train the others; family name and birth year
# train the given name; given name and birth year the family name (year, not date, so that lists with
# years only take part). The later ones serve lists without some of these fields.
_EM_CANDIDATES = (
    ("family_coarse", "given_coarse"),
    ("family_coarse", "birth_year"),
    ("given_coarse", "birth_year"),
    ("birth_date",),
    ("family_coarse", "given_prefix"),
    ("given_coarse",),
    ("birth_year", "place_key"),
    ("birth_year", "sex"),
)


def em_rules(present: frozenset[str]) -> list[tuple[str, ...]]:
    """Blocking rules for EM, chosen so that every comparison is trained on pairs from every list.

    A rule trains the comparisons that use none of its columns; candidates are taken in order of
    preference while they train something not yet trained.

    >>> em_rules(frozenset({"family_key", "given_key", "birth_year"}))
    [('family_coarse', 'given_coarse'), ('family_coarse', 'birth_year'), ('given_coarse', 'birth_year')]
    >>> em_rules(frozenset({"family_key", "given_key", "given_prefix"}))
    [('family_coarse', 'given_prefix'), ('given_coarse',)]
    """
    uses = _comparison_columns(present)
    rules, trained = [], set()
    for rule in _EM_CANDIDATES:
        if not all(_has(present, c) for c in rule):
            continue
        trains = {name for name, columns in uses.items() if not columns & set(rule)}
        if trains - trained:
            rules.append(rule)
            trained |= trains
    if not rules:
        raise LinkageError(
            "cannot train the linkage model: map at least two identity fields (say family and given name, "
            "or a name and a birth date) in the lists"
        )
    return rules


def _comparison_columns(present: frozenset[str]) -> dict[str, set[str]]:
    """The columns each default comparison reads (as Splink sees them when it picks what EM trains)."""
    uses = {
        "family_name": {"family_key", "family_coarse", "family_hangul", "given_key"},
        "given_name": {"given_key", "given_coarse", "given_hangul", "family_key"},
        "birth": {"birth_year", "birth_date", "birth_month", "birth_day"},
        "sex": {"sex"},
        "place": {"place_key"},
    }
    needs = {"family_name": "family_key", "given_name": "given_key", "birth": "birth_year", "place": "place_key"}
    out = {name: cols for name, cols in uses.items() if needs.get(name, name) in present}
    return out | {c: {c} for c in present if c.startswith("x_")}


def _named_pairs(frame: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    ids = frame.set_index("unique_id")[["list", "record_id"]]
    left = ids.loc[pairs["unique_id_l"]].reset_index(drop=True).add_suffix("_l")
    right = ids.loc[pairs["unique_id_r"]].reset_index(drop=True).add_suffix("_r")
    scores = pairs.reset_index(drop=True)
    out = pd.concat([left, right, scores], axis=1)
    return out.sort_values("match_probability", ascending=False, kind="stable").reset_index(drop=True)
