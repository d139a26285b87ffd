"""``darkfigure release``: safe aggregates of a run, published all or nothing.

A release reads a report folder written by ``darkfigure run`` and publishes only aggregates: the
headline N with its interval, the capture-history table and the prevalence table by a category
(such as the form of exploitation), after small-cell suppression and, by default, differential
privacy. Record-level data (``entities.csv``, ``links.csv``) never leave the run folder.

With differential privacy on, one query touches the people: the table of capture patterns within
each category (each person is counted in exactly one cell). It is released with noise once; every
published number (the documented counts, the capture-history table, N and the shares) is computed
from the noisy table, so the whole release spends ``epsilon`` once from the dataset's ledger.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkfigure._atomic import check_output_folder, swap_in_folder
from darkfigure.errors import InputError, PrivacyBudgetExceeded
from darkfigure.estimation.api import METHODS
from darkfigure.estimation.results import json_ready
from darkfigure.histories import CaptureHistories
from darkfigure.publish.config import ReleaseConfig, load_release_config, parse_release_config
from darkfigure.publish.tables import StratumTables, published_tables

__all__ = ["EXACT_BANNER", "Release", "ReleaseConfig", "RunFolder", "dataset_name", "headline_method",
           "load_release_config", "parse_release_config", "prepare_release", "release_run", "run_method_settings"]

RUN_FILES = ("estimates.json", "entities.csv", "histories.csv")
TABLE_FILES = {"capture_histories": "capture_histories.csv", "prevalence": "prevalence.csv"}
RELEASE_FILES = ("publication.html", "publication.pdf", "release.json", *TABLE_FILES.values())
LEDGER_NAME = "privacy_ledger.json"
PARALLEL_FROM = 5000  # people; below this the strata are estimated in this process
NOT_A_LIST = ("entity_id", "count")
EXACT_BANNER = "exact counts: for internal circulation only, not for publication"
# the settings a run's report describes that the estimators take (darkfigure.estimation.api.make_estimator)
METHOD_SETTING_NAMES = ("p_threshold", "max_order", "chains", "classes", "burnin", "samples", "thinning")
NO_CATEGORIES_NOTE = ("the run has no strata and none were named, so there is no prevalence table; run with "
                      "strata = [\"exploitation_form\"] (or give --categories) to get one")


# ------------------------------------------------------------------ the run folder
@dataclass(frozen=True, eq=False)
class RunFolder:
    """What a release reads from a run's report folder: its estimates, its entity table (one row
    per person: stratum values and 0/1 per list; never published) and the SHA-256 of each file read.

    >>> RunFolder.read(Path(tempfile.mkdtemp()))
    Traceback (most recent call last):
    ...
    darkfigure.errors.InputError: ...: not a run folder: estimates.json, entities.csv, histories.csv missing; ...
    """

    path: Path
    estimates: Mapping[str, Any]
    entities: pd.DataFrame
    lists: tuple[str, ...]
    hashes: Mapping[str, str]

    @classmethod
    def read(cls, path: str | Path) -> RunFolder:
        """Read and check a run folder."""
        path = Path(path)
        missing = [name for name in RUN_FILES if not (path / name).is_file()]
        if missing:
            raise InputError(f"not a run folder: {', '.join(missing)} missing; give the folder `darkfigure run` "
                             "wrote (with estimates.json, entities.csv and histories.csv)", source=str(path))
        estimates = _read_json(path / "estimates.json")
        entities = _read_entities(path / "entities.csv")
        lists = tuple(CaptureHistories.read_csv(path / "histories.csv").lists)
        absent = [name for name in lists if name not in entities.columns]
        if absent:
            raise InputError(f"entities.csv lacks the list column(s) {', '.join(absent)} that histories.csv has; "
                             "the run folder is incomplete: run `darkfigure run` again", source=str(path))
        hashes = {name: hashlib.sha256((path / name).read_bytes()).hexdigest() for name in RUN_FILES}
        return cls(path, estimates, entities, lists, hashes)

    @property
    def stratum_columns(self) -> tuple[str, ...]:
        """The columns of entities.csv that are neither the entity id nor a list."""
        return tuple(c for c in self.entities.columns if c not in (*self.lists, *NOT_A_LIST))

    def histories(self) -> CaptureHistories:
        """The capture histories of all entities (the run's main linkage)."""
        return CaptureHistories.from_entities(self.entities[list(self.lists)], lists=self.lists)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"cannot read the run's estimates ({err}); run `darkfigure run` again",
                         source=str(path)) from None
    if not isinstance(data, dict) or not isinstance(data.get("estimates"), list):
        raise InputError("expected the estimates.json of `darkfigure run` (an object with 'estimates')",
                         source=str(path))
    return data


