"""YAML read as ``yaml.safe_load`` reads it, parsed by libyaml where PyYAML has it.

PyYAML's pure-Python scanner and parser are most of the cost of reading a file, several times
libyaml's; the safe constructor is the same either way, so are the values of the YAML the render,
kubectl and the Kubernetes API write. The two parsers differ on a few inputs outside that (libyaml
accepts a tab after a key's colon and refuses a lone surrogate escape), and libyaml's errors quote
no snippet of the text. For what the render writes and reads back (manifests, the operators'
definitions), live exports and the tests' reads. Stack files have a loader of their own
(settings/stackfile.py: YAML 1.2, as Pulumi reads them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader  # what both classes offer
else:
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it


def load_yaml(text: str) -> Any:
    """The one document in ``text``, as ``yaml.safe_load`` returns it."""
    return yaml.load(text, Loader=_SafeLoader)


def load_yaml_all(text: str) -> list[Any]:
    """Every document in ``text``, as ``yaml.safe_load_all`` yields them."""
    return list(yaml.load_all(text, Loader=_SafeLoader))
