"""Coverage study: how often the stepwise BCa 95% interval holds the true N.

Truth: the UK 5-list stepwise fit (N = 11,313) and a sparser population drawn with the same
dependence but a quarter of the size. Chan, Silverman & Vincent (2021) report coverage of about 90%.
Run: python benchmarks/coverage_stepwise.py [n_tables] [nboot]
"""

import sys
import time
from pathlib import Path

from darkfigure import CaptureHistories
from darkfigure.estimation import Stepwise
from darkfigure.estimation.loglinear import fit_model
from darkfigure.estimation.stepwise import stepwise_path
from darkfigure.simulate.coverage import coverage_study, truth_from_fit

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "mse"


def main() -> None:
    n_tables = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    nboot = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    uk5 = CaptureHistories.read_csv(REFERENCE / "uk2013_5lists.csv")
    fit = fit_model(uk5, stepwise_path(uk5.counts, uk5.cells, uk5.n_lists).model)
    probabilities = truth_from_fit(fit)
    scenarios = ((f"UK5-shaped, N = {fit.estimate:,.0f}", round(fit.estimate)),
                 (f"UK5-shaped, N = {fit.estimate / 4:,.0f}", round(fit.estimate / 4)))
    for label, true_n in scenarios:
        start = time.perf_counter()
        study = coverage_study(
            probabilities, true_n, lambda h, s: Stepwise(nboot=nboot, seed=s).fit(h), n_tables, seed=11,
            lists=uk5.lists,
        )
        print(
            f"stepwise BCa 95% coverage, {label}: {study.rate:.1%} of {study.estimated} tables "
            f"({study.failed} failed; median estimate {study.median_estimate:,.0f}; nboot {nboot}; "
            f"{time.perf_counter() - start:.0f} s)   anchor: Chan et al. 2021 about 90%"
        )


if __name__ == "__main__":
    main()
