"""Choose a hierarchical log-linear model by BIC or AIC over the whole model space.

As MultipleSystemsEstimation's ``estimate_population_bic`` (``assemble_bic``): every hierarchical
model with interactions up to ``max_order`` is checked (SparseMSE's ``checkident``) and fitted with
the extended MLE; a model whose MLE does not exist or is not identifiable gets no value and takes
no part in the choice (MSE drops it with ``na.omit``; here it stays in the table with its code).
Empty overlaps are fixed at minus infinity and still counted as parameters, and BIC uses the
number of cases seen: ``BIC = -2 loglik + parameters log(n)``, ``AIC = -2 loglik + 2 parameters``.

When the model space is too large to enumerate (six lists with three-way terms: 3,702,013 models)
the choice is made by downhill search, as MSE's ``downhill_fit``: from a start, move to the best
neighbour (one term added or one maximal term dropped) while that improves the criterion. Several
starts are tried: independence, all pairs, and the best model with pairs only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from darkfigure.errors import EstimationError, InputError
from darkfigure.estimation import _batch
from darkfigure.estimation.existence import MESSAGES, check_counts
from darkfigure.estimation.hierarchy import (
    count_models,
    interaction_terms,
    model_space,
    neighbours,
)
from darkfigure.estimation.loglinear import LoglinearFit, fit_counts, fit_model
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.histories import CaptureHistories

CRITERIA = ("bic", "aic")
SEARCHES = ("auto", "exhaustive", "downhill")
DEFAULT_EXHAUSTIVE_LIMIT = 50_000
NOT_CONVERGED = _batch.NOT_CONVERGED
CODE_MEANINGS = {**MESSAGES, NOT_CONVERGED: "the fit did not converge"}
COLUMNS = ["model", "N", "se", "deviance", "df", "parameters", "AIC", "BIC", "code", "order", "empty"]


@dataclass(frozen=True)
class ModelChoice:
    """The outcome of a model choice by BIC or AIC.

    ``table`` has one row per model considered, best first: ``model``, ``N``, ``se``, ``deviance``,
    ``df``, ``parameters``, ``AIC``, ``BIC``, ``code`` (0 usable; 1 the MLE does not exist; 2 not
    identifiable; 3 both; -2 the fit did not converge), ``order`` (highest interaction) and
    ``empty`` (terms fixed at minus infinity). Models with a nonzero code come last, without values.
    ``search`` says how the models were found: ``exhaustive``, ``downhill`` or ``given``.
    """

    criterion: str
    search: str
    max_order: int | None
    best: LoglinearFit
    table: pd.DataFrame = field(repr=False)
    starts: tuple[str, ...] = ()

    @property
    def estimate(self) -> float:
        return self.best.estimate

    @property
    def model(self) -> HierarchicalModel:
        return self.best.model

    @property
    def n_models(self) -> int:
        return len(self.table)

    @property
    def n_estimable(self) -> int:
        return int((self.table["code"] == 0).sum())

    def excluded(self) -> dict[int, int]:
        """Number of models left out of the choice, by code."""
        codes = self.table.loc[self.table["code"] != 0, "code"]
        return {int(c): int(n) for c, n in codes.value_counts().sort_index().items()}

    def model_at(self, rank: int) -> HierarchicalModel:
        """The model in row ``rank`` of :attr:`table` (0 = best)."""
        return _parse_name(str(self.table["model"].iloc[rank]), self.best.model.n_lists)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self, top: int = 10) -> dict[str, Any]:
        """JSON-ready summary: the choice, how it was searched, and the best ``top`` models."""
        head = self.table.head(top).astype(object)
        head = head.where(head.notna(), None)
        return {
            "criterion": self.criterion,
            "search": self.search,
            "max_order": self.max_order,
            "starts": list(self.starts),
            "n_models": self.n_models,
            "n_estimable": self.n_estimable,
            "excluded": {str(k): v for k, v in self.excluded().items()},
            "model": self.best.name(),
            "model_lists": self.best.name(with_names=True),
            "estimate": self.estimate,
            "se": self.best.se,
            "top": head.to_dict(orient="records"),
        }

    def summary(self, top: int = 10) -> str:
        """A text report: the chosen model, what was searched, and the best ``top`` models."""
        lines = [
            f"Model choice by {self.criterion.upper()} ({self.search} search"
            + (f", interactions up to order {self.max_order}" if self.max_order else "")
            + f"): {self.n_models:,} models, {self.n_estimable:,} estimable",
            f"Best: {self.best.name(with_names=True)}  N = {self.estimate:,.2f} (se {self.best.se:,.2f})",
        ]
        lines += [f"  {n:,} left out: {CODE_MEANINGS[c]}" for c, n in self.excluded().items()]
        shown = self.table.head(top)[COLUMNS[:9]]
        lines.append(shown.to_string(index=False, float_format=lambda v: f"{v:,.4f}"))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = f"<p>{self.summary(top=0).splitlines()[0]}</p>"
        return head + self.table.head(20).to_html(index=False, float_format=lambda v: f"{v:,.4f}")


def select_model(
    histories: CaptureHistories,
    criterion: str = "bic",
    max_order: int = 2,
    *,
    models: Iterable[HierarchicalModel | str] | None = None,
    exhaustive_limit: int = DEFAULT_EXHAUSTIVE_LIMIT,
    search: str = "auto",
    workers: int = 1,
) -> ModelChoice:
    """Choose the hierarchical log-linear model with the smallest BIC (or AIC).

    All models with interactions of order at most ``max_order`` are fitted when there are no more
    than ``exhaustive_limit`` of them; otherwise (or with ``search="downhill"``) a downhill search
    from several starts is made. ``models`` restricts the choice to the models given (objects or
    names such as ``"[12,13]"`` or ``"[LA:NG]"``). ``workers`` threads share the fitting (it helps
    on an idle machine with several cores; the default, one, keeps bootstrap loops predictable).

    >>> h = CaptureHistories.from_counts(
    ...     [[1,0,0],[0,1,0],[0,0,1],[1,1,0],[1,0,1],[0,1,1],[1,1,1]], [60, 50, 40, 12, 10, 8, 3])
    >>> choice = select_model(h, "bic", max_order=2)
    >>> choice.search, choice.n_models, choice.model.name()
    ('exhaustive', 8, '[1,2,3]')
    """
    _check_arguments(histories, criterion, max_order, exhaustive_limit, search)
    threads = max(1, int(workers))
    if models is not None:
        chosen = [_as_model(m, histories) for m in models]
        if not chosen:
            raise InputError("the list of models to choose from is empty; give at least one model")
        table = _score_models(histories, chosen, threads)
        return _finish(histories, criterion, "given", None, table)
    if search == "downhill" or (
        search == "auto" and count_models(histories.n_lists, max_order, exhaustive_limit) is None
    ):
        return _downhill_choice(histories, criterion, max_order, exhaustive_limit, threads)
    table = _score_space(histories, max_order, threads)
    return _finish(histories, criterion, "exhaustive", max_order, table)


# ------------------------------------------------------------------------------------- scoring
def _score_space(histories: CaptureHistories, max_order: int, workers: int) -> pd.DataFrame:
    """Fit every model of the space (names come from the cached catalogue)."""
    space = model_space(histories.n_lists, max_order)
    terms = np.asarray(space.terms, dtype=np.int64)
    member = space.membership()
    results = _evaluate(histories, terms, member, workers)
    return _table(histories, space.names(), results, _orders(terms, member))


def _score_models(
    histories: CaptureHistories, chosen: Sequence[HierarchicalModel], workers: int
) -> pd.DataFrame:
    terms = sorted({t for m in chosen for t in m.terms}, key=lambda t: (bin(t).count("1"), t))
    index = {t: k for k, t in enumerate(terms)}
    member = np.zeros((len(chosen), len(terms)), dtype=np.uint8)
    for i, m in enumerate(chosen):
        member[i, [index[t] for t in m.terms]] = 1
    masks = np.asarray(terms, dtype=np.int64)
    results = _evaluate(histories, masks, member, workers)
    return _table(histories, [m.name() for m in chosen], results, _orders(masks, member))


def _evaluate(
    histories: CaptureHistories, terms: np.ndarray, member: np.ndarray, workers: int
) -> np.ndarray:
    table = np.zeros(1 << histories.n_lists)
    table[1:] = histories.counts
    results = _batch.evaluate(table, histories.n_lists, terms, member, workers)
    for i in np.flatnonzero(results[:, 0] < 0):
        model = HierarchicalModel(histories.n_lists, frozenset(terms[member[i] > 0].tolist()))
        _refit(histories, model, results[i])
    return results


def _refit(histories: CaptureHistories, model: HierarchicalModel, row: np.ndarray) -> None:
    """The linear programme and ``fit_model`` for the few models the kernel leaves undecided."""
    if row[0] == _batch.UNDECIDED:
        row[0] = check_counts(histories.counts, histories.cells, model).code
        if row[0] != 0:
            return
    try:
        fit = fit_counts(histories.counts, histories.cells, histories.lists, model, check=False)
    except EstimationError:
        row[0] = NOT_CONVERGED
        return
    row[0] = 0 if fit.glm.converged else NOT_CONVERGED
    row[2:6] = fit.loglik, fit.deviance, fit.glm.coefficients[0], fit.glm.covariance[0, 0]
    row[9] = fit.glm.iterations


def _orders(terms: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Highest interaction order of each model (1 for independence)."""
    sizes = np.array([bin(int(t)).count("1") for t in terms], dtype=np.int64)
    return np.max(np.where(member > 0, sizes[None, :], 1), axis=1, initial=1)


