"""Benchmarks: each runs its baseline side by side on the same machine and prints the ratio."""
