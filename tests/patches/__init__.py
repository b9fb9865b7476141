"""Tests of the configured RFC 6902 patches: validation, application, scope re-check (SPEC §4)."""
