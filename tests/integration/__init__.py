"""Integration tests: the real syncer against two kubesim servers (issue 4, items 1-7)."""
