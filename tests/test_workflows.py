"""The GitHub Actions workflows, validated offline: actionlint (with shellcheck over every `run:`
script), the workflow and action JSON schemas, zizmor's security audit and checkov, each with zero
findings and each shown to fail on a broken variant; then the promises they make, read from the YAML
itself; and CODEOWNERS, each of whose patterns names files that exist."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import json_schema_check, required_tool

from offline.harness import ROOT
from offline.yaml_reader import load_yaml

WORKFLOWS = ROOT / ".github" / "workflows"
ACTION = ROOT / ".github" / "actions" / "setup-stack" / "action.yml"
PINNED = re.compile(r"[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
BIN = Path(sys.executable).parent


def _load(name: str) -> dict:
    # YAML 1.1 reads the key `on` as True; the workflow means the string.
    document = load_yaml((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))
    return document


def _copy(tmp_path: Path) -> Path:
    """The .github tree in a scratch repository, to break on purpose."""
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    return tmp_path / ".github"


def _actionlint(folder: Path) -> subprocess.CompletedProcess:
    actionlint = required_tool("actionlint", BIN / "actionlint")
    required_tool("shellcheck")  # without it actionlint silently skips the `run:` scripts
    files = sorted(str(p) for p in (folder / "workflows").glob("*.yml"))
    command = [actionlint, "-no-color", *files]
    return subprocess.run(command, cwd=folder.parent, capture_output=True, text=True, check=False)


def test_actionlint_finds_nothing() -> None:
    completed = _actionlint(ROOT / ".github")
    assert (completed.returncode, completed.stdout) == (0, "")


def test_actionlint_and_shellcheck_do_find_a_broken_script(tmp_path: Path) -> None:
    github = _copy(tmp_path)
    workflow = github / "workflows" / "deploy.yml"
    workflow.write_text(
        workflow.read_text().replace(
            "      - uses: $/.github/actions/setup-stack",
            "      - run: echo $HOME/*\n      - uses: $/.github/actions/setup-stack",
            1,
        )
    )
    completed = _actionlint(github)
    assert completed.returncode == 1
    assert "SC2086" in completed.stdout  # shellcheck's unquoted expansion


def test_the_workflow_and_action_schemas_pass(tmp_path: Path) -> None:
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert workflows
    completed = json_schema_check("vendor.github-workflows", tmp_path / "workflows", *workflows)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    completed = json_schema_check("vendor.github-actions", tmp_path / "action", ACTION)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    broken = _copy(tmp_path) / "workflows" / "drift.yml"
    broken.write_text(broken.read_text().replace("timeout-minutes: 30", "timeout-minute: 30"))
    completed = json_schema_check("vendor.github-workflows", tmp_path / "broken", broken)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "drift.yml" in completed.stdout


def _zizmor(folder: Path, *options: str) -> subprocess.CompletedProcess:
    """zizmor over a .github folder (its workflows, composite actions and Dependabot configuration)
    and the pre-commit configuration beside it, offline: the online audits need GitHub's API."""
    zizmor = required_tool("zizmor", BIN / "zizmor")
    command = [zizmor, "--offline", "--no-progress", "--format", "json", *options, str(folder)]
    if (folder.parent / ".pre-commit-config.yaml").is_file():
        command.append(str(folder.parent / ".pre-commit-config.yaml"))
    return subprocess.run(command, cwd=folder.parent, capture_output=True, text=True, check=False)


