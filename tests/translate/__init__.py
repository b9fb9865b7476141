"""Tests of the pure translation core (SPEC §3)."""
