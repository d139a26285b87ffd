"""Prevalence when one exploitation form is much less visible: documented share versus the stratified
multiple systems estimate, against the simulated truth, over many seeds.

Two truth-known scenarios:

* ``hidden-form``: 4,000 women, three forms (forced marriage 0.45, prostitution 0.35, cybersex 0.20);
  four lists (capture 0.3, 0.25, 0.3, 0.2); a cybersex victim's capture rate is a quarter of the
  others'; lognormal visibility (sigma 0.5) so that the lists are not independent within a form.
* ``nk-women-china``: the preset (12,000 women, five lists, referrals, lognormal sigma 0.9,
  cybersex nearly invisible except to the hotline).

Capture histories are taken from the simulator's truth (perfect linkage), so what is measured is
the estimation, not the linkage. For each seed: documented shares (Wilson 95 %) and documented share
x N (N estimated on the whole table); stratified estimate by form (stepwise, 200 bootstrap replicates).

Run: ``.venv/bin/python benchmarks/prevalence_visibility.py [--seeds 20]``; prints one line per
figure: "figure <name> <value> anchor <what it is compared with>".
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from darkfigure.estimation.api import estimate
from darkfigure.estimation.strata import split_strata
from darkfigure.publish.prevalence import documented_shares, prevalence_table
from darkfigure.simulate import load_scenario, parse_scenario, simulate_coalition

FORM = "exploitation_form"
HIDDEN = "RemoteInteractiveServices"
SETTINGS = {"nboot": 200}


def hidden_form_scenario(n: int = 4000, hidden: float = 0.25, sigma: float = 0.5):
    """Three forms, four lists; the cybersex form's capture rate multiplied by ``hidden``."""
    lists = {name: {"label": name, "kind": "NGO", "capture": c,
                    "recording": {"record_prefix": f"{name[:2].upper()}-", "columns": {"record_id": "id"}}}
             for name, c in (("church", 0.3), ("hotline", 0.25), ("police", 0.3), ("shelter", 0.2))}
    return parse_scenario({
        "name": "hidden-form", "n": n,
        "strata": {"sex": {"Feminine": 1.0}, "year": {"2020": 1.0},
                   FORM: {"ForcedMarriage": 0.45, "Prostitution": 0.35, HIDDEN: 0.20}},
        "heterogeneity": {"kind": "lognormal", "sigma": sigma} if sigma else {"kind": "none"},
        "multipliers": {FORM: {HIDDEN: hidden}},
        "lists": lists,
    })


def entity_table(coalition) -> pd.DataFrame:
    """One row per entity seen on at least one list: 0/1 list columns and the form (from the truth)."""
    people = coalition.population
    seen = people[people["history"].str.contains("1")]
    table = pd.DataFrame({name: seen["history"].str[j].astype(int).to_numpy()
                          for j, name in enumerate(coalition.scenario.lists)})
    table[FORM] = seen[FORM].astype(str).to_numpy()
    return table


def one_seed(scenario, seed: int) -> pd.DataFrame:
    coalition = simulate_coalition(scenario, seed=seed)
    lists = list(coalition.scenario.lists)
    entities = entity_table(coalition)
    truth = coalition.population[FORM].astype(str).value_counts()
    both = prevalence_table(entities, FORM, lists, "stepwise", {**SETTINGS, "seed": seed})
    (_, whole), = split_strata(entities[lists].assign(all=1), ["all"])
    total = estimate(whole.drop_uninformative(), "stepwise", **SETTINGS, seed=seed)
    naive = documented_shares(entities, FORM, total=total, seed=seed)
    both[["naive", "naive_lower", "naive_upper"]] = naive[["estimate", "estimate_lower", "estimate_upper"]]
    both["true_n"] = both[FORM].map(truth).astype(float)
    both["true_share"] = both["true_n"] / coalition.n
    return both.assign(seed=seed)


def covered(frame: pd.DataFrame, lower: str, upper: str, truth: str) -> pd.Series:
    return (frame[lower] <= frame[truth]) & (frame[truth] <= frame[upper])


def report(name: str, runs: pd.DataFrame) -> None:
    hidden = runs[runs[FORM] == HIDDEN]
    for label, rows in ((f"{name} {HIDDEN}", hidden), (f"{name} all forms", runs)):
        doc_err = (rows["share"] - rows["true_share"]).abs().mean()
        mse_err = (rows["estimated_share"] - rows["true_share"]).abs().mean()
        print(f"figure {label}: mean absolute error of the share, documented {doc_err:.4f} "
              f"estimated {mse_err:.4f} anchor documented error > estimated error")
        print(f"figure {label}: coverage of 95% share intervals, documented (Wilson) "
              f"{covered(rows, 'lower', 'upper', 'true_share').mean():.2f} estimated "
              f"{covered(rows, 'estimated_share_lower', 'estimated_share_upper', 'true_share').mean():.2f} "
              "anchor 0.95")
        naive_err = ((rows["naive"] - rows["true_n"]).abs() / rows["true_n"]).mean()
        mse_n_err = ((rows["estimate"] - rows["true_n"]).abs() / rows["true_n"]).mean()
        print(f"figure {label}: mean relative error of the number of victims, documented share x N "
              f"{naive_err:.3f} stratified estimate {mse_n_err:.3f}; coverage "
              f"{covered(rows, 'naive_lower', 'naive_upper', 'true_n').mean():.2f} vs "
              f"{covered(rows, 'estimated_lower', 'estimated_upper', 'true_n').mean():.2f} anchor 0.95")
    print(f"figure {name} {HIDDEN}: mean true share {hidden['true_share'].mean():.3f}, documented "
          f"{hidden['share'].mean():.3f}, estimated {hidden['estimated_share'].mean():.3f} anchor true share")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    scenarios = (("hidden-form", hidden_form_scenario()), ("nk-women-china", load_scenario("nk-women-china")))
    for name, scenario in scenarios:
        start = time.perf_counter()
        runs = pd.concat([one_seed(scenario, seed) for seed in range(1, args.seeds + 1)], ignore_index=True)
        report(name, runs)
        print(f"figure {name}: {args.seeds} seeds in {time.perf_counter() - start:.1f} s anchor none")


if __name__ == "__main__":
    main()
