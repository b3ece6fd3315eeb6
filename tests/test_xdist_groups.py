"""The suite's modules that share an expensive fixture (the diff's repository copy and plan cache,
Prometheus' backfilled server) keep their tests on one worker with ``xdist_group`` under
``--dist loadgroup``. A pytest or pytest-xdist upgrade that silently breaks that (pytest-xdist#1386)
fails here rather than as a slower suite or a flaky cache test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def test_a_group_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(
        "import os\n\nimport pytest\n\n"
        "@pytest.mark.xdist_group('one')\n"
        "@pytest.mark.parametrize('i', range(8))\n"
        "def test_grouped(i):\n"
        "    with open('workers.txt', 'a') as f:\n"
        "        f.write(os.environ['PYTEST_XDIST_WORKER'] + '\\n')\n"
    )
    (tmp_path / "test_other.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('i', range(8))\ndef test_other(i):\n    pass\n"
    )
    command = [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "no:cov", "--rootdir", str(tmp_path), "-c", "/dev/null", str(tmp_path)]
    completed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    workers = (tmp_path / "workers.txt").read_text().split()
    assert len(workers) == 8
    assert len(set(workers)) == 1, f"the group ran on {sorted(set(workers))}: --dist loadgroup does not group"


@pytest.mark.parametrize("module", ["review/test_diff.py", "capacity/test_recorded.py"])
def test_the_modules_that_share_a_fixture_are_grouped(module: str) -> None:
    assert "pytest.mark.xdist_group(" in (Path(__file__).parent / module).read_text()