def _table(
    histories: CaptureHistories, names: Sequence[str], results: np.ndarray, orders: np.ndarray
) -> pd.DataFrame:
    fields = dict(zip(_batch.RESULT_FIELDS, results.T, strict=True))
    n = histories.n_observed
    n0 = np.exp(fields["log_dark_figure"])
    parameters = (fields["n_estimated"] + fields["n_empty"]).astype(np.int64)
    minus2ll = -2.0 * fields["loglik"]
    return pd.DataFrame(
        {
            "model": list(names),
            "N": n + n0,
            "se": np.sqrt(n0 * n0 * fields["log_dark_figure_var"] + n0),
            "deviance": fields["deviance"],
            "df": (fields["n_cells"] - fields["n_estimated"]).astype(np.int64),
            "parameters": parameters,
            "AIC": minus2ll + 2.0 * parameters,
            "BIC": minus2ll + parameters * math.log(n),
            "code": fields["code"].astype(np.int64),
            "order": orders,
            "empty": fields["n_empty"].astype(np.int64),
        }
    )


def _finish(
    histories: CaptureHistories,
    criterion: str,
    search: str,
    max_order: int | None,
    table: pd.DataFrame,
    starts: tuple[str, ...] = (),
) -> ModelChoice:
    ranked = _rank(table, criterion)
    if ranked["code"].iloc[0] != 0:
        raise EstimationError(
            f"none of the {len(ranked):,} models has a maximum likelihood estimate that exists and is "
            "identifiable; merge lists, drop a list with few cases, or lower the maximum order"
        )
    best = fit_model(histories, _parse_name(str(ranked["model"].iloc[0]), histories.n_lists))
    return ModelChoice(criterion, search, max_order, best, ranked, starts)


