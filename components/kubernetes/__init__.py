"""The Kubernetes side: the backend's workload, its secrets' sync, the operators it needs."""
