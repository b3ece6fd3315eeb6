"""Every link of the documentation leads somewhere: each relative link in README.md, CONTRIBUTING.md
and docs/ points at a file or folder of the repository, and an `#anchor` into a markdown file at one
of its headings (GitHub's anchors); each docs/<file>.md[#anchor] that code, messages and tests name
resolves the same way. Pure file reading, no subprocess."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

from settings.paths import ROOT

# Where code, messages and tests name a document (docs/<file>.md#<anchor> in a string or comment).
SOURCE_FOLDERS = ("settings", "components", "offline", "capacity", "rotation", "mutation", "policy", "tests")
SKIPPED_FOLDERS = {"venv", "__pycache__"}

FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r" {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target) and ![alt](target), with an optional title; the text may hold one level of brackets.
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^\s<>()]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r" {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?")
SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")
# A document named from the repository's root, as code and prose name them.
DOCUMENT_REFERENCE = re.compile(r"(?<![\w/.-])docs/[\w./-]+?\.md(?:#[\w-]+)?")


def anchor_of(heading: str) -> str:
    """GitHub's anchor of a heading's text: the text as rendered (code, links and emphasis reduced
    to their words), lowercased, punctuation other than '-' and '_' removed, each space a '-'."""
    text = CODE_SPAN.sub(lambda match: match.group(2).strip(), heading)
    text = LINK.sub(r"\1", text)
    text = re.sub(r"<[^>]+>", "", text).replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of everything outside fenced code blocks."""
    lines, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None:
            closing = opening.group(1) if opening else ""
            if closing[:1] == fence[:1] and len(closing) >= len(fence) and not line.strip().strip(fence[0]):
                fence = None
        else:
            lines.append((number, line))
    return lines


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every heading anchor of a markdown file, duplicates numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in _prose_lines(path.read_text(encoding="utf-8")):
        heading = HEADING.fullmatch(line)
        if not heading:
            continue
        anchor = anchor_of(heading.group(2))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return frozenset(found)


def _target_problem(root: Path, base: Path, target: str) -> str | None:
    """Why a link to ``target`` from a file in ``base`` leads nowhere, or None."""
    path_part, _, anchor = target.partition("#")
    path = (base / unquote(path_part)).resolve() if path_part else None
    if path is not None and (not path.is_relative_to(root.resolve()) or not path.exists()):
        return "no such file in the repository"
    if anchor and path is not None and path.suffix == ".md" and anchor not in anchors(path):
        return f"no heading with the anchor #{anchor}"
    return None


def link_problems(root: Path, markdown: Path) -> list[str]:
    """One line per relative link (inline or a reference definition) that leads nowhere."""
    problems = []
    text = markdown.read_text(encoding="utf-8")
    shown = markdown.relative_to(root)
    for number, line in _prose_lines(text):
        prose = CODE_SPAN.sub("code", line)
        definition = REFERENCE_DEFINITION.fullmatch(prose)
        targets = [definition.group(1)] if definition else [match.group(2) for match in LINK.finditer(prose)]
        for target in targets:
            if SCHEME.match(target):
                continue  # https:, mailto: ...: not a file of this repository
            # A bare #anchor names a heading of this file.
            resolved = target if target.split("#")[0] else f"{markdown.name}{target}"
            problem = _target_problem(root, markdown.parent, resolved)
            if problem:
                problems.append(f"{shown}:{number}: ({resolved}) {problem}")
    return problems


def reference_problems(root: Path, source: Path) -> list[str]:
    """One line per docs/<file>.md[#anchor] named in a source file that leads nowhere."""
    problems = []
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        for reference in DOCUMENT_REFERENCE.findall(line):
            problem = _target_problem(root, root, reference)
            if problem:
                problems.append(f"{source.relative_to(root)}:{number}: {reference} {problem}")
    return problems


def markdown_files(root: Path) -> list[Path]:
    found = [root / name for name in ("README.md", "CONTRIBUTING.md") if (root / name).is_file()]
    return found + sorted((root / "docs").rglob("*.md"))


