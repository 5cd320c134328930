"""Benchmarks of riskengine on generated data: ``python -m bench.run`` (not part of tests)."""
