"""Rules of the AWS settings and the secrets inventory (see ``settings.engine`` for how they run)."""

from __future__ import annotations

from collections.abc import Callable

from pydantic.alias_generators import to_snake

from settings.aws import PROGRAM_TAGS, InventorySecret, OidcProvider, aws_name, default_secret_name
from settings.engine import MISSING, STACK, Problem, rule
from settings.engine import at as _at

# The suffix of an automatically rotated secret's previous value in the pod (components.kubernetes.external_secrets).
PREVIOUS_SUFFIX = "_PREVIOUS"
MAX_AUTOMATED_DAYS = 1000


@rule("secrets.inventory")
def inventory_names_are_unique(inventory: tuple) -> list[Problem]:
    """Each inventory name appears once."""
    names = [secret.name for secret in inventory]
    doubled = sorted({name for name in names if names.count(name) > 1})
    if not doubled:
        return []
    return [Problem(_at("secrets.inventory"), names, f"each name once; {', '.join(doubled)} appears more than once")]


@rule("secrets.inventory", STACK)
def secret_names_are_unique(inventory: tuple, stack: str) -> list[Problem]:
    """No two inventory entries share a Secrets Manager name."""
    found: list[Problem] = []
    seen: dict[str, int] = {}
    for index, secret in enumerate(inventory):
        name = default_secret_name(secret, stack)
        if name in seen:
            allowed = f"inventory[{seen[name]}] is stored under {name} already: two entries cannot share one secret"
            found.append(Problem((*_at("secrets.inventory"), index, "secretName"), name, allowed))
        seen.setdefault(name, index)
    return found


def _entries(
    inventory: tuple,
    key: str,
    failing: Callable[[InventorySecret], bool],
    allowed: Callable[[InventorySecret], str],
) -> list[Problem]:
    """One problem per inventory entry for which ``failing(secret)``, at its ``key``."""
    return [
        Problem((*_at("secrets.inventory"), index, key), getattr(secret, to_snake(key)), allowed(secret))
        for index, secret in enumerate(inventory)
        if failing(secret)
    ]


@rule("secrets.inventory", "secrets.reminderLeadDays")
def reminders_come_before_the_due_date(inventory: tuple, lead: int) -> list[Problem]:
    """Every rotation period is longer than the reminders' lead."""
    return _entries(
        inventory,
        "rotationDays",
        lambda secret: secret.rotation_days <= lead,
        lambda _: (
            f"must be longer than secrets.reminderLeadDays ({lead}), or the reminder comes before the last rotation"
        ),
    )


@rule("production", "secrets.reminderEmails")
def production_reminds_someone(production: bool, emails: tuple) -> list[Problem]:
    """Production names at least one recipient of the rotation reminders."""
    if not production or emails:
        return []
    allowed = "production stacks name at least one recipient of the rotation reminders"
    return [Problem(_at("secrets.reminderEmails"), [], allowed)]


@rule("production", "secrets.recoveryWindowDays")
def production_keeps_deleted_secrets(production: bool, days: int) -> list[Problem]:
    """Production keeps a deleted secret restorable for the full 30 days."""
    if not production or days == 30:
        return []
    allowed = "production stacks keep a deleted secret restorable for the full 30 days"
    return [Problem(_at("secrets.recoveryWindowDays"), days, allowed)]


@rule("secrets.inventory", "backend.env")
def secrets_and_plain_env_do_not_collide(inventory: tuple, env: dict) -> list[Problem]:
    """No inventory secret is also a plain variable in `backend.env`."""
    return [
        Problem(
            (*_at("backend.env"), secret.name),
            env[secret.name],
            "is also a secret in secrets.inventory: the container would get two values for one variable",
        )
        for secret in inventory
        if secret.name in env
    ]


@rule("aws.oidcProvider", "aws.allowedAccountIds")
def oidc_provider_is_the_clusters(provider: OidcProvider, accounts: tuple) -> list[Problem]:
    """The OIDC provider is in an allowed account and names the issuer of `issuerUrl`."""
    found = []
    account = provider.arn.split(":")[4]
    if account not in accounts:
        allowed = f"its account {account} is not in aws.allowedAccountIds ({', '.join(accounts)})"
        found.append(Problem(_at("aws.oidcProvider.arn"), provider.arn, allowed))
    if provider.arn.split("oidc-provider/", 1)[1] != provider.issuer:
        allowed = f"the ARN names another issuer than issuerUrl ({provider.issuer}): both come from one cluster"
        found.append(Problem(_at("aws.oidcProvider.arn"), provider.arn, allowed))
    return found


