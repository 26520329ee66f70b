"""Benchmarks of the Service Market (``python -m bench --help``); not part of the test suite."""
