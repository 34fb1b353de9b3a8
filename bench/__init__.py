"""pixrelay benchmarks, each beside its baseline: `make bench` (python -m bench)."""
