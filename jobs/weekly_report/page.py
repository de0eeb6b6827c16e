"""The weekly report page: each section's findings in words, its picture and its tables.

The page answers the organisation's questions in order (key people, how departments connect,
silos, load, newcomers, change), each in short sentences with the numbers, then a picture, then
the exact figures. The words are built here, from the frames of data.py; the template
(templates/report.html.j2) lays them out and escapes everything.

Two privacy rules shape every table:

- a pseudonym is never in the same row as a group label (department, team) or any other
  attribute: person tables hold pseudonyms, network figures and the network role only;
- a suppressed cell shows the word "suppressed" (and why), never a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from jobs.weekly_report import charts
from jobs.weekly_report.data import ReportData
from jobs.weeks import label

# People listed per person table: enough to act on, few enough to read.
TOP_PEOPLE = 10
MOVERS = 5
# Strongest department-to-department links named in words.
STRONGEST_LINKS = 3


@dataclass(frozen=True)
class Cell:
    text: str
    kind: str = ""  # CSS class: num, pseudonym, suppressed, none
    title: str | None = None  # shown on hover: why a cell is suppressed


@dataclass(frozen=True)
class Table:
    caption: str
    columns: list[str]
    rows: list[list[Cell]]
    numeric: frozenset[int] = frozenset()  # column positions aligned right
    row_headers: bool = False  # first cell of each row is its label


@dataclass
class Section:
    anchor: str
    title: str
    question: str  # the organisation's question the section answers
    findings: list[str] = field(default_factory=list)
    chart: Markup | None = None
    tables: list[Table] = field(default_factory=list)
    notes: list[Markup | str] = field(default_factory=list)
    empty: str | None = None  # said instead of a chart when the week has nothing to show


# ------------------------------------------------------------------ formatting


def _count(value) -> str:
    return f"{int(value):,}"


def _share(value) -> str:
    return f"{float(value):.0%}"


def _number(value, digits: int = 1) -> str:
    return f"{float(value):,.{digits}f}"


def _signed(value) -> str:
    return f"{int(value):+,}"


def _signed_number(value, digits: int = 1) -> str:
    return f"{float(value):+,.{digits}f}"


def _small(value) -> str:
    """PageRank: a small share (it sums to 1 over the week), three significant digits kept."""
    return f"{float(value):#.3g}"


def _percent(value) -> str:
    """Betweenness: the share of shortest paths, as a percentage."""
    return f"{float(value):.2%}"


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _pseudonym(person: str) -> Cell:
    return Cell(person, "pseudonym")


def _optional(value, show) -> Cell:
    return Cell("–", "none") if value is None or pd.isna(value) else Cell(show(value), "num")


def _suppressed(reason: str | None) -> Cell:
    return Cell("suppressed", "suppressed", reason or "suppressed")


# ------------------------------------------------------------------ sections


def key_players(data: ReportData) -> Section:
    section = Section("key-players", "Key players and brokers",
                      "Who holds the network together, and through whom does work cross between groups?")
    people = data.people
    tied = people.dropna(subset=["pagerank"])
    if tied.empty:
        section.empty = f"Nobody had a tie in {data.label}: there are no key players or brokers to show."
        return section
    top = tied.sort_values(["pagerank_rank", "person"]).head(TOP_PEOPLE)
    first = top.iloc[0]
    section.findings.append(
        f"In {data.label}, {_count(len(tied))} people had at least one tie. The most central by PageRank is "
        f"{first.person}, who worked with {_count(first.degree)} people (PageRank {_small(first.pagerank)}).")
    brokers = tied[tied["network_role"] == "broker"]
    bridges = tied.dropna(subset=["betweenness_rank"]).sort_values(["betweenness_rank", "person"]).head(TOP_PEOPLE)
    section.findings.append(
        f"{_count(len(brokers))} people are labelled broker: many shortest paths run through them and their "
        "contacts do not know each other." if len(brokers) else
        "Nobody is labelled broker this week (betweenness in the top tenth and constraint in the bottom quarter).")
    if not bridges.empty:
        bridge = bridges.iloc[0]
        section.findings.append(
            f"The person most paths run through is {bridge.person}: {_percent(bridge.betweenness)} of the shortest "
            f"paths between other people, labelled {bridge.network_role}"
            + (" (a heavy load is named before brokerage)." if bridge.network_role == "overloaded" else "."))
    roles = people["network_role"].value_counts()
    section.findings.append("Network roles this week: " + ", ".join(
        f"{_count(n)} {role}" for role, n in sorted(roles.items(), key=lambda item: (-item[1], item[0]))) + ".")
    section.chart = charts.brokerage_scatter(tied)
    section.tables.append(Table(
        f"Key players: the {len(top)} highest PageRank (who the well-connected turn to)",
        ["Pseudonym", "PageRank rank", "PageRank", "People worked with", "Betweenness rank", "Network role"],
        [[_pseudonym(r.person), Cell(_count(r.pagerank_rank), "num"), Cell(_small(r.pagerank), "num"),
          Cell(_count(r.degree), "num"), _optional(r.betweenness_rank, _count), Cell(r.network_role)]
         for r in top.itertuples()], frozenset({1, 2, 3, 4})))
    if not bridges.empty:
        section.tables.append(Table(
            f"Brokers and bridges: the {len(bridges)} highest betweenness (who the flows depend on)",
            ["Pseudonym", "Betweenness rank", "Betweenness", "Constraint", "People worked with", "Network role"],
            [[_pseudonym(r.person), Cell(_count(r.betweenness_rank), "num"), Cell(_percent(r.betweenness), "num"),
              _optional(r.constraint, lambda v: f"{v:.2f}"), Cell(_count(r.degree), "num"), Cell(r.network_role)]
             for r in bridges.itertuples()], frozenset({1, 2, 3, 4})))
    section.notes.append(Markup(
        "People appear as pseudonyms only, and never beside a department, team, manager, location, hire date "
        "or time zone. To find someone you know: an operator who holds the pseudonym key runs "
        "<code>ona pseudonym &lt;address&gt; --lake DIR</code> and you search this page for the pseudonym it prints."))
    return section


def _suppression_counts(frame: pd.DataFrame) -> str:
    reasons = frame.loc[frame["is_suppressed"], "suppression"].fillna("suppressed").value_counts()
    return "; ".join(f"{reason}: {_count(n)}" for reason, n in sorted(reasons.items()))


def department_map(data: ReportData) -> Section:
    section = Section("department-map", "How departments connect",
                      "Which departments work with which, and how much?")
    matrix = data.group_matrix
    published = matrix[~matrix["is_suppressed"]]
    between = published[published["group_a"] != published["group_b"]]
    if between.empty:
        section.empty = (f"No collaboration between two departments can be shown for {data.label}: every such cell "
                         f"is suppressed (fewer than k = {data.min_group_size} people on a side) or has no tie.")
        return section
    drawn = set(published["group_a"]) | set(published["group_b"])
    section.findings.append(
        f"{_count(len(drawn))} departments and {_count(len(between))} published links between them "
        f"(an arrow points from the department the ties start from; wider means more collaboration).")
    strongest = between.sort_values(["weight", "group_a", "group_b"], ascending=[False, True, True]).head(STRONGEST_LINKS)
    section.findings.append("The strongest links: " + "; ".join(
        f"{r.group_a} → {r.group_b} ({_number(r.weight, 0)})" for r in strongest.itertuples()) + ".")
    hidden = sorted((set(matrix["group_a"]) | set(matrix["group_b"])) - drawn)
    if hidden:
        section.findings.append(
            f"Not drawn, because every cell of theirs is suppressed: {', '.join(hidden)}.")
    if matrix["is_suppressed"].any():
        section.findings.append(f"{_count(matrix['is_suppressed'].sum())} of {_count(len(matrix))} department cells "
                                f"are suppressed this week and are not drawn ({_suppression_counts(matrix)}).")
    section.chart = charts.department_map(matrix, data.cohesion)
    section.notes.append("Colour: each department's E-I index (see Silos below). Weight counts collaboration: an "
                         "e-mail counts 1 shared among its recipients, a meeting hour 1 shared among the others "
                         "present, a chat message 1, a reaction 0.25.")
    return section


def heatmap(data: ReportData) -> Section:
    section = Section("heatmap", "Department-to-department collaboration",
                      "How much of each department's collaboration goes where?")
    matrix = data.group_matrix
    if matrix.empty:
        section.empty = f"No department figures are published for {data.label}."
        return section
    names = sorted(set(matrix["group_a"]) | set(matrix["group_b"]))
    cells = {(r.group_a, r.group_b): r for r in matrix.itertuples()}
    inside = matrix[(matrix["group_a"] == matrix["group_b"]) & ~matrix["is_suppressed"]]
    published = matrix[~matrix["is_suppressed"]]
    if not published.empty and published["weight"].sum() > 0:
        section.findings.append(
            f"Of the published collaboration weight, {inside['weight'].sum() / published['weight'].sum():.0%} "
            f"stays inside a department (the diagonal).")
    section.findings.append(
        "Rows are the department the ties start from, columns where they go. A suppressed cell stands for fewer "
        f"than k = {data.min_group_size} people on a side, or is hidden with it so that the totals cannot give it "
        "back (complementary): it shows no value. A blank cell had no tie.")
    if published.empty:
        section.empty = (f"Every department cell of {data.label} is suppressed (fewer than k = {data.min_group_size} "
                         "people on a side, or complementary): the table below only marks them.")
    else:
        section.chart = charts.department_heatmap(matrix)

    def cell(a: str, b: str) -> Cell:
        row = cells.get((a, b))
        if row is None:
            return Cell("", "none", "no tie")
        if row.is_suppressed:
            return _suppressed(row.suppression)
        return Cell(_number(row.weight), "num")

    section.tables.append(Table(
        "The same figures: collaboration weight from (row) to (column)", ["From \\ to", *names],
        [[Cell(a), *(cell(a, b) for b in names)] for a in names], frozenset(range(1, len(names) + 1)),
        row_headers=True))
    return section


def silos(data: ReportData) -> Section:
    section = Section("silos", "Silos: who keeps to themselves",
                      "Which departments keep their collaboration inside, and which reach out?")
    cohesion = data.cohesion
    published = cohesion[~cohesion["is_suppressed"]].dropna(subset=["ei_index"])
    if published.empty:
        section.empty = (f"No department has E-I figures for {data.label}: departments need at least "
                         f"k = {data.min_group_size} people with a tie, and every one is suppressed or too small.")
        return section
    ordered = published.sort_values(["ei_index", "group_name"])
    inward, outward = ordered.iloc[0], ordered.iloc[-1]
    section.findings.append(
        f"Most inward-looking: {inward.group_name} (E-I {inward.ei_index:+.2f}: "
        f"{(1 - inward.ei_index) / 2:.0%} of its collaboration weight stays inside).")
    if len(ordered) > 1:
        section.findings.append(
            f"Most outward-looking: {outward.group_name} (E-I {outward.ei_index:+.2f}: "
            f"{(1 + outward.ei_index) / 2:.0%} of its weight goes to other departments).")
    silo_names = list(ordered.loc[ordered["ei_index"] < 0, "group_name"])
    section.findings.append(
        f"{_count(len(silo_names))} of {_count(len(published))} departments keep more than half of their "
        "collaboration inside (E-I below 0)" + (f": {', '.join(silo_names)}." if silo_names else "."))
    suppressed = cohesion[cohesion["is_suppressed"]]
    if not suppressed.empty:
        section.findings.append(f"Suppressed: {', '.join(sorted(suppressed['group_name']))} "
                                f"({_suppression_counts(cohesion)}).")
    section.chart = charts.ei_bars(cohesion)
    rows = []
    for r in cohesion.sort_values("group_name").itertuples():
        if r.is_suppressed:
            rows.append([Cell(r.group_name), *[_suppressed(r.suppression)] * 5])
            continue
        rows.append([Cell(r.group_name), _optional(r.n_people, _count), _optional(r.ei_index, lambda v: f"{v:+.2f}"),
                     _optional(r.ei_index, lambda v: f"{(1 - v) / 2:.0%}"), _optional(r.density, lambda v: f"{v:.2f}"),
                     _optional(r.cross_group_share, _share)])
    section.tables.append(Table(
        "Departments", ["Department", "People with a tie", "E-I index", "Weight inside", "Density",
                        "Ties crossing out"], rows, frozenset({1, 2, 3, 4, 5}), row_headers=True))
    section.notes.append("E-I index = (outside − inside) / (outside + inside) collaboration weight. Density: the "
                         "share of possible ties inside the department that exist. Ties crossing out: by count.")
    return section


def load(data: ReportData) -> Section:
    section = Section("load", "Collaboration load and after-hours work",
                      "How much time goes into collaboration, and how much of it happens after hours?")
    trend = data.load_trend
    if trend.empty or trend.iloc[-1]["week_start"] != data.week:
        # A published week without a person row: nobody mailed, met or chatted (a week past the
        # landed data, say). The trend's last row would be an earlier week's.
        section.empty = f"Nobody has collaboration figures in {data.label}: there is no load to show."
        return section
    week = trend.iloc[-1]
    section.findings.append(
        f"In {data.label} the median person spent {_number(week.meeting_hours_median)} hours in meetings "
        f"(the busiest tenth: {_number(week.meeting_hours_p90)} or more) and sent "
        f"{_number(week.messages_sent_median, 0)} messages (busiest tenth: {_number(week.messages_sent_p90, 0)}).")
    if not pd.isna(week.after_hours_share_median):
        section.findings.append(
            f"The median share of activity outside 08:00-18:00 on weekdays (each person's own time zone) was "
            f"{_share(week.after_hours_share_median)}; for the tenth most affected it was "
            f"{_share(week.after_hours_share_p90)} or more.")
    section.findings.append(
        f"{_count(week.overloaded)} of {_count(week.people)} people ({week.overloaded / week.people:.0%}) are "
        "labelled overloaded (many meeting hours, or among the top senders of messages).")
    if len(trend) < 2:
        section.empty = f"{data.label} is the only published week so far: the trends start with the next one."
        return section
    before = trend.iloc[-2]
    changes = [f"median meeting hours {_signed_number(week.meeting_hours_median - before.meeting_hours_median)}",
               f"median messages sent {_signed_number(week.messages_sent_median - before.messages_sent_median)}"]
    if not pd.isna(week.after_hours_share_median) and not pd.isna(before.after_hours_share_median):
        points = 100 * (week.after_hours_share_median - before.after_hours_share_median)
        changes.append(f"median after-hours share {_signed_number(points)} percentage points")
    section.findings.append(f"Against {label(before.week_start)}: {', '.join(changes)}.")
    section.chart = charts.load_trends(trend)
    section.notes.append(f"Over the {len(trend)} published weeks up to {data.label}.")
    return section


def onboarding(data: ReportData) -> Section:
    section = Section("onboarding", "Onboarding: how new hires connect",
                      "Do people hired in the last year build ties across the organisation, and how fast?")
    cohorts = data.cohorts
    published = cohorts[~cohorts["is_suppressed"]].sort_values(["cohort_month", "weeks_since_hire"])
    suppressed = int(cohorts["is_suppressed"].sum())
    if published.empty:
        section.empty = (f"No cohort of at least k = {data.min_group_size} people has figures as of {data.label}"
                         + (f" ({_count(suppressed)} cohort figures are suppressed because their cohort is smaller)"
                            if suppressed else "") + ": there is nothing to draw.")
        return section
    for month, group in published.groupby("cohort_month", sort=True):
        steps = "; ".join(f"week {int(r.weeks_since_hire)}: {_share(r.share_integrated)} integrated, median "
                          f"{_number(r.median_degree, 0)} people worked with" for r in group.itertuples())
        section.findings.append(f"Hired in {month:%B %Y} ({_count(group['n_people'].max())} people): {steps}.")
    section.findings.append("Integrated: degree and cross-department ties both at or above the organisation's "
                            "median of the same week.")
    if suppressed:
        section.findings.append(f"{_count(suppressed)} cohort figures are suppressed (cohorts of fewer than "
                                f"k = {data.min_group_size} people).")
    section.chart = charts.cohort_curves(cohorts)
    return section


def change(data: ReportData) -> Section:
    section = Section("change", "What changed since last week",
                      "Which ties formed or broke, are the working groups stable, and who moved?")
    now, before = data.summary, data.previous_summary
    # The build compares with the week before whenever that week is in the lake; its own
    # figures (nodes, communities) are shown only when it is published too.
    if pd.isna(now.ties_formed):
        section.empty = (f"{data.label} has no week before it to compare with: changes start with the next "
                         "published week.")
        return section
    previous = label(data.week - timedelta(weeks=1))
    section.findings.append(
        f"Since {previous}: {_count(now.ties_formed)} ties formed and {_count(now.ties_lost)} lost; "
        f"tie churn {_share(now.tie_churn)} (the share of ties of either week that did not last both weeks).")
    if not pd.isna(now.community_stability):
        section.findings.append(
            f"Community stability {_share(now.community_stability)}: the share of people with ties both weeks who "
            f"stayed in the same working group (community); {_count(now.communities)} communities this week"
            + (f", {_count(before.communities)} the week before." if before is not None else "."))
    if before is not None:
        section.findings.append(
            f"People with a tie: {_count(now.nodes)} ({_signed(now.nodes - before.nodes)}); ties: "
            f"{_count(now.edges)} ({_signed(now.edges - before.edges)}).")
    moved = data.people.dropna(subset=["pagerank_rank_change"])
    if not moved.empty:
        up = moved[moved["pagerank_rank_change"] > 0].sort_values(["pagerank_rank_change", "person"],
                                                                    ascending=[False, True]).head(MOVERS)
        down = moved[moved["pagerank_rank_change"] < 0].sort_values(["pagerank_rank_change", "person"]).head(MOVERS)
        if not up.empty:
            r = up.iloc[0]
            section.findings.append(f"Biggest rise in PageRank rank: {r.person}, up {_count(r.pagerank_rank_change)} "
                                    f"places to {_count(r.pagerank_rank)}.")
        section.tables.append(Table(
            "Movers: the largest changes of PageRank rank (positive: moved up)",
            ["Pseudonym", "PageRank rank", "Change", "Betweenness rank", "Change", "Ties formed", "Ties lost"],
            [[_pseudonym(r.person), Cell(_count(r.pagerank_rank), "num"), Cell(_signed(r.pagerank_rank_change), "num"),
              _optional(r.betweenness_rank, _count), _optional(r.betweenness_rank_change, _signed),
              _optional(r.ties_formed, _count), _optional(r.ties_lost, _count)]
             for r in pd.concat([up, down]).itertuples()], frozenset({1, 2, 3, 4, 5, 6})))
    # Only the weeks with a week before them to compare with (the first has no change).
    trend = data.summary_trend.dropna(subset=["ties_formed"])
    if len(trend) >= 2:
        section.chart = charts.change_trends(trend)
    else:
        section.notes.append("One comparison so far: the trend lines start with the next published week.")
    return section


SECTIONS = (key_players, department_map, heatmap, silos, load, onboarding, change)


def _environment() -> Environment:
    # autoescape on for every template: department names and pseudonyms come from the data.
    return Environment(loader=PackageLoader("jobs.weekly_report", "templates"), autoescape=True,
                       trim_blocks=True, lstrip_blocks=True)


def render(data: ReportData) -> str:
    """The page's HTML."""
    summary = data.summary
    facts = [
        ("People with a tie", _count(summary.nodes)),
        ("Ties", _count(summary.edges)),
        ("Density", f"{summary.density:.3f}" if not pd.isna(summary.density) else "–"),
        ("Communities", _count(summary.communities)),
        ("Published weeks shown", f"{label(data.weeks[0])} to {data.label}" if len(data.weeks) > 1 else data.label),
    ]
    return _environment().get_template("report.html.j2").render(
        week=data.label, week_of=_long_date(data.week), facts=facts, k=data.min_group_size,
        sections=[build(data) for build in SECTIONS])