def _rank(table: pd.DataFrame, criterion: str) -> pd.DataFrame:
    key = table[criterion.upper()].to_numpy()
    usable = (table["code"] == 0).to_numpy()
    order = np.lexsort((np.where(usable, key, np.inf), ~usable))
    return table.iloc[order].reset_index(drop=True)


# ------------------------------------------------------------------------------------- downhill
class _Scorer:
    """Criterion values of models by term set, fitting each model once, in batches."""

    def __init__(self, histories: CaptureHistories, criterion: str, max_order: int, workers: int) -> None:
        self.histories = histories
        self.criterion = criterion.upper()
        self.terms = interaction_terms(histories.n_lists, max(max_order, 2))
        self.index = {t: k for k, t in enumerate(self.terms)}
        self.workers = workers
        self.rows: dict[frozenset[int], int] = {}
        self.frames: list[pd.DataFrame] = []
        self._table: pd.DataFrame | None = None

    def values(self, batch: Sequence[HierarchicalModel]) -> list[float]:
        new = list({m.terms: m for m in batch if m.terms not in self.rows}.values())
        if new:
            member = np.zeros((len(new), len(self.terms)), dtype=np.uint8)
            for i, m in enumerate(new):
                member[i, [self.index[t] for t in m.terms]] = 1
            masks = np.asarray(self.terms, dtype=np.int64)
            results = _evaluate(self.histories, masks, member, self.workers)
            frame = _table(self.histories, [m.name() for m in new], results, _orders(masks, member))
            self.add(frame, [m.terms for m in new])
        table = self.table()
        return [self._value(table, self.rows[m.terms]) for m in batch]

    def add(self, frame: pd.DataFrame, term_sets: Sequence[frozenset[int]] = ()) -> None:
        """Keep ``frame``'s rows; ``term_sets`` (when given) lets later look-ups find them."""
        start = sum(len(f) for f in self.frames)
        self.frames.append(frame)
        self._table = None
        for k, terms in enumerate(term_sets):
            self.rows.setdefault(terms, start + k)

    def table(self) -> pd.DataFrame:
        if self._table is None:
            self._table = pd.concat(self.frames, ignore_index=True)
        return self._table

    def _value(self, table: pd.DataFrame, row: int) -> float:
        return float(table[self.criterion].iat[row]) if table["code"].iat[row] == 0 else math.inf