@rule("secrets.inventory", "aws.region", "aws.allowedAccountIds")
def adopted_secrets_are_in_the_stacks_account(inventory: tuple, region: str, accounts: tuple) -> list[Problem]:
    """A secret to adopt is in the stack's region and one of its accounts."""
    found = []
    for index, secret in enumerate(inventory):
        if secret.import_arn is None:
            continue
        _, _, _, in_region, account, *_ = secret.import_arn.split(":")
        if in_region != region or account not in accounts:
            allowed = f"must be a secret in {region} of {', '.join(accounts)} (aws.region, aws.allowedAccountIds)"
            found.append(Problem((*_at("secrets.inventory"), index, "importArn"), secret.import_arn, allowed))
    return found


@rule("aws.tags")
def tags_leave_the_programs_own(tags: dict) -> list[Problem]:
    """The tags name an `owner`, and leave `project`, `stack` and `managed-by` to the program."""
    found = [
        Problem((*_at("aws.tags"), key), tags[key], f"the program sets this tag itself ({', '.join(PROGRAM_TAGS)})")
        for key in sorted(tags)
        if key in PROGRAM_TAGS
    ]
    if "owner" not in tags:
        # Who answers for a resource nobody recognises: every AWS resource carries it.
        found.append(
            Problem((*_at("aws.tags"), "owner"), MISSING, "required: the team that owns the stack's AWS resources")
        )
    return found


@rule("secrets.readerServiceAccount", "backend.names.serviceAccount", "backend.name")
def the_pods_never_run_as_the_reader(reader: str, own: str | None, name: str) -> list[Problem]:
    """The secrets reader's ServiceAccount is not the backend pods' own."""
    if reader != (own or name):
        return []
    allowed = "is the backend pods' own ServiceAccount: the pods would run with the secrets reader's AWS role"
    return [Problem(_at("secrets.readerServiceAccount"), reader, allowed)]


@rule("secrets.inventory", "backend.env")
def previous_values_have_their_own_names(inventory: tuple, env: dict) -> list[Problem]:
    """An automated secret's `<NAME>_PREVIOUS` variable is no other variable's name."""
    taken = {secret.name for secret in inventory} | set(env)
    return _entries(
        inventory,
        "name",
        lambda secret: secret.automation == "automated" and f"{secret.name}{PREVIOUS_SUFFIX}" in taken,
        lambda secret: f"{secret.name}{PREVIOUS_SUFFIX} (its previous value, automated rotation) is already a variable",
    )


@rule("secrets.inventory")
def automated_rotation_fits_secrets_manager(inventory: tuple) -> list[Problem]:
    """An automated secret rotates at least every 1000 days (Secrets Manager's limit)."""
    return _entries(
        inventory,
        "rotationDays",
        lambda secret: secret.automation == "automated" and secret.rotation_days > MAX_AUTOMATED_DAYS,
        lambda _: f"automated rotation runs at most every {MAX_AUTOMATED_DAYS} days (Secrets Manager's limit)",
    )


@rule("secrets.inventory", STACK)
def adopted_secrets_are_the_named_ones(inventory: tuple, stack: str) -> list[Problem]:
    """A secret to adopt is the one its entry names (`secretName`)."""
    found = []
    for index, secret in enumerate(inventory):
        name = default_secret_name(secret, stack)
        # A secret's ARN is its name plus `-` and six random characters.
        if secret.import_arn and secret.import_arn.split(":secret:", 1)[1][:-7] != name:
            allowed = f"must be the ARN of {name} (the entry's secretName): adopting another secret replaces it"
            found.append(Problem((*_at("secrets.inventory"), index, "importArn"), secret.import_arn, allowed))
    return found


# IAM role and Lambda function names: at most 64 characters.
AWS_NAME_LIMIT = 64


@rule("environment", "secrets.inventory")
def aws_names_fit(environment: str, inventory: tuple) -> list[Problem]:
    """The AWS names derived from the environment and the secrets fit in 64 characters."""
    longest = [aws_name(environment, "secret-reminders"), aws_name(environment, "secrets-reader")]
    longest += [aws_name(environment, "remind", s) for s in inventory]
    longest += [aws_name(environment, "rotate", s) for s in inventory if s.automation == "automated"]
    too_long = [name for name in longest if len(name) > AWS_NAME_LIMIT]
    if not too_long:
        return []
    allowed = f"AWS names the program derives would exceed {AWS_NAME_LIMIT} characters: {', '.join(too_long)}"
    return [Problem(_at("secrets.inventory"), [s.name for s in inventory], allowed)]
