"""Tests of charts/netpol-syncer with real Helm (helm-sdkpy in a Python 3.12 side process)."""
