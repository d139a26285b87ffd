"""Closed-population models of Rcapture's ``closedp.t``: M0, Mt, Mh, Mth, Mb and Mbh.

Each model is a Poisson log-linear model on the ``2^t - 1`` observable capture patterns
(Rivest & Baillargeon, Rcapture). Heterogeneity of catchability (Mh, Mth) adds columns that are
functions of the number of lists a pattern is on: Chao's lower bound (one column per ``j >= 3``,
``max(k - j + 1, 0)``; negative coefficients are set to zero by refitting without them), Poisson
(``theta^k - 1``), Darroch (``k^2 / 2``) and Gamma (``log(theta) - log(theta + k)``). Mb and Mbh model
a behavioural response after the first capture; their N is a function of several coefficients.

The fits follow R's ``glm`` step for step (start at ``y + 0.1``, relative deviance change below 1e-8,
at most 25 iterations, covariance from the weights of the last iteration), because the standard
errors of the weakly identified heterogeneity models depend on where R stops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from darkfigure.errors import EstimationError, InputError
from darkfigure.estimation._glm import PoissonFit, _deviance, _irls, poisson_loglik
from darkfigure.estimation.existence import empty_terms, kept_cells, reduced_design
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.histories import CaptureHistories

R_EPSILON = 1e-8  # glm.control()$epsilon
R_MAXIT = 25  # glm.control()$maxit
HETEROGENEITY = ("chao", "poisson", "darroch", "gamma")
DEFAULT_THETA = {"poisson": 2.0, "gamma": 3.5}
_KINDS = (("Chao (LB)", "chao"), ("Poisson2", "poisson"), ("Darroch", "darroch"), ("Gamma3.5", "gamma"))
CLOSED_MODELS = (  # (Rcapture's row name, base model, heterogeneity)
    ("M0", "M0", None),
    ("Mt", "Mt", None),
    *((f"{base} {label}", base, kind) for base in ("Mh", "Mth") for label, kind in _KINDS),
    ("Mb", "Mb", None),
    ("Mbh", "Mbh", None),
)
BIAS_WARNING = "the asymptotic bias is large"


# ------------------------------------------------------------------------------------- design
def capture_counts(cells: np.ndarray) -> np.ndarray:
    """Number of lists each pattern (bit mask) is on.

    >>> capture_counts(np.array([1, 3, 7, 6])).tolist()
    [1, 2, 3, 2]
    """
    cells = np.asarray(cells, dtype=np.int64)
    bits = int(cells.max()).bit_length() if cells.size else 0
    return ((cells[:, None] >> np.arange(bits)) & 1).sum(axis=1)


def heterogeneity_columns(histories: CaptureHistories, kind: str, theta: float | None = None) -> np.ndarray:
    """Heterogeneity columns (one per row of ``histories.cells``) of Chao, Poisson, Darroch or Gamma.

    >>> h = CaptureHistories.from_counts([[1, 0, 0], [1, 1, 0], [1, 1, 1]], [5, 3, 1])
    >>> heterogeneity_columns(h, "darroch")[[0, 2, 6], 0].tolist()  # patterns on 1, 2, 3 lists
    [0.5, 2.0, 4.5]
    >>> heterogeneity_columns(h, "chao")[:, 0].tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    """
    columns, _ = _heterogeneity(capture_counts(histories.cells), histories.n_lists, kind, theta)
    return columns


def _heterogeneity(
    captures: np.ndarray, n_lists: int, kind: str, theta: float | None
) -> tuple[np.ndarray, tuple[str, ...]]:
    k = captures.astype(np.float64)
    kind = _check_kind(kind)
    if n_lists < 3:
        raise InputError(f"heterogeneity models need at least 3 lists; the table has {n_lists}")
    if kind == "chao":
        js = range(3, n_lists + 1)
        return np.column_stack([np.maximum(k - j + 1, 0.0) for j in js]), tuple(f"eta{j}" for j in js)
    if kind == "darroch":
        return (k**2 / 2.0)[:, None], ("tau",)
    value = DEFAULT_THETA[kind] if theta is None else float(theta)
    if value <= 0:
        raise InputError(f"theta for {kind} heterogeneity must be positive; got {value}")
    if kind == "poisson":
        return (value**k - 1.0)[:, None], ("tau",)
    return (math.log(value) - np.log(value + k))[:, None], ("tau",)


def _check_kind(kind: str) -> str:
    name = str(kind).lower()
    if name == "lb":
        name = "chao"
    if name not in HETEROGENEITY:
        raise InputError(
            f"heterogeneity must be one of {', '.join(HETEROGENEITY)}; got {kind!r}. "
            "Use chao for Chao's lower bound"
        )
    return name


@dataclass(frozen=True)
class ClosedDesign:
    """A closed-population model laid out for fitting: design ``x`` (intercept first) and ``counts``.

    ``n_fixed`` is the number of columns before the heterogeneity columns (Chao's negative-eta
    correction looks only beyond it); ``form`` is ``"standard"`` (N = n + exp(intercept)), ``"Mb"``
    or ``"Mbh"``.
    """

    x: np.ndarray
    counts: np.ndarray
    names: tuple[str, ...]
    n_fixed: int
    chao: bool
    form: str
    n_lists: int
    n_observed: int


def closed_design(
    histories: CaptureHistories,
    model: str | HierarchicalModel,
    heterogeneity: str | None = None,
    theta: float | None = None,
) -> ClosedDesign:
    """The design of ``M0``, ``Mt``, ``Mh``, ``Mth``, ``Mb``, ``Mbh`` or a hierarchical model ``[12,13]``.

    ``Mh`` and ``Mth`` are ``M0`` and ``Mt`` with heterogeneity (Chao's by default, as in Rcapture).
    Hierarchical models use SparseMSE's extended MLE: cells of an interaction with no case are left out.

    >>> h = CaptureHistories.from_counts([[1, 0, 0], [0, 1, 0], [1, 1, 1]], [5, 3, 1])
    >>> d = closed_design(h, "Mth", "darroch")
    >>> d.names, d.x.shape
    (('(Intercept)', 'A', 'B', 'C', 'tau'), (7, 5))
    """
    return _design(_Table.of(histories), model, heterogeneity, theta)


@dataclass(frozen=True)
class _Table:
    """What every design of one table needs, computed once."""

    histories: CaptureHistories
    counts: np.ndarray
    captures: np.ndarray

    @classmethod
    def of(cls, histories: CaptureHistories) -> _Table:
        counts = histories.counts.astype(np.float64)
        return cls(histories, counts, capture_counts(histories.cells).astype(np.float64))


def _design(
    table: _Table, model: str | HierarchicalModel, heterogeneity: str | None, theta: float | None
) -> ClosedDesign:
    if isinstance(model, HierarchicalModel) or str(model).strip().startswith("["):
        return _hierarchical_design(table, model, heterogeneity, theta)
    name = str(model)
    if name in ("Mh", "Mth"):
        heterogeneity = heterogeneity or "chao"
        name = "M0" if name == "Mh" else "Mt"
    if name not in ("M0", "Mt", "Mb", "Mbh"):
        raise InputError(
            f"model must be M0, Mt, Mh, Mth, Mb, Mbh or a hierarchical model like [12,13]; got {model!r}"
        )
    if heterogeneity is not None and name in ("Mb", "Mbh"):
        raise InputError(f"model {name} takes no heterogeneity; use Mh or Mth for heterogeneity")
    x, names = _basic_columns(table, name)
    form = name if name in ("Mb", "Mbh") else "standard"
    return _with_heterogeneity(table, x, names, heterogeneity, theta, form)


def _basic_columns(table: _Table, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    cells, k = table.histories.cells, table.captures
    ones = np.ones(cells.shape[0])
    if name == "M0":
        return np.column_stack([ones, k]), ("(Intercept)", "beta")
    if name == "Mt":
        names = ("(Intercept)", *table.histories.lists)
        return np.column_stack([ones, table.histories.patterns]).astype(np.float64), names
    before_first = np.log2(cells & -cells).astype(np.float64)  # lists before the first capture
    if name == "Mb":
        return np.column_stack([ones, before_first, k - 1]), ("(Intercept)", "beta1", "beta2")
    not_first = 1.0 - (cells & 1)
    return np.column_stack([ones, not_first, before_first, k - 1]), ("(Intercept)", "eta", "beta1", "beta2")


def _with_heterogeneity(
    table: _Table,
    x: np.ndarray,
    names: tuple[str, ...],
    heterogeneity: str | None,
    theta: float | None,
    form: str,
    keep: np.ndarray | None = None,
) -> ClosedDesign:
    counts, captures = (
        (table.counts, table.captures) if keep is None else (table.counts[keep], table.captures[keep])
    )
    n_fixed, chao = x.shape[1], False
    if heterogeneity is not None:
        columns, extra = _heterogeneity(captures, table.histories.n_lists, heterogeneity, theta)
        x, names, chao = np.column_stack([x, columns]), (*names, *extra), _check_kind(heterogeneity) == "chao"
    x = np.ascontiguousarray(x, dtype=np.float64)
    h = table.histories
    return ClosedDesign(x, counts, names, n_fixed, chao, form, h.n_lists, h.n_observed)


def _hierarchical_design(
    table: _Table, model: str | HierarchicalModel, heterogeneity: str | None, theta: float | None
) -> ClosedDesign:
    h = table.histories
    if not isinstance(model, HierarchicalModel):
        model = HierarchicalModel.parse(str(model), h.lists)
    if model.n_lists != h.n_lists:
        raise InputError(f"model {model} is for {model.n_lists} lists; the table has {h.n_lists}")
    empty = empty_terms(h.counts, h.cells, model)
    keep = kept_cells(h.cells, empty)
    x = reduced_design(model, h.cells[keep], empty)
    names = tuple(n for n, c in zip(model.term_names(h.lists), model.columns, strict=True) if c not in empty)
    return _with_heterogeneity(table, x, names, heterogeneity, theta, "standard", keep)


# ------------------------------------------------------------------------------------- fitting
def glm_like_r(x: np.ndarray, y: np.ndarray) -> tuple[PoissonFit, list[str]]:
    """Fit a Poisson GLM exactly as R's ``glm`` does, with the warnings R would give.

    The covariance is R's ``vcov``: the inverse information at the weights of the last iteration.

    >>> fit, warnings = glm_like_r(np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([10.0, 30.0]))
    >>> round(float(np.exp(fit.coefficients[1])), 6), warnings
    (3.0, [])
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    start = np.log(y + 0.1)
    try:
        beta, mu, _, iterations, converged = _irls(x, y, start, R_EPSILON, R_MAXIT)
        weights = y + 0.1 if iterations == 1 else _irls(x, y, start, R_EPSILON, iterations - 1)[1]
        covariance = np.linalg.inv((x * weights[:, None]).T @ x)
    except np.linalg.LinAlgError:
        raise EstimationError("the design is singular on these cells: drop a term or a list") from None
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(covariance))):
        raise EstimationError("the fit diverged (a parameter went to infinity): drop a term or merge lists")
    warnings = [] if converged else ["glm: algorithm did not converge"]
    if np.any(mu < 10 * np.finfo(float).eps):
        warnings.append("glm: fitted rates numerically 0 occurred")
    deviance = float(_deviance(y, mu))
    fit = PoissonFit(beta, covariance, mu, deviance, poisson_loglik(y, mu), int(iterations), bool(converged))
    return fit, warnings


