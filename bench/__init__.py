"""Benchmarks. Each module ``bench/<name>.py`` exposes ``main(argv) -> int`` and prints JSON."""
