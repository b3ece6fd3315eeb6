"""YAML read with libyaml where PyYAML has it, to the same result as PyYAML's own safe loader."""

from __future__ import annotations

import pytest
import yaml
from helpers import shared_run_stack

from offline import documents, yaml_reader
from offline.harness import ROOT


def test_libyaml_parses_where_pyyaml_has_it() -> None:
    assert yaml_reader._SafeLoader is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


def test_what_the_render_writes_reads_back_as_safe_load_reads_it(stack: str) -> None:
    manifests = [documents.manifest(r) for r in shared_run_stack(stack).resources if documents.is_kubernetes(r)]
    texts = [documents.to_yaml(manifest) for manifest in manifests]
    assert [yaml_reader.load_yaml(text) for text in texts] == [yaml.safe_load(text) for text in texts] == manifests


def test_every_document_of_a_file_and_the_safe_loaders_refusals() -> None:
    text = (ROOT / "offline" / "crds.yaml").read_text()
    assert yaml_reader.load_yaml_all(text) == list(yaml.safe_load_all(text))
    with pytest.raises(yaml.constructor.ConstructorError):  # no Python objects from a file
        yaml_reader.load_yaml("!!python/object/apply:os.system ['true']")
