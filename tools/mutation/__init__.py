"""Mutation testing for netpol-syncer: ``python -m tools.mutation`` (README, "Mutation testing").

mutmut generates the mutants and runs them (one fork per mutant, only the tests that reach the
mutated function); this package decides which modules and which fast test folders take part
(:mod:`tools.mutation.targets`), keeps property tests small and deterministic while mutants run
(:mod:`tools.mutation.budget`), samples, and prints one JSON summary.
"""
