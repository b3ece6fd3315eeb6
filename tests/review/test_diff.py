"""The offline plan diff, on real renders of this repository: identical revisions show nothing, a
one-setting change shows exactly that field, a change the provider cannot make in place is marked
as a replacement, two stacks compare side by side, and plans are kept by what they depend on.

The diffs of a copy of this repository run the CLI's ``main`` in this process as if it ran from the
copy (its code is this tree's): the working tree renders here, another revision with its own render
CLI, and the module's diffs share one plan cache, so the unchanged base renders once. One diff runs
the CLI as a command."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock
from unittest.mock import ANY

import pytest
import yaml
from helpers import changed, reserved, validated

import capacity.__main__ as capacity_cli
from components.kubernetes.pod import CONTAINER
from offline.harness import ROOT
from review import diff
from review.replacements import forces_replacement
from revisions import git as revisions
from settings.quantity import parse_quantity

# One worker runs the module: its diffs share the copy and the base's plans.
pytestmark = pytest.mark.xdist_group("review-diff")

# What a copy of the repository needs to render: the program, its settings and tooling.
COPIED = (
    ".gitignore",
    "__main__.py",
    "Pulumi.yaml",
    "capacity",
    "components",
    "settings",
    "offline",
    "policy",
    "review",
    "revisions",
    "rotation",
    "schemas",
)


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This working tree's program and stack files, committed in a repository of their own, so
    the diff's worktrees never touch this one."""
    copy = tmp_path_factory.mktemp("diff") / "repo"
    copy.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__", "venv"))
        else:
            shutil.copy2(source, copy / name)
    for stack_file in ROOT.glob("Pulumi.*.yaml"):
        shutil.copy2(stack_file, copy / stack_file.name)
    for command in (["init", "--quiet"], ["add", "-A"], ["commit", "--quiet", "-m", "base"]):
        _git(copy, *command)
    return copy


