"""The weekly report's pictures: matplotlib figures rendered to inline SVG.

Inline SVG keeps the page one self-contained file that reads offline and prints sharply: no
image file, no CDN, no script. Text stays text in the SVG (``svg.fonttype`` none), so figures
are searchable, small and crisp on paper. Figures are built with matplotlib's object API
(``Figure``), never pyplot, so drawing keeps no global state between reports.

Suppressed cells are never drawn as values: the heatmap marks them "suppressed", the network
map leaves them out. Every function gets the frames of jobs/weekly_report/data.py and returns
the SVG markup; the page decides beforehand whether there is anything to draw.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from datetime import date

import matplotlib
import numpy as np
import pandas as pd
from markupsafe import Markup
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter, PercentFormatter

from jobs.weeks import label

# The non-interactive backend: no display, no GUI toolkit, the same output everywhere.
matplotlib.use("Agg")

# The page's palette (templates/report.html.j2), so figures and text match.
INK = "#1d2330"
MUTED = "#5a6270"
LINE = "#d8dde6"
SUPPRESSED_FILL = "#eceef2"
ACCENT = "#2b5c9e"  # the week's figure, or "this week"
SECOND = "#c4622d"  # the comparison series (90th percentile, ties lost)
ROLE_COLOURS = {
    "broker": "#c4622d", "connector": "#2b5c9e", "overloaded": "#8e3b8a",
    "peripheral": "#9aa3b2", "member": "#b9c2d0", "isolated": "#d8dde6",
}

# A page is about 72rem wide on screen (1152 px = 864 pt): figures are drawn at 10 inches
# (720 pt) so that their text is the page's size, never scaled up.
WIDTH_IN = 10.0

_STYLE = {
    "svg.fonttype": "none",
    # Element ids are hashes salted with this: the same data gives the same page.
    "svg.hashsalt": "ona-weekly-report",
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "axes.edgecolor": "#8a93a3",
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e6e9ef",
    "grid.linewidth": 0.8,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "text.color": INK,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "hatch.color": "#9aa3b2",
}


def _figure(height_in: float, width_in: float = WIDTH_IN) -> Figure:
    return Figure(figsize=(width_in, height_in), layout="constrained")


def to_svg(fig: Figure, name: str, description: str) -> Markup:
    """The figure as an <svg> element for the page: no XML prolog or DTD (an HTML page holds
    the element, not a document), sized by CSS from its viewBox, ids prefixed with ``name`` so
    that several figures on one page never share an id, and a description for screen readers."""
    buffer = io.StringIO()
    with matplotlib.rc_context(_STYLE):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'(<svg[^>]*?) width="[^"]+" height="[^"]+"', r"\1", svg, count=1)
    svg = re.sub(r'\bid="', f'id="{name}-', svg)
    svg = svg.replace('href="#', f'href="#{name}-').replace("url(#", f"url(#{name}-")
    svg = svg.replace("<svg ", f'<svg class="chart" role="img" aria-label="{_attribute(description)}" ', 1)
    return Markup(svg)


def _attribute(text: str) -> str:
    return str(Markup.escape(text))


def _weeks_axis(ax, weeks: Sequence[date]) -> None:
    """Weeks as ISO labels at integer positions; at most 8 labels, however many weeks."""
    ax.set_xlim(-0.5, len(weeks) - 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _: label(weeks[int(x)]) if 0 <= int(x) < len(weeks) and x == int(x) else ""))
    ax.grid(axis="x", visible=False)


def brokerage_scatter(people: pd.DataFrame) -> Markup:
    """Betweenness against Burt's constraint, one dot per person with a tie, coloured by role:
    brokers sit bottom right (many paths through them, contacts who do not know each other)."""
    drawn = people.dropna(subset=["betweenness", "constraint"])
    with matplotlib.rc_context(_STYLE):
        fig = _figure(3.6)
        ax = fig.add_subplot()
        order = ["member", "peripheral", "connector", "overloaded", "broker"]
        for role in order:
            group = drawn[drawn["network_role"] == role]
            if group.empty:
                continue
            emphasis = role in ("broker", "connector", "overloaded")
            ax.scatter(group["betweenness"], group["constraint"], s=28 if emphasis else 14,
                       color=ROLE_COLOURS[role], alpha=0.9 if emphasis else 0.7,
                       edgecolors="white", linewidths=0.5, label=f"{role} ({len(group)})", zorder=3 if emphasis else 2)
        ax.set_xlabel("betweenness (share of shortest paths through the person)")
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
        ax.set_ylabel("constraint (low: contacts\nwho do not know each other)")
        ax.set_xlim(left=0)
        ax.legend(loc="upper right", title="network role", title_fontsize=9)
    return to_svg(fig, "brokerage", "Scatter of betweenness against constraint, one dot per person, coloured by "
                                    "network role; brokers have high betweenness and low constraint.")


def _circle_positions(names: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Departments on a circle, first at the top, clockwise: every link stays visible."""
    step = 2 * math.pi / len(names)
    return {name: (math.sin(i * step), math.cos(i * step)) for i, name in enumerate(names)}


