"""The rules between settings, by topic (the models they check are the modules of ``settings``).

A rule is a function a module marks with ``@rule``; ``RULES`` holds every module's rules, listed
here explicitly, in the order their problems print. ``tests/settings/rules/test_init.py`` fails when a module
of this package is missing from ``MODULES``: a rule cannot be forgotten by forgetting an import.
"""

from __future__ import annotations

from settings.engine import rules_in
from settings.rules import cluster, observability, production, secrets, workload

MODULES = (observability, cluster, secrets, production, workload)
RULES = rules_in(*MODULES)
