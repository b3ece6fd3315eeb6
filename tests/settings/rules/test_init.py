"""The rules package itself (settings/rules/__init__.py): every module listed, every rule registered."""

from __future__ import annotations


def test_every_module_of_the_rules_package_is_listed_and_every_rule_registered() -> None:
    """Rules are registered by ``settings.rules.MODULES``, explicitly: a module missing from that
    list, or a rule whose module is not in it, would never run, so it fails here."""
    import importlib
    import pkgutil

    import settings.rules as package
    from settings.rules import MODULES, RULES

    found = {info.name for info in pkgutil.iter_modules(package.__path__)}
    assert {module.__name__.rsplit(".", 1)[1] for module in MODULES} == found
    # Every function of the package that carries the mark: the module's own and those it made.
    marked = set()
    for name in sorted(found):
        for value in vars(importlib.import_module(f"settings.rules.{name}")).values():
            marked |= {
                check for check in (value if isinstance(value, list) else [value]) if hasattr(check, "rule_paths")
            }
    assert {check for _, check in RULES} == marked
    assert len(RULES) == len(marked) > 30