def department_map(matrix: pd.DataFrame, cohesion: pd.DataFrame) -> Markup:
    """Departments as nodes (coloured by E-I index), published department-to-department
    weights as arrows whose width grows with the weight. Suppressed cells are not drawn; a
    department with no published cell at all is not drawn either (the page names it)."""
    published = matrix[~matrix["is_suppressed"]]
    between = published[published["group_a"] != published["group_b"]]
    names = sorted(set(published["group_a"]) | set(published["group_b"]))
    positions = _circle_positions(names)
    ei = {row.group_name: row.ei_index for row in cohesion.itertuples() if not row.is_suppressed}
    colours = colormaps["RdBu"]
    norm = Normalize(-1, 1)
    heaviest = between["weight"].max() if not between.empty else 1.0

    with matplotlib.rc_context(_STYLE):
        fig = _figure(6.2, 8.0)
        ax = fig.add_subplot()
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_xlim(-1.55, 1.55)
        ax.set_ylim(-1.3, 1.3)
        for row in between.sort_values("weight").itertuples():
            strength = math.sqrt(row.weight / heaviest)  # area-like: small links stay visible
            width = 0.5 + 5.5 * strength
            # Curved to the right of the direction of travel: a->b and b->a never overlap. The
            # head grows with the line (its half-width stays above half the line's width).
            ax.add_patch(FancyArrowPatch(
                positions[row.group_a], positions[row.group_b], connectionstyle="arc3,rad=0.18",
                arrowstyle="-|>,head_length=0.7,head_width=0.4", mutation_scale=6 + 1.6 * width,
                lw=width, color=ACCENT, alpha=0.2 + 0.6 * strength, shrinkA=18, shrinkB=18, zorder=2))
        for name, (x, y) in positions.items():
            value = ei.get(name)
            face = SUPPRESSED_FILL if value is None or pd.isna(value) else colours(norm(value))
            ax.scatter([x], [y], s=900, color=face, edgecolors=INK, linewidths=1.0, zorder=3,
                       hatch="////" if value is None or pd.isna(value) else None)
            # Labels outside the circle, away from the arrows that meet at the node.
            ax.annotate(name, (x, y), xytext=(x * 1.2, y * 1.13), ha="center" if abs(x) < 0.3 else
                        ("left" if x > 0 else "right"), va="center", fontsize=10, fontweight="bold", zorder=4)
        bar = fig.colorbar(ScalarMappable(norm=norm, cmap=colours), ax=ax, shrink=0.55, pad=0.02)
        bar.set_label("E-I index of the department\n(-1 all inside, +1 all outside; hatched: suppressed)", fontsize=9)
    return to_svg(fig, "department-map", "Network map of departments: nodes are departments coloured by their E-I "
                                         "index, arrows the published collaboration weight from one to another.")


def _value_text(weight: float) -> str:
    return f"{weight:,.0f}" if weight >= 100 else f"{weight:.1f}"


