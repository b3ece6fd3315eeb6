"""A generated document is written only when its text changes: an unchanged one keeps its file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools import generated


def test_a_current_document_is_left_alone_and_a_stale_one_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "doc.md"
    out.write_text("same\n")
    os.utime(out, (1_000_000, 1_000_000))
    assert generated.main([], module="m", summary="s", out=out, render=lambda: "same\n") == 0
    assert out.stat().st_mtime == 1_000_000
    assert capsys.readouterr().out == f"{out} is current\n"
    assert generated.main([], module="m", summary="s", out=out, render=lambda: "new\n") == 0
    assert (out.read_text(), capsys.readouterr().out) == ("new\n", f"Wrote {out}\n")
    assert generated.main(["--check"], module="m", summary="s", out=out, render=lambda: "newer\n") == 1
    assert out.read_text() == "new\n"
