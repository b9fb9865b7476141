"""Tests of the configuration layer: vcluster.yaml loading and run settings (SPEC §5)."""