def _read_entities(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(f"cannot read the entity table ({err})", source=str(path)) from None
    return frame


# ------------------------------------------------------------------ what is released
@dataclass(frozen=True, eq=False)
class Release:
    """A release, ready to write: the headline, the published tables (after suppression and noise,
    suppressed cells empty), what was suppressed and why, the privacy parameters, and what it came
    from (hashes and versions). Holds no record-level data.

    >>> Release.__dataclass_fields__["tables"].type
    'Mapping[str, pd.DataFrame]'
    """

    title: str
    created: str
    dataset: str
    config: ReleaseConfig
    headline: Mapping[str, Any]
    tables: Mapping[str, pd.DataFrame]
    suppressed: tuple[Mapping[str, Any], ...]
    privacy: Mapping[str, Any]
    method: Mapping[str, Any]
    categories: tuple[str, ...]
    inputs: Mapping[str, Any]
    versions: Mapping[str, str]
    notes: tuple[str, ...] = ()
    ledger_entry: Mapping[str, Any] | None = None

    def table_files(self) -> dict[str, str]:
        """The CSV file name of each published table."""
        return {name: f"{name}.csv" for name in self.tables}

    def to_dict(self) -> dict[str, Any]:
        """What was released, JSON-ready (``release.json``): every published table, the privacy
        parameters and ledger entry, the suppressions and their reasons, input hashes and versions."""
        tables = {name: _records(frame) for name, frame in self.tables.items()}
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in self.config.__dict__.items()
                  if k not in ("source", "ledger", "seed")}
        return json_ready({
            "title": self.title, "created": self.created, "dataset": self.dataset, "headline": dict(self.headline),
            "tables": tables, "files": self.table_files(), "suppressed": [dict(s) for s in self.suppressed],
            "privacy": dict(self.privacy), "ledger_entry": self.ledger_entry, "estimation": dict(self.method),
            "categories": list(self.categories), "settings": config, "inputs": dict(self.inputs),
            "versions": dict(self.versions), "notes": list(self.notes),
            **({} if self.privacy.get("dp") else {"notice": EXACT_BANNER}),
        })


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object)
    return out.where(out.notna(), None).to_dict(orient="records")


def prepare_release(run: RunFolder, config: ReleaseConfig, *, dataset: str | None = None) -> Release:
    """Compute everything a release publishes from a run folder; nothing is written or spent.

    >>> prepare_release(RunFolder.read("report"), ReleaseConfig(nboot=50))  # doctest: +SKIP
    """
    from darkfigure.report import environment_versions

    categories = _categories(run, config)
    method = _estimation(run, config)
    parts = _stratum_tables(run, categories)
    noise: dict[str, Any] = {}
    if config.dp:
        parts, noise = _with_noise(parts, run.lists, config)
    overall = _overall(parts, run.lists)
    headline = _headline(run, overall, config, headline_method(run, config), noise)
    strata = _strata_estimate(parts, categories, method) if categories else None
    tables, suppressed = published_tables(overall, parts, strata, config)
    return Release(
        title=config.title or f"Publication: {run.estimates.get('title', 'darkfigure run')}",
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        dataset=dataset or config.dataset or dataset_name(run),
        config=config, headline=headline, tables=tables, suppressed=tuple(suppressed),
        privacy=_privacy(config, noise), method=method, categories=categories,
        inputs=_inputs(run), versions=_versions({**environment_versions(), **_release_versions()}),
        notes=(() if categories else (NO_CATEGORIES_NOTE,)) + ((EXACT_BANNER,) if not config.dp else ()),
    )


