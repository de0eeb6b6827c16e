"""Quality gates: Great Expectations suites per gold table, the gate runner, the report."""

import logging

# Great Expectations logs its own import and set-up at INFO (dozens of "Skipping registering
# function" lines per run): quiet before anything here imports it.
logging.getLogger("great_expectations").setLevel(logging.WARNING)
