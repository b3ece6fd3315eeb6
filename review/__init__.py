"""What a change does to each stack, for reviewers: the offline plan diff."""
