"""Developer tools that are not part of the shipped syncer (mutation testing, kube-testenv)."""
