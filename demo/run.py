"""`make demo`: a synthetic organisation, the Airflow DAGs run on it in-process, a summary.

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

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def run_dags(landing: Path, lake: Path, weeks: list[str]) -> None:
    """Run the ingest DAGs and then the weekly graph DAG in this process."""
    os.environ.setdefault("AIRFLOW_HOME", str(PROJECT_ROOT / ".airflow"))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    from jobs.progress import keep_quiet

    keep_quiet()  # Airflow configured its logging on import: back to the log file unless -v
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


def key_players(lake: Path) -> dict:
    """The answers to the seeds' questions for the newest week, read back with an independent
    Delta reader (delta-rs) from the BI tables, except the brokerage role counts: those are
    department-derived and restricted (docs/privacy.md), shown here because the demo runs as
    the operator."""
    from deltalake import DeltaTable

    def table(name: str, zone: str = "gold"):
        return DeltaTable(str(lake / zone / name)).to_pandas()

    metrics, network = table("person_metrics_weekly"), table("network_summary_weekly")
    cohesion, cohorts = table("group_cohesion_weekly"), table("onboarding_cohorts_weekly")
    roles = table("person_brokerage_weekly", zone="silver")
    last_week = network["week_start"].max()
    week = metrics[(metrics["week_start"] == last_week) & metrics["pagerank"].notna()]
    # Brokers: high betweenness among people with low constraint (few redundant contacts).
    open_network = week[week["constraint"] <= week["constraint"].median()]
    brokers = open_network.sort_values(["betweenness", "person"], ascending=[False, True]).head(5).merge(
        roles[roles["week_start"] == last_week].drop(columns="week_start"), on="person", how="left")
    central = week.sort_values(["pagerank", "person"], ascending=[False, True]).head(5)
    departments = cohesion[(cohesion["week_start"] == last_week) & (cohesion["group_kind"] == "department")
                           & ~cohesion["is_suppressed"]].sort_values(["ei_index", "group_name"])
    published_cohorts = cohorts[(cohorts["week_start"] == last_week) & ~cohorts["is_suppressed"]]
    newest = published_cohorts[published_cohorts["cohort_month"] == published_cohorts["cohort_month"].max()]
    movers = week.dropna(subset=["pagerank_rank_change"]).assign(
        moved=lambda f: f["pagerank_rank_change"].abs()).sort_values(["moved", "person"], ascending=[False, True])
    return {
        "week": last_week,
        "network": network[network["week_start"] == last_week].iloc[0],
        "brokers": brokers,
        "central": central,
        "roles": week["network_role"].value_counts().to_dict(),
        "most_siloed": departments.head(1),
        "newest_cohort": newest.sort_values("weeks_since_hire"),
        "movers": movers.head(3),
    }


def print_summary(lake: Path, summary: dict) -> None:
    """A short human summary: the run, then the answers (key_players)."""
    answers = key_players(lake)
    net = answers["network"]
    print("\n=== ONA demo ===")
    print(f"lake:    {lake}")
    print(f"validation report: {summary['report']}")
    print(f"run:     {summary['run_id']}  key identifier {summary['key_version']}")
    print(f"weeks:   {', '.join(summary['weeks'])}  published: {', '.join(summary['published_weeks'])}")
    for source, counts in summary["sources"].items():
        files = ""
        if counts.get("files_ingested") is not None:
            # A rerun on the same landing reads nothing: its files are in the manifest already.
            files = f"  files {counts['files_ingested']} new or changed, {counts['files_skipped']} unchanged"
        print(f"  {source:9s} read {counts['read']:6d}  accepted {counts['accepted']:6d}  "
              f"quarantined {counts['quarantined']:4d}  duplicates {counts['duplicates']:4d}{files}")
    print(f"\nweek of {answers['week']}: {net['nodes']} people, {net['edges']} ties, density {net['density']:.4f}, "
          f"modularity {net['modularity']:.3f}, {net['communities']} communities ({net['graph_engine']} engine)")
    print("top brokers (highest betweenness among people with constraint at or below the median):")
    for _, row in answers["brokers"].iterrows():
        print(f"  {row['person']}  betweenness {row['betweenness']:.4f}  constraint {row['constraint']:.3f}  "
              f"two-paths as liaison {int(row['liaison'])}, representative {int(row['representative'])}, "
              f"gatekeeper {int(row['gatekeeper'])} (restricted)")
    print("most central (weighted PageRank):")
    for _, row in answers["central"].iterrows():
        print(f"  {row['person']}  pagerank {row['pagerank']:.4f}  degree {int(row['degree'])}  "
              f"eigenvector {row['eigenvector']:.3f}  role {row['network_role']}")
    print("roles: " + ", ".join(f"{role} {n}" for role, n in sorted(answers["roles"].items())))
    if len(answers["most_siloed"]):
        silo = answers["most_siloed"].iloc[0]
        print(f"most siloed department: {silo['group_name']} (E-I index {silo['ei_index']:+.2f} by tie weight, "
              f"density {silo['density']:.3f}, {silo['cross_group_share']:.0%} of its ties by count cross groups)")
    cohort = answers["newest_cohort"]
    if len(cohort):
        steps = ", ".join(f"week {int(r['weeks_since_hire'])}: {r['share_integrated']:.0%} of {int(r['n_people'])}"
                          for _, r in cohort.iterrows())
        print(f"newest cohort (hired {cohort.iloc[0]['cohort_month']:%Y-%m}) integrated: {steps}")
    else:
        print("newest cohort: no cohort of at least k people with a milestone week yet")
    if net["tie_churn"] == net["tie_churn"]:  # not NaN: there is a previous week
        print(f"since last week: {int(net['ties_formed'])} ties formed, {int(net['ties_lost'])} lost "
              f"(churn {net['tie_churn']:.0%}), community stability {net['community_stability']:.0%}")
        for _, row in answers["movers"].iterrows():
            print(f"  {row['person']}  PageRank rank {int(row['pagerank_rank'])} ({int(row['pagerank_rank_change']):+d})"
                  f"  ties formed {int(row['ties_formed'])}, lost {int(row['ties_lost'])}")
    passed = sum(1 for g in summary["gates"] if g["success"])
    print(f"gates: {passed}/{len(summary['gates'])} suites passed; "
          f"{summary['groups_suppressed']} group cells suppressed (k=5)")
    if summary["published_weeks"]:  # the weekly graph DAG drew a page for each published week
        last = summary["published_weeks"][-1]
        page = lake / "reports" / last / "index.html"
        print(f"\nweekly ONA report of {last}: {page}" if page.is_file() else
              f"\nno weekly ONA report of {last} at {page}: see the weekly_reports task's log")


def run_demo(folder: Path, n_people: int = 300, weeks: int = 4, seed: int = 7) -> int:
    from demo.synthetic import DemoSpec, write_landing
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
