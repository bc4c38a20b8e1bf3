"""Layer 7, benchmarks behind `rawweights bench`: one module per benchmark, sharing common.py.
Benchmarks report numbers; tests assert behaviour."""