def _findings(completed: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    """(audit, file) per finding of zizmor's JSON report."""
    return sorted(
        (finding["ident"], Path(location["symbolic"]["key"]["Local"]["verbatim_path"]).name)
        for finding in json.loads(completed.stdout)
        for location in finding["locations"][:1]
    )


def test_zizmor_finds_nothing_but_the_one_trigger_ignored_with_its_reason() -> None:
    completed = _zizmor(ROOT / ".github")
    assert (completed.returncode, _findings(completed)) == (0, []), completed.stderr
    # The ignore comment hides exactly one finding: pr-comment.yml's workflow_run, kept on purpose.
    unignored = _zizmor(ROOT / ".github", "--no-ignores")
    assert _findings(unignored) == [("dangerous-triggers", "pr-comment.yml")]


def test_zizmor_fails_an_action_pinned_to_a_tag(tmp_path: Path) -> None:
    github = _copy(tmp_path)
    workflow = github / "workflows" / "pull-request.yml"
    text = workflow.read_text()
    pinned = re.search(r"actions/checkout@[0-9a-f]{40} # v[\d.]+", text)
    assert pinned
    workflow.write_text(text.replace(pinned[0], "actions/checkout@v4", 1))
    completed = _zizmor(github)
    assert completed.returncode != 0
    assert ("unpinned-uses", "pull-request.yml") in _findings(completed)


def test_zizmor_fails_pull_request_target_checking_out_the_pull_requests_code(tmp_path: Path) -> None:
    github = _copy(tmp_path)
    checkout = next(u for u in _uses(_load("pull-request.yml")) if u.startswith("actions/checkout@"))
    (github / "workflows" / "label.yml").write_text(
        "name: label\non:\n  pull_request_target:\npermissions: {}\njobs:\n  label:\n"
        "    runs-on: ubuntu-24.04\n    permissions:\n      contents: read\n    steps:\n"
        f"      - uses: {checkout}\n        with:\n"
        "          ref: ${{ github.event.pull_request.head.sha }}\n          persist-credentials: false\n"
        "      - run: ./tasks.sh test\n"
    )
    completed = _zizmor(github)
    assert completed.returncode != 0
    assert ("dangerous-triggers", "label.yml") in _findings(completed)


def _uses(document: dict) -> list[str]:
    return [step["uses"] for job in document["jobs"].values() for step in job.get("steps", []) if "uses" in step]


def test_every_third_party_action_is_pinned_to_a_commit() -> None:
    texts = [*(p.read_text() for p in sorted(WORKFLOWS.glob("*.yml"))), ACTION.read_text()]
    uses = [line.split("uses:", 1)[1].strip() for text in texts for line in text.splitlines() if "uses:" in line]
    remote = [u for u in uses if not u.startswith("$/")]
    assert len(remote) >= 10
    assert [u for u in remote if not PINNED.fullmatch(u)] == []
    # The repository's own action by GitHub's self-repository form: this commit's, never whatever a
    # step left in the workspace (zizmor's self-repository audit).
    assert len(uses) > len(remote)


def test_every_pulumi_step_installs_the_cli_of_the_pinned_sdk() -> None:
    # Unset, pulumi/actions installs the newest 3.x CLI on every run (its README: `pulumi-version`
    # defaults to "^3"; src/config.ts, makeInstallationConfig): a deploy would change with no commit.
    # The CLI and the Python SDK are released together under one version.
    pin = re.search(r"^pulumi==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pin is not None
    steps = [
        step
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for job in _load(path.name)["jobs"].values()
        for step in job.get("steps", [])
        if str(step.get("uses", "")).startswith("pulumi/actions@")
    ]
    assert len(steps) >= 4
    assert [step.get("with", {}).get("pulumi-version") for step in steps] == [pin.group(1)] * len(steps)


def test_every_job_asks_for_its_own_least_permissions() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        document = _load(path.name)
        assert document["permissions"] == {}, path.name
        for name, job in document["jobs"].items():
            assert "permissions" in job, (path.name, name)
            assert "write-all" not in str(job["permissions"])
    test_job = _load("pull-request.yml")["jobs"]["test"]
    assert test_job["permissions"] == {"contents": "read"}  # untrusted code runs here: nothing to write


def test_pull_requests_from_forks_are_served_the_safe_way() -> None:
    pull_request = _load("pull-request.yml")
    assert "pull_request" in pull_request["on"]
    assert "pull_request_target" not in pull_request["on"]
    preview = pull_request["jobs"]["preview"]
    assert preview["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert "secrets." not in json.dumps(pull_request["jobs"]["test"])
    assert "concurrency" not in preview  # a preview must never cancel a pending deployment
    comment = _load("pr-comment.yml")
    assert comment["on"] == {"workflow_run": {"workflows": ["pull-request"], "types": ["completed"]}}
    assert "conclusion != 'cancelled'" in comment["jobs"]["comment"]["if"]
    job = comment["jobs"]["comment"]
    assert job["if"].startswith("github.event.workflow_run.event == 'pull_request' && ")
    uses = _uses(comment)
    assert not any(u.startswith(("actions/checkout", "./", "$/")) for u in uses)  # never the PR's code
    assert not any("run" in step for step in job["steps"])
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert "secrets." not in json.dumps(comment)
    # The artifact is data: a pull request's number, at the commit the run tested, and capped text.
    script = job["steps"][-1]["with"]["script"]
    assert "${{" not in script  # event values come through env, never expanded into the script
    assert job["steps"][-1]["env"] == {"RUN_HEAD_SHA": "${{ github.event.workflow_run.head_sha }}"}
    for check in ("Number.isSafeInteger(number) || number <= 0", "pr.head.sha !== process.env.RUN_HEAD_SHA"):
        assert check in script
    assert "readFileSync('pr-comment/comment.md', 'utf8').slice(0, 60000)" in script
    # zizmor's dangerous-triggers finding on workflow_run is ignored there, with the reason.
    assert "  workflow_run: # zizmor: ignore[dangerous-triggers] " in (WORKFLOWS / "pr-comment.yml").read_text()


def test_main_deploys_dev_then_prod_behind_reviewers_one_run_per_stack() -> None:
    deploy = _load("deploy.yml")
    assert deploy["on"] == {"push": {"branches": ["main"]}}
    dev, prod = deploy["jobs"]["dev"], deploy["jobs"]["prod"]
    assert prod["needs"] == "dev"
    assert (dev["environment"], prod["environment"]) == ("dev", "production")
    for job, stack in ((dev, "dev"), (prod, "prod")):
        # Deployments only: a preview or drift check queued in it would cancel a pending deployment.
        assert job["concurrency"] == {"group": f"deploy-{stack}", "cancel-in-progress": False}
        (pulumi,) = [s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
        assert pulumi["with"]["command"] == "up"
        assert pulumi["with"]["stack-name"] == stack
        assert pulumi["with"]["policyPacks"] == "policy"
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert "AWS_ACCESS_KEY_ID" not in (WORKFLOWS / "deploy.yml").read_text()  # OIDC only


def test_drift_runs_daily_and_manages_one_issue_per_stack() -> None:
    drift = _load("drift.yml")
    assert drift["on"]["schedule"] == [{"cron": "17 5 * * *"}]
    job = drift["jobs"]["drift"]
    assert job["concurrency"] == {"group": "drift-${{ matrix.stack }}", "cancel-in-progress": True}
    (preview,) = [s for s in job["steps"] if s.get("id") == "preview"]
    assert 'pulumi preview --stack "$STACK" --refresh --diff --expect-no-changes' in preview["run"]
    assert 'grep -qi "no changes were expected"' in preview["run"]  # a failure is not a drift
    script = job["steps"][-1]["with"]["script"]
    for call in ("issues.create(", "issues.update(", "state: 'closed'", "readFileSync('build/drift.txt'"):
        assert call in script


def test_the_preview_comments_once_per_stack_and_edits_it() -> None:
    preview = _load("pull-request.yml")["jobs"]["preview"]
    assert preview["strategy"]["matrix"]["stack"] == sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
    (pulumi,) = [s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert (pulumi["with"]["comment-on-pr"], pulumi["with"]["edit-pr-comment"]) == (True, True)
    assert pulumi["with"]["policyPacks"] == "policy"


def test_the_pull_request_tests_and_renders_every_stack() -> None:
    steps = _load("pull-request.yml")["jobs"]["test"]["steps"]
    runs = [step.get("run", "") for step in steps]
    assert "./tasks.sh test" in runs  # the README's command, exactly
    assert any('./tasks.sh render "${stack%.yaml}"' in run for run in runs)
    uploads = {s["with"]["name"] for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")}
    assert uploads == {"coverage", "renders", "capacity", "pr-comment"}
    assert any("./tasks.sh capacity pr" in run for run in runs)  # before/after when scaling changed
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert "cache" not in setup["with"]  # the venvs come from their hash-pinned locks, nothing restored


def _owner_patterns() -> list[tuple[str, list[str]]]:
    lines = (line.split("#")[0].split() for line in (ROOT / ".github" / "CODEOWNERS").read_text().splitlines())
    return [(line[0], line[1:]) for line in lines if line]


def _owns(pattern: str, path: str) -> bool:
    """Whether a CODEOWNERS pattern (gitignore's syntax, as GitHub reads it) covers a file."""
    anchored = "/" in pattern.rstrip("/")
    glob = pattern.strip("/") + ("/**" if pattern.endswith("/") else "")
    if not anchored:
        return any(fnmatch.fnmatch("/".join(path.split("/")[i:]), glob) for i in range(path.count("/") + 1))
    return fnmatch.fnmatch(path, glob) or fnmatch.fnmatch(path, glob + "/**")


def test_codeowners_covers_production_the_policy_pack_and_ci_each_pattern_a_real_file() -> None:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    files += [str(p.relative_to(ROOT)) for p in (ROOT / ".github").rglob("*") if p.is_file()]  # not yet committed
    owners = _owner_patterns()
    for pattern, teams in owners:
        assert any(_owns(pattern, path) for path in files), f"CODEOWNERS: {pattern} matches no file"
        assert teams
        assert all(re.fullmatch(r"@[\w-]+/[\w-]+", team) for team in teams), teams  # teams, not people
    for path in ("Pulumi.prod.yaml", "policy/policies.py", ".github/workflows/deploy.yml", ".github/CODEOWNERS"):
        assert any(_owns(pattern, path) for pattern, _ in owners), path
    assert not any(_owns(pattern, "Pulumi.dev.yaml") for pattern, _ in owners)
    assert not _owns("/docs/nowhere/", "docs/testing.md")  # a pattern that matches nothing is told apart
