"""Regenerate the example tables in this folder (simulated; no real person is in them).

coalition_5lists.csv: 5 organisations' lists drawn from a population of N = 8,000 whose captures
follow a log-linear model with referral dependences (shelter-hotline, police-clinic) and a negative
one (hotline-church). Run: python examples/make_examples.py
"""

from pathlib import Path

import numpy as np

from darkfigure.estimation.models import HierarchicalModel
from darkfigure.simulate import loglinear_probabilities, sample_table

LISTS = ["shelter", "hotline", "police", "church", "clinic"]
TRUE_N = 8000
SEED = 20261128


def main() -> None:
    model = HierarchicalModel.parse("[shelter:hotline,police:clinic,hotline:church]", LISTS)
    # columns: intercept, 5 main effects (log-odds of capture), then the three pairs in model order
    names = model.term_names(LISTS)
    values = {"(Intercept)": 0.0, "shelter": -1.2, "hotline": -1.5, "police": -1.4, "church": -2.0,
              "clinic": -2.2, "shelter:hotline": 0.9, "police:clinic": 0.7, "hotline:church": -0.5}
    probabilities = loglinear_probabilities(model, [values[n] for n in names])
    table = sample_table(probabilities, TRUE_N, np.random.default_rng(SEED), LISTS)
    out = Path(__file__).with_name("coalition_5lists.csv")
    table.to_frame(include_zero=False).to_csv(out, index=False)


if __name__ == "__main__":
    main()