def department_heatmap(matrix: pd.DataFrame) -> Markup:
    """From-department rows, to-department columns, colour = weight (log scale: a department's
    weight with itself dwarfs the rest). Suppressed cells are hatched and say "suppressed",
    with no value; a pair with no tie at all is left blank."""
    names = sorted(set(matrix["group_a"]) | set(matrix["group_b"]))
    index = {name: i for i, name in enumerate(names)}
    published = matrix[~matrix["is_suppressed"]]
    weights = np.full((len(names), len(names)), np.nan)
    for row in published.itertuples():
        weights[index[row.group_a], index[row.group_b]] = row.weight
    positive = published["weight"][published["weight"] > 0]
    if len(positive) > 1 and positive.min() < positive.max():
        norm = LogNorm(positive.min(), positive.max())
    else:  # one value, or none published: any scale shows it
        norm = Normalize(0, positive.max() if len(positive) else 1.0)
    colours = colormaps["Blues"]
    size = max(4.5, 0.52 * len(names) + 2.0)

    with matplotlib.rc_context(_STYLE):
        fig = _figure(size, max(WIDTH_IN * 0.85, size + 1.8))
        ax = fig.add_subplot()
        ax.grid(False)
        # Vector cells (pcolormesh, not imshow's embedded bitmap): crisp on screen and paper.
        edges = np.arange(len(names) + 1) - 0.5
        image = ax.pcolormesh(edges, edges, np.ma.masked_invalid(weights), cmap=colours, norm=norm,
                              edgecolors="white", linewidth=1.5)
        ax.set_aspect("equal")
        ax.invert_yaxis()  # the first department on the top row, as in the table below
        for row in matrix.itertuples():
            i, j = index[row.group_a], index[row.group_b]
            if row.is_suppressed:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=SUPPRESSED_FILL, hatch="////",
                                       edgecolor="white", lw=1.5))
                ax.text(j, i, "suppressed", ha="center", va="center", fontsize=6.5, color=MUTED)
            else:
                dark = norm(row.weight) > 0.6
                ax.text(j, i, _value_text(row.weight), ha="center", va="center", fontsize=8,
                        color="white" if dark else INK)
        ax.set_xticks(range(len(names)), names, rotation=40, ha="right", rotation_mode="anchor")
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("to department")
        ax.set_ylabel("from department")
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(image, ax=ax, shrink=0.6, pad=0.02)
        bar.set_label("collaboration weight (log scale)")
        if isinstance(norm, LogNorm):  # 1-2-5 steps: a range within one decade still gets labels
            bar.ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
        bar.ax.yaxis.set_minor_formatter(NullFormatter())
    return to_svg(fig, "heatmap", "Heatmap of collaboration weight from each department (rows) to each department "
                                  "(columns); suppressed cells are hatched and labelled suppressed.")


def ei_bars(cohesion: pd.DataFrame) -> Markup:
    """E-I index per department, most inward-looking at the top; a suppressed department is
    listed with the word "suppressed" and no bar."""
    rows = cohesion.assign(order=cohesion["ei_index"].fillna(np.inf)).sort_values(["order", "group_name"],
                                                                                  ascending=[False, False])
    colours = colormaps["RdBu"]
    norm = Normalize(-1, 1)
    with matplotlib.rc_context(_STYLE):
        fig = _figure(max(2.2, 0.34 * len(rows) + 1.1))
        ax = fig.add_subplot()
        for y, row in enumerate(rows.itertuples()):
            if row.is_suppressed or pd.isna(row.ei_index):
                ax.text(0, y, "suppressed", ha="center", va="center", fontsize=8.5, color=MUTED, style="italic")
                continue
            ax.barh(y, row.ei_index, color=colours(norm(row.ei_index)), edgecolor=INK, linewidth=0.4, height=0.62)
            ax.text(row.ei_index + (0.02 if row.ei_index >= 0 else -0.02), y, f"{row.ei_index:+.2f}",
                    ha="left" if row.ei_index >= 0 else "right", va="center", fontsize=8.5)
        ax.set_yticks(range(len(rows)), rows["group_name"])
        ax.set_xlim(-1, 1)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.axvline(0, color=MUTED, lw=0.8)
        ax.set_xlabel("E-I index: -1 every tie stays inside the department (a silo), +1 every tie goes outside")
        ax.grid(axis="y", visible=False)
    return to_svg(fig, "ei", "Bar chart of the E-I index per department, from the most inward-looking to the most "
                             "outward-looking.")