def independent_columns(x: np.ndarray) -> list[int]:
    """Columns kept by R's pivoting QR: each column not in the span of the ones before it.

    >>> independent_columns(np.array([[1.0, 2.0, 0.0], [1.0, 2.0, 1.0]]))
    [0, 2]
    """
    diagonal = np.abs(np.diag(np.linalg.qr(x, mode="r")))
    if x.shape[0] >= x.shape[1] and diagonal.min() > 1e-7 * max(1.0, diagonal.max()):  # the usual case
        return list(range(x.shape[1]))
    kept: list[int] = []
    for j in range(x.shape[1]):
        if np.linalg.matrix_rank(x[:, [*kept, j]], tol=1e-7 * max(1.0, np.abs(x).max())) > len(kept):
            kept.append(j)
    return kept


@dataclass(frozen=True)
class ClosedFit:
    """One fitted closed-population model: Rcapture's row of ``abundance, stderr, deviance, df, AIC, BIC``.

    ``info`` is Rcapture's ``infoFit`` code: 0 fine, 1 non-convergence or large asymptotic bias,
    2 design not of full rank, 3 another warning, -1 the fit failed (digits combine, e.g. 13).
    ``zeroed_eta`` names Chao's eta parameters that were negative and set to zero.
    """

    name: str
    abundance: float
    stderr: float
    deviance: float
    df: int
    aic: float
    bic: float
    info: int
    warnings: tuple[str, ...] = ()
    bias: float = math.nan
    term_names: tuple[str, ...] = ()
    glm: PoissonFit | None = field(default=None, repr=False)
    zeroed_eta: tuple[str, ...] = ()

    @property
    def coefficients(self) -> pd.Series:
        values = self.glm.coefficients if self.glm is not None else []
        return pd.Series(values, index=pd.Index(self.term_names, name="term"), dtype=float)

    def row(self) -> dict[str, Any]:
        """Rcapture's columns: abundance, stderr, deviance, df, AIC, BIC, infoFit, plus the warnings."""
        numbers = (self.abundance, self.stderr, self.deviance, self.df, self.aic, self.bic, self.info)
        row = dict(
            zip(("abundance", "stderr", "deviance", "df", "AIC", "BIC", "infoFit"), numbers, strict=True)
        )
        return {**row, "warning": "; ".join(self.warnings)}

    def to_dict(self) -> dict[str, Any]:
        row = {k: _json(v) if isinstance(v, float) else v for k, v in self.row().items()}
        return {"model": self.name, **row, "zeroed_eta": list(self.zeroed_eta)}


