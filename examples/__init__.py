"""Example vcluster.yaml and tenant NetworkPolicies.

Installed as the data package ``syncer.examples`` so that ``netpol-syncer demo`` seeds exactly
the files a reader finds here.
"""
