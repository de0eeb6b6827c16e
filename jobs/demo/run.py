"""`ona demo`: a synthetic organisation, the Airflow DAGs run on it in-process, a summary.

The DAGs run with `dag.test()` (SQLite metadata DB under AIRFLOW_HOME, no scheduler): the four
ingest DAGs, then the weekly graph DAG for the generated weeks, exactly the code a scheduler
would run.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

from jobs.privacy.pseudonym import KEY_ENV, KEY_FILE_ENV, create_dev_key

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_dags(landing: Path, lake: Path, weeks: list[str]) -> None:
    """Run the ingest DAGs and then the weekly graph DAG in this process."""
    os.environ.setdefault("AIRFLOW_HOME", str(PROJECT_ROOT / ".airflow"))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    conf = {"landing": str(landing), "lake": str(lake)}
    for source in ("people", "email", "calendar", "chat"):
        run = bag.get_dag(f"ona_ingest_{source}").test(run_conf=conf)
        if str(run.state) != "success":
            raise RuntimeError(f"ona_ingest_{source} ended {run.state}")
    # dag.test() does not fire asset-triggered runs, so the weekly DAG is run for the weeks.
    run = bag.get_dag("ona_weekly_graph").test(run_conf={**conf, "weeks": weeks})
    if str(run.state) != "success":
        raise RuntimeError(f"ona_weekly_graph ended {run.state} (see the validation report)")


def latest_summary(lake: Path) -> dict:
    reports = sorted((lake / "reports").glob("*/summary.json"))
    return json.loads(reports[-1].read_text())


def print_summary(lake: Path, summary: dict) -> None:
    """A short human summary, read back with an independent Delta reader (delta-rs)."""
    from deltalake import DeltaTable

    def table(name: str):
        return DeltaTable(str(lake / name)).to_pandas()

    metrics, edges = table("gold/person_metrics_weekly"), table("gold/edges_weekly")
    network, groups = table("gold/network_summary_weekly"), table("gold/group_metrics_weekly")
    last_week = metrics["week_start"].max()
    week = metrics[metrics["week_start"] == last_week]
    # Brokers: people whose ties reach the most departments other than their own. Departments
    # come from the restricted zone (silver/people): the operator running the demo may read it,
    # BI readers of gold may not (docs/privacy.md, "Two zones").
    department = table("silver/people").set_index("person")["department"]
    week = week.assign(department=week["person"].map(department))
    week_edges = edges[edges["week_start"] == last_week]
    reach = (
        week_edges.assign(own=week_edges["src"].map(department), other=week_edges["dst"].map(department))
        .query("own != other")
        .groupby("src")["other"].nunique()
        .rename("departments_reached")
    )
    brokers = week.join(reach, on="person").sort_values(
        ["departments_reached", "pagerank"], ascending=False).head(5)
    within = groups[(groups["week_start"] == last_week) & ~groups["is_suppressed"]]
    totals = within.groupby("group_a")["weight"].sum()
    inside = within[within["group_a"] == within["group_b"]].set_index("group_a")["weight"]
    silo = (inside / totals).dropna().sort_values(ascending=False)
    net = network[network["week_start"] == last_week].iloc[0]

    print("\n=== ONA demo ===")
    print(f"lake:    {lake}")
    print(f"report:  {summary['report']}")
    print(f"run:     {summary['run_id']}  key identifier {summary['key_version']}")
    print(f"weeks:   {', '.join(summary['weeks'])}  published: {', '.join(summary['published_weeks'])}")
    for source, counts in summary["sources"].items():
        files = ""
        if counts.get("files_ingested") is not None:
            # A rerun on the same landing reads nothing: its files are in the manifest already.
            files = f"  files {counts['files_ingested']} new or changed, {counts['files_skipped']} unchanged"
        print(f"  {source:9s} read {counts['read']:6d}  accepted {counts['accepted']:6d}  "
              f"quarantined {counts['quarantined']:4d}  duplicates {counts['duplicates']:4d}{files}")
    print(f"week of {last_week}: {net['nodes']} people, {net['edges']} ties, density {net['density']:.4f}, "
          f"modularity {net['modularity']:.3f}, {net['communities']} communities")
    print("top brokers (departments reached beyond their own, then weighted PageRank):")
    for _, row in brokers.iterrows():
        print(f"  {row['person']}  {row['department']:<12} reaches {int(row['departments_reached'] or 0)} "
              f"departments  pagerank {row['pagerank']:.4f}")
    if len(silo):
        print(f"most siloed department: {silo.index[0]} ({silo.iloc[0]:.0%} of its tie weight stays inside)")
    passed = sum(1 for g in summary["gates"] if g["success"])
    print(f"gates: {passed}/{len(summary['gates'])} suites passed; "
          f"{summary['groups_suppressed']} group pairs suppressed (k=5)")


def run_demo(folder: Path, n_people: int = 300, weeks: int = 4, seed: int = 7) -> int:
    from jobs.demo.synthetic import DemoSpec, write_landing
    from jobs.weeks import label

    folder = folder.resolve()
    landing, lake = folder / "landing", folder / "lake"
    if not os.environ.get(KEY_ENV) and not os.environ.get(KEY_FILE_ENV):
        key_file = folder / "dev-pseudonym.key"
        create_dev_key(key_file)
        os.environ[KEY_FILE_ENV] = str(key_file)
        print(f"Using a local DEVELOPMENT pseudonym key ({key_file}); set {KEY_ENV} in production.")
    spec = DemoSpec(n_people=n_people, weeks=weeks, seed=seed)
    counts = write_landing(landing, spec)
    print(f"Synthetic organisation written to {landing}: {counts}")
    week_labels = [label(spec.first_monday + timedelta(weeks=i)) for i in range(weeks)]
    run_dags(landing, lake, week_labels)
    summary = latest_summary(lake)
    print_summary(lake, summary)
    return 0
