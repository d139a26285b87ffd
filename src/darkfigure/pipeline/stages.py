"""The stages of a run, each a small function: read, link, histories, estimates, linkage
sensitivity, strata. The run (:mod:`darkfigure.pipeline.runner`) calls them in order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkfigure.errors import EstimationError, InputError
from darkfigure.estimation import Estimate, StrataEstimate, combine_estimates, estimate, estimate_strata, split_strata
from darkfigure.histories import CaptureHistories
from darkfigure.linkage import ColumnMapping, LinkageResult, ListMapping, link, read_lists, read_mapping
from darkfigure.pipeline.config import RunConfig
from darkfigure.pipeline.mapping import (
    aligned_to_encoded,
    check_encoded_names,
    read_encoded_lists,
    stratum_fields,
    stratum_values,
)
from darkfigure.report import InputFile, file_sha256

logger = logging.getLogger(__name__)

LABELS = {"stepwise": "Stepwise", "bic": "BIC", "aic": "AIC", "fixed": "Fixed model", "closed": "Closed models",
          "homeoffice": "Home Office", "lcmcr": "LCMCR", "dga": "DGA"}
NOT_RECORDED = "(not recorded)"
HEADLINE_RHAT = 1.1  # a method whose chains disagree more than this does not lead the report


@dataclass(frozen=True)
class Inputs:
    """The mapping, every list's records (as text) and a description of each input file."""

    mapping: ColumnMapping
    lists: Mapping[str, pd.DataFrame]
    files: tuple[InputFile, ...]
    encoded: Mapping[str, Any] = field(default_factory=dict)


def read_inputs(config: RunConfig) -> Inputs:
    """Read the mapping and every list it names; check the strata the config asks for."""
    if config.encoded:
        return read_encoded_inputs(config)
    mapping = read_mapping(config.mapping)
    check_strata(config, mapping)
    lists = read_lists(mapping)
    for name, frame in lists.items():
        entry = mapping.lists[name]
        if len(frame) == 0:
            raise InputError(f"list {name!r} is empty: it has no records; remove it from the mapping or fill it",
                             source=entry.where)
        for stratum in config.strata:
            stratum_values(frame, entry, stratum)  # a mapped column missing fails here, before linkage
    base = config.mapping.parent if config.source is None else Path(config.source).parent
    files = tuple(InputFile(name, _shown_path(entry.file, base), file_sha256(entry.file), len(lists[name]))
                  for name, entry in mapping.lists.items() if entry.file is not None)
    return Inputs(mapping, lists, files)


