"""The stack files as settings (settings/stackfile.py): every Pulumi.<stack>.yaml validates, as its
own environment, and no two stacks share a cluster namespace."""

from __future__ import annotations

from helpers import validated

from offline.harness import stack_names
from settings.stack import StackSettings


def test_every_stack_file_is_valid(stack: str) -> None:
    settings, problems = validated(stack)
    assert problems == []
    assert isinstance(settings, StackSettings)
    assert settings.environment == stack


def test_stacks_never_share_a_cluster_namespace() -> None:
    # Two stack files pointing at one context and namespace would overwrite each other's objects.
    targets = [(s.kubernetes.context, s.kubernetes.namespace) for s in (validated(n)[0] for n in stack_names())]
    assert len(targets) == len(set(targets))
