"""What a change does to each stack, without credentials: an offline plan diff for reviewers.

    python -m offline.diff [STACK ...] [--base REV] [--head REV] [--format text|markdown] [--exit-code]
    python -m offline.diff --stacks dev prod

Renders each stack at two revisions (default: the merge base with ``main`` against the working
tree; a revision in a temporary git worktree, never the user's) with the same render CLI, then
compares their ``plan.json`` per resource like a preview: ``+`` added, ``-`` removed, ``~`` changed,
``+-`` replaced (a change the provider cannot make in place), each change with its field paths and
old -> new values (secrets stay ``<secret>``). ``--stacks A B`` compares two stacks of the working
tree instead. ``--exit-code`` exits 1 when anything differs; errors exit 2.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline.replacements import forces_replacement

ROOT = Path(__file__).resolve().parent.parent
PLAN = "plan.json"
# Per resource, what a preview would compare besides the inputs.
OPTIONS = ("protect", "import", "provider")
SYMBOLS = {"add": "+", "remove": "-", "change": "~", "replace": "+-"}
UNSET = object()  # a path one side does not have
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass
class Change:
    path: str
    old: Any
    new: Any
    replaces: bool = False


@dataclass
class ResourceDiff:
    key: str  # type::name, as a preview names it
    kind: str  # add, remove, change, replace
    changes: list[Change] = field(default_factory=list)


def git(*args: str, cwd: Path = ROOT) -> str:
    completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise ValueError(f"git {' '.join(args)}: {completed.stderr.strip()}")
    return completed.stdout.strip()


def default_base() -> str:
    """The merge base with main (origin/main in a CI checkout), else HEAD."""
    for ref in ("main", "origin/main"):
        try:
            return git("merge-base", ref, "HEAD")
        except ValueError:
            continue
    return git("rev-parse", "HEAD")


@contextmanager
def checkout(revision: str | None):
    """The source tree of ``revision`` (None: the working tree, as it is), read-only to us."""
    if revision is None:
        yield ROOT
        return
    commit = git("rev-parse", "--verify", f"{revision}^{{commit}}")
    with tempfile.TemporaryDirectory(prefix="offline-diff-") as folder:
        tree = Path(folder) / "tree"
        git("worktree", "add", "--detach", "--quiet", str(tree), commit)
        try:
            yield tree
        finally:
            git("worktree", "remove", "--force", str(tree))


def render_plan(tree: Path, stack: str) -> dict[str, dict] | None:
    """The stack's resources rendered from ``tree``, by type::name; None when it has no stack file."""
    if not (tree / f"Pulumi.{stack}.yaml").is_file():
        return None
    with tempfile.TemporaryDirectory(prefix="offline-diff-render-") as out:
        command = [sys.executable, "-m", "offline.render", "--stack", stack, "--out", out]
        completed = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise ValueError(f"rendering {stack} at {tree} failed:\n{completed.stderr.strip()}")
        plan_file = Path(out) / PLAN
        if not plan_file.is_file():
            raise ValueError(f"{tree} renders no {PLAN}: that revision predates the diff and cannot be compared")
        plan = json.loads(plan_file.read_text(encoding="utf-8"))
    found: dict[str, dict] = {}
    if "capacity" in plan:  # what the stack reserves and costs, compared like a resource
        found["stack::capacity"] = {"type": "stack", "name": "capacity", "inputs": plan["capacity"]}
    for resource in plan["resources"]:
        key = resource_key(resource)
        if key in found:
            raise ValueError(f"{stack} declares {key} twice")
        found[key] = resource
    return found


def resource_key(resource: dict) -> str:
    """What a URN identifies a resource by: its parent's type, its type, its name. A resource that
    moves to another component gets another URN, which Pulumi deletes and creates."""
    parent = resource.get("parent") or ""
    chain = f"{parent.split('::')[0]}$" if parent else ""
    return f"{chain}{resource['type']}::{resource['name']}"