def _shown_path(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def check_strata(config: RunConfig, mapping: ColumnMapping) -> None:
    """Every stratum must be a field some list maps (the error names the config key)."""
    known = stratum_fields(mapping)
    for stratum in config.strata:
        if stratum not in known:
            raise InputError(
                f"key 'estimation.strata': no list maps the field {stratum!r}; fields mapped: "
                f"{', '.join(sorted(known))}. Map it in {mapping.source} or choose another", source=config.source)


def read_encoded_inputs(config: RunConfig) -> Inputs:
    """Encoded lists (``linkage.encoded``); with strata, also the mapping's strata files, each list's
    rows put in the order of its encoded records by record id. When the config names a mapping file
    that exists, the encoded lists must be the lists it names (none missing, none extra)."""
    encoded = read_encoded_lists(config.encoded)
    given = read_mapping(config.mapping) if config.mapping.is_file() else None  # a folder unless the user named one
    if given is not None:
        check_encoded_names(list(encoded), given, config.encoded)
    base = Path(config.source).parent if config.source is not None else config.encoded[0].parent
    files = tuple(InputFile(name, _shown_path(path, base), file_sha256(path), e.n_records)
                  for path, (name, e) in zip(config.encoded, encoded.items(), strict=True))
    if not config.strata:
        lists = {name: pd.DataFrame({"record_id": e.record_ids}) for name, e in encoded.items()}
        mapping = ColumnMapping({name: ListMapping(name, {}) for name in encoded}, str(config.encoded[0].parent))
        return Inputs(mapping, lists, files, encoded)
    if given is None:
        raise InputError("key 'estimation.strata': encoded lists carry no strata; add mapping = \"...\" naming, "
                         "per list, a file with the record id and the stratum columns", source=config.source)
    mapping = given
    check_strata(config, mapping)
    plain = read_lists(mapping)
    missing = sorted(set(encoded) - set(plain))
    if missing:
        raise InputError(f"the mapping has no strata file for the encoded lists {missing}", source=mapping.source)
    lists = {name: aligned_to_encoded(plain[name], mapping.lists[name], e.record_ids) for name, e in encoded.items()}
    return Inputs(mapping, lists, files, encoded)


def link_records(config: RunConfig, inputs: Inputs) -> LinkageResult:
    """Deduplicate and link the lists, with one clustering per threshold; the fields in
    ``linkage.ignore_fields`` are not compared. Encoded lists are linked on their encodings."""
    if inputs.encoded:
        from darkfigure.pprl.match import link_encoded

        return link_encoded(list(inputs.encoded.values()), thresholds=config.thresholds, threshold=config.threshold,
                            seed=config.seed, one_to_one=config.one_to_one)
    mapping = compared_fields(inputs.mapping, config.ignore_fields)
    return link(inputs.lists, mapping, thresholds=config.thresholds, threshold=config.threshold, seed=config.seed,
                ignore_fields=config.ignore_fields)


def compared_fields(mapping: ColumnMapping, ignored: Sequence[str]) -> ColumnMapping:
    """The mapping without the ignored extra fields (identity fields are always compared).

    >>> m = ColumnMapping.from_dict({"A": {"given_name": "g", "extra": {"event_date": "d", "phone": "p"}}})
    >>> compared_fields(m, ["event_date"]).lists["A"].extras
    {'phone': 'p'}
    """
    lists = {name: replace(entry, extras={f: c for f, c in entry.extras.items() if f not in ignored})
             for name, entry in mapping.lists.items()}
    return ColumnMapping(lists, mapping.source)


def histories_by_threshold(linkage: LinkageResult) -> dict[float, CaptureHistories]:
    """Capture histories of the entities of each clustering, lists in the mapping's order."""
    order = list(dict.fromkeys(linkage.records["list"]))
    out = {}
    for threshold in linkage.thresholds:
        frame = pd.DataFrame({"entity_id": linkage.entity_ids(threshold), "list": linkage.records["list"]})
        wide = pd.crosstab(frame["entity_id"], frame["list"]).reindex(columns=order, fill_value=0)
        out[threshold] = CaptureHistories.from_counts((wide.to_numpy() > 0).astype(np.int64), np.ones(len(wide)),
                                                      lists=order)
    return out


def estimate_methods(
    histories: CaptureHistories, config: RunConfig, methods: Sequence[str]
) -> tuple[dict[str, Estimate], list[str]]:
    """Every method's estimate; a method that cannot estimate these data gives a warning instead."""
    estimates, warnings = {}, []
    for method in methods:
        try:
            estimates[method] = estimate(histories, method, **config.settings_for(method))
        except EstimationError as err:
            warnings.append(f"{LABELS[method]} could not estimate N from these lists: {err}")
    return estimates, warnings


def chains_disagree(e: Estimate) -> bool:
    """Whether an estimate's MCMC chains disagree: R-hat of N above :data:`HEADLINE_RHAT`.

    >>> e = Estimate("lcmcr", ("A", "B", "C"), 10, 20.0, "K=10", diagnostics={"rhat": 1.44})
    >>> chains_disagree(e), chains_disagree(Estimate("stepwise", ("A", "B"), 10, 20.0, "[]"))
    (True, False)
    """
    rhat = (e.diagnostics or {}).get("rhat")
    return rhat is not None and bool(rhat > HEADLINE_RHAT)


def choose_headline(estimates: Mapping[str, Estimate]) -> tuple[str, str]:
    """The method that leads the report, and why: the first method, unless its chains disagree
    (R-hat above 1.1); then the next method without that fault. When none is free of it, the first
    stays, and the reason says so. ``estimates`` is in the order of ``estimation.methods``.

    >>> bad = Estimate("lcmcr", ("A", "B", "C"), 10, 20.0, "K=10", diagnostics={"rhat": 1.44})
    >>> choose_headline({"lcmcr": bad, "stepwise": Estimate("stepwise", ("A", "B", "C"), 10, 15.0, "[]")})[0]
    'stepwise'
    """
    order = list(estimates)
    first = order[0]
    if not chains_disagree(estimates[first]):
        return first, "the first method in estimation.methods"
    problem = (f"the chains of {LABELS[first]}, the first method, disagree (R-hat of N "
               f"{estimates[first].diagnostics['rhat']:.2f}, above {HEADLINE_RHAT})")
    for method in order[1:]:
        if not chains_disagree(estimates[method]):
            return method, f"{problem}, so the headline is {LABELS[method]}, the next method whose chains do not"
    return first, f"{problem}, and no other method's estimate is free of that fault; treat it with caution"


def linkage_sensitivity(
    by_threshold: Mapping[float, CaptureHistories], config: RunConfig, main: Mapping[str, Estimate]
) -> tuple[pd.DataFrame, dict[str, Estimate], list[str]]:
    """Each sensitivity method at every threshold, side by side, and combined over the thresholds
    (verdata's rule) when the method gives draws or bootstrap replicates."""
    rows, combined, warnings = [], {}, []
    for method in config.sensitivity_methods:
        found = {}
        for threshold, histories in by_threshold.items():
            if threshold == config.threshold and method in main:
                found[threshold] = main[method]
                continue
            got, notes = estimate_methods(histories, config, [method])
            warnings += [f"at linkage threshold {threshold:g}: {n}" for n in notes]
            if method in got:
                found[threshold] = got[method]
        rows += [_sensitivity_row(t, by_threshold[t].n_observed, method, e) for t, e in found.items()]
        if len(found) > 1 and all(e.replicates is not None and len(e.replicates) > 1 for e in found.values()):
            combined[method] = combine_estimates(list(found.values()), level=config.level)
            rows.append(_sensitivity_row("combined", None, method, combined[method]))
    frame = pd.DataFrame(rows, columns=["threshold", "n_entities", "method", "estimate", "lower", "upper"])
    return frame.astype({"n_entities": "Int64"}), combined, warnings


def _sensitivity_row(threshold: float | str, n: int | None, method: str, e: Estimate) -> dict[str, object]:
    iv = e.interval
    return {"threshold": threshold, "n_entities": n, "method": LABELS[method], "estimate": e.estimate,
            "lower": iv.lower if iv else None, "upper": iv.upper if iv else None}


# ------------------------------------------------------------------ strata
def entity_table(linkage: LinkageResult, inputs: Inputs, strata: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """One row per entity (main clustering): ``entity_id``, each stratum's value and a 0/1 column
    per list. An entity takes the most frequent value among its records (ties: the first in sorted
    order); one with no value gets ``(not recorded)``."""
    records = linkage.records.copy()
    for stratum in strata:
        parts = [stratum_values(inputs.lists[name].reset_index(drop=True), inputs.mapping.lists[name], stratum)
                 for name in dict.fromkeys(records["list"])]
        records[stratum] = _in_record_order(records, parts)
    wide = pd.crosstab(records["entity_id"], records["list"]).reindex(columns=list(inputs.lists), fill_value=0)
    table = (wide > 0).astype(np.int64)
    warnings = []
    for stratum in strata:
        value = most_frequent(records["entity_id"], records[stratum]).reindex(table.index)
        missing = int(value.isna().sum())
        if missing:
            warnings.append(f"{missing:,} of {len(value):,} people have no {stratum} on any record; they form the "
                            f"stratum {NOT_RECORDED!r}")
        table.insert(len(table.columns) - len(inputs.lists), stratum, value.fillna(NOT_RECORDED).to_numpy())
    return table.reset_index(), warnings


def _in_record_order(records: pd.DataFrame, parts: list[pd.Series]) -> np.ndarray:
    """Stack the lists' values; ``records`` holds each list's records in file order, list by list."""
    by_list = dict(zip(dict.fromkeys(records["list"]), parts, strict=True))
    out = np.empty(len(records), dtype=object)
    for name, rows in records.groupby("list", sort=False).indices.items():
        values = by_list[name].to_numpy(dtype=object)
        if len(values) != len(rows):  # linkage keeps every record, in file order
            raise AssertionError(f"list {name!r}: {len(rows)} linked records but {len(values)} in the file")
        out[rows] = np.where(pd.isna(values), None, values)
    return out


def most_frequent(entity: pd.Series, values: pd.Series) -> pd.Series:
    """Per entity, its most frequent non-missing value (ties: the first in sorted order).

    >>> most_frequent(pd.Series([1, 1, 1, 2, 3]), pd.Series(["b", "a", "b", None, "z"])).to_dict()
    {1: 'b', 2: None, 3: 'z'}
    """
    frame = pd.DataFrame({"entity": entity.to_numpy(), "value": values.to_numpy(dtype=object)})
    counts = frame.dropna().value_counts().reset_index(name="n")
    counts = counts.sort_values(["entity", "n", "value"], ascending=[True, False, True], kind="stable")
    best = counts.drop_duplicates("entity").set_index("entity")["value"]
    best = best.reindex(pd.unique(frame["entity"])).astype(object)
    return best.where(best.notna(), None)


def estimate_by_strata(entities: pd.DataFrame, config: RunConfig) -> StrataEstimate:
    """Each stratum estimated on its own with the strata method, and the total."""
    columns = list(config.strata)
    parts = split_strata(entities.drop(columns="entity_id"), columns)
    method = config.stratum_method
    return estimate_strata(parts, columns, method, config.settings_for(method))
