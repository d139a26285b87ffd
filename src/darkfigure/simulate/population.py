"""The hidden population and who sees whom.

:func:`draw_population` draws N entities: their strata (independently, in the scenario's shares), a
made-up name, a birth date from the age in the year of the events, and a latent visibility.
:func:`draw_captures` then decides, list by list, which entities each organisation sees (the capture
model is described in :mod:`darkfigure.simulate.scenarios`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from darkfigure.simulate.identities import draw_names, hangul_names
from darkfigure.simulate.scenarios import Heterogeneity, Scenario, capture_order

_MALE = ("Masculine", "TransgenderMasculine")  # given names drawn from men's syllables


def draw_population(scenario: Scenario, rng: np.random.Generator) -> pd.DataFrame:
    """One row per entity: ``entity_id``, one categorical column per stratum (categories in the
    scenario's order; ``year`` with int categories), ``birth_date``,
    the name (``name_hangul`` in North Korean spelling and its table indices) and ``visibility``.

    >>> from darkfigure.simulate.scenarios import load_scenario
    >>> people = draw_population(load_scenario("generic").with_n(4), np.random.default_rng(1))
    >>> people.columns.tolist()[:4], len(people)
    (['entity_id', 'sex', 'year', 'place_of_origin'], 4)
    """
    n = scenario.n
    population = pd.DataFrame({"entity_id": np.char.add("E", np.char.zfill(np.arange(1, n + 1).astype(str),
                                                                            len(str(n))))})
    for stratum, weights in scenario.strata.items():
        shares = np.array(list(weights.values()), dtype=float)
        codes = rng.choice(len(shares), size=n, p=shares / shares.sum())
        values = [int(v) for v in weights] if stratum == "year" else list(weights)
        population[stratum] = pd.Categorical.from_codes(codes, categories=values)
    population["birth_date"] = _birth_dates(population["year"].to_numpy(dtype=np.int64), scenario.age, rng)
    family, first, second = draw_names(population["sex"].isin(_MALE).to_numpy(), rng)
    population["name_hangul"] = hangul_names(family, first, second, "north")
    population["family_index"], population["syllable_1"], population["syllable_2"] = family, first, second
    population["visibility"] = draw_visibility(scenario.heterogeneity, n, rng)
    return population


def _birth_dates(year: np.ndarray, age: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    years_old = np.clip(np.rint(rng.normal(age["mean"], age["sd"], len(year))), age["min"], age["max"])
    birth_year = (year - years_old).astype(np.int64)
    first_day = (birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    length = ((birth_year - 1969).astype("datetime64[Y]").astype("datetime64[D]") - first_day).astype(np.int64)
    return first_day + np.floor(rng.random(len(year)) * length).astype(np.int64)


def draw_visibility(heterogeneity: Heterogeneity, n: int, rng: np.random.Generator) -> np.ndarray:
    """Latent visibility of each entity: 1 for all (``none``), lognormal with mean 1, or the
    visibility of a latent class drawn in the given shares.

    >>> draw_visibility(Heterogeneity("classes", shares=(1, 0), visibility=(2.0, 0.1)), 3,
    ...                 np.random.default_rng(0)).tolist()
    [2.0, 2.0, 2.0]
    """
    if heterogeneity.kind == "lognormal":
        sigma = heterogeneity.sigma
        return np.exp(rng.normal(-sigma * sigma / 2, sigma, n))
    if heterogeneity.kind == "classes":
        shares = np.asarray(heterogeneity.shares, dtype=float)
        classes = rng.choice(len(shares), size=n, p=shares / shares.sum())
        return np.asarray(heterogeneity.visibility, dtype=float)[classes]
    return np.ones(n)


def stratum_rates(scenario: Scenario, population: pd.DataFrame) -> np.ndarray:
    """Capture-rate multiplier of each entity (rows) for each list (columns): the product of every
    list's and that list's own stratum multipliers.

    >>> from darkfigure.simulate.scenarios import load_scenario
    >>> s = load_scenario("generic")
    >>> people = pd.DataFrame({"exploitation_form": ["ForcedLabour"], "place_of_exploitation": ["Farmland"]})
    >>> stratum_rates(s, people).tolist()
    [[1.0, 0.6, 1.0, 3.75]]
    """
    rates = np.ones((len(population), len(scenario.organisations)))
    for j, organisation in enumerate(scenario.organisations):
        for table in (scenario.multipliers, organisation.multipliers):
            for stratum, values in table.items():
                column = population[stratum].astype("category")
                factor = np.array([values.get(str(v), 1.0) for v in column.cat.categories])
                rates[:, j] *= factor[column.cat.codes.to_numpy()]
    return rates


def draw_captures(scenario: Scenario, population: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Which entity (row) is on which list (column, in ``scenario.lists`` order), drawn list by list
    so that referrals from lists already drawn raise (or lower) the capture rate.

    >>> from darkfigure.simulate.scenarios import load_scenario
    >>> s = load_scenario("generic").with_n(2000)
    >>> rng = np.random.default_rng(5)
    >>> on = draw_captures(s, draw_population(s, rng), rng)
    >>> on.shape, bool(on.any(axis=1).mean() < 0.5)
    ((2000, 4), True)
    """
    lists = list(scenario.lists)
    rates = stratum_rates(scenario, population)
    visibility = population["visibility"].to_numpy(dtype=float)
    captured = np.zeros(rates.shape, dtype=bool)
    uniforms = rng.random(rates.shape)  # drawn at once: each list's draws do not depend on the order
    for name in capture_order(lists, scenario.referrals, scenario.source):
        j = lists.index(name)
        organisation = scenario.organisations[j]
        rate = rates[:, j] * visibility**organisation.visibility_weight
        for referral in scenario.referrals:
            if referral.target == name:
                rate = rate * np.where(captured[:, lists.index(referral.source)], referral.factor, 1.0)
        probability = -np.expm1(rate * np.log1p(-organisation.capture))
        captured[:, j] = uniforms[:, j] < probability
    return captured
