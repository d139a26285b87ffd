"""Model choice by BIC/AIC over all hierarchical models, against MultipleSystemsEstimation's results
(REFERENCE.md) and against the one-model path (check_counts and fit_model) it must agree with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import darkfigure
from darkfigure.errors import EstimationError, InputError
from darkfigure.estimation import _batch
from darkfigure.estimation.bic import ModelChoice, select_model
from darkfigure.estimation.existence import check_counts
from darkfigure.estimation.hierarchy import model_space
from darkfigure.estimation.loglinear import fit_model
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.histories import CaptureHistories

# REFERENCE.md, "BIC over all hierarchical models (UK 5 lists)", maxorder 2, best four: model, N, BIC
UK5_PAIRWISE_BEST_FOUR = [
    ("[12,13,23,25,34]", 22991.33, 196.5398),
    ("[12,13,25,35,45]", 12262.41, 197.4950),
    ("[12,13,23,34,5]", 25978.17, 198.3205),
    ("[12,13,24,25,35,45]", 11312.99, 198.6047),
]


@pytest.fixture(scope="module")
def uk5_order2(uk5: CaptureHistories) -> ModelChoice:
    return select_model(uk5, "bic", max_order=2)


@pytest.fixture(scope="module")
def uk5_order3(uk5: CaptureHistories) -> ModelChoice:
    return select_model(uk5, "bic", max_order=3)


def same_model(name: str, expected: str, n_lists: int = 5) -> bool:
    return HierarchicalModel.parse(name, n_lists) == HierarchicalModel.parse(expected, n_lists)


def test_uk5_pairwise_best_four(uk5_order2: ModelChoice) -> None:
    assert uk5_order2.search == "exhaustive"
    assert uk5_order2.n_models == 1024  # REFERENCE.md: maxorder 2 (1,024 models)
    assert uk5_order2.n_estimable == 1024
    top = uk5_order2.table.head(4)
    for (_, row), (name, n, bic) in zip(top.iterrows(), UK5_PAIRWISE_BEST_FOUR, strict=True):
        assert same_model(row["model"], name)
        assert row["N"] == pytest.approx(n, abs=0.006)  # printed to 2 decimals
        assert row["BIC"] == pytest.approx(bic, abs=6e-5)  # printed to 4 decimals
        assert row["code"] == 0


def test_uk5_order3_best(uk5_order3: ModelChoice) -> None:
    # REFERENCE.md: maxorder 3 (6,084 models): best [123,25,34] 25,311.29 (BIC 195.8791)
    assert same_model(uk5_order3.best.name(), "[123,25,34]")
    assert uk5_order3.estimate == pytest.approx(25311.29, abs=0.006)
    assert uk5_order3.best.bic == pytest.approx(195.8791, abs=6e-5)
    assert uk5_order3.table["BIC"].iloc[0] == pytest.approx(uk5_order3.best.bic, rel=1e-10)
    assert uk5_order3.table["N"].iloc[0] == pytest.approx(uk5_order3.estimate, rel=1e-10)


def test_uk5_order3_counts_models_as_mse(uk5_order3: ModelChoice) -> None:
    # MSE's catalogue holds 6,212 five-list models of order <= 3 (get_hierarchical_models docs); on
    # these data 128 have no MLE and MSE drops them, leaving the 6,084 models REFERENCE.md reports.
    assert uk5_order3.n_models == 6212
    assert uk5_order3.n_estimable == 6084
    assert uk5_order3.excluded() == {1: 128}
    tail = uk5_order3.table.iloc[6084:]
    assert (tail["code"] == 1).all() and tail["BIC"].isna().all()


def test_table_is_sorted_and_consistent(uk5_order3: ModelChoice, uk5: CaptureHistories) -> None:
    table = uk5_order3.table
    usable = table[table["code"] == 0]
    assert usable["BIC"].is_monotonic_increasing
    assert list(table.columns[:9]) == ["model", "N", "se", "deviance", "df", "parameters", "AIC", "BIC", "code"]
    n = uk5.n_observed
    np.testing.assert_allclose(usable["BIC"] - usable["AIC"], usable["parameters"] * (np.log(n) - 2), rtol=1e-9)
    assert (usable["parameters"] == [HierarchicalModel.parse(m, 5).n_parameters for m in usable["model"]]).all()
    assert uk5_order3.model_at(0) == uk5_order3.model


def test_aic_choice(uk5: CaptureHistories) -> None:
    choice = select_model(uk5, "aic", max_order=2)
    usable = choice.table[choice.table["code"] == 0]
    assert usable["AIC"].is_monotonic_increasing
    assert choice.best.aic == pytest.approx(usable["AIC"].min(), rel=1e-10)
    assert choice.criterion == "aic"


def test_kernel_agrees_with_check_counts_and_fit_model_on_all_order3_models(uk5: CaptureHistories) -> None:
    """Every one of the 6,212 models: same code, rank deficiency, BIC, N and se as the one-model path."""
    space = model_space(5, 3)
    table = np.zeros(32)
    table[1:] = uk5.counts
    results = _batch.evaluate(table, 5, np.asarray(space.terms), space.membership())
    log_n = np.log(uk5.n_observed)
    for row, model in zip(results, space.models(), strict=True):
        verdict = check_counts(uk5.counts, uk5.cells, model)
        assert (int(row[0]), int(row[1])) == (verdict.code, verdict.rank_deficiency), model.name()
        if verdict.code:
            continue
        fit = fit_model(uk5, model, check=False)
        n0 = np.exp(row[4])
        assert -2 * row[2] + (row[7] + row[8]) * log_n == pytest.approx(fit.bic, rel=1e-9)
        assert uk5.n_observed + n0 == pytest.approx(fit.estimate, rel=1e-9)
        assert np.sqrt(n0 * n0 * row[5] + n0) == pytest.approx(fit.se, rel=1e-8)
        assert row[3] == pytest.approx(fit.deviance, rel=1e-8, abs=1e-9)
        assert (int(row[6]), int(row[7])) == (len(fit.observed), len(fit.term_names))


def test_kernel_agrees_with_the_linear_programme_on_sparse_random_tables(seed: int) -> None:
    """Sparse tables make the positive cells rank deficient, where existence needs the ray test."""
    rng = np.random.default_rng(seed)
    checked = {0: 0, 1: 0, 2: 0, 3: 0}
    for _ in range(60):
        n_lists = int(rng.choice([3, 4, 4, 5]))
        space = model_space(n_lists, int(rng.integers(2, n_lists + 1)) if n_lists < 5 else 2)
        n_cells = (1 << n_lists) - 1
        counts = np.where(rng.random(n_cells) < rng.uniform(0.2, 0.8), rng.integers(1, 30, n_cells), 0)
        table = np.concatenate([[0.0], counts])
        results = _batch.evaluate(table, n_lists, np.asarray(space.terms), space.membership())
        cells = np.arange(1, 1 << n_lists)
        for i in rng.choice(len(space), size=min(len(space), 40), replace=False):
            verdict = check_counts(counts, cells, space.model(int(i)))
            if results[i, 0] != _batch.UNDECIDED:  # undecided goes to the linear programme anyway
                assert results[i, 0] == verdict.code, (counts.tolist(), space.model(int(i)).name())
                checked[verdict.code] += 1
    assert min(checked[0], checked[1]) > 100 and checked[3] > 0


def test_downhill_search_finds_the_exhaustive_best_on_uk5(uk5: CaptureHistories, uk5_order3: ModelChoice) -> None:
    downhill = select_model(uk5, "bic", max_order=3, search="downhill")
    assert downhill.search == "downhill"
    assert downhill.starts[0] == "[1,2,3,4,5]"
    assert downhill.model == uk5_order3.model
    assert downhill.n_models < uk5_order3.n_models
    merged = downhill.table.merge(uk5_order3.table, on="model", suffixes=("", "_all"))
    assert len(merged) == downhill.n_models  # every model it saw is in the full table, same values
    usable = merged[merged["code"] == 0]
    np.testing.assert_allclose(usable["BIC"], usable["BIC_all"], rtol=1e-12)


def test_six_lists_order3_is_searched_downhill(uk6: CaptureHistories) -> None:
    choice = select_model(uk6, "bic", max_order=3)
    assert choice.search == "downhill"
    assert len(choice.starts) == 3  # independence, all pairs, the best pairwise model
    pairwise = select_model(uk6, "bic", max_order=2)
    assert pairwise.search == "exhaustive" and pairwise.n_models == 32768
    assert choice.best.bic <= pairwise.best.bic + 1e-9
    assert choice.table["model"].is_unique


def test_models_given_by_the_user(uk5: CaptureHistories) -> None:
    given = ["[12,13,23,25,34]", "[LA:NG,LA:PFNCA]", HierarchicalModel.parse("[123,25,34]", 5)]
    choice = select_model(uk5, models=given)
    assert choice.search == "given" and choice.n_models == 3
    assert same_model(choice.best.name(), "[123,25,34]")
    assert choice.table["BIC"].iloc[1] == pytest.approx(196.5398, abs=6e-5)  # REFERENCE.md


def test_artificial_codes_flag_models(artificial: CaptureHistories) -> None:
    # REFERENCE.md: all three pairs -> 2; pair A:B only -> 1; pairs A:C and B:C -> 0
    choice = select_model(artificial, models=["[A:B,A:C,B:C]", "[A:B,C]", "[A:C,B:C]"])
    codes = dict(zip(choice.table["model"], choice.table["code"], strict=True))
    assert codes == {"[13,23]": 0, "[12,3]": 1, "[12,13,23]": 2}
    assert choice.excluded() == {1: 1, 2: 1}
    assert same_model(choice.best.name(), "[13,23]", 3)


def test_results_are_reported(uk5_order2: ModelChoice) -> None:
    text = uk5_order2.summary(top=3)
    assert "exhaustive" in text and "22,991.33" in text and "1,024 models" in text
    record = uk5_order2.to_dict(top=2)
    json.dumps(record)
    assert record["n_models"] == 1024 and len(record["top"]) == 2
    assert "<table" in uk5_order2._repr_html_()
    assert isinstance(uk5_order2.to_frame(), pd.DataFrame)


def test_bad_arguments_are_refused(uk5: CaptureHistories) -> None:
    with pytest.raises(InputError, match="criterion"):
        select_model(uk5, "dic")
    with pytest.raises(InputError, match="max_order"):
        select_model(uk5, max_order=6)
    with pytest.raises(InputError, match="search"):
        select_model(uk5, search="random")
    with pytest.raises(InputError, match="empty"):
        select_model(uk5, models=[])
    with pytest.raises(InputError, match="lists"):
        select_model(uk5, models=[HierarchicalModel.independence(3)])


def test_no_estimable_model_is_an_error() -> None:
    # two lists that share no case: the independence model has no finite MLE
    h = CaptureHistories.from_counts([[1, 0], [0, 1]], [10, 12])
    with pytest.raises(EstimationError, match="none of the"):
        select_model(h, max_order=1)


def test_plain_python_kernel_gives_the_same_table(artificial: CaptureHistories, reference_dir: Path) -> None:
    script = (
        "import sys, json\n"
        "from darkfigure.histories import CaptureHistories\n"
        "from darkfigure.estimation.bic import select_model\n"
        "from darkfigure import _compile\n"
        "t = select_model(CaptureHistories.read_csv(sys.argv[1]), max_order=3).table\n"
        "print(json.dumps([_compile.HAVE_NUMBA, t['model'].tolist(), t['BIC'].fillna(-1).tolist()]))\n"
    )
    env = dict(os.environ, DARKFIGURE_NO_NUMBA="1")
    env["PYTHONPATH"] = str(Path(darkfigure.__file__).resolve().parents[1])
    out = subprocess.run(
        [sys.executable, "-c", script, str(reference_dir / "artificial_3lists.csv")],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    ).stdout
    have_numba, names, bics = json.loads(out.strip().splitlines()[-1])
    compiled = select_model(artificial, max_order=3).table
    assert have_numba is False
    assert names == compiled["model"].tolist()
    np.testing.assert_allclose(bics, compiled["BIC"].fillna(-1), rtol=1e-12)
