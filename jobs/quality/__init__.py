"""Quality gates (Great Expectations) and the validation report for privacy officers."""
