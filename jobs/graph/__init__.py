"""Graph algorithms on the weekly graph. Which engine runs what, and why: docs/engines.md."""
