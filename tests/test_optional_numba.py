"""numba stays optional: darkfigure imports and fits without it, and the plain-Python kernels give
the same numbers as the compiled ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import darkfigure
from darkfigure import _compile
from darkfigure.estimation.loglinear import fit_model
from darkfigure.estimation.models import HierarchicalModel
from darkfigure.histories import CaptureHistories

# Fits UK 6 lists independence (Mt) and prints what it got, as exact JSON floats.
FIT_UK6 = """
import json, sys
{prelude}
import darkfigure
from darkfigure import _compile
from darkfigure.estimation.loglinear import fit_model
from darkfigure.estimation.models import HierarchicalModel
h = darkfigure.CaptureHistories.read_csv(sys.argv[1])
fit = fit_model(h, HierarchicalModel.independence(6))
print(json.dumps({{
    "have_numba": _compile.HAVE_NUMBA,
    "numba_module": repr(sys.modules.get("numba", "absent")),
    "estimate": fit.estimate,
    "coefficients": fit.glm.coefficients.tolist(),
    "fitted": fit.glm.fitted.tolist(),
    "deviance": fit.deviance,
    "covariance": fit.glm.covariance.ravel().tolist(),
}}))
"""

BLOCK_NUMBA = """
class _NoNumba:
    def find_spec(self, name, path=None, target=None):
        if name == "numba" or name.startswith("numba."):
            raise ImportError("numba is blocked for this test")
        return None
sys.meta_path.insert(0, _NoNumba())
"""


def start_fit(csv: Path, prelude: str = "", **env: str) -> subprocess.Popen[str]:
    package_root = str(Path(darkfigure.__file__).resolve().parents[1])
    environment = {k: v for k, v in os.environ.items() if k != "DARKFIGURE_NO_NUMBA"}
    environment["PYTHONPATH"] = os.pathsep.join([package_root, environment.get("PYTHONPATH", "")])
    environment.update(env)
    return subprocess.Popen(
        [sys.executable, "-c", FIT_UK6.format(prelude=prelude), str(csv)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
    )


def result(process: subprocess.Popen[str]) -> dict:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def fits_elsewhere(reference_dir: Path) -> dict[str, dict]:
    """The two subprocess fits, run side by side: numba blocked, and numba switched off."""
    csv = reference_dir / "uk2013_6lists.csv"
    started = {
        "blocked": start_fit(csv, BLOCK_NUMBA),
        "switched_off": start_fit(csv, DARKFIGURE_NO_NUMBA="1"),
    }
    return {name: result(process) for name, process in started.items()}


def test_import_and_fit_without_numba(fits_elsewhere: dict[str, dict]) -> None:
    got = fits_elsewhere["blocked"]
    assert got["have_numba"] is False
    assert got["numba_module"] == "'absent'"  # numba never got imported
    assert got["estimate"] == pytest.approx(12214.0, abs=0.05)  # REFERENCE.md, UK 6 lists Mt: 12214.0


def compiled_fit(uk6: CaptureHistories) -> dict:
    if not _compile.HAVE_NUMBA:
        pytest.skip("numba is not installed (or is disabled) here: nothing compiled to compare with")
    fit = fit_model(uk6, HierarchicalModel.independence(6))
    return {
        "coefficients": fit.glm.coefficients,
        "fitted": fit.glm.fitted,
        "deviance": fit.deviance,
        "covariance": fit.glm.covariance.ravel(),
    }


def test_plain_python_path_gives_the_compiled_numbers(
    fits_elsewhere: dict[str, dict], uk6: CaptureHistories
) -> None:
    compiled = compiled_fit(uk6)
    plain = fits_elsewhere["switched_off"]
    assert plain["have_numba"] is False
    for key, value in compiled.items():
        np.testing.assert_allclose(plain[key], value, rtol=1e-12, atol=0, err_msg=key)
    assert compiled["deviance"] == pytest.approx(179.355, abs=5e-4)  # REFERENCE.md, UK 6 lists Mt


@pytest.mark.parametrize(("value", "disabled"), [("1", True), ("yes", True), ("0", False), ("", False)])
def test_the_switch_reads_common_spellings(
    monkeypatch: pytest.MonkeyPatch, value: str, disabled: bool
) -> None:
    monkeypatch.setenv("DARKFIGURE_NO_NUMBA", value)
    assert _compile.numba_disabled() is disabled
