"""The session set-up conftest.py makes for every test."""

from __future__ import annotations

import gc
import sys
import types
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")


def test_what_collection_loaded_is_frozen_for_the_collector() -> None:
    # conftest.pytest_collection_finish: the program's and the SDKs' modules, loaded while the tests
    # were collected, are in the permanent generation, so no collection walks them again.
    assert gc.get_freeze_count() > 0
    frozen = {id(obj) for obj in gc.get_objects()}
    assert id(sys.modules["offline.harness"].__dict__) not in frozen


def test_a_test_that_imported_many_modules_freezes_them_at_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    # The module pytest loaded (an import by name would load a second copy, and mypy read it twice).
    (conftest,) = {m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == str(CONFTEST)}
    monkeypatch.setattr(conftest, "_frozen_at", len(sys.modules))
    for i in range(conftest.REFREEZE_AFTER):
        monkeypatch.setitem(sys.modules, f"_imported_by_a_test_{i}", types.ModuleType(f"m{i}"))
    conftest.pytest_runtest_teardown(None)  # the item is not read
    assert conftest._frozen_at == len(sys.modules) - conftest.REFREEZE_AFTER  # at the bound: not frozen yet
    monkeypatch.setitem(sys.modules, "_one_more", types.ModuleType("one_more"))
    before = gc.get_freeze_count()
    conftest.pytest_runtest_teardown(None)
    assert conftest._frozen_at == len(sys.modules)
    assert gc.get_freeze_count() > before
