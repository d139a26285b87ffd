"""Publishing without harm: safe aggregates of a run, small cells suppressed, counts with
differential-privacy noise spent from a persistent budget, and a publication in HTML and PDF.

* :mod:`~darkfigure.publish.prevalence`: documented and estimated shares of each category, side by
  side in ``prevalence_table``.
* :mod:`~darkfigure.publish.suppression`: small-cell and complementary suppression, and the
  attacker that tries to recover hidden cells.
* :mod:`~darkfigure.publish.privacy`: OpenDP noise on counts and capture histories, the noise's share
  of an estimate's uncertainty, and the privacy-budget ledger.
* :mod:`~darkfigure.publish.release` and :mod:`~darkfigure.publish.report`: ``darkfigure release``,
  a run folder turned into a publication folder all or nothing, with its settings in
  :mod:`~darkfigure.publish.config` and its published tables built in :mod:`~darkfigure.publish.tables`.

Each public name here is imported from its submodule on first use, so importing the package (as
``darkfigure --help`` does, through :mod:`~darkfigure.publish.cli`) loads none of them.

>>> import pandas as pd
>>> from darkfigure.publish import recover_by_differencing, suppress
>>> t = suppress(pd.DataFrame({"x": [3, 10], "y": [12, 14]}, index=["a", "b"]), k=5)
>>> sorted(t.primary), recover_by_differencing(t)
([('a', 'x')], {})
"""

import importlib
import typing

if typing.TYPE_CHECKING:
    from darkfigure.publish.prevalence import (
        documented_shares,
        estimated_shares,
        exact_interval,
        prevalence_table,
        wilson_interval,
    )
    from darkfigure.publish.privacy import (
        MECHANISMS,
        NoiseUncertainty,
        NoisyCounts,
        NoisyHistories,
        PrivacyLedger,
        noise_pmf,
        noise_scale,
        noise_sd,
        noise_uncertainty,
        noisy_counts,
        noisy_histories,
        simulate_noise,
    )
    from darkfigure.publish.release import (
        Release,
        ReleaseConfig,
        RunFolder,
        load_release_config,
        parse_release_config,
        prepare_release,
        release_run,
    )
    from darkfigure.publish.report import publication_html, write_pdf
    from darkfigure.publish.suppression import (
        TOTAL,
        SuppressedTable,
        feasible_intervals,
        recover_by_differencing,
        suppress,
    )

__all__ = [
    "MECHANISMS",
    "TOTAL",
    "NoiseUncertainty",
    "NoisyCounts",
    "NoisyHistories",
    "PrivacyLedger",
    "Release",
    "ReleaseConfig",
    "RunFolder",
    "SuppressedTable",
    "documented_shares",
    "estimated_shares",
    "exact_interval",
    "feasible_intervals",
    "load_release_config",
    "noise_pmf",
    "noise_scale",
    "noise_sd",
    "noise_uncertainty",
    "noisy_counts",
    "noisy_histories",
    "parse_release_config",
    "prepare_release",
    "prevalence_table",
    "publication_html",
    "recover_by_differencing",
    "release_run",
    "simulate_noise",
    "suppress",
    "wilson_interval",
    "write_pdf",
]

# the submodule each public name is imported from on first use
_MODULE_OF = {
    **dict.fromkeys(("documented_shares", "estimated_shares", "exact_interval", "prevalence_table",
                     "wilson_interval"), "prevalence"),
    **dict.fromkeys(("MECHANISMS", "NoiseUncertainty", "NoisyCounts", "NoisyHistories", "PrivacyLedger", "noise_pmf",
                     "noise_scale", "noise_sd", "noise_uncertainty", "noisy_counts", "noisy_histories",
                     "simulate_noise"), "privacy"),
    **dict.fromkeys(("Release", "ReleaseConfig", "RunFolder", "load_release_config", "parse_release_config",
                     "prepare_release", "release_run"), "release"),
    **dict.fromkeys(("publication_html", "write_pdf"), "report"),
    **dict.fromkeys(("TOTAL", "SuppressedTable", "feasible_intervals", "recover_by_differencing", "suppress"),
                    "suppression"),
}


def __getattr__(name: str) -> typing.Any:
    """Import a public name from its submodule on first use (PEP 562), then keep it here."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names with every public name, imported or not yet."""
    return sorted({*globals(), *__all__})
