"""Pulumi components of the reconciliation platform, and the pure builders they register."""
