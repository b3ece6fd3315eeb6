"""What every generator of a committed document shares (``tools.rotation_policy``,
``tools.settings_reference``; ``./tasks.sh docs`` runs them all): write the document, or with
``--check`` write nothing and fail, naming the document, when the committed file is stale."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from settings.stackfile import ROOT


def main(argv: list[str] | None, *, module: str, summary: str, out: Path, render: Callable[[], str]) -> int:
    """The command line of the generator ``module``, which ``render``s the document ``out``."""
    parser = argparse.ArgumentParser(prog="./tasks.sh docs", description=summary)
    parser.add_argument("--check", action="store_true", help="fail if the committed document is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not out.is_file() or out.read_text() != text:
            print(f"error: {_shown(out)} is stale: run ./tasks.sh docs", file=sys.stderr)
            return 1
        return 0
    if out.is_file() and out.read_text() == text:  # left alone: no new timestamp for make or an editor
        print(f"{_shown(out)} is current")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"Wrote {_shown(out)}")
    return 0


def _shown(path: Path) -> str:
    """The document as the repository names it (a test's copy elsewhere by its full path)."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)
