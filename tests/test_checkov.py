"""checkov over what this repository ships, in one run (its start-up alone takes five seconds): the
rendered Kubernetes manifests of every stack and the GitHub Actions workflows, with zero findings,
every skip justified, and a broken copy of the workflows to show the run can fail. Its report is
kept by the scanned files' content (tests/tool_results.py): a warm suite scans only what changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import required_tool
from tool_results import run_kept

from offline import render
from offline.harness import ROOT, stack_names
from offline.yaml_reader import load_yaml


def _scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    """(the scanned folder, checkov's report by framework) for: every stack rendered through the
    CLI under ``render/``, the workflows as committed and a copy with one job given write-all."""
    folder = tmp_path_factory.mktemp("checkov")
    for stack in stack_names():
        assert render.main(["--stack", stack, "--out", str(folder / "render" / stack)]) == 0
    for copy in ("as-committed", "broken"):
        shutil.copytree(ROOT / ".github", folder / "workflows" / copy / ".github")
    deploy = folder / "workflows" / "broken" / ".github" / "workflows" / "deploy.yml"
    deploy.write_text(deploy.read_text().replace("permissions: {}", "permissions: write-all", 1))
    checkov = required_tool("checkov", ROOT / ".tools" / "checkov" / "bin" / "checkov")
    command = [
        checkov,
        "--skip-download",
        *("--framework", "kubernetes", "github_actions"),
        *("-d", "render", "-d", "workflows"),
        *("-o", "json"),
    ]
    completed = run_kept(command, folder, Path(checkov).resolve().parents[1])
    reports = {report["check_type"]: report for report in _documents(completed.stdout)}
    assert sorted(reports) == ["github_actions", "kubernetes"], completed.stderr
    return folder, reports


def _documents(text: str) -> list[dict]:
    """checkov's JSON output: one document per scanned folder, each a report or a list of them."""
    decoder, documents, at = json.JSONDecoder(), [], 0
    while at < len(text.rstrip()):
        document, at = decoder.raw_decode(text, at)
        documents.extend(document if isinstance(document, list) else [document])
        while at < len(text) and text[at].isspace():
            at += 1
    return documents


def test_the_manifests_and_the_workflows_pass_and_a_broken_copy_does_not(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder, reports = _scan(tmp_path_factory)
    _the_manifests_pass_and_every_skip_has_a_reason(folder, reports["kubernetes"])
    _the_workflows_pass_and_a_broken_copy_does_not(reports["github_actions"])


def _the_manifests_pass_and_every_skip_has_a_reason(folder: Path, report: dict) -> None:
    results = report["results"]
    assert [(c["check_id"], c["resource"]) for c in results["failed_checks"]] == []
    assert report["summary"]["passed"] > 0
    manifests = [load_yaml(path.read_text()) for path in sorted(folder.glob("render/*/kubernetes/*.yaml"))]
    annotated = [
        value
        for manifest in manifests
        for key, value in manifest["metadata"].get("annotations", {}).items()
        if key.startswith("checkov.io/skip")
    ]
    assert len(results["skipped_checks"]) == len(annotated)
    for skipped in results["skipped_checks"]:
        assert len(skipped["check_result"]["suppress_comment"]) > 20, skipped["check_id"]


def _the_workflows_pass_and_a_broken_copy_does_not(report: dict) -> None:
    failed = report["results"]["failed_checks"]
    assert report["summary"]["passed"] > 100
    assert {check["check_id"] for check in failed} == {"CKV2_GHA_1"}  # top-level write-all
    assert all("/broken/" in check["file_abs_path"] for check in failed)
