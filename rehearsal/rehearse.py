"""Rehearse a stack's `pulumi up` against an AWS API emulator, before the real one.

    ./tasks.sh rehearse [stack] [--at 2027-01-15] [--format markdown]

Runs the program (rehearsal/emulator.py) as the first `up` of the stack into an empty account at the
given day (default: now): every AWS resource through the API calls the provider makes, the owners'
`put-secret-value` where the first `up` stops on empty secrets, the `up` after it, and the updates a
week later. Prints, per `up`, what was created or updated, what the emulator refused (the resource
and AWS's message) and what the program stopped on. Exit 1 when anything was refused.

What it does not cover: the provider's own translation of inputs beyond the calls it emulates, KMS
key policies and IAM conditions (moto evaluates neither), and the cluster and Grafana sides.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from rehearsal.emulator import Phase, rehearse


def report(stack: str, phases: list[Phase]) -> str:
    lines = [f"Rehearsal of stack '{stack}' against the AWS API emulator"]
    for phase in phases:
        done = [s for s in phase.steps if s.ok and s.action in ("create", "import", "update")]
        words = {"create": "created", "import": "imported", "update": "updated"}
        summary = ", ".join(
            f"{n} {word}" for action, word in words.items() if (n := sum(1 for s in done if s.action == action))
        )
        lines.append(f"\n{phase.label} ({phase.at:%Y-%m-%d %H:%M} UTC): {summary or 'nothing changed'}")
        for step in phase.refused:
            lines.append(f"  REFUSED {step.action} {step.type} {step.name}: {step.message}")
        if phase.refused:
            lines.append(f"  done before the refusal (a real `up` would leave these): {len(done)} resources")
        owners = [s for s in phase.steps if s.action == "owners put"]
        if phase.error and not phase.refused:
            lines.append("  stopped by the program (expected on a first `up` with empty manual secrets):")
            lines += [f"    {line}" for line in phase.error.splitlines()]
        for step in owners:
            lines.append(f"  then the owners put values into: {step.name}")
    return "\n".join(lines) + "\n"


def markdown(stack: str, phases: list[Phase]) -> str:
    """For the pull request's comment: one status line, the report folded under it."""
    refused = [step for phase in phases for step in phase.refused]
    if refused:
        first = refused[0]
        status = f":x: `{stack}`: the AWS API emulator refused {len(refused)} call(s), first {first.type} {first.name}"
    elif phases and phases[-1].error:
        status = f":x: `{stack}`: the program stopped: {phases[-1].error.splitlines()[0]}"
    else:
        status = f":white_check_mark: `{stack}`: first `up`, the owners' values and a week of updates, nothing refused"
    body = report(stack, phases)
    return f"{status}\n\n<details><summary>rehearsal</summary>\n\n```\n{body}```\n\n</details>\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--at", help="the day of the first `up` (ISO 8601; default: now)")
    parser.add_argument("--format", choices=("text", "markdown"), default="text")
    args = parser.parse_args(argv)
    at = datetime.now(UTC)
    if args.at:
        at = datetime.fromisoformat(args.at)
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
    try:
        phases = rehearse(args.stack, at)
    except ValueError as error:  # an invalid or missing stack file
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write((markdown if args.format == "markdown" else report)(args.stack, phases))
    refused = any(phase.refused for phase in phases)
    finished = bool(phases) and not phases[-1].error
    return 0 if finished and not refused else 1


if __name__ == "__main__":
    sys.exit(main())
