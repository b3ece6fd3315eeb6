"""The policy pack `pulumi preview --policy-pack policy` runs: every policy mandatory."""

from policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack("reconciliation-platform", policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