def dataset_name(run: RunFolder) -> str:
    """The ledger's name for the people behind a run: a fingerprint of its input lists' hashes, so
    every run and release of the same lists spends from one budget (``dataset`` overrides it).

    >>> run = RunFolder(Path("r"), {"inputs": [{"name": "A", "sha256": "ab"}]}, pd.DataFrame(), (), {})
    >>> dataset_name(run)
    'lists-fb8e20fc2e4c3f24'
    """
    inputs = sorted(str(f.get("sha256", "")) for f in run.estimates.get("inputs", []) if isinstance(f, Mapping))
    blob = "\n".join(inputs) if inputs else run.hashes.get("entities.csv", "")
    return "lists-" + hashlib.sha256(blob.encode()).hexdigest()[:16]


def _categories(run: RunFolder, config: ReleaseConfig) -> tuple[str, ...]:
    available = run.stratum_columns
    if config.categories is None:
        return available
    missing = [c for c in config.categories if c not in available]
    if missing:
        have = ", ".join(available) if available else "none (the run had no strata)"
        raise InputError(f"categories {', '.join(missing)} are not in the run's entity table; the run's strata are "
                         f"{have}: name one of those, or rerun with strata = [...] in the run config",
                         source=config.source or "--categories")
    return tuple(config.categories)


def _estimation(run: RunFolder, config: ReleaseConfig) -> dict[str, Any]:
    """The method and settings the strata (and, with noise, N) are estimated with."""
    method = config.method or _run_strata_method(run)
    settings: dict[str, Any] = {"level": config.level, "seed": config.seed if config.seed is not None
                                else int(run.estimates.get("seed") or 0)}
    if method in ("stepwise", "bic", "aic", "fixed"):
        settings["nboot"] = config.nboot
    return {"method": method, "settings": settings}


def _run_strata_method(run: RunFolder) -> str:
    described = str(run.estimates.get("settings", {}).get("strata", ""))
    for method in METHODS:
        if f"(estimated with {method})" in described:
            return method
    first = [e.get("method") for e in run.estimates.get("estimates", []) if e.get("method") in METHODS]
    return "stepwise" if not first or first[0] in ("lcmcr", "dga") else str(first[0])


def headline_method(run: RunFolder, config: ReleaseConfig) -> dict[str, Any]:
    """The method N is published with: ``--method``, else the method of the run's headline (first)
    estimate, in both modes; with the run's settings for it (``nboot`` from the release), and the
    run's estimate it corresponds to (``run_row``; None when the run has no estimate by that method).

    >>> run = RunFolder(Path("r"), {"seed": 3, "settings": {"lcmcr settings": "chains 4, burnin 500"},
    ...                             "estimates": [{"label": "LCMCR", "method": "lcmcr"}]}, pd.DataFrame(), (), {})
    >>> m = headline_method(run, ReleaseConfig())
    >>> m["method"], m["settings"], m["run_row"]["label"]
    ('lcmcr', {'level': 0.95, 'seed': 3, 'chains': 4, 'burnin': 500}, 'LCMCR')
    """
    rows = [e for e in run.estimates.get("estimates", []) if isinstance(e, Mapping) and e.get("method") in METHODS]
    method = config.method or (str(rows[0]["method"]) if rows else _run_strata_method(run))
    row = next((e for e in rows if e.get("method") == method), None)
    settings: dict[str, Any] = {"level": config.level, "seed": config.seed if config.seed is not None
                                else int(run.estimates.get("seed") or 0)}
    settings |= run_method_settings(run.estimates.get("settings", {}).get(f"{method} settings", ""))
    if method in ("stepwise", "bic", "aic", "fixed"):
        settings["nboot"] = config.nboot
    if method == "fixed" and row is not None and row.get("model"):
        settings["model"] = str(row["model"])
    return {"method": method, "settings": settings, "run_row": dict(row) if row is not None else None}