def source_files(root: Path) -> list[Path]:
    found = []
    for folder in SOURCE_FOLDERS:
        for parent, folders, files in os.walk(root / folder):
            folders[:] = sorted(name for name in folders if name not in SKIPPED_FOLDERS)
            found += [Path(parent) / name for name in sorted(files) if name.endswith(".py")]
    # This file names broken references on purpose, to show they are found.
    return [path for path in found if path != Path(__file__).resolve()]


@pytest.mark.parametrize("document", [str(p.relative_to(ROOT)) for p in markdown_files(ROOT)])
def test_every_relative_link_leads_to_a_file_and_heading(document: str) -> None:
    problems = link_problems(ROOT, ROOT / document)
    assert not problems, "links that lead nowhere:\n" + "\n".join(problems)


def test_every_document_the_sources_name_exists_with_its_heading() -> None:
    problems = [problem for source in source_files(ROOT) for problem in reference_problems(ROOT, source)]
    assert not problems, "references that lead nowhere:\n" + "\n".join(problems)


def test_the_sources_name_documents_at_all() -> None:
    # The check above proves nothing if it finds nothing: the guardrails' messages name a heading.
    named = {ref for source in source_files(ROOT) for ref in DOCUMENT_REFERENCE.findall(source.read_text())}
    assert any("#" in reference for reference in named)


def test_a_broken_link_a_missing_heading_and_a_stale_reference_are_each_found(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "here.md").write_text(
        "# Here\n\n## A heading: with `code`\n\n```\n## Not a heading\n[inside a fence](gone.md)\n```\n\n"
        "See [the heading](#a-heading-with-code), [no heading](#not-a-heading) and [a site](https://example.com).\n"
    )
    (tmp_path / "README.md").write_text(
        "[fine](docs/here.md#a-heading-with-code), [missing](docs/missing.md), [no anchor](docs/here.md#nowhere),\n"
        "[outside](../elsewhere.md), `[in code](gone.md)`, <https://example.com>\n\n[ref]: docs/gone.md\n"
    )
    (tmp_path / "settings").mkdir()
    (tmp_path / "settings" / "rules.py").write_text(
        'ALLOWED = "(docs/here.md#a-heading-with-code) (docs/here.md#a-heading-gone) (docs/gone.md)"\n'
    )
    assert link_problems(tmp_path, tmp_path / "README.md") == [
        "README.md:1: (docs/missing.md) no such file in the repository",
        "README.md:1: (docs/here.md#nowhere) no heading with the anchor #nowhere",
        "README.md:2: (../elsewhere.md) no such file in the repository",
        "README.md:4: (docs/gone.md) no such file in the repository",
    ]
    assert link_problems(tmp_path, docs / "here.md") == [
        "docs/here.md:10: (here.md#not-a-heading) no heading with the anchor #not-a-heading"
    ]
    assert reference_problems(tmp_path, tmp_path / "settings" / "rules.py") == [
        "settings/rules.py:1: docs/here.md#a-heading-gone no heading with the anchor #a-heading-gone",
        "settings/rules.py:1: docs/gone.md no such file in the repository",
    ]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Spreading", "spreading"),
        ("Capacity: an HPA dry run", "capacity-an-hpa-dry-run"),
        ("Before the first `pulumi up`", "before-the-first-pulumi-up"),
        ("Keeping `/api/metrics` off the public ingress", "keeping-apimetrics-off-the-public-ingress"),
        ("Service port 80 in front of container port 8000", "service-port-80-in-front-of-container-port-8000"),
        ("The [policy](policy.md) pack, **mandatory**", "the-policy-pack-mandatory"),
        ("snake_case and dash-es: kept", "snake_case-and-dash-es-kept"),
        ("Stack dev (0bd75bb -> working tree)", "stack-dev-0bd75bb---working-tree"),
    ],
)
def test_anchors_follow_githubs_rules(heading: str, anchor: str) -> None:
    assert anchor_of(heading) == anchor


def test_a_repeated_heading_gets_a_numbered_anchor(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n## Notes\n\n## Notes\n\n## Notes ##\n")
    assert anchors(page) == {"page", "notes", "notes-1", "notes-2"}