def load_trends(trend: pd.DataFrame) -> Markup:
    """Three small panels over the weeks: meeting hours, messages sent, after-hours share;
    the median person and the 90th percentile (the busiest tenth)."""
    weeks = list(trend["week_start"])
    x = np.arange(len(weeks))
    panels = (("Meeting hours per person", "meeting_hours", None),
              ("Messages sent per person (e-mail + chat)", "messages_sent", None),
              ("Share of activity after hours", "after_hours_share", PercentFormatter(1.0, decimals=0)))
    with matplotlib.rc_context(_STYLE):
        fig = _figure(3.0)
        axes = fig.subplots(1, 3)
        for ax, (title, column, formatter) in zip(axes, panels):
            ax.plot(x, trend[f"{column}_median"], marker="o", color=ACCENT, lw=2, label="median")
            ax.plot(x, trend[f"{column}_p90"], marker="o", color=SECOND, lw=1.5, ls="--", label="90th percentile")
            ax.set_title(title, fontsize=10)
            ax.set_ylim(bottom=0)
            if formatter:
                ax.yaxis.set_major_formatter(formatter)
            _weeks_axis(ax, weeks)
            ax.tick_params(axis="x", labelrotation=30, labelsize=8.5)
        # Below the panels, never over a line.
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2)
    return to_svg(fig, "load", "Line charts over the weeks of meeting hours, messages sent and after-hours share: "
                               "the median person and the 90th percentile.")


def cohort_curves(cohorts: pd.DataFrame) -> Markup:
    """Per hire-month cohort (published rows only): share integrated and median degree against
    weeks since hire."""
    shown = cohorts[~cohorts["is_suppressed"]].sort_values(["cohort_month", "weeks_since_hire"])
    palette = colormaps["tab10"]
    with matplotlib.rc_context(_STYLE):
        fig = _figure(3.2)
        share_ax, degree_ax = fig.subplots(1, 2)
        for i, (month, group) in enumerate(shown.groupby("cohort_month", sort=True)):
            name = f"hired {month:%b %Y} ({int(group['n_people'].max())} people)"
            style = dict(marker="o", lw=2, color=palette(i % 10), label=name)
            share_ax.plot(group["weeks_since_hire"], group["share_integrated"], **style)
            degree_ax.plot(group["weeks_since_hire"], group["median_degree"], **style)
        share_ax.set_title("Share integrated (degree and cross-group ties\nat or above the organisation's median)",
                           fontsize=10)
        share_ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        share_ax.set_ylim(0, 1.05)
        degree_ax.set_title("Median number of people they work with", fontsize=10)
        degree_ax.set_ylim(bottom=0)
        for ax in (share_ax, degree_ax):
            ax.set_xlabel("weeks since hire")
            ax.set_xticks([1, 2, 4, 8, 12])
            ax.set_xlim(0.5, 12.5)
        fig.legend(*share_ax.get_legend_handles_labels(), loc="outside lower center",
                   ncols=min(4, max(1, len(share_ax.lines))))
    return to_svg(fig, "cohorts", "Line charts per hire-month cohort of the share integrated and the median degree "
                                  "against weeks since hire.")


def change_trends(summary_trend: pd.DataFrame) -> Markup:
    """Over the weeks: ties formed and lost (bars), tie churn and community stability (lines)."""
    weeks = list(summary_trend["week_start"])
    x = np.arange(len(weeks))
    with matplotlib.rc_context(_STYLE):
        fig = _figure(3.0)
        ties_ax, share_ax = fig.subplots(1, 2)
        formed = summary_trend["ties_formed"].astype(float)
        lost = summary_trend["ties_lost"].astype(float)
        ties_ax.bar(x - 0.2, formed, width=0.4, color=ACCENT, label="ties formed")
        ties_ax.bar(x + 0.2, lost, width=0.4, color=SECOND, label="ties lost")
        ties_ax.set_title("Ties formed and lost since the week before", fontsize=10)
        ties_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        share_ax.plot(x, summary_trend["tie_churn"].astype(float), marker="o", lw=2, color=SECOND, label="tie churn")
        share_ax.plot(x, summary_trend["community_stability"].astype(float), marker="o", lw=2, color=ACCENT,
                      label="community stability")
        share_ax.set_ylim(0, 1.05)
        share_ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        share_ax.set_title("Tie churn and community stability", fontsize=10)
        for ax in (ties_ax, share_ax):
            _weeks_axis(ax, weeks)
        handles = [h for ax in (ties_ax, share_ax) for h in ax.get_legend_handles_labels()[0]]
        fig.legend(handles, [h.get_label() for h in handles], loc="outside lower center", ncols=4)
    return to_svg(fig, "change", "Charts over the weeks of ties formed and lost, tie churn and community stability.")