def _json(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def fit_closed(
    histories: CaptureHistories,
    model: str | HierarchicalModel,
    heterogeneity: str | None = None,
    theta: float | None = None,
    *,
    name: str | None = None,
) -> ClosedFit:
    """Fit one closed-population model (as Rcapture's ``closedpCI.t`` fits it, before the interval).

    ``model`` is M0, Mt, Mh, Mth, Mb, Mbh or a hierarchical model such as ``[12,13,14]``;
    ``heterogeneity`` adds Chao, Poisson, Darroch or Gamma columns (``theta`` for the last two).

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6])
    >>> round(fit_closed(h, "Mt").abundance, 6)  # Lincoln-Petersen
    156.0
    """
    design = closed_design(histories, model, heterogeneity, theta)
    label = name or model_label(model, heterogeneity, theta)
    return fit_design(design, label)


def model_label(model: Any, heterogeneity: str | None = None, theta: float | None = None) -> str:
    """A model's name with its heterogeneity, as Rcapture writes it.

    >>> model_label("Mth", "poisson"), model_label("[12,13]", "darroch")
    ('Mth Poisson2', '[12,13] Darroch')
    """
    base = model.name() if isinstance(model, HierarchicalModel) else str(model)
    if heterogeneity is None:
        return base
    kind = _check_kind(heterogeneity)
    value = DEFAULT_THETA.get(kind) if theta is None else theta
    return f"{base} {kind.capitalize()}{'' if value is None else f'{value:g}'}"


def fit_design(design: ClosedDesign, name: str) -> ClosedFit:
    """Fit a :class:`ClosedDesign`; a failed fit gives a row of NaN with ``info = -1``.

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6])
    >>> fit = fit_design(closed_design(h, "M0"), "M0")
    >>> round(fit.abundance, 6), fit.df, fit.warnings  # n + (f1 / 2)^2 / f2
    (160.166667, 1, ('the asymptotic bias is large',))
    """
    keep = independent_columns(design.x)
    x, names = design.x[:, keep], tuple(design.names[j] for j in keep)
    singular = []
    if len(keep) < design.x.shape[1]:
        fewer = " (fewer rows than columns)" if design.x.shape[0] < design.x.shape[1] else ""
        singular.append(f"glm: design matrix not of full rank{fewer}")
    try:
        glm, warnings = glm_like_r(x, design.counts)
        zeroed: tuple[str, ...] = ()
        if design.chao:
            fixed = sum(1 for j in keep if j < design.n_fixed)
            glm, x, names, zeroed, warnings = _drop_negative_eta(
                glm, x, names, fixed, design.counts, warnings
            )
        if design.form != "standard" and singular:
            raise EstimationError(f"model {design.form} needs all its coefficients; the design is singular")
        abundance, stderr = _abundance(design, glm)
    except (EstimationError, FloatingPointError, OverflowError) as exc:
        return _failed(name, str(exc))
    bias = math.nan if singular else _asymptotic_bias(x, glm)  # R leaves it NA when coefficients are NA
    warnings = singular + warnings
    if not math.isnan(bias) and abs(bias) > 0.1 * abundance:
        warnings.append(BIAS_WARNING)
    rank = x.shape[1]
    aic = -2.0 * glm.loglik + 2.0 * rank
    bic = aic + (math.log(design.n_observed) - 2.0) * rank
    statistics = (abundance, stderr, glm.deviance, len(design.counts) - rank, aic, bic)
    return ClosedFit(name, *statistics, info_code(warnings), tuple(warnings), bias, names, glm, zeroed)


def _failed(name: str, message: str) -> ClosedFit:
    nan = math.nan
    return ClosedFit(name, nan, nan, nan, 0, nan, nan, -1, (f"the model could not be fitted: {message}",))


def _drop_negative_eta(
    glm: PoissonFit, x: np.ndarray, names: tuple[str, ...], fixed: int, y: np.ndarray, warnings: list[str]
) -> tuple[PoissonFit, np.ndarray, tuple[str, ...], tuple[str, ...], list[str]]:
    """Rcapture's ``Chao.neg``: refit without the first negative eta until none is negative."""
    zeroed: list[str] = []
    later: list[str] = []
    while negative := [j for j in range(fixed, x.shape[1]) if glm.coefficients[j] < 0]:
        j = negative[0]
        try:
            refit, refit_warnings = glm_like_r(np.delete(x, j, axis=1), y)
        except EstimationError as exc:
            later.append(
                f"the negative eta parameter {names[j]} was not removed because of this error: {exc}"
            )
            break
        zeroed.append(names[j])
        glm, x, names = refit, np.delete(x, j, axis=1), names[:j] + names[j + 1 :]
        later = [f"warning from the fit after removing {zeroed[-1]}: {w}" for w in refit_warnings]
    if zeroed:
        warnings = [f"warning not from the last fit (with every eta parameter): {w}" for w in warnings]
    return glm, x, names, tuple(zeroed), warnings + later


def _abundance(design: ClosedDesign, glm: PoissonFit) -> tuple[float, float]:
    b, v, t = glm.coefficients, glm.covariance, design.n_lists
    if design.form == "Mb":
        return _abundance_mb(b, v, t)
    if design.form == "Mbh":
        return _abundance_mbh(b, v, t)
    dark = math.exp(b[0])
    return design.n_observed + dark, _root(dark + dark * dark * v[0, 0])


def _root(variance: float) -> float:
    return math.sqrt(variance) if variance >= 0 else math.nan


def _abundance_mb(b: np.ndarray, v: np.ndarray, t: int) -> tuple[float, float]:
    """Mb: N = e^b0 (1 + e^b2)^t / (1 + e^b2 - e^b1), delta-method variance minus N (Rcapture)."""
    e1, e2 = math.exp(b[1]), math.exp(b[2])
    denominator = 1.0 + e2 - e1
    n = math.exp(b[0]) * (1.0 + e2) ** t / denominator
    gradient = n * np.array([1.0, e1 / denominator, t * e2 / (1.0 + e2) - e2 / denominator])
    return n, _root(float(gradient @ v @ gradient) - n)


def _abundance_mbh(b: np.ndarray, v: np.ndarray, t: int) -> tuple[float, float]:
    """Mbh: N = e^b0 (1 + e^b3)^(t-1) (1 + e^(b1+b2) / (1 + e^b3 - e^b2)) (Rcapture's parametrisation)."""
    e2, e3 = math.exp(b[2]), math.exp(b[3])
    denominator = 1.0 + e3 - e2
    ratio = math.exp(b[1] + b[2]) / denominator
    scale = math.exp(b[0]) * (1.0 + e3) ** (t - 1)
    n = scale * (1.0 + ratio)
    gradient = scale * np.array(
        [
            1.0 + ratio,
            ratio,
            ratio + math.exp(b[1] + 2 * b[2]) / denominator**2,
            (t - 1) * e3 / (1.0 + e3) - math.exp(b[1] + b[2] + b[3]) / denominator**2,
        ]
    )
    return n, _root(float(gradient @ v @ gradient) - n)


def _asymptotic_bias(x: np.ndarray, glm: PoissonFit) -> float:
    """Rcapture's asymptotic bias of ``exp(intercept)`` (second-order term of the GLM estimate)."""
    v = glm.covariance
    xi = -0.5 * np.einsum("ij,jk,ik->i", x, v, x)
    psi = -2.0 * x.T @ (glm.fitted * xi)
    psi[0] -= 1.0
    return float(0.5 * math.exp(glm.coefficients[0]) * -(v @ psi)[0])


def info_code(warnings: list[str] | tuple[str, ...], failed: bool = False) -> int:
    """Rcapture's ``getInfo``: the distinct warning codes, sorted and written as one number.

    >>> info_code([]), info_code(["glm: algorithm did not converge", "odd"]), info_code([], failed=True)
    (0, 13, -1)
    """
    if failed:
        return -1
    codes = sorted({_warning_code(w) for w in warnings})
    return int("".join(str(c) for c in codes)) if codes else 0


def _warning_code(warning: str) -> int:
    if "converge" in warning or "sigma estimate is non-positive" in warning or BIAS_WARNING in warning:
        return 1
    for code, text in (
        (2, "design matrix not of full rank"),
        (4, "multinomial estimation"),
        (5, "lower bound"),
        (6, "upper bound"),
    ):
        if text in warning:
            return code
    return 3


# ------------------------------------------------------------------------------------- all 12
@dataclass(frozen=True)
class ClosedModels:
    """The closed-population models of Rcapture's ``closedp.t``, fitted to one table."""

    lists: tuple[str, ...]
    n_observed: int
    fits: tuple[ClosedFit, ...]

    def __getitem__(self, name: str) -> ClosedFit:
        for fit in self.fits:
            if fit.name == name:
                return fit
        raise KeyError(f"no model {name!r}; models are {', '.join(f.name for f in self.fits)}")

    def table(self) -> pd.DataFrame:
        """One row per model: abundance, stderr, deviance, df, AIC, BIC, infoFit and warning."""
        rows = [f.row() for f in self.fits]
        return pd.DataFrame(rows, index=pd.Index([f.name for f in self.fits], name="model"))

    def best(self, criterion: str = "bic") -> ClosedFit:
        """The fitted model with the smallest BIC (or AIC).

        >>> patterns = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]]
        >>> h = CaptureHistories.from_counts(patterns, [80, 80, 80, 40, 40, 40, 20])
        >>> best = closed_models(h).best("bic")  # equal, independent lists: M0 fits exactly
        >>> best.name, round(best.abundance, 6)
        ('M0', 540.0)
        """
        key = criterion.lower()
        if key not in ("aic", "bic"):
            raise InputError(f"criterion must be 'aic' or 'bic'; got {criterion!r}")
        usable = [f for f in self.fits if not math.isnan(getattr(f, key))]
        if not usable:
            raise EstimationError("no closed-population model could be fitted to this table")
        return min(usable, key=lambda f: getattr(f, key))

    def to_dict(self) -> dict[str, Any]:
        return {
            "lists": list(self.lists),
            "n_observed": self.n_observed,
            "models": [f.to_dict() for f in self.fits],
            "best_bic": self.best("bic").name,
        }


def closed_models(histories: CaptureHistories) -> ClosedModels:
    """Fit the 12 models of Rcapture's ``closedp.t`` (only M0, Mt and Mb for two lists).

    >>> h = CaptureHistories.from_counts([[1, 0], [0, 1], [1, 1]], [30, 20, 6])
    >>> models = closed_models(h)
    >>> [f.name for f in models.fits], round(models["Mt"].abundance, 6)
    (['M0', 'Mt', 'Mb'], 156.0)
    """
    if histories.n_lists < 2:
        raise InputError(f"closed-population models need at least 2 lists; the table has {histories.n_lists}")
    specs = [s for s in CLOSED_MODELS if histories.n_lists > 2 or s[0] in ("M0", "Mt", "Mb")]
    table = _Table.of(histories)
    fits = tuple(fit_design(_design(table, base, kind, None), label) for label, base, kind in specs)
    return ClosedModels(histories.lists, histories.n_observed, fits)
