"""Test-only helpers shared by the topic folders (never imported by production code)."""
