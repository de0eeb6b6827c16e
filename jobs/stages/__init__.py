"""The stages of a run, in order; jobs/pipeline.py wires them for the CLI and the DAGs.

- ``context``: what a run holds (Spark, lake, pseudonymiser, settings, opt-out list, run id);
- ``ingest``: landed files and API pulls into bronze and quarantine, and which weeks are pending;
- ``silver``: bronze to silver events and interactions of the weeks (the run's candidates);
- ``gold``: silver and the published history to the candidate gold tables (jobs/transforms);
- ``gate``: Great Expectations on the candidates, then publish, stage or block each week;
- ``summary``: what the run did, for the report, the CLI and the DAG logs.
"""
