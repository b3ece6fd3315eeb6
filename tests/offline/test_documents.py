"""How captured registrations become files: markers for what is secret or unknown, and JSON that
reads exactly as the standard library would write it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offline import documents, render
from offline.harness import RunResult, Secret, Unknown, plain


def test_unknowns_and_secrets_are_marked_never_invented() -> None:
    from pulumi.output import Unknown as WireUnknown
    from pulumi.runtime import rpc

    wire = {"a": WireUnknown(), "b": rpc.UNKNOWN, "c": rpc.wrap_rpc_secret("s3cr3t"), "d": 2.0, "e": 0.5}
    value = plain(wire)
    assert isinstance(value["a"], Unknown)
    assert isinstance(value["b"], Unknown)
    assert isinstance(value["c"], Secret)
    assert documents.marked(value) == {
        "a": documents.UNKNOWN_MARK,
        "b": documents.UNKNOWN_MARK,
        "c": documents.SECRET_MARK,
        "d": 2,
        "e": 0.5,
    }


def _standard(document: object) -> str:
    return json.dumps(documents.marked(document), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_json_is_written_as_the_standard_library_indents_it() -> None:
    # As json.dumps(indent=2, sort_keys=True) writes them: nested keys sorted, markers in lists,
    # empty containers, floats, non-ASCII as UTF-8.
    document: dict = {
        "z": [Secret(), {"b": Unknown(), "a": []}],
        "é": {},
        "floats": [0.95, 0.2, 1.5, 200.0, 0.001],
        "ints": [0, -1, 2**31 - 1, 2**53],
        "text": 'quote " backslash \\ tab \t newline \n ≥',
        "none": None,
        "flag": True,
    }
    assert documents.to_json(document) == _standard(document)
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        documents.to_json({"a": object()})


def test_every_rendered_json_file_reads_as_the_standard_library_writes_it(result: RunResult, tmp_path: Path) -> None:
    files = [path for path in render.write(result, tmp_path) if path.suffix == ".json"]
    assert len(files) > 20
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text == _standard(json.loads(text)), path.name


def test_a_kubernetes_object_is_named_as_its_metadata_names_it() -> None:
    from offline.harness import Registration

    def named(metadata: dict) -> str:
        inputs = {"kind": "Deployment", "metadata": metadata}
        return documents.object_name(Registration("u", "t", "pulumi-name", "", "", True, inputs, False, []))

    assert named({"name": "api", "namespace": "team"}) == "team/api"
    assert named({"name": "team"}) == "team"  # cluster-scoped: a Namespace
    assert named({"name": Unknown(), "namespace": "team"}) == f"team/{documents.UNKNOWN_MARK}"
