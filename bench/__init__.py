"""`make bench`: the performance benchmark and its targets (bench/README.md)."""
