"""Benchmarks, run as modules (``python -m bench.<name>``); see docs/benchmarks.md.

Each prints its figures next to a baseline measured in the same run. None asserts a
time: machines differ too much for a threshold to mean anything in a test.
"""
