"""What the shell may and may not say: provider plugins read some variables wherever the stack
leaves an input unset, and the Grafana provider counts `false`, `""` and `0` as unset, so an
explicit setting does not shield it. Such a variable stops the program; credentials may stay."""

from __future__ import annotations

import re
from collections.abc import Mapping

# The Grafana provider's variables that carry a credential: a token, basic auth, a client
# certificate. Every other GRAFANA_* variable says where or how it deploys.
GRAFANA_CREDENTIAL = re.compile(r"GRAFANA_(AUTH|TLS_CERT|TLS_KEY|\w*_ACCESS_TOKEN|\w*_ACCESS_POLICY_TOKEN|\w+_AUTH)")


def ambient_problems(environ: Mapping[str, str]) -> list[str]:
    """One line per variable that would change where or how the Grafana provider deploys."""
    return [
        f"environment {name} = [set]: the Grafana provider would read it wherever the stack leaves an "
        "input unset (its own false, empty and 0 included); unset it, the stack's grafana settings decide "
        "(only credentials such as GRAFANA_AUTH may come from the shell)"
        for name in sorted(environ)
        if name.startswith("GRAFANA_") and not GRAFANA_CREDENTIAL.fullmatch(name)
    ]
