"""Focused tests of what reconciliation compares and caches (translate.diff, caching)."""
