"""netpol-syncer's test suite; a package so topic folders can share ``tests.support``."""
