"""The public API is listed explicitly, sorted and complete (as httpx's test_exported_members)."""

import importlib

import pytest

PUBLIC = [
    "darkfigure",
    "darkfigure.casestore",
    "darkfigure.estimation",
    "darkfigure.linkage",
    "darkfigure.pipeline",
    "darkfigure.pprl",
    "darkfigure.publish",
    "darkfigure.report",
    "darkfigure.simulate",
    "darkfigure.web",
]


@pytest.mark.parametrize("name", PUBLIC)
def test_all_is_sorted_and_importable(name):
    module = importlib.import_module(name)
    exported = module.__all__
    # isort style (ruff RUF022): CONSTANTS, then Classes, then functions, each alphabetical
    assert exported == sorted(exported, key=lambda s: (0 if s.isupper() else 1 if s[0].isupper() else 2, s))
    for member in exported:
        assert hasattr(module, member), member


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_is_in_all(name):
    module = importlib.import_module(name)
    public = {n for n in vars(module) if not n.startswith("_") and not _is_submodule(module, n)}
    public -= {"annotations"}
    assert public <= set(module.__all__) | {"__version__"}


@pytest.mark.parametrize("name", PUBLIC)
def test_public_members_have_docstrings_with_examples(name):
    module = importlib.import_module(name)
    for member in module.__all__:
        obj = getattr(module, member)
        if callable(obj) and not isinstance(obj, type(Exception)):
            assert obj.__doc__ and obj.__doc__.strip(), f"{name}.{member} has no docstring"


def _is_submodule(module, attr):
    value = getattr(module, attr)
    return getattr(value, "__name__", "").startswith(module.__name__ + ".") and hasattr(value, "__path__") or (
        type(value).__name__ == "module"
    )