def shown(key: str, kind: str) -> str:
    """`type::name` as a preview prints it; where it is created or deleted, also its parent."""
    chain, _, short = key.rpartition("$")
    return f"{short}  (in {chain})" if chain and kind in ("add", "remove") else short


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves by dotted path (lists as [n]); an empty object or list is a leaf of its own."""
    if isinstance(value, dict) and value:
        found = {}
        for key, item in value.items():
            # A key with dots or slashes (a label, an IAM condition key) is quoted, never split.
            part = str(key) if _PLAIN_KEY.fullmatch(str(key)) else json.dumps(str(key))
            step = f"{prefix}.{part}" if prefix and part[0] != '"' else f"{prefix}[{part}]" if prefix else part
            found.update(_flatten(item, step))
        return found
    if isinstance(value, list) and value:
        found = {}
        for index, item in enumerate(value):
            found.update(_flatten(item, f"{prefix}[{index}]"))
        return found
    return {prefix: value}


def compare(
    old: dict[str, dict] | None, new: dict[str, dict] | None, options: tuple[str, ...] = OPTIONS
) -> list[ResourceDiff]:
    """Per-resource differences between two plans, in a stable order."""
    old, new = old or {}, new or {}
    diffs = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            diffs.append(ResourceDiff(key, "add"))
        elif key not in new:
            diffs.append(ResourceDiff(key, "remove"))
        else:
            changes = _changes(old[key]["type"], old[key], new[key], options)
            if changes:
                kind = "replace" if any(c.replaces for c in changes) else "change"
                diffs.append(ResourceDiff(key, kind, changes))
    return diffs


def _changes(type_token: str, old: dict, new: dict, options: tuple[str, ...]) -> list[Change]:
    before, after = _flatten(old.get("inputs", {})), _flatten(new.get("inputs", {}))
    changes = [
        Change(path, before.get(path, UNSET), after.get(path, UNSET), forces_replacement(type_token, path))
        for path in sorted(set(before) | set(after))
        if before.get(path, UNSET) != after.get(path, UNSET)
    ]
    # Another provider is another resource to Pulumi: the resource is replaced.
    changes += [Change(f"[{o}]", old.get(o), new.get(o), o == "provider") for o in options if old.get(o) != new.get(o)]
    return changes


def _value(value: Any) -> str:
    return "(unset)" if value is UNSET else json.dumps(value)


def format_text(title: str, diffs: list[ResourceDiff]) -> str:
    lines = [title]
    if not diffs:
        return "\n".join([*lines, "    no changes", ""])
    for diff in diffs:
        lines.append(
            f"  {SYMBOLS[diff.kind]:<2} {shown(diff.key, diff.kind)}{'  (replace)' if diff.kind == 'replace' else ''}"
        )
        for change in diff.changes:
            forced = "  [forces replacement]" if change.replaces else ""
            lines.append(f"        {change.path}: {_value(change.old)} -> {_value(change.new)}{forced}")
    return "\n".join([*lines, f"  {summary_line(diffs)}", ""])


def format_markdown(title: str, diffs: list[ResourceDiff]) -> str:
    if not diffs:
        return f"### {title}\n\nNo changes.\n"
    # In a ```diff block a line that starts with + or - is coloured: the symbols go to column 0.
    body = [line.removeprefix("  ") for line in format_text(title, diffs).splitlines()[1:-1]]
    return "\n".join([f"### {title}", "", f"**{summary_line(diffs)}**", "", "```diff", *body, "```", ""])


def summary_line(diffs: list[ResourceDiff]) -> str:
    counts = {kind: sum(1 for d in diffs if d.kind == kind) for kind in SYMBOLS}
    words = {"add": "to create", "remove": "to delete", "change": "to update", "replace": "to replace"}
    return ", ".join(f"{counts[kind]} {words[kind]}" for kind in SYMBOLS if counts[kind])


def stacks_in(tree: Path) -> set[str]:
    return {path.name.split(".")[1] for path in tree.glob("Pulumi.*.yaml")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.diff", description=__doc__.split("\n")[0])
    parser.add_argument("stack", nargs="*", help="stacks to compare (default: every stack on either side)")
    parser.add_argument("--base", help="git revision to compare from (default: the merge base with main)")
    parser.add_argument("--head", help="git revision to compare to (default: the working tree)")
    parser.add_argument("--stacks", nargs=2, metavar=("FROM", "TO"), help="compare two stacks of the working tree")
    parser.add_argument("--format", choices=("text", "markdown"), default="text")
    parser.add_argument("--exit-code", action="store_true", help="exit 1 when anything differs")
    args = parser.parse_args(argv)
    formatter = format_markdown if args.format == "markdown" else format_text
    sections, changed = [], False
    try:
        if args.stacks:
            first, second = (render_plan(ROOT, stack) for stack in args.stacks)
            diffs = compare(first, second, options=("protect", "import"))  # each stack has its own providers
            sections.append(formatter(f"Stack {args.stacks[0]} -> {args.stacks[1]} (working tree)", diffs))
            changed = bool(diffs)
        else:
            base = args.base or default_base()
            label = f"{git('rev-parse', '--short', base)} -> {args.head or 'working tree'}"
            with checkout(base) as before, checkout(args.head) as after:
                for stack in args.stack or sorted(stacks_in(before) | stacks_in(after)):
                    diffs = compare(render_plan(before, stack), render_plan(after, stack))
                    sections.append(formatter(f"Stack {stack} ({label})", diffs))
                    changed = changed or bool(diffs)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(sections), end="")
    return 1 if args.exit_code and changed else 0


if __name__ == "__main__":
    sys.exit(main())
