"""The repository's revisions as the offline tools read them: a commit checked out in a temporary
git worktree (never the user's), the merge base a review compares from, the stacks a revision
has, and the content of its files as git hashes them. Shared by the plan diff and ``capacity pr``."""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from settings.paths import ROOT


def git(*args: str, cwd: Path | None = None) -> str:
    completed = subprocess.run(["git", *args], cwd=cwd or ROOT, capture_output=True, text=True, check=False)
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
def checkout(revision: str | None) -> Iterator[Path]:
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


def blobs(revision: str | None) -> list[str]:
    """``<blob> <path>`` of every file a render of ``revision`` reads, as git names the content: a
    commit's tree, or the working tree's files (tracked and untracked, the ignored ones left out),
    hashed as git would store them but without writing anything."""
    if revision is not None:
        listing = git("ls-tree", "-r", "-z", "--full-tree", f"{revision}^{{tree}}")
        entries = (entry.split("\t", 1) for entry in listing.split("\0") if entry)
        return sorted(f"{meta.split()[2]} {path}" for meta, path in entries)
    top = Path(git("rev-parse", "--show-toplevel"))
    files = git("ls-files", "--cached", "--others", "--exclude-standard", "--deduplicate", "-z", cwd=top)
    paths = sorted(path for path in files.split("\0") if path and (top / path).is_file())
    hashed = subprocess.run(
        ["git", "hash-object", "--stdin-paths"],
        cwd=top,
        input="\n".join(paths),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(f"{blob} {path}" for blob, path in zip(hashed, paths, strict=True))


def stacks_in(tree: Path) -> set[str]:
    return {path.name.split(".")[1] for path in tree.glob("Pulumi.*.yaml")}


def stacks_at(revision: str | None) -> set[str]:
    """The stacks ``revision`` has a stack file for (None: the working tree)."""
    if revision is None:
        return stacks_in(ROOT)
    names = git("ls-tree", "--name-only", f"{revision}^{{tree}}").splitlines()
    return {name.split(".")[1] for name in names if re.fullmatch(r"Pulumi\.[^.]+\.yaml", name)}
