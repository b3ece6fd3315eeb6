"""The program's start-up: importing with the garbage collector paused, then freezing the result."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def imports_frozen() -> Iterator[None]:
    """Run the imports in the block with the collector paused, then freeze what they built.

    Importing the SDK and the program creates some 100,000 long-lived objects (modules, classes,
    type hints) and next to no garbage, yet with the collector on, each full collection during the
    import scans everything imported so far: three of them, a quarter of a billion instructions of
    a prod render. Frozen, the imports are never scanned again, at exit included (README.md,
    "Performance"). The process runs once: nothing frozen ever needed collecting. The collector's
    previous state comes back, even when an import fails.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
