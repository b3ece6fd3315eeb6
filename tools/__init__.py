"""The maintainers' tools: the benchmark and the generated rotation policy."""