def run_method_settings(described: str) -> dict[str, Any]:
    """A method's settings as the run's report describes them ("chains 4, burnin 10,000": whole numbers
    with thousands separators), as numbers; ``nboot`` is left to the release.

    >>> run_method_settings("nboot 1000, p_threshold 0.02")
    {'p_threshold': 0.02}
    >>> run_method_settings("chains 4, classes 10, burnin 10,000, samples 1,000, thinning 100")
    {'chains': 4, 'classes': 10, 'burnin': 10000, 'samples': 1000, 'thinning': 100}
    >>> run_method_settings("none")
    {}
    """
    settings: dict[str, Any] = {}
    for name, value in re.findall(r"([a-z_]+) (-?\d[\d,]*(?:\.\d+)?(?:e-?\d+)?)", str(described)):
        if name not in METHOD_SETTING_NAMES:
            continue
        number = value.rstrip(",").replace(",", "")
        settings[name] = float(number) if any(c in number for c in ".e") else int(number)
    return settings


def _versions(versions: Mapping[str, str]) -> dict[str, str]:
    """Python's and the packages' versions; not the machine's platform string (it names the kernel)."""
    return {name: v for name, v in versions.items() if name != "platform"}


def _stratum_tables(run: RunFolder, categories: tuple[str, ...]) -> StratumTables:
    from darkfigure.estimation.strata import split_strata

    frame = run.entities[[*run.lists, *categories]].copy()
    for name in run.lists:
        frame[name] = pd.to_numeric(frame[name], errors="coerce")
    if not categories:
        return [((), CaptureHistories.from_entities(frame, lists=run.lists, source=str(run.path / "entities.csv")))]
    return split_strata(frame, list(categories), source=str(run.path / "entities.csv"))


def _overall(parts: StratumTables, lists: tuple[str, ...]) -> CaptureHistories:
    total = np.sum([h.counts for _, h in parts], axis=0).astype(np.int64)
    return parts[0][1].with_counts(total) if parts else CaptureHistories.from_counts([], [], lists=list(lists))


def _release_versions() -> dict[str, str]:
    from darkfigure.report import environment_versions

    return environment_versions(["opendp", "weasyprint"])


def _inputs(run: RunFolder) -> dict[str, Any]:
    lists = [{"name": f.get("name"), "sha256": f.get("sha256")} for f in run.estimates.get("inputs", [])
             if isinstance(f, Mapping)]
    return {"run_folder_files": dict(run.hashes), "lists": lists, "run_created": run.estimates.get("created"),
            "run_seed": run.estimates.get("seed")}


# ------------------------------------------------------------------ the headline
def _headline(run: RunFolder, overall: CaptureHistories, config: ReleaseConfig, method: Mapping[str, Any],
              noise: Mapping[str, Any]) -> dict[str, Any]:
    """N with its interval by the headline method (:func:`headline_method`): without noise the run's
    own estimate by that method; with noise the same method again on the noisy table."""
    row = method["run_row"]
    source = {"run_label": row.get("label") if row else None, "run_method": method["method"]}
    if config.dp:
        noisy = _noisy_headline(overall, config, method, noise)
        if noisy.get("method") != method["method"]:  # a fallback: it stands for the run's estimate by that method
            used = next((e for e in run.estimates.get("estimates", []) if e.get("method") == noisy.get("method")), {})
            source = {"run_label": used.get("label"), "run_method": noisy.get("method")}
        return {**noisy, **source}
    if row is None:
        first = next(iter(run.estimates.get("estimates", [])), None)
        if first is None:
            return {"estimate": None, "n_observed": overall.n_observed, "source": "the run made no estimate"}
        note = f"the run has no {method['method']} estimate; its headline estimate ({first.get('label')}) is shown"
        return {**_exact_headline(run, first, overall), "note": note, "run_label": first.get("label"),
                "run_method": first.get("method")}
    return {**_exact_headline(run, row, overall), **source}


