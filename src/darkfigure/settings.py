"""The one table of settings: defaults and help text for the library, the CLI and the docs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            "method", "stepwise", "Estimation method: stepwise, bic, aic, fixed, closed, homeoffice, lcmcr or dga."
        ),
        Setting("model", None, "Model for --method fixed, e.g. '[12,13]' or '[LA:NG,NG:GP]'."),
        Setting("max_order", 2, "Highest interaction order searched by --method bic/aic (default 2)."),
        Setting("p_threshold", 0.02, "p-value below which stepwise selection adds a pair (Chan et al. 2021)."),
        Setting(
            "nboot",
            1000,
            "Bootstrap replicates for BCa intervals, the model selection repeated in each (0: none). "
            "Default: 1000 for stepwise, bic and aic; 0 for fixed.",
        ),
        Setting("seed", None, "Random seed; the same seed gives the same numbers on every machine."),
        Setting("level", 0.95, "Confidence level of the intervals."),
        Setting("chains", 4, "MCMC chains for --method lcmcr, run in parallel processes."),
        Setting("classes", 10, "Latent classes K for --method lcmcr (HRDAG's production runs use 15)."),
        Setting("burnin", 10000, "Burn-in sweeps per chain for --method lcmcr."),
        Setting("samples", 1000, "Posterior draws kept per chain for --method lcmcr."),
        Setting("thinning", 100, "Sweeps between kept draws for --method lcmcr."),
        Setting("strata", None, "Stratum columns, comma-separated: each stratum is estimated and the totals combined."),
    )
}


def default(name: str) -> Any:
    """The default value of a setting.

    >>> default("p_threshold")
    0.02
    """
    return SETTINGS[name].default
