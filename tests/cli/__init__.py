"""Tests of the ``netpol-syncer`` command line, run as a subprocess (SPEC §7)."""