def _exact_headline(run: RunFolder, row: Mapping[str, Any], overall: CaptureHistories) -> dict[str, Any]:
    iv = row.get("interval") or {}
    return {"label": row.get("label"), "method": row.get("method"), "model": row.get("model"),
            "n_observed": int(row.get("n_observed", overall.n_observed)), "estimate": row.get("estimate"),
            "lower": iv.get("lower"), "upper": iv.get("upper"), "level": iv.get("level"), "kind": iv.get("kind"),
            "source": "the run's estimate (estimates.json), exact counts",
            "rows": [{k: row.get(k) for k in ("label", "estimate", "intervals", "n_observed", "model")}]}


def _strata_estimate(parts: StratumTables, categories: tuple[str, ...],
                     method: Mapping[str, Any]) -> Any:
    from darkfigure.estimation.strata import estimate_strata

    small = sum(h.n_observed for _, h in parts) < PARALLEL_FROM  # starting processes costs more than it saves
    return estimate_strata(parts, list(categories), method["method"], dict(method["settings"]),
                           workers=1 if small else None)


# ------------------------------------------------------------------ writing, all or nothing
def release_run(run_folder: str | Path, out: str | Path, config: ReleaseConfig | None = None, *,
                force: bool = False) -> Release:
    """Release a run folder into ``out``: publication.html and .pdf, release.json and the published
    tables as CSV, all or nothing. With noise on, the release spends ``config.epsilon`` from the
    dataset's ledger and is refused (PrivacyBudgetExceeded, nothing written) when too little is left.

    >>> release_run("report", "publication", ReleaseConfig(nboot=100))  # doctest: +SKIP
    """
    from darkfigure.publish.report import publication_html, write_pdf

    config = config or ReleaseConfig()
    out, run = Path(out), RunFolder.read(run_folder)
    check_output_folder(out, force, _not_a_release, "darkfigure release")
    dataset = config.dataset or dataset_name(run)
    ledger = _ledger(run, config) if config.dp else None
    if ledger is not None:
        _check_budget(ledger, dataset, config)
    staging = _staging(out)
    try:
        release = prepare_release(run, config, dataset=dataset)
        if ledger is not None:
            left = ledger.remaining(dataset)[0]
            release = replace(release, privacy={**release.privacy, "budget": ledger.budget(dataset)[0],
                                                "spent_before": ledger.budget(dataset)[0] - left,
                                                "remaining": left - config.epsilon})
        _write_tables(release, staging)
        html = publication_html(release)
        (staging / "publication.html").write_text(html, encoding="utf-8")
        write_pdf(html, staging / "publication.pdf")
        if ledger is not None:  # last, so a failure above spends nothing; a failure below spends without publishing
            entry = ledger.spend(dataset, config.epsilon, config.delta, purpose=f"darkfigure release {out.name}")
            release = replace(release, ledger_entry={"dataset": dataset, **entry})
        (staging / "release.json").write_text(json.dumps(release.to_dict(), indent=2, ensure_ascii=False,
                                                         allow_nan=False) + "\n", encoding="utf-8")
        staging.chmod(0o755)
        check_output_folder(out, force, _not_a_release, "darkfigure release")
        swap_in_folder(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return release


def _not_a_release(entries: list[str]) -> str | None:
    foreign = [e for e in entries if e not in RELEASE_FILES and not (e.startswith("prevalence_") and
                                                                     e.endswith(".csv"))]
    if foreign:
        return f"it has {foreign[0]!r}"
    return None if "release.json" in entries else "it has no release.json"


def _staging(out: Path) -> Path:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    except OSError as err:
        raise InputError(f"cannot create the output folder ({err.strerror})", source=str(out)) from None


def _write_tables(release: Release, folder: Path) -> None:
    for name, file in release.table_files().items():
        release.tables[name].to_csv(folder / file, index=False, lineterminator="\n")


# ------------------------------------------------------------------ privacy (darkfigure.publish.privacy)
def _ledger(run: RunFolder, config: ReleaseConfig) -> Any:
    from darkfigure.publish.privacy import PrivacyLedger

    path = config.ledger or run.path.resolve().parent / LEDGER_NAME
    return PrivacyLedger(path, config.budget, config.delta_budget)


def _check_budget(ledger: Any, dataset: str, config: ReleaseConfig) -> None:
    left_epsilon, left_delta = ledger.remaining(dataset)
    if config.epsilon > left_epsilon + 1e-9 or config.delta > left_delta + 1e-15:
        budget, delta_budget = ledger.budget(dataset)
        delta = f" and delta = {config.delta:g} (of {left_delta:g} left)" if config.delta else ""
        if left_epsilon <= 1e-9 or (config.delta > 0 and left_delta <= 1e-15):
            spent = "epsilon" if left_epsilon <= 1e-9 else "delta"
            raise PrivacyBudgetExceeded(
                f"the {spent} budget of dataset {dataset} is spent (epsilon budget {budget:g}, delta budget "
                f"{delta_budget:g}; ledger {ledger.path}): no further release with noise is possible, and nothing "
                "was written. Hand out the earlier publication again; new figures need new data")
        raise PrivacyBudgetExceeded(
            f"this release would spend epsilon = {config.epsilon:g}{delta} on dataset {dataset}, but only "
            f"{max(left_epsilon, 0):g} of its epsilon budget of {budget:g} is left (ledger {ledger.path}); nothing "
            "was written. Hand out the earlier publication again instead of a new release, or lower --epsilon")


def _with_noise(parts: StratumTables, lists: tuple[str, ...],
                config: ReleaseConfig) -> tuple[StratumTables, dict[str, Any]]:
    """Each stratum's capture-history table with noise. The strata hold different people, so noise
    with ``epsilon`` on each spends ``epsilon`` once (parallel composition)."""
    from darkfigure.publish.privacy import noisy_histories

    delta = config.delta if config.mechanism == "gaussian" else None
    noisy = [(key, noisy_histories(h, config.epsilon, config.mechanism, delta)) for key, h in parts]
    law = noisy[0][1].noise
    return [(key, n.histories) for key, n in noisy], {"noisy": [n for _, n in noisy], "noise_scale": law.scale,
                                                       "noise_sd": law.noise_sd, "margin_95": law.margin(0.95)}


def _noisy_headline(overall: CaptureHistories, config: ReleaseConfig, method: Mapping[str, Any],
                    noise: Mapping[str, Any]) -> dict[str, Any]:
    """N estimated on the noisy table, its interval widened by the spread of N over fresh noise draws
    (``darkfigure.publish.privacy.noise_uncertainty``; with strata, their noise summed cell by cell).
    When the headline method cannot run on the noisy table, stepwise is tried and the note says so."""
    from darkfigure.errors import DarkfigureError

    name, settings = method["method"], dict(method["settings"])
    try:
        return _noisy_estimate(overall, config, name, settings, noise)
    except DarkfigureError as exc:
        failure = f"{name} could not be estimated on the noisy table ({exc})"
    if name != "stepwise":
        fallback = {"level": settings["level"], "seed": settings["seed"], "nboot": config.nboot}
        try:
            return {**_noisy_estimate(overall, config, "stepwise", fallback, noise),
                    "note": f"{failure}; N was estimated with stepwise instead"}
        except DarkfigureError as exc:
            failure += f", nor with stepwise ({exc})"
    return {"label": f"{name}, on the noisy table", "method": name, "n_observed": overall.n_observed,
            "level": settings["level"], "estimate": None, "source": "estimated again on the table with noise",
            "note": f"N could not be estimated: {failure}"}


def _noisy_estimate(overall: CaptureHistories, config: ReleaseConfig, name: str, settings: dict[str, Any],
                    noise: Mapping[str, Any]) -> dict[str, Any]:
    from darkfigure.publish.privacy import noise_uncertainty

    settings = dict(settings)
    level, seed = settings.pop("level"), settings.pop("seed")
    if len(noise["noisy"]) == 1:
        extra = noise_uncertainty(noise["noisy"][0], name, {**settings, "seed": seed}, draws=config.noise_draws,
                                  seed=seed, level=level)
    else:
        extra = _summed_noise_uncertainty(overall, noise["noisy"], name, {**settings, "seed": seed}, config)
    own = extra.estimate.interval
    label = f"{name}, on the noisy table"
    row = {"label": label, "estimate": extra.estimate.estimate, "n_observed": overall.n_observed,
           "model": extra.estimate.model, "intervals": [
               {"kind": "with noise", "level": level, "lower": extra.lower, "upper": extra.upper},
               *([{"kind": f"data alone ({own.kind})", "level": level, "lower": own.lower, "upper": own.upper}]
                 if own else [])]}
    return {"label": label, "method": name, "n_observed": overall.n_observed, "level": level,
            "source": "estimated again on the table with noise", "estimate": extra.estimate.estimate,
            "model": extra.estimate.model, "lower": extra.lower, "upper": extra.upper, "kind": "with noise",
            "noise_sd": extra.sd, "noise_draws": len(extra.draws), "sampling_lower": own.lower if own else None,
            "sampling_upper": own.upper if own else None, "sampling_kind": own.kind if own else None, "rows": [row]}


def _summed_noise_uncertainty(overall: CaptureHistories, noisy: list[Any], method: str, settings: dict[str, Any],
                              config: ReleaseConfig) -> Any:
    """As ``noise_uncertainty``, for a table that adds up strata noised one by one: each re-noising
    draws every stratum's noise afresh and adds them up."""
    from darkfigure.estimation.api import BOOTSTRAP_METHODS, estimate
    from darkfigure.publish.privacy import NoiseUncertainty, simulate_noise

    base = estimate(overall, method, **settings, level=config.level)
    quick = {**settings, "nboot": 0} if method in BOOTSTRAP_METHODS else settings
    seed = int(settings.get("seed") or 0)
    shape = (config.noise_draws, len(overall.counts))
    total = sum(simulate_noise(n.noise.mechanism, n.noise.scale, shape, seed + i) for i, n in enumerate(noisy))
    draws = np.array([estimate(overall.with_counts(np.maximum(overall.counts + e, 0)), method, **quick,
                               level=config.level).estimate for e in total])
    centre = float(np.median(draws))
    below, above = np.quantile(draws, [(1 - config.level) / 2, (1 + config.level) / 2]) - centre
    iv = base.interval
    lower = base.estimate - math.hypot(base.estimate - iv.lower if iv else 0.0, float(below))
    upper = base.estimate + math.hypot(iv.upper - base.estimate if iv else 0.0, float(above))
    return NoiseUncertainty(base, draws, float(np.std(draws, ddof=1)), lower, upper, config.level)


def _privacy(config: ReleaseConfig, noise: Mapping[str, Any]) -> dict[str, Any]:
    if not config.dp:
        return {"dp": False, "notice": EXACT_BANNER}
    return {"dp": True, "mechanism": config.mechanism, "epsilon": config.epsilon, "delta": config.delta,
            "noise_scale": noise.get("noise_scale"), "noise_sd_per_cell": noise.get("noise_sd"),
            "noise_within_95": noise.get("margin_95"), "noised_table": "capture pattern within each category",
            "budget": config.budget, "delta_budget": config.delta_budget}
