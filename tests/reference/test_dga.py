"""Bayesian model averaging over decomposable graphs against the R package dga (REFERENCE.md,
"Bayesian model averaging over decomposable graphs"), against a plain-loop implementation of
Madigan & York's formulas, and the compiled, pruned and NumPy paths against each other."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from itertools import product
from pathlib import Path

import numpy as np
import pytest

import darkfigure
from darkfigure import _compile
from darkfigure.errors import InputError
from darkfigure.estimation import dga
from darkfigure.estimation.dga import DGA
from darkfigure.histories import CaptureHistories

QUANTILES = ("0.025", "0.1", "0.5", "0.9", "0.975")
NEGBIN = (13.14, 55.17)  # REFERENCE.md (dga manual, Madigan & York's prior for the 3-list example)


@pytest.fixture(scope="module")
def my5(reference_dir: Path) -> CaptureHistories:
    return CaptureHistories.read_csv(reference_dir / "madigan_york_5lists.csv")


@pytest.fixture(scope="module")
def my3(reference_dir: Path) -> CaptureHistories:
    return CaptureHistories.read_csv(reference_dir / "madigan_york_3lists.csv")


def test_madigan_york_5_lists(my5: CaptureHistories) -> None:
    e = DGA(delta=0.5, max_missing=300).fit(my5)  # dga manual: Nmissing <- 1:300
    d = e.diagnostics
    # REFERENCE.md: mean 617.82, mode 614, quantiles 588 / 597 / 616 / 640 / 655, best graph 0.2171
    assert d["posterior_mean"] == pytest.approx(617.82, abs=0.005)
    assert d["posterior_mode"] == 614
    assert [d["quantiles"][q] for q in QUANTILES] == [588, 597, 616, 640, 655]
    assert d["best_graph_probability"] == pytest.approx(0.2171, abs=5e-5)
    assert e.estimate == 616 and (e.interval.lower, e.interval.upper) == (588, 655)
    assert e.interval.kind == "posterior" and e.method == "dga"
    assert e.model == e.table["model"].iloc[0] and len(e.table) == 20
    assert d["graphs"] == 822 and e.warnings == ()


def test_madigan_york_3_lists_negative_binomial_prior(my3: CaptureHistories) -> None:
    e = DGA(delta=1.0, prior="negbin", prior_params=NEGBIN, max_missing=300).fit(my3)
    d = e.diagnostics
    # REFERENCE.md: mean 733.45, mode 728, quantiles 682 / 700 / 731 / 771 / 797
    assert d["posterior_mean"] == pytest.approx(733.45, abs=0.005)
    assert d["posterior_mode"] == 728
    assert [d["quantiles"][q] for q in QUANTILES] == [682, 700, 731, 771, 797]


def test_madigan_york_3_lists_one_over_n_prior(my3: CaptureHistories) -> None:
    e = DGA(delta=1.0, max_missing=300).fit(my3)
    assert e.diagnostics["posterior_mean"] == pytest.approx(733.72, abs=0.005)  # REFERENCE.md
    # 0.25% of the posterior lies beyond N0 = 300: the mean moves to 734.55 with a grid to 1,000
    assert any("posterior mass reaches the top of the grid" in w for w in e.warnings)
    assert DGA(delta=1.0, max_missing=1000).fit(my3).diagnostics["posterior_mean"] > 734.5


def test_uk_5_lists_depends_on_the_top_of_the_grid(uk5: CaptureHistories) -> None:
    e = DGA(delta=2**-5, max_missing=40_000 - uk5.n_observed).fit(uk5)  # N up to 40,000
    q = e.diagnostics["quantiles"]
    # REFERENCE.md: median about 23.0K, 2.5% 10.4K, 97.5% 33.3K (printed to 0.1K)
    assert q["0.5"] == pytest.approx(23_000, abs=50)
    assert q["0.025"] == pytest.approx(10_400, abs=50)
    assert q["0.975"] == pytest.approx(33_300, abs=50)
    assert any("posterior mass reaches the top of the grid" in w for w in e.warnings)
    wider = DGA(delta=2**-5, max_missing=40_000).fit(uk5)  # N0 up to 40,000: within 1% still
    assert wider.diagnostics["quantiles"]["0.975"] == pytest.approx(33_300, rel=0.01)
    assert wider.diagnostics["quantiles"]["0.975"] > q["0.975"]


def test_automatic_grid(my5: CaptureHistories, uk5: CaptureHistories) -> None:
    auto = DGA(delta=0.5).fit(my5)
    assert [auto.diagnostics["quantiles"][q] for q in QUANTILES] == [588, 597, 616, 640, 655]
    assert auto.warnings == () and auto.diagnostics["share_beyond_grid"] < 1e-6
    uk = DGA(delta=2**-5).fit(uk5)
    assert uk.warnings == () and uk.diagnostics["share_beyond_grid"] < 1e-6
    assert uk.diagnostics["max_missing"] > 40_000


def plain_log_posterior(counts: dict[tuple[int, ...], int], delta: float, missing: int, cliques, separators) -> float:
    """Madigan & York's log marginal likelihood and 1/N prior, written out with loops."""
    t = len(next(iter(counts)))
    full = dict(counts) | {(0,) * t: missing}
    n_total = sum(full.values())

    def component(members: tuple[int, ...]) -> float:
        prior = delta * 2 ** (t - len(members))
        value = math.lgamma(delta * 2**t) - math.lgamma(n_total + delta * 2**t)
        for cell in product((0, 1), repeat=len(members)):
            m = sum(c for p, c in full.items() if tuple(p[j] for j in members) == cell)
            value += math.lgamma(m + prior) - math.lgamma(prior)
        return value

    value = sum(component(c) for c in cliques) - sum(component(s) for s in separators)
    value += math.lgamma(n_total + 1) - math.lgamma(missing + 1) - sum(math.lgamma(c + 1) for c in counts.values())
    return value - math.log(n_total)


