"""Typed, validated stack settings: the single source of every name, number and threshold.

Import the models from ``settings.stack`` and the Pulumi-facing loader from ``settings.loader``;
this package itself stays free of Pulumi so pure builders can be tested without it.
"""
