"""Run the policy pack over offline renders, without the Pulumi CLI: each render's plan.json
becomes the arguments CrossGuard would pass, and every violation is printed with its policy.

    python policy/offline.py RENDER_DIR [RENDER_DIR ...]      (exit 1 on any violation)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from policies import POLICIES
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)


def _urn(plan: dict, short: str) -> str:
    """A full URN from the render's `type::name`."""
    return f"urn:pulumi:{plan['stack']}::{plan['project']}::{short}"


def resources(plan: dict) -> list[PolicyResource]:
    """The plan's resources as CrossGuard describes them."""
    found = []
    for entry in plan["resources"]:
        options = PolicyResourceOptions(
            protect=entry["protect"],
            ignore_changes=[],
            delete_before_replace=None,
            aliases=[],
            custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
            additional_secret_outputs=[],
            parent=_urn(plan, entry["parent"]) if entry["parent"] else None,
        )
        provider = None
        if entry["provider"]:
            kind = entry["provider"].split("::")[0]
            provider = PolicyProviderResource(
                kind, {}, _urn(plan, entry["provider"]), entry["provider"].split("::")[-1]
            )
        urn = _urn(plan, f"{entry['type']}::{entry['name']}")
        found.append(
            PolicyResource(entry["type"], entry["inputs"], urn, entry["name"], options, provider, None, [], {})
        )
    return found


def violations(plan: dict, config: dict | None = None) -> list[tuple[str, str]]:
    """(policy, message) for every violation in one stack's plan."""
    found: list[tuple[str, str]] = []
    items = resources(plan)
    for policy in POLICIES:
        settings = (config or {}).get(policy.name, {})

        def report(message: str, urn: str | None = None, policy_name: str = policy.name) -> None:
            found.append((policy_name, message))

        if isinstance(policy, ResourceValidationPolicy):
            for item in items:
                args = ResourceValidationArgs(
                    item.resource_type, item.props, item.urn, item.name, item.opts, item.provider, settings
                )
                policy.validate(args, report)
        else:
            policy.validate(StackValidationArgs(items, settings), report)
    return found


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    failed = False
    for folder in argv:
        plan = json.loads((Path(folder) / "plan.json").read_text(encoding="utf-8"))
        found = violations(plan)
        print(f"{plan['stack']}: {len(POLICIES)} policies, {len(plan['resources'])} resources, {len(found)} violations")
        for policy, message in found:
            print(f"  mandatory [{policy}] {message}")
        failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