def _downhill_choice(
    histories: CaptureHistories, criterion: str, max_order: int, limit: int, workers: int
) -> ModelChoice:
    scorer = _Scorer(histories, criterion, max_order, workers)
    t = histories.n_lists
    starts = [HierarchicalModel.independence(t)]
    if max_order >= 2:
        starts += [HierarchicalModel.saturated_pairs(t), _best_pairwise(scorer, limit)]
    used = []
    for start in dict.fromkeys(starts):
        if scorer.values([start])[0] < math.inf:
            _walk(scorer, start, max_order)
            used.append(start.name())
    table = scorer.table().drop_duplicates("model").reset_index(drop=True)
    return _finish(histories, criterion, "downhill", max_order, table, tuple(used))


def _best_pairwise(scorer: _Scorer, limit: int) -> HierarchicalModel:
    """The best model with pairs only: by enumeration when small enough, else downhill within pairs."""
    t = scorer.histories.n_lists
    if count_models(t, 2, limit) is None:
        pair_starts = (HierarchicalModel.independence(t), HierarchicalModel.saturated_pairs(t))
        ends = [_walk(scorer, s, 2) for s in pair_starts]
        return min(ends, key=lambda m: scorer.values([m])[0])
    frame = _score_space(scorer.histories, 2, scorer.workers)
    scorer.add(frame)
    return _parse_name(str(_rank(frame, scorer.criterion.lower())["model"].iloc[0]), t)


def _walk(scorer: _Scorer, start: HierarchicalModel, max_order: int) -> HierarchicalModel:
    """Steepest descent: move to the best neighbour while it improves the criterion."""
    current, value = start, scorer.values([start])[0]
    while True:
        candidates = neighbours(current, max_order)
        values = scorer.values(candidates)
        best = int(np.argmin(values)) if candidates else -1
        if best < 0 or not values[best] < value:
            return current
        current, value = candidates[best], values[best]


# ------------------------------------------------------------------------------------- helpers
def _as_model(model: HierarchicalModel | str, histories: CaptureHistories) -> HierarchicalModel:
    if isinstance(model, str):
        return HierarchicalModel.parse(model, histories.lists)
    if model.n_lists != histories.n_lists:
        raise InputError(
            f"model {model} is for {model.n_lists} lists; the table has {histories.n_lists} "
            f"({', '.join(histories.lists)})"
        )
    return model


def _parse_name(name: str, n_lists: int) -> HierarchicalModel:
    if n_lists <= 9:
        return HierarchicalModel.parse(name, n_lists)
    return HierarchicalModel.parse(name, [f"L{j + 1}" for j in range(n_lists)])


def _check_arguments(
    histories: CaptureHistories, criterion: str, max_order: int, limit: int, search: str
) -> None:
    if not isinstance(histories, CaptureHistories):
        raise InputError(f"select_model needs CaptureHistories; got {type(histories).__name__}")
    if criterion not in CRITERIA:
        raise InputError(f"criterion must be 'bic' or 'aic'; got {criterion!r}")
    if search not in SEARCHES:
        raise InputError(f"search must be one of {', '.join(SEARCHES)}; got {search!r}")
    if not isinstance(max_order, int | np.integer) or not 1 <= max_order <= histories.n_lists:
        raise InputError(
            f"max_order must be a whole number from 1 to the number of lists ({histories.n_lists}); "
            f"got {max_order!r}"
        )
    if limit < 1:
        raise InputError(f"exhaustive_limit must be a positive number of models; got {limit}")