def _git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]
    return subprocess.run(["git", *identity, *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def _diff(repo: Path, *args: str, cache: Path | None = None) -> subprocess.CompletedProcess:
    """``./tasks.sh diff ARGS`` in ``repo``, run here (see the module's docstring)."""
    out, err = io.StringIO(), io.StringIO()
    cache = cache or repo.parent / "plans"
    with mock.patch.object(revisions, "ROOT", repo), redirect_stdout(out), redirect_stderr(err):
        code = diff.main([*args, "--cache", str(cache)])
    return subprocess.CompletedProcess(["diff", *args], code, out.getvalue(), err.getvalue())


def _edit(repo: Path, changes: dict) -> None:
    """The copy's dev stack file rewritten from the parsed one with ``changes`` (helpers.changed):
    the same config, only the changed values differ, whatever the file says today."""
    (repo / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": changed("dev", changes)}))


def test_identical_revisions_show_no_change(repository: Path) -> None:
    # The command itself, over the module's cache: a working tree that holds HEAD's content
    # shares HEAD's plans, so this renders nothing once another diff has rendered the base.
    command = [sys.executable, "-m", "review.diff", "dev", "--base", "HEAD", "--head", "HEAD", "--exit-code"]
    command += ["--cache", str(repository.parent / "plans")]
    completed = subprocess.run(command, cwd=repository, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[1:] == ["    no changes"]
    assert _git(repository, "worktree", "list").count("\n") == 1  # its temporary worktrees are gone


def test_one_setting_shows_exactly_that_field(repository: Path) -> None:
    before = validated("dev")[0].backend.env["LOG_LEVEL"]
    after = "info" if before != "info" else "debug"
    _edit(repository, {"backend.env.LOG_LEVEL": after})
    try:
        completed = _diff(repository, "dev", "--base", "HEAD", "--exit-code")
    finally:
        _git(repository, "checkout", "--", "Pulumi.dev.yaml")
    assert completed.returncode == 1, completed.stderr
    _, resource, change, total = completed.stdout.splitlines()
    assert resource == "  ~  kubernetes:apps/v1:Deployment::backend"
    # The container and the variable by name, as kubectl diff matches them, not by position.
    assert change.strip() == f'spec.template.spec.containers[{CONTAINER}].env[LOG_LEVEL].value: "{before}" -> "{after}"'

    assert total == "  1 to update"
    assert _git(repository, "status", "--porcelain") == ""  # the diff wrote nothing into the tree


def test_a_change_the_provider_cannot_make_in_place_is_a_replacement(repository: Path) -> None:
    folder = validated("dev")[0].grafana.folder_uid_for("dev")
    _edit(repository, {"grafana.folderUid": f"{folder}-2"})
    try:
        completed = _diff(repository, "dev", "--base", "HEAD", "--exit-code", "--format", "markdown")
    finally:
        _git(repository, "checkout", "--", "Pulumi.dev.yaml")
    assert completed.returncode == 1, completed.stderr
    assert completed.stdout.splitlines()[:5] == [
        f"### Stack dev ({_git(repository, 'rev-parse', '--short', 'HEAD').strip()} -> working tree)",
        "",
        "**1 to replace**",
        "",
        "```diff",
    ]
    assert completed.stdout.splitlines()[5:] == [
        "+- grafana:oss/folder:Folder::observability-folder  (replace)",
        f'      uid: "{folder}" -> "{folder}-2"  [forces replacement]',
        "```",
    ]


def test_two_stacks_compare_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    assert diff.main(["--stacks", "dev", "prod", "--exit-code", "--no-cache"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("Stack dev -> prod (working tree)\n")
    assert "  +- aws:iam/role:Role::secrets-reader  (replace)" in out
    renamed = 'name: "reconciliation-dev-secrets-reader" -> "reconciliation-prod-secrets-reader"  [forces replacement]'
    assert f"        {renamed}\n" in out
    assert "[provider]" not in out  # each stack has its own providers by design
    assert "pulumi:providers:" not in out  # nor are the providers themselves compared
    assert max(len(line) for line in out.splitlines()) <= diff.WIDTH
    assert "  +  kubernetes:monitoring.coreos.com/v1:PodMonitor::backend" in out  # prod only
    # What each stack reserves and costs (capacity/cost.py) is compared too.
    assert "  ~  stack::capacity\n" in out
    dev, prod = (reserved(validated(stack)[0], "max")["monthlyUsd"] for stack in ("dev", "prod"))
    assert dev != prod  # the two stacks' sizes differ, so the line must be there
    assert f"        max.monthlyUsd: {json.dumps(dev)} -> {json.dumps(prod)}\n" in out


def _plan(resource_type: str = "t", **inputs) -> dict:
    return {"type": resource_type, "name": "n", "inputs": inputs, "protect": False, "import": None, "provider": "p::a"}


def test_compare_marks_adds_removes_changes_and_replacements() -> None:
    deployment = "kubernetes:apps/v1:Deployment"
    old = {f"{deployment}::web": _plan(deployment, spec={"selector": {"matchLabels": {"app": "a"}}})}
    new = {f"{deployment}::web": _plan(deployment, spec={"selector": {"matchLabels": {"app": "b"}}})}
    (replaced,) = diff.compare(old, new)
    assert replaced.kind == "replace"
    assert [(c.path, c.old, c.new, c.replaces) for c in replaced.changes] == [
        ("spec.selector.matchLabels.app", "a", "b", True)
    ]
    added, removed = diff.compare({"x::gone": _plan()}, {"x::new": _plan()})[::-1]
    assert (added.key, added.kind, removed.key, removed.kind) == ("x::new", "add", "x::gone", "remove")
    assert diff.compare(old, old) == []


def test_secrets_stay_markers_and_dotted_keys_stay_whole() -> None:
    old = {"k::n": _plan(metadata={"labels": {"app.kubernetes.io/name": "a"}}, key="<secret>")}
    new = {"k::n": _plan(metadata={"labels": {"app.kubernetes.io/name": "b"}}, key="<secret>")}
    (changed,) = diff.compare(old, new)
    assert [c.path for c in changed.changes] == ['metadata.labels["app.kubernetes.io/name"]']
    text = diff.format_text("t", diff.compare({"k::n": _plan(key="<secret>")}, {"k::n": _plan(key="x")}))
    assert '"<secret>" -> "x"' in text


def test_replacement_rules_follow_the_providers() -> None:
    assert forces_replacement("kubernetes:core/v1:Service", "metadata.name")
    assert forces_replacement("kubernetes:apps/v1:Deployment", "spec.selector.matchLabels.app")
    assert not forces_replacement("kubernetes:apps/v1:Deployment", "spec.template.metadata.labels.app")
    assert forces_replacement("aws:secretsmanager/secret:Secret", "name")
    assert not forces_replacement("aws:secretsmanager/secret:Secret", "description")
    assert not forces_replacement("aws:iam/role:Role", "nameless")
    provider_moved = diff.compare({"t::n": _plan()}, {"t::n": {**_plan(), "provider": "p::b"}})
    assert provider_moved[0].kind == "replace"


def test_an_unknown_revision_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert diff.main(["dev", "--base", "no-such-revision"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: git rev-parse")
    assert "no-such-revision" in err


def test_a_resource_moved_to_another_component_is_deleted_and_created() -> None:
    before = {"type": "t", "name": "n", "parent": "a:b:Old::x", "inputs": {}}
    after = {**before, "parent": "a:b:New::x"}
    keys = [diff.resource_key(before), diff.resource_key(after)]
    assert keys == ["a:b:Old$t::n", "a:b:New$t::n"]
    kinds = [(d.kind, diff.shown(d.key, d.kind)) for d in diff.compare({keys[0]: before}, {keys[1]: after})]
    assert kinds == [("add", "t::n  (in a:b:New)"), ("remove", "t::n  (in a:b:Old)")]


def _capacity_pr(repo: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """``./tasks.sh capacity pr --base HEAD`` in ``repo``, run here as ``_diff`` runs the diff."""
    # The plots go beside the copy: a file in it would change its working tree and so its plans' key.
    args = ["pr", "--base", "HEAD", "--out", str(repo.parent / "plots")]
    with mock.patch.object(revisions, "ROOT", repo), mock.patch.object(capacity_cli, "ROOT", repo):
        assert capacity_cli.main(args) == 0
    return capsys.readouterr().out


def test_the_capacity_comparison_shows_only_stacks_whose_scaling_changed(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert _capacity_pr(repository, capsys) == "No stack's autoscaling, resources or load model changed.\n"
    scaling = validated("dev")[0].backend.autoscaling
    # One pod fewer at the top (or one more, when dev cannot shrink): a change of scaling only.
    lower = scaling.max_replicas - 1 if scaling.max_replicas > scaling.min_replicas else scaling.max_replicas + 1
    _edit(repository, {"backend.autoscaling.maxReplicas": lower})
    try:
        out = _capacity_pr(repository, capsys)
    finally:
        _git(repository, "checkout", "--", "Pulumi.dev.yaml")
    assert out.startswith("### Capacity of stack dev: a 5x step, before and after\n")
    assert "### dev: step, before" in out
    assert "### dev: step, after" in out
    assert "stack prod" not in out
    assert sorted(p.name for p in (repository.parent / "plots").glob("*.png")) == ["dev-after.png", "dev-before.png"]


def test_a_secret_added_at_the_top_and_more_memory_read_by_identity_and_in_units(repository: Path) -> None:
    """A routine change between two real revisions: a new secret first in dev's inventory, and
    twice the memory request. Each list shows the one item added, by its key (env by name, the
    ExternalSecret's data by secretKey, the reader's Resource list by value), never a chain of
    renames by position; panels are named by title; the memory line reads in binary units."""
    settings = validated("dev")[0]
    new = {
        "name": "AAA_WEBHOOK_SECRET",
        "owner": "DevOps",
        "rotationDays": 90,
        "automation": "manual",
        "lastRotated": settings.secrets.inventory[0].last_rotated.isoformat(),
        "description": "Signs outgoing webhooks",
    }
    document = changed("dev", {})
    inventory = [new, *document["reconciliation-platform:secrets"]["inventory"]]
    memory = parse_quantity(settings.backend.resources.requests.memory)
    raised = f"{int(memory * 2 / 2**20)}Mi"
    _edit(repository, {"secrets.inventory": inventory, "backend.resources.requests.memory": raised})
    try:
        completed = _diff(repository, "dev", "--base", "HEAD")
    finally:
        _git(repository, "checkout", "--", "Pulumi.dev.yaml")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert max(len(line) for line in lines) <= diff.WIDTH
    changes = [line.strip() for line in lines if line.startswith("        ")]
    env = [c for c in changes if ".env" in c]
    assert len(env) == 1, env
    assert env[0].startswith(f"+ spec.template.spec.containers[{CONTAINER}].env[AAA_WEBHOOK_SECRET]: ")
    data = [c for c in changes if c.startswith(("spec.data", "+ spec.data", "- spec.data"))]
    assert data == [next(c for c in data if c.startswith("+ spec.data[AAA_WEBHOOK_SECRET]: "))]
    name = settings.secrets.secret_name(
        settings.secrets.inventory[0].model_copy(update={"name": "AAA_WEBHOOK_SECRET"}), settings.environment
    )
    resources = [c for c in changes if ".Resource" in c]
    assert len(resources) == 1, resources
    assert resources[0].startswith("+ policy.Statement[")
    assert name in resources[0]
    assert not [c for c in changes if re.search(r"\[\d+\]", c)], "no list item matched by position"
    # The memory request, and the dashboard's request line of it, exact and in binary units.
    request = next(c for c in changes if c.startswith(f"spec.template.spec.containers[{CONTAINER}].resources.requests"))
    assert request.endswith(f'.memory: "{settings.backend.resources.requests.memory}" -> "{raised}"')
    panel = [c for c in changes if c.startswith('configJson.panels["Memory per pod"]')]
    assert len(panel) == 1, panel
    assert panel[0].split(": ", 1)[1].startswith(f'"vector({memory})" -> "vector({memory * 2})"')
    if memory % 2**20 == 0:  # a whole number of MiB reads as a quantity beside the bytes
        shown = re.search(r"\((\S+) -> (\S+)\)$", panel[0])
        assert shown is not None, panel[0]
        assert [parse_quantity(q) for q in shown.groups()] == [memory, memory * 2]


def test_lists_are_matched_by_identity_and_positions_sort_as_numbers() -> None:
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    old = {"d::n": _plan(containers=[{"name": "web", "env": env}, {"name": "side"}])}
    moved = {"d::n": _plan(containers=[{"name": "side"}, {"name": "web", "env": env[::-1]}])}
    (only,) = diff.compare(old, moved)
    # Containers moved: nothing (their order means nothing); env moved: said, since a variable
    # may refer to the ones before it.
    assert [(c.path, c.old, c.new) for c in only.changes] == [("containers[web].env (order)", ["A", "B"], ["B", "A"])]
    positions = {"d::n": _plan(args=[str(i) for i in range(12)])}
    edited = {"d::n": _plan(args=[str(i) if i not in (1, 11) else "x" for i in range(12)])}
    (both,) = diff.compare(positions, edited)
    assert [c.path for c in both.changes] == ["args[1]", "args[11]"]  # args run in order: by position
    sets = diff.compare({"r::n": _plan(Action=["a", "b"])}, {"r::n": _plan(Action=["c", "a", "b"])})
    assert [(c.path, c.old, c.new, c.item) for c in sets[0].changes] == [("Action", diff.UNSET, "c", True)]


def test_long_values_keep_what_changed_within_the_width() -> None:
    prefix, suffix = "x" * 300, "y" * 300
    old = {"t::n": _plan(expr=f"{prefix}namespace=dev{suffix}")}
    new = {"t::n": _plan(expr=f"{prefix}namespace=prod{suffix}")}
    text = diff.format_text("t", diff.compare(old, new))
    (line,) = [line for line in text.splitlines() if "expr" in line]
    assert len(line) <= diff.WIDTH
    before, after = line.split(" -> ")
    assert "namespace=dev" in before
    assert "namespace=prod" in after
    short = diff.format_text("t", diff.compare({"t::n": _plan(expr="a")}, {"t::n": _plan(expr="b")}))
    assert '        expr: "a" -> "b"' in short.splitlines()


def test_seconds_read_as_durations() -> None:
    old = {"h::n": _plan(behavior={"scaleDown": {"stabilizationWindowSeconds": 300}})}
    new = {"h::n": _plan(behavior={"scaleDown": {"stabilizationWindowSeconds": 5400}})}
    (line,) = [line for line in diff.format_text("t", diff.compare(old, new)).splitlines() if "Window" in line]
    assert line.endswith("stabilizationWindowSeconds: 300 -> 5400  (5m -> 1h30m)")


def test_a_revision_whose_render_takes_one_stack_is_rendered_a_process_per_stack(tmp_path: Path) -> None:
    """Every stack of a tree renders in one process (`--stacks`); a revision from before that
    option is rendered with one `--stack` process each, as its own CLI takes them."""
    tree = tmp_path / "old"
    (tree / "offline").mkdir(parents=True)
    (tree / "offline" / "__init__.py").write_text("")
    (tree / "offline" / "render.py").write_text(
        "import argparse, json, pathlib\n"
        "parser = argparse.ArgumentParser()\n"
        "parser.add_argument('--stack')\nparser.add_argument('--out')\n"
        "args = parser.parse_args()\n"
        "out = pathlib.Path(args.out)\nout.mkdir(parents=True)\n"
        "plan = {'resources': [{'type': 't', 'name': args.stack, 'inputs': {}}]}\n"
        "(out / 'plan.json').write_text(json.dumps(plan))\n"
    )
    for stack in ("a", "b"):
        (tree / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    plans = diff.render_plans(tree, ["a", "b", "c"])
    assert plans == {"a": {"t::a": {"type": "t", "name": "a", "inputs": {}}}, "b": {"t::b": ANY}, "c": None}


def test_an_item_inserted_into_a_list_without_identity_is_one_addition() -> None:
    """HPA scaling policies and rule evaluator params have no key: items equal on both sides anchor
    the alignment, so one inserted policy is one `+`, and an ordered list of plain values (a range
    [low, high]) compares by position, never as a set."""
    policy = {"type": "Percent", "value": 50, "periodSeconds": 60}
    inserted = {"type": "Pods", "value": 1, "periodSeconds": 120}
    (one,) = diff.compare({"h::n": _plan(policies=[policy])}, {"h::n": _plan(policies=[inserted, policy])})
    assert [(c.path, c.old, c.new, c.item) for c in one.changes] == [("policies[0]", diff.UNSET, inserted, True)]
    (params,) = diff.compare({"r::n": _plan(params=[0.5, 2])}, {"r::n": _plan(params=[0.75, 2])})
    assert [(c.path, c.old, c.new) for c in params.changes] == [("params[0]", 0.5, 0.75)]


def test_an_env_move_shows_only_the_stretch_that_moved() -> None:
    names = [f"VARIABLE_NUMBER_{i:02}" for i in range(30)]
    moved = [*names[:10], names[11], names[10], *names[12:]]
    old, new = ({"d::n": _plan(env=[{"name": n} for n in order])} for order in (names, moved))
    (line,) = [line for line in diff.format_text("t", diff.compare(old, new)).splitlines() if "(order)" in line]
    assert line.strip() == (
        'env (order): ["...", "VARIABLE_NUMBER_10", "VARIABLE_NUMBER_11", "..."] -> '
        '["...", "VARIABLE_NUMBER_11", "VARIABLE_NUMBER_10", "..."]'
    )


def test_counts_are_of_resources_and_items_are_coloured_in_markdown() -> None:
    old = {"k::n": _plan(ports=[]), diff.CAPACITY: _plan(cores=1)}
    new = {"k::n": {**_plan(ports=[{"name": "http"}]), "import": "ns/n"}, diff.CAPACITY: _plan(cores=2)}
    diffs = diff.compare(old, new)
    assert diff.summary_line(diffs) == "1 to update, the capacity changes"
    text = diff.format_text("t", diffs)
    assert '        [import]: (unset) -> "ns/n"' in text.splitlines()
    markdown = diff.format_markdown("t", diffs).splitlines()
    assert '+       ports[http]: {"name": "http"}' in markdown  # the sign in column 0, as GitHub colours it
    sleep = diff.compare({"p::n": _plan(sleep={"seconds": 3})}, {"p::n": _plan(sleep={"seconds": 90})})
    assert diff.format_text("t", sleep).splitlines()[2].endswith("sleep.seconds: 3 -> 90  (3s -> 1m30s)")


def test_a_stack_that_exists_nowhere_is_an_error_naming_the_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    stacks = ", ".join(sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml")))
    assert diff.main(["nosuch", "--base", "HEAD", "--head", "HEAD"]) == 2
    assert capsys.readouterr().err == f"error: no stack 'nosuch' in either revision; the stacks are: {stacks}\n"
    assert diff.main(["--stacks", "dev", "nosuch"]) == 2
    assert capsys.readouterr().err == f"error: no stack 'nosuch' in the working tree; the stacks are: {stacks}\n"


def test_plans_are_kept_by_content_and_rendered_again_only_when_it_changes(repository: Path) -> None:
    """With --cache, plans are kept under a key of what they depend on: a marker put into a kept
    plan shows wherever the key is reused. The working tree, holding HEAD's content (an ignored
    file aside), reuses HEAD's plans; once a stack file changes it is rendered again."""
    cache = repository.parent / "kept-for-this-test"
    first = _diff(repository, "dev", "--base", "HEAD", cache=cache)
    assert first.returncode == 0, first.stderr
    (kept,) = cache.iterdir()  # HEAD and the working tree: one content, one key, one render
    plan_file = kept / "dev" / diff.PLAN
    plan = json.loads(plan_file.read_text())
    plan["resources"][0]["inputs"]["kept-marker"] = "from the cache"
    plan_file.write_text(json.dumps(plan))
    (repository / "build").mkdir(exist_ok=True)
    (repository / "build" / "scratch.txt").write_text("ignored: changes no key\n")
    second = _diff(repository, "dev", "--base", "HEAD", "--exit-code", cache=cache)
    assert (second.returncode, second.stdout.splitlines()[1:]) == (0, ["    no changes"]), second.stderr
    before = validated("dev")[0].backend.env["LOG_LEVEL"]
    _edit(repository, {"backend.env.LOG_LEVEL": "info" if before != "info" else "debug"})
    try:
        third = _diff(repository, "dev", "--base", "HEAD", cache=cache)
    finally:
        _git(repository, "checkout", "--", "Pulumi.dev.yaml")
    assert third.returncode == 0, third.stderr
    assert '        kept-marker: "from the cache" -> (unset)' in third.stdout.splitlines()
    assert len(list(cache.iterdir())) == 2


def test_a_plans_key_follows_the_packages_and_the_hour(tmp_path: Path) -> None:
    key = diff.plan_key("HEAD")
    assert diff.plan_key("HEAD") == key
    with mock.patch.object(diff.sys, "version", "3.99.0 (another interpreter)"):
        assert diff.plan_key("HEAD") != key
    # A package installed, or one upgraded: another distribution folder where the imports come from,
    # a wheel's or an older install's (setup.py develop, some distributions' own packages).
    for folder in ("pulumi_kubernetes-9.9.9.dist-info", "legacy_tool-2.0-py3.11.egg-info"):
        scratch = tmp_path / folder.split("-")[0]
        (scratch / folder).mkdir(parents=True)
        with mock.patch.object(diff.sys, "path", [*diff.sys.path, str(scratch)]):
            assert diff.plan_key("HEAD") != key, folder
    unreadable = tmp_path / "not-a-folder.zip"
    unreadable.write_bytes(b"")
    with mock.patch.object(diff.sys, "path", [*diff.sys.path, str(unreadable), str(tmp_path / "missing")]):
        assert diff.plan_key("HEAD") == key  # skipped, as importlib.metadata skips them
    assert key.endswith(f"-{datetime.now(UTC):%Y%m%dT%H}")


def test_the_installed_packages_are_what_their_metadata_says() -> None:
    """Read from the distributions' folder names, not their METADATA files: the same names (as
    the wheel format normalizes them) and versions."""
    import importlib.metadata

    def normalized(name: str) -> str:
        return re.sub(r"[-_.]+", "_", name).lower()

    from_metadata = {(normalized(d.metadata["Name"]), d.version) for d in importlib.metadata.distributions()}
    from_folders = {tuple(folder.removesuffix(".dist-info").rsplit("-", 1)) for folder in diff.installed()}
    assert all(folder.endswith(".dist-info") for folder in diff.installed())  # this venv's: wheels only
    assert {(normalized(name), version) for name, version in from_folders} == from_metadata


def test_kept_plans_older_than_a_day_are_removed(tmp_path: Path) -> None:
    old, recent = tmp_path / "old-key", tmp_path / "recent-key"
    for folder in (old, recent):
        folder.mkdir()
    day_ago = (datetime.now(UTC) - timedelta(hours=25)).timestamp()
    os.utime(old, (day_ago, day_ago))
    assert diff.kept_for(tmp_path, "HEAD") == tmp_path / diff.plan_key("HEAD")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recent-key"]
