"""What the shell may say (settings/environment.py): every variable the Grafana SDK reads is a
credential or refused, read from the installed SDK."""

from __future__ import annotations

from helpers import grafana_placements

from settings.environment import ambient_problems


def test_every_variable_the_sdk_reads_is_a_credential_or_refused() -> None:
    placements = grafana_placements()
    assert len(placements) >= 8
    refused = ambient_problems(dict.fromkeys(placements.values(), "x"))
    assert [line.split(" = ")[0].removeprefix("environment ") for line in refused] == sorted(placements.values())
    assert ambient_problems({"GRAFANA_AUTH": "x", "GRAFANA_TLS_KEY": "x", "GRAFANA_SM_ACCESS_TOKEN": "x"}) == []
