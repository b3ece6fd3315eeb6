"""Where the repository is: the folder holding Pulumi.yaml and one Pulumi.<stack>.yaml per stack.

Standard library only, so the tools that must stay light (the benchmark's parent process, the git
side of the diff, the tests of tasks.sh) can import it without the settings models or Pulumi.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