# the eight decomposable graphs on three lists, as dga's graphs3 lists them (0-based lists)
GRAPHS3 = [
    ([(0,), (1,), (2,)], []),
    ([(0, 1), (2,)], []),
    ([(0, 2), (1,)], []),
    ([(1, 2), (0,)], []),
    ([(0, 1), (0, 2)], [(0,)]),
    ([(0, 1), (1, 2)], [(1,)]),
    ([(0, 2), (1, 2)], [(2,)]),
    ([(0, 1, 2)], []),
]


def test_matches_plain_implementation(my3: CaptureHistories) -> None:
    counts = {tuple(int(v) for v in p): int(c) for p, c in zip(my3.patterns, my3.counts, strict=True)}
    grid = range(1, 121)
    table = np.array([[plain_log_posterior(counts, 1.0, m, c, s) for m in grid] for c, s in GRAPHS3])
    joint = np.exp(table - table.max())
    joint /= joint.sum()
    e = DGA(delta=1.0, max_missing=120).fit(my3)
    expected = joint.sum(axis=0)
    assert e.diagnostics["posterior_mean"] == pytest.approx(expected @ (np.array(grid) + 626), rel=1e-12)
    names = ["[1,2,3]", "[12,3]", "[13,2]", "[1,23]", "[12,13]", "[12,23]", "[13,23]", "[123]"]
    by_name = dict(zip(e.table["model"], e.table["probability"], strict=True))
    for name, probability in zip(names, joint.sum(axis=1), strict=True):
        lettered = "[" + ",".join(":".join("ABC"[int(ch) - 1] for ch in term) for term in name[1:-1].split(",")) + "]"
        assert by_name[lettered] == pytest.approx(probability, rel=1e-10, abs=1e-300)


def test_compiled_pruned_and_numpy_sums_agree(uk5: CaptureHistories) -> None:
    joint = DGA(delta=2**-5)._joint(uk5)
    missing = np.arange(1, 20_001, dtype=np.float64)
    every = np.arange(len(joint.graphs))
    plain = dga._numpy_sums(joint, every, missing)
    kept = dga._kept_graphs(joint, 1, 20_000)
    assert 0 < kept.size < every.size
    pruned = dga._numpy_sums(joint, kept, missing)
    compiled = dga._compiled_sums(joint, kept, missing)
    # the graphs left out hold under 1e-10 of the mass
    for marginal, mass, _, scale in (pruned, compiled):
        shift = math.exp(scale - plain[3])
        assert marginal.sum() * shift == pytest.approx(plain[0].sum(), rel=1e-10)
        np.testing.assert_allclose(marginal * shift, plain[0], rtol=0, atol=1e-10 * plain[0].max())
        np.testing.assert_allclose(mass * shift, plain[1][kept], rtol=1e-10)
    # compiled and NumPy sums over the same graphs: equal but for rounding (log densities near 1e4,
    # so about 1e-12 each) and terms under exp(-50)
    shift = math.exp(compiled[3] - pruned[3])
    for got, want in zip(compiled[:3], pruned[:3], strict=True):
        np.testing.assert_allclose(got * shift, want, rtol=1e-10, atol=1e-15 * want.max())


