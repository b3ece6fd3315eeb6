"""Taking over the objects a running platform already has: the live comparison and the pre-flight."""
