"""The policy pack `pulumi preview --policy-pack policy` runs: every policy mandatory."""

from policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

# A list of the base class, as the SDK annotates it (it only reads it).
PolicyPack("reconciliation-platform", policies=list(POLICIES), enforcement_level=EnforcementLevel.MANDATORY)
