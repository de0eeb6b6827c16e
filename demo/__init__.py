"""Demo data: a synthetic organisation written as real-format export files."""
