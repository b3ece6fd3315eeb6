"""The Grafana side: the dashboard, the alert rules and the PromQL they share."""
