"""The session set-up conftest.py makes for every test."""

from __future__ import annotations

import gc
import sys


def test_what_collection_loaded_is_frozen_for_the_collector() -> None:
    # conftest.pytest_collection_finish: the program's and the SDKs' modules, loaded while the tests
    # were collected, are in the permanent generation, so no collection walks them again.
    assert gc.get_freeze_count() > 0
    frozen = {id(obj) for obj in gc.get_objects()}
    assert id(sys.modules["offline.harness"].__dict__) not in frozen
