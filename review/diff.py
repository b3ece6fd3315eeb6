"""What a change does to each stack, without credentials: an offline plan diff for reviewers.

    python -m review.diff [STACK ...] [--base REV] [--head REV] [--format text|markdown] [--exit-code]
    python -m review.diff --stacks dev prod

Renders each stack at two revisions (default: the merge base with ``main`` against the working
tree; a revision in a temporary git worktree, never the user's) with the same render CLI, then
compares their ``plan.json`` per resource like a preview: ``+`` added, ``-`` removed, ``~`` changed,
``+-`` replaced (a change the provider cannot make in place), each change with its field paths and
old -> new values (secrets stay ``<secret>``). List items are matched by identity as `kubectl diff`
matches them (review/identity.py: env by name, an ExternalSecret's data by secretKey, panels by
title, ...): an item added or removed is one ``+``/``-`` line with its key, a moved one shows only
where the API reads the order (env). No line is wider than 200 characters; a long string keeps the
part that changed. ``--stacks A B`` compares two stacks of the working tree instead, without their
providers. ``--exit-code`` exits 1 when anything differs; errors exit 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from review import identity
from review.replacements import forces_replacement
from revisions import git as revisions

PLAN = "plan.json"
CAPACITY = "stack::capacity"  # what the stack reserves and costs, compared like a resource
# Per resource, what a preview would compare besides the inputs.
OPTIONS = ("protect", "import", "provider")
SYMBOLS = {"add": "+", "remove": "-", "change": "~", "replace": "+-"}
UNSET = object()  # a path one side does not have
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_VECTOR = re.compile(r"vector\((\d+)\)")
WIDTH = 200  # no line of the diff is wider: a pull-request comment stays readable
ELLIPSIS = "..."
CONTEXT = 24  # characters kept either side of what changed in a shortened string


@dataclass
class Change:
    path: str
    old: Any
    new: Any
    replaces: bool = False
    item: bool = False  # a whole list item added or removed (its identity is in the path)


@dataclass
class ResourceDiff:
    key: str  # type::name, as a preview names it
    kind: str  # add, remove, change, replace
    changes: list[Change] = field(default_factory=list)


def render_plans(tree: Path, stacks: list[str], kept: Path | None = None) -> dict[str, dict[str, dict] | None]:
    """Each stack's resources rendered from ``tree``, by type::name (None where the tree has no
    stack file for it): every stack in one render process, which pays the SDKs' imports once. A
    revision whose render takes one stack at a time is rendered a process per stack. ``kept``: a
    folder of this tree's earlier plans (read when it holds every stack's, written otherwise)."""
    plans: dict[str, dict[str, dict] | None] = dict.fromkeys(stacks)
    present = [stack for stack in stacks if (tree / f"Pulumi.{stack}.yaml").is_file()]
    if not present:
        return plans
    if kept is not None and all((kept / stack / PLAN).is_file() for stack in present):
        return {**plans, **{stack: _read_plan(kept / stack / PLAN, stack, tree) for stack in present}}
    texts = _render_here(tree, present) if tree == revisions.ROOT else _render_elsewhere(tree, present)
    for stack, text in texts.items():
        plans[stack] = _parse_plan(text, stack, tree)
        if kept is not None:
            (kept / stack).mkdir(parents=True, exist_ok=True)
            (kept / stack / PLAN).write_text(text, encoding="utf-8")
    return plans


def _render_here(tree: Path, stacks: list[str]) -> dict[str, str]:
    """Each stack's plan.json text from the code running this diff (the tree it comes from): in
    this process, so the SDKs are imported once for the diff and the render alike."""
    # Imported here: the SDKs take seconds to import, and a diff read from kept plans needs none.
    import pulumi  # noqa: PLC0415

    from offline.harness import run_stack, to_wire  # noqa: PLC0415
    from offline.render import plan  # noqa: PLC0415
    from settings.stackfile import read_stack_file  # noqa: PLC0415

    found = {}
    for stack in stacks:
        try:
            result = run_stack(stack, *to_wire(read_stack_file(tree / f"Pulumi.{stack}.yaml")))
        except (pulumi.RunError, ValueError) as error:
            raise ValueError(f"rendering {stack} at {tree} failed:\nerror: {error}") from None
        found[stack] = plan(result)
    return found


def _render_elsewhere(tree: Path, stacks: list[str]) -> dict[str, str]:
    """Each stack's plan.json text from ``tree``'s own render CLI, all its stacks in one process
    (a revision whose render takes one stack at a time: a process per stack)."""
    with tempfile.TemporaryDirectory(prefix="offline-diff-render-") as out:
        completed = _render(tree, ["--stacks", *stacks, "--out", out])
        if completed.returncode == 2 and "unrecognized arguments: --stacks" in completed.stderr:
            for stack in stacks:
                completed = _render(tree, ["--stack", stack, "--out", f"{out}/{stack}"])
                _check(completed, stack, tree)
        else:
            _check(completed, ", ".join(stacks), tree)
        found = {}
        for stack in stacks:
            plan_file = Path(out) / stack / PLAN
            if not plan_file.is_file():
                raise ValueError(f"{tree} renders no {PLAN}: that revision predates the diff and cannot be compared")
            found[stack] = plan_file.read_text(encoding="utf-8")
        return found


def plan_key(revision: str | None) -> str:
    """What a revision's plans depend on, as a folder name: the content of its files (so the
    working tree, when it holds what a commit holds, shares that commit's plans), the interpreter
    and the installed packages (the SDKs write the inputs), and the hour (a plan carries the
    clock: a reminder's start date is left out within the hour before it)."""
    digest = hashlib.sha256(sys.version.encode())
    for line in revisions.blobs(revision):
        digest.update(f"{line}\n".encode())
    digest.update("\n".join(installed()).encode())
    return f"{digest.hexdigest()[:20]}-{datetime.now(UTC):%Y%m%dT%H}"


def installed() -> list[str]:
    """Every distribution installed where this interpreter imports from, as its metadata folder
    names it (``<name>-<version>.dist-info``, the wheel format's own naming, or an older install's
    ``<name>-<version>[-pyX.Y].egg-info``): what reading each one's METADATA would give, at a
    hundredth of the cost (0.6 ms, not 77, for some 100). A folder it cannot list is left out, as
    importlib.metadata leaves it."""
    found = []
    for entry in sys.path:
        try:
            items = list(Path(entry or ".").iterdir())
        except OSError:  # not a folder (a zip, a missing path), or not readable
            continue
        found += [item.name for item in items if item.suffix in (".dist-info", ".egg-info")]
    return sorted(found)


def kept_for(cache: Path | None, revision: str | None) -> Path | None:
    """Where ``revision``'s plans are kept in ``cache`` (None: not kept); folders older than a day
    are removed, since the hour is part of every key."""
    if cache is None:
        return None
    if cache.is_dir():
        stale = datetime.now(UTC).timestamp() - 24 * 3600
        for folder in cache.iterdir():
            if folder.is_dir() and folder.stat().st_mtime < stale:
                shutil.rmtree(folder, ignore_errors=True)
    return cache / plan_key(revision)


def _render(tree: Path, args: list[str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "offline.render", *args]
    return subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)


def _check(completed: subprocess.CompletedProcess, what: str, tree: Path) -> None:
    if completed.returncode != 0:
        raise ValueError(f"rendering {what} at {tree} failed:\n{completed.stderr.strip()}")


def _read_plan(plan_file: Path, stack: str, tree: Path) -> dict[str, dict]:
    return _parse_plan(plan_file.read_text(encoding="utf-8"), stack, tree)


def _parse_plan(text: str, stack: str, tree: Path) -> dict[str, dict]:
    plan = json.loads(text)
    found: dict[str, dict] = {}
    if "capacity" in plan:  # what the stack reserves and costs, compared like a resource
        found[CAPACITY] = {"type": "stack", "name": "capacity", "inputs": plan["capacity"]}
    for resource in plan["resources"]:
        key = resource_key(resource)
        if key in found:
            raise ValueError(f"{stack} declares {key} twice")
        found[key] = resource
    return found


def render_trees(
    trees: list[Path], stacks: list[str], kept: list[Path | None] | None = None
) -> dict[Path, dict[str, dict[str, dict] | None]]:
    """``render_plans`` of each tree, the trees at once: another revision's in a process of its
    own, the running code's own tree in this one (each stack's run on a thread of its own,
    offline/harness.py)."""
    kept = kept or [None] * len(trees)
    work = list(zip(trees, kept, strict=True))
    elsewhere = [(tree, keep) for tree, keep in work if tree != revisions.ROOT]
    with ThreadPoolExecutor(max_workers=max(len(elsewhere), 1)) as pool:
        futures = {tree: pool.submit(render_plans, tree, stacks, keep) for tree, keep in elsewhere}
        here = {tree: render_plans(tree, stacks, keep) for tree, keep in work if tree == revisions.ROOT}
        return here | {tree: future.result() for tree, future in futures.items()}


def _without_providers(plan: dict[str, dict] | None) -> dict[str, dict] | None:
    if plan is None:
        return None
    return {key: resource for key, resource in plan.items() if not resource["type"].startswith("pulumi:providers:")}


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


def _step(path: str, key: str) -> str:
    # A key with dots or slashes (a label, an IAM condition key) is quoted, never split.
    part = key if _PLAIN_KEY.fullmatch(key) else json.dumps(key)
    if part[0] == '"':
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def _walk(old: Any, new: Any, path: str, out: list[Change]) -> None:
    """The changes from ``old`` to ``new`` at ``path``: objects key by key, lists item by item by
    identity (review/identity.py), else by position; an item on one side only is one change."""
    if isinstance(old, dict) and isinstance(new, dict) and (old or new):
        for key in sorted(set(old) | set(new), key=str):
            _walk(old.get(key, UNSET), new.get(key, UNSET), _step(path, str(key)), out)
        return
    if old is UNSET and isinstance(new, dict) and new:  # a new object: each of its fields
        _walk({}, new, path, out)
        return
    if new is UNSET and isinstance(old, dict) and old:
        _walk(old, {}, path, out)
        return
    olds = old if isinstance(old, list) else [] if old is UNSET else None
    news = new if isinstance(new, list) else [] if new is UNSET else None
    if olds is not None and news is not None and (olds or news):
        _walk_list(olds, news, path, out)
        return
    if old != new:
        out.append(Change(path, old, new))


def _walk_list(old: list, new: list, path: str, out: list[Change]) -> None:
    field_name = re.split(r"[.\[]", path)[-1]
    key = identity.item_key(old, new)
    if key is not None:
        before = {str(item[key]): item for item in old}
        after = {str(item[key]): item for item in new}
    elif identity.is_set(field_name, old, new):
        before = {json.dumps(item): item for item in old}
        after = {json.dumps(item): item for item in new}
    else:  # no identity: aligned as a text diff aligns lines, so an insertion is one `+`
        _walk_aligned(old, new, path, out)
        return
    for name in [*after, *(name for name in before if name not in after)]:
        at = path + identity.label(name) if key is not None else path  # a plain value names itself
        if name not in before or name not in after:
            out.append(Change(at, before.get(name, UNSET), after.get(name, UNSET), item=True))
        else:
            _walk(before[name], after[name], at, out)
    common = [name for name in before if name in after]
    moved = [name for name in after if name in before]
    if field_name in identity.ORDERED and common != moved:
        # Only the stretch that moved, with an ellipsis for the common order either side.
        start = next(i for i, (a, b) in enumerate(zip(common, moved, strict=True)) if a != b)
        end = next(i for i, (a, b) in enumerate(zip(common[::-1], moved[::-1], strict=True)) if a != b)
        ends = (["..."] if start else [], ["..."] if end else [])
        was, now = ([*ends[0], *side[start : len(side) - end], *ends[1]] for side in (common, moved))
        out.append(Change(f"{path} (order)", was, now))


def _walk_aligned(old: list, new: list, path: str, out: list[Change]) -> None:
    """Items equal on both sides anchor the alignment (difflib's longest matching blocks); between
    anchors, items pair by position and the rest are added or removed, named by their index on
    the side they are on."""
    matcher = SequenceMatcher(None, [_json(item) for item in old], [_json(item) for item in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1)
        for offset in range(paired):
            _walk(old[i1 + offset], new[j1 + offset], f"{path}[{j1 + offset}]", out)
        for index in range(i1 + paired, i2):
            out.append(Change(f"{path}[{index}]", old[index], UNSET, item=True))
        for index in range(j1 + paired, j2):
            out.append(Change(f"{path}[{index}]", UNSET, new[index], item=True))


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
    changes: list[Change] = []
    _walk(old.get("inputs", {}), new.get("inputs", {}), "", changes)
    for change in changes:
        change.replaces = forces_replacement(type_token, change.path)
    # Another provider is another resource to Pulumi: the resource is replaced.
    changes += [
        Change(f"[{o}]", _option(old.get(o)), _option(new.get(o)), o == "provider")
        for o in options
        if old.get(o) != new.get(o)
    ]
    return changes


def _option(value: Any) -> Any:
    return UNSET if value is None else value  # no import, no provider: unset, as a field would read


def _json(value: Any) -> str:
    return "(unset)" if value is UNSET else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(room - len(ELLIPSIS), 1)] + ELLIPSIS


def _common(first: str, second: str) -> int:
    """How many leading characters the two strings share."""
    return next(
        (i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b), min(len(first), len(second))
    )


def _pair(old: Any, new: Any, room: int) -> tuple[str, str]:
    """Both values as JSON in ``room`` characters together: long strings keep the part that
    differs, with some context either side, the common rest shortened to an ellipsis."""
    before, after = _json(old), _json(new)
    if len(before) + len(after) <= room:
        return before, after
    if isinstance(old, str) and isinstance(new, str):
        start = _common(old, new)
        end = _common(old[start:][::-1], new[start:][::-1])

        def middle(text: str) -> str:
            left, right = max(start - CONTEXT, 0), min(len(text) - end + CONTEXT, len(text))
            body = json.dumps(text[left:right], ensure_ascii=False)[1:-1]
            return f'"{ELLIPSIS if left else ""}{body}{ELLIPSIS if right < len(text) else ""}"'

        before, after = middle(old), middle(new)
    half = room // 2
    return _cut(before, half), _cut(after, room - min(len(before), half))


def _duration(seconds: int) -> str:
    parts = [(seconds // 3600, "h"), (seconds % 3600 // 60, "m"), (seconds % 60, "s")]
    return "".join(f"{amount}{unit}" for amount, unit in parts if amount) or "0s"


def _bytes(value: int) -> str | None:
    for unit, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20)):
        if value >= size and value % size == 0:
            return f"{value // size}{unit}"
    return None


def _units(change: Change) -> str:
    """The values as people write them, where a number is one: seconds as `5m`, bytes as `128Mi`
    (a number of bytes, or a PromQL `vector(...)` line of one, that is a whole number of MiB)."""
    old, new = change.old, change.new
    last = re.split(r"[.\[]", change.path)[-1]
    numbers = all(isinstance(v, int) and not isinstance(v, bool) for v in (old, new))
    if numbers and (last.endswith("Seconds") or last == "seconds" or ".relativeTimeRange." in change.path):
        return f"  ({_duration(old)} -> {_duration(new)})"
    if isinstance(old, str) and isinstance(new, str):
        found = [_VECTOR.findall(v) for v in (old, new)]
        if all(len(f) == 1 for f in found):
            old, new = int(found[0][0]), int(found[1][0])
            numbers = True
    if numbers:
        shown = [_bytes(old), _bytes(new)]
        if all(shown):
            return f"  ({shown[0]} -> {shown[1]})"
    return ""


def _line(change: Change) -> str:
    """One change, within WIDTH characters."""
    forced = "  [forces replacement]" if change.replaces else ""
    if change.item:  # a whole item: + or - and its identity, what it holds after
        sign, value = ("+", change.new) if change.old is UNSET else ("-", change.old)
        head = f"        {sign} {change.path}: "
        return head + _cut(_json(value), WIDTH - len(head) - len(forced)) + forced
    head, units = f"        {change.path}: ", _units(change)
    old, new = _pair(change.old, change.new, WIDTH - len(head) - len(" -> ") - len(forced) - len(units))
    return f"{head}{old} -> {new}{forced}{units}"


def format_text(title: str, diffs: list[ResourceDiff]) -> str:
    lines = [title]
    if not diffs:
        return "\n".join([*lines, "    no changes", ""])
    for diff in diffs:
        lines.append(
            f"  {SYMBOLS[diff.kind]:<2} {shown(diff.key, diff.kind)}{'  (replace)' if diff.kind == 'replace' else ''}"
        )
        lines.extend(_line(change) for change in diff.changes)
    return "\n".join([*lines, f"  {summary_line(diffs)}", ""])


def format_markdown(title: str, diffs: list[ResourceDiff]) -> str:
    if not diffs:
        return f"### {title}\n\nNo changes.\n"
    # In a ```diff block a line that starts with + or - is coloured: the symbols go to column 0,
    # an item's too (its line keeps its indent after the sign).
    body = [_signed(line.removeprefix("  ")) for line in format_text(title, diffs).splitlines()[1:-1]]
    return "\n".join([f"### {title}", "", f"**{summary_line(diffs)}**", "", "```diff", *body, "```", ""])


def _signed(line: str) -> str:
    text = line.lstrip()
    indent = len(line) - len(text)
    if indent > 1 and text.startswith(("+ ", "- ")):
        return f"{text[0]}{' ' * (indent - 1)}  {text[2:]}"
    return line


def summary_line(diffs: list[ResourceDiff]) -> str:
    """The resources' counts, as `pulumi preview` gives them; the capacity, not a resource, apart."""
    resources = [d for d in diffs if d.key != CAPACITY]
    counts = {kind: sum(1 for d in resources if d.kind == kind) for kind in SYMBOLS}
    words = {"add": "to create", "remove": "to delete", "change": "to update", "replace": "to replace"}
    parts = [f"{counts[kind]} {words[kind]}" for kind in SYMBOLS if counts[kind]]
    if len(resources) < len(diffs):
        parts.append("the capacity changes")
    return ", ".join(parts)


def _known(asked: list[str], there: set[str], where: str) -> None:
    """A stack named on the command line must have a stack file on some side: a typo is an error,
    never an empty comparison."""
    unknown = [stack for stack in asked if stack not in there]
    if unknown:
        names = ", ".join(repr(stack) for stack in unknown)
        raise ValueError(f"no stack {names} in {where}; the stacks are: {', '.join(sorted(there)) or 'none'}")


def plans_of(
    sides: list[str | None], stacks: list[str], kept: list[Path | None]
) -> list[dict[str, dict[str, dict] | None]]:
    """Each revision's plans: read back where ``kept`` holds them all, the others checked out and
    rendered at once."""
    found: list[dict[str, dict[str, dict] | None]] = []
    missing = []
    for revision, keep in zip(sides, kept, strict=True):
        present = [stack for stack in stacks if stack in revisions.stacks_at(revision)]
        if keep is not None and all((keep / stack / PLAN).is_file() for stack in present):
            plans = dict.fromkeys(stacks)
            found.append(plans | {stack: _read_plan(keep / stack / PLAN, stack, keep) for stack in present})
        else:
            found.append({})
            missing.append((len(found) - 1, revision, keep))
    # Two revisions with the same content (the working tree as HEAD holds it) render once.
    keys: list[Path | int] = [keep if keep is not None else index for index, _, keep in missing]
    unique = {key: revision for key, (_, revision, _) in zip(keys, missing, strict=True)}
    with ExitStack() as trees_in_use:
        trees = {key: trees_in_use.enter_context(revisions.checkout(revision)) for key, revision in unique.items()}
        kept_at = [key if isinstance(key, Path) else None for key in trees]
        rendered = render_trees(list(trees.values()), stacks, kept_at)
        for (index, _, _), key in zip(missing, keys, strict=True):
            found[index] = rendered[trees[key]]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./tasks.sh diff", description=__doc__.split("\n")[0])
    parser.add_argument("stack", nargs="*", help="stacks to compare (default: every stack on either side)")
    parser.add_argument("--base", help="git revision to compare from (default: the merge base with main)")
    parser.add_argument("--head", help="git revision to compare to (default: the working tree)")
    parser.add_argument("--stacks", nargs=2, metavar=("FROM", "TO"), help="compare two stacks of the working tree")
    parser.add_argument("--format", choices=("text", "markdown"), default="text")
    parser.add_argument("--exit-code", action="store_true", help="exit 1 when anything differs")
    parser.add_argument(
        "--cache",
        type=Path,
        default=revisions.ROOT / "build" / "plans",
        help="keep each revision's plans here, by content, packages and hour, and reuse them (default: %(default)s)",
    )
    parser.add_argument("--no-cache", dest="cache", action="store_const", const=None, help="render every revision")
    args = parser.parse_args(argv)
    formatter = format_markdown if args.format == "markdown" else format_text
    sections, changed = [], False
    try:
        if args.stacks:
            _known(list(args.stacks), revisions.stacks_in(revisions.ROOT), "the working tree")
            plans = render_plans(revisions.ROOT, list(args.stacks), kept_for(args.cache, None))
            # Each stack has its own providers by design: their resources, and which provider
            # each resource uses, are left out.
            first, second = (_without_providers(plans[stack]) for stack in args.stacks)
            diffs = compare(first, second, options=("protect", "import"))
            sections.append(formatter(f"Stack {args.stacks[0]} -> {args.stacks[1]} (working tree)", diffs))
            changed = bool(diffs)
        else:
            base = args.base or revisions.default_base()
            label = f"{revisions.git('rev-parse', '--short', base)} -> {args.head or 'working tree'}"
            sides = [base, args.head]
            there = [revisions.stacks_at(revision) for revision in sides]
            stacks = args.stack or sorted(there[0] | there[1])
            _known(stacks, there[0] | there[1], "either revision")
            kept = [kept_for(args.cache, revision) for revision in sides]
            before, after = plans_of(sides, stacks, kept)
            for stack in stacks:
                diffs = compare(before[stack], after[stack])
                sections.append(formatter(f"Stack {stack} ({label})", diffs))
                changed = changed or bool(diffs)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(sections), end="")
    return 1 if args.exit_code and changed else 0


if __name__ == "__main__":
    sys.exit(main())
