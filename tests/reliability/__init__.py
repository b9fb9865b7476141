"""Reliability tests: the real syncer converges through injected faults."""