def test_share_beyond_the_grid_is_estimated(my3: CaptureHistories) -> None:
    short = DGA(delta=1.0, max_missing=300).fit(my3).diagnostics["share_beyond_grid"]
    long = DGA(delta=1.0, max_missing=200_000)._joint(my3)
    sums = dga._numpy_sums(long, np.arange(8), np.arange(1, 200_001, dtype=np.float64))
    exact = sums[0][300:].sum() / sums[0].sum()  # the tail falls like N**-8: nothing left past 200,000
    assert short == pytest.approx(exact, rel=0.02)


def test_draws_need_a_seed(my5: CaptureHistories, seed: int) -> None:
    assert DGA(delta=0.5, max_missing=300).fit(my5).replicates is None
    a = DGA(delta=0.5, max_missing=300, seed=seed, ndraws=20_000).fit(my5)
    b = DGA(delta=0.5, max_missing=300, seed=seed, ndraws=20_000).fit(my5)
    assert np.array_equal(a.replicates, b.replicates) and a.replicates.size == 20_000
    assert a.replicates.mean() == pytest.approx(617.82, abs=0.5)  # Monte-Carlo error about 0.12
    json.dumps(a.to_dict())
    assert "posterior" in a.summary()


def test_bad_settings_are_refused(my3: CaptureHistories) -> None:
    with pytest.raises(InputError, match="'prior' parameter of DGA"):
        DGA(prior="flat").fit(my3)
    with pytest.raises(InputError, match=r"prior_params=\(a, b\)"):
        DGA(prior="negbin").fit(my3)
    with pytest.raises(InputError, match="takes no prior_params"):
        DGA(prior_params=(1.0, 2.0)).fit(my3)
    with pytest.raises(InputError, match="'delta' parameter"):
        DGA(delta=0.0).fit(my3)
    with pytest.raises(InputError, match="'max_missing' parameter"):
        DGA(max_missing=0).fit(my3)
    seven = CaptureHistories.from_counts(np.eye(7, dtype=int), [5] * 7)
    with pytest.raises(InputError, match="merge lists"):
        DGA().fit(seven)


WITHOUT_NUMBA = """
import json, sys
from darkfigure import _compile
from darkfigure.estimation.dga import DGA
from darkfigure.histories import CaptureHistories
e = DGA(delta=0.5, max_missing=300).fit(CaptureHistories.read_csv(sys.argv[1]))
print(json.dumps([_compile.HAVE_NUMBA, e.diagnostics["posterior_mean"], e.diagnostics["quantiles"]]))
"""


def test_numpy_path_without_numba_gives_the_same_posterior(reference_dir: Path, my5: CaptureHistories) -> None:
    if not _compile.HAVE_NUMBA:
        pytest.skip("numba is not installed (or is disabled) here: nothing compiled to compare with")
    environment = dict(os.environ, DARKFIGURE_NO_NUMBA="1")
    package_root = str(Path(darkfigure.__file__).resolve().parents[1])
    environment["PYTHONPATH"] = os.pathsep.join([package_root, environment.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_NUMBA, str(reference_dir / "madigan_york_5lists.csv")],
        capture_output=True, text=True, env=environment, timeout=300, check=True,
    )
    have_numba, mean, quantiles = json.loads(done.stdout.strip().splitlines()[-1])
    compiled = DGA(delta=0.5, max_missing=300).fit(my5).diagnostics
    assert have_numba is False
    assert mean == pytest.approx(compiled["posterior_mean"], rel=1e-10)
    assert quantiles == compiled["quantiles"] == dict(zip(QUANTILES, [588, 597, 616, 640, 655], strict=True))
