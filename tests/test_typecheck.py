"""The type check of `./tasks.sh test` (mypy, configured in pyproject.toml), run by the suite on a
worker beside the other tests: the repository's files check clean, the policy pack's against its own
venv, a planted type error fails the check with its message, and every provider SDK package the
code imports from is one mypy reads (the config skips the rest, to keep a cold run short)."""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from helpers import required_tool
from mypy import api

from offline.harness import ROOT

CONFIG = ROOT / "pyproject.toml"
POLICY = ROOT / "policy"
SDKS = ("pulumi_aws", "pulumi_kubernetes", "pulumiverse_grafana")
# Not the program's: the venvs, build output, the policy pack (its own venv), git's own.
OUTSIDE = {"venv", ".venv", ".tools", "build", "policy", ".git"}


def _mypy(*args: str) -> tuple[str, int]:
    stdout, stderr, status = api.run(["--config-file", str(CONFIG), *args])
    return stdout + stderr, status


def test_the_repository_checks_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    # The configured files and cache (`venv/bin/mypy` run in the repository): warm, a second or two.
    monkeypatch.chdir(ROOT)
    output, status = _mypy()
    assert status == 0, output
    assert re.fullmatch(r"Success: no issues found in \d+ source files\n", output), output


def test_the_policy_pack_checks_clean_against_its_own_venv(monkeypatch: pytest.MonkeyPatch) -> None:
    # The pack runs in its own venv (pulumi-policy pins an older protobuf): checked against that
    # venv's packages, with a cache of its own.
    python = required_tool("the policy pack's python", ROOT / "policy" / "venv" / "bin" / "python")
    monkeypatch.chdir(ROOT)
    files = sorted(str(path.relative_to(ROOT)) for pattern in ("*.py", "tests/*.py") for path in POLICY.glob(pattern))
    output, status = _mypy("--python-executable", python, "--cache-dir", "build/mypy-cache-policy", *files)
    assert status == 0, output
    assert re.fullmatch(rf"Success: no issues found in {len(files)} source files\n", output), output


def test_a_planted_type_error_fails_the_check(tmp_path: Path) -> None:
    package = tmp_path / "planted"
    package.mkdir()
    (package / "__init__.py").write_text("")
    # A small module of the program (standard library only), first as it is: it checks clean.
    module = package / "quantity.py"
    shutil.copy(ROOT / "settings" / "quantity.py", module)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    output, status = _mypy(*cache, str(package))
    assert status == 0, output
    # Then with a function that returns the module's text constant where it promises an int.
    module.write_text(module.read_text() + "\n\ndef planted() -> int:\n    return QUANTITY_HINT\n")
    output, status = _mypy(*cache, str(package))
    assert status == 1, output
    line = len(module.read_text().splitlines())
    expected = f'{module}:{line}: error: Incompatible return value type (got "str", expected "int")  [return-value]'
    assert expected in output.splitlines(), output
    assert output.rstrip().endswith("Found 1 error in 1 file (checked 2 source files)"), output


def _followed() -> list[str]:
    """The patterns of the SDK modules mypy reads (follow_imports = normal in an override)."""
    overrides = tomllib.loads(CONFIG.read_text())["tool"]["mypy"]["overrides"]
    return [pattern for o in overrides if o.get("follow_imports") == "normal" for pattern in o["module"]]


def _is_followed(module: str, patterns: list[str]) -> bool:
    return any(
        module == pattern or (pattern.endswith(".*") and (module + ".").startswith(pattern[:-1]))
        for pattern in patterns
    )


def _sdk_imports(packages: tuple[str, ...] = SDKS) -> dict[str, set[str]]:
    """{module of ``packages``: the files importing from it}, over every Python file mypy checks. ``from
    pulumi_aws import iam`` imports the module pulumi_aws.iam; ``from pulumi_aws import Provider``
    a name of pulumi_aws (read); ``import pulumi_aws`` the package itself."""
    folders = {}
    for sdk in packages:
        spec = importlib.util.find_spec(sdk)  # a top-level package: found without importing it
        assert spec is not None, sdk
        assert spec.submodule_search_locations, sdk
        folders[sdk] = Path(next(iter(spec.submodule_search_locations)))
    found: dict[str, set[str]] = {}
    tops = [top for top in sorted(ROOT.iterdir()) if top.name not in OUTSIDE and not top.name.startswith(".")]
    paths = [path for top in tops for path in ([top] if top.is_file() else sorted(top.rglob("*.py")))]
    for path in (path for path in paths if path.suffix == ".py"):
        relative = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                folder = folders.get(node.module)
                modules = (
                    [node.module]
                    if folder is None
                    else [
                        f"{node.module}.{alias.name}"
                        for alias in node.names
                        if (folder / alias.name).is_dir() or (folder / f"{alias.name}.py").is_file()
                    ]
                )
            for module in modules:
                if module.split(".")[0] in folders:
                    found.setdefault(module, set()).add(str(relative))
    return found


def test_every_provider_sdk_package_the_code_imports_from_is_read() -> None:
    imported = _sdk_imports()
    assert "pulumi_aws.iam" in imported  # the scan sees the program's imports
    # `import pulumi_aws` reaches every service as an attribute: each would be Any, unchecked.
    assert sorted(module for module in imported if module in SDKS and "." not in module) == [], (
        "import from the SDK's subpackage (from pulumi_aws.s3 import Bucket), not the package itself"
    )
    patterns = _followed()
    unread = {module: sorted(files) for module, files in imported.items() if not _is_followed(module, patterns)}
    assert unread == {}, "add these packages to the follow_imports = normal override in pyproject.toml"


def test_every_emulator_module_the_code_imports_from_is_read() -> None:
    # moto's 660 modules are skipped but for those listed: an import from another would be Any.
    imported = _sdk_imports(("moto",))
    assert "moto.secretsmanager.models" in imported  # the scan sees the rehearsal's imports
    patterns = _followed()
    unread = {module: sorted(files) for module, files in imported.items() if not _is_followed(module, patterns)}
    assert unread == {}, "add these modules to the follow_imports = normal override in pyproject.toml"
