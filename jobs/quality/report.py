"""The validation report for privacy officers: one self-contained HTML page per run.

No external CSS, fonts, images or scripts: it reads the same offline, printed or archived. In
the order an officer asks: which run and key, what was published, blocked or is waiting for
approval, then the privacy summary (exclusions, suppression, differential privacy, retention,
erasures, approval), then records per source and every check with its result. It holds counts
and week labels only: never a pseudonym, an address, a person erased or a value from the data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, select_autoescape

if TYPE_CHECKING:
    from jobs.quality.checks import GateResult

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ONA validation report {{ s.run_id }}</title>
<style>
 :root{--ink:#1d2330;--muted:#5a6270;--line:#d8dde6;--head:#f2f4f8;--pass:#0b6b2b;--fail:#b00020;--warn:#8a5a00}
 *{box-sizing:border-box}
 body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:72rem;color:var(--ink);padding:0 1rem}
 h1{font-size:1.6rem;margin:0 0 .4rem}
 h2{font-size:1.2rem;margin:2.2rem 0 .6rem;border-bottom:2px solid var(--line);padding-bottom:.25rem}
 h3{font-size:1rem;margin:1.4rem 0 .3rem}
 code{font:.9em/1 ui-monospace,"DejaVu Sans Mono",monospace;background:var(--head);padding:.1em .3em;border-radius:3px}
 table{border-collapse:collapse;width:100%;margin:.4rem 0}
 th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
 th{background:var(--head);font-weight:600} td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
 td.num,td.date{white-space:nowrap}
 tr.failed td{background:#fdf1f3}
 .pass{color:var(--pass);font-weight:600} .fail{color:var(--fail);font-weight:700} .warn{color:var(--warn);font-weight:600}
 .muted{color:var(--muted)}
 dl.meta{display:flex;flex-wrap:wrap;gap:.3rem 2.2rem;margin:0 0 1rem;padding:.6rem .9rem;border:1px solid var(--line);border-radius:4px}
 dl.meta div{display:flex;gap:.5rem;align-items:baseline} dl.meta dt{color:var(--muted)} dl.meta dd{margin:0;font-weight:600}
 .banner{padding:.6rem .9rem;border-radius:4px;margin:.5rem 0;border-left:6px solid}
 .banner p{margin:.15rem 0 0}
 .ok{background:#e5f4ea;border-color:var(--pass)} .bad{background:#fde8ec;border-color:var(--fail)}
 .waiting{background:#fff4d6;border-color:var(--warn)} .neutral{background:var(--head);border-color:var(--muted)}
 .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(24rem,1fr));gap:1rem}
 .card{border:1px solid var(--line);border-radius:4px;padding:.2rem .9rem .7rem}
 .card.wide{grid-column:1/-1}
 .card h3{margin:.6rem 0 .2rem}
 .card p{margin:.3rem 0}
 .state{font-weight:600}
 @media print{
  body{margin:0;max-width:none;font-size:11pt;padding:0}
  .banner,.ok,.bad,.waiting,.neutral,tr.failed td,th{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  .cards{display:block} .card{margin:0 0 .8rem}
  h2,h3{break-after:avoid} tr,.card,.banner{break-inside:avoid}
 }
</style></head><body>
{%- macro not_recorded() %}<p class="muted">Not recorded for this run.</p>{% endmacro %}
<header>
<h1>Validation report</h1>
<dl class="meta">
 <div><dt>Run</dt><dd><code>{{ s.run_id }}</code></dd></div>
 <div><dt>Key identifier</dt><dd><code>{{ key_id }}</code></dd></div>
 <div><dt>Weeks</dt><dd>{{ s.weeks|join(", ") or "none" }}</dd></div>
</dl>
</header>

<section aria-label="Outcome">
{% if blocked %}<div class="banner bad"><span class="fail">Not published:</span> {{ blocked|join(", ") }}
 <p>A check at level fail did not pass (see Checks). The previous version of these weeks stays current.</p></div>{% endif %}
{% if rejected %}<div class="banner bad"><span class="fail">Rejected at approval:</span> {{ rejected|join(", ") }}
 <p>Not published; the previous version of these weeks stays current.</p></div>{% endif %}
{% if waiting %}<div class="banner waiting"><span class="warn">Waiting for approval:</span> {{ waiting|join(", ") }}
 <p>Not visible to analysts until a privacy officer runs <code>ona approve --lake DIR --week W --run RUN_ID</code> (or <code>ona reject</code>).</p></div>{% endif %}
{% if s.published_weeks %}<div class="banner ok"><span class="pass">Published:</span> {{ s.published_weeks|join(", ") }}</div>{% endif %}
{% if not (blocked or rejected or waiting or s.published_weeks) %}<div class="banner neutral">Nothing was published by this run.</div>{% endif %}
</section>

<h2>Privacy summary</h2>
<div class="cards">

<section class="card">
<h3 class="topic">Excluded or collapsed before analysis</h3>
{% if p.excluded is defined %}{% if p.excluded %}
<table><tr><th>Reason</th><th class="num">Count</th></tr>
{% for reason, n in p.excluded.items() %}<tr><td>{{ reason }}</td><td class="num">{{ n|num }}</td></tr>{% endfor %}
</table>{% else %}<p class="state">Nothing excluded.</p>{% endif %}
{% else %}{{ not_recorded() }}{% endif %}
</section>

<section class="card">
<h3 class="topic">Suppressed group cells{% if p.k is defined and p.k is not none %} (k = {{ p.k }}){% endif %}</h3>
{% if p.k is defined and p.k is not none %}<p class="muted">A group cell with fewer than {{ p.k }} people is not published;
 complementary cells are withheld too, so a hidden cell cannot be worked out from the totals.</p>{% endif %}
{% if p.suppressed is defined %}{% if p.suppressed %}
<table><tr><th>Reason</th><th class="num">Cells</th></tr>
{% for reason, n in p.suppressed.items() %}<tr><td>{{ reason }}</td><td class="num">{{ n|num }}</td></tr>{% endfor %}
</table>{% else %}<p class="state">No cell suppressed.</p>{% endif %}
{% else %}<table><tr><th>Reason</th><th class="num">Cells</th></tr>
<tr><td>Group pairs with fewer than k active people</td><td class="num">{{ s.groups_suppressed|num }}</td></tr></table>{% endif %}
</section>

<section class="card">
<h3 class="topic">Differential privacy</h3>
{% if p.dp is not defined %}{{ not_recorded() }}
{% elif p.dp is none %}<p class="state">Differential privacy off: published metrics carry no added noise.</p>
{% else %}<p>&epsilon; per release <b>{{ p.dp.epsilon_per_release|num }}</b> &middot; weekly budget <b>{{ p.dp.weekly_budget|num }}</b>
 &middot; weight clip <b>{{ p.dp.weight_clip|num }}</b></p>
{% if p.dp.weeks %}<table><tr><th>Week</th><th class="num">&epsilon; spent</th><th class="num">&epsilon; remaining</th><th>Release</th></tr>
{% for w in p.dp.weeks %}<tr><td>{{ w.week }}</td><td class="num">{{ w.spent|num }}</td><td class="num">{{ w.remaining|num }}</td>
<td>{% if w.refused %}<span class="warn">refused: budget spent</span>{% else %}released{% endif %}</td></tr>{% endfor %}
</table>{% else %}<p class="muted">No week spent budget in this run.</p>{% endif %}
{% endif %}
</section>

<section class="card">
<h3 class="topic">Retention</h3>
{% if p.retention is not defined %}{{ not_recorded() }}
{% elif p.retention is none %}<p class="state">No retention run recorded.</p>
{% else %}<p>Applied {{ p.retention.applied_at|when }}: rows older than a table's window (before its cutoff) were deleted.</p>
{% if p.retention.tables %}<table><tr><th>Table</th><th class="num">Window</th><th>Cutoff</th><th class="num">Rows removed</th></tr>
{% for t in p.retention.tables %}<tr><td>{{ t.table }}</td><td class="num">{{ t.window_weeks|num }} weeks</td><td class="date">{{ t.cutoff }}</td><td class="num">{{ t.rows_removed|num }}</td></tr>{% endfor %}
</table>{% endif %}
{% endif %}
</section>

<section class="card wide">
<h3 class="topic">Erasures applied</h3>
{% if p.erasures is not defined %}{{ not_recorded() }}
{% elif not p.erasures %}<p class="state">None.</p>
{% else %}<p class="muted">Counts only: the report never names who was erased.</p>
<table><tr><th>When</th><th>Reason</th><th class="num">People</th><th class="num">Rows removed</th><th class="num">Rows changed</th><th>Weeks rebuilt</th></tr>
{% for e in p.erasures %}<tr><td class="date">{{ e.erased_at|when }}</td><td>{{ e.reason }}</td><td class="num">{{ e.people|num }}</td>
<td class="num">{{ e.rows_removed|num }}</td><td class="num">{{ e.rows_changed|num }}</td><td>{{ (e.weeks_rebuilt or [])|join(", ") or "none" }}</td></tr>{% endfor %}
</table>{% endif %}
</section>

<section class="card">
<h3 class="topic">Approval</h3>
{% if p.approval is not defined %}{{ not_recorded() }}
{% elif not p.approval.required and not (waiting or approved or rejected) %}<p class="state">Not required: a week is published when its checks pass.</p>
{% else %}<p class="state">Required before a week is published.</p>
<table><tr><th>State</th><th>Weeks</th></tr>
{% for state, css, weeks in (("Waiting", "warn", waiting), ("Approved", "pass", approved), ("Rejected", "fail", rejected)) %}
<tr><td><span class="{{ css if weeks else 'muted' }}">{{ state }}</span></td><td>{{ weeks|join(", ") or "none" }}</td></tr>{% endfor %}
</table>{% endif %}
</section>

<section class="card">
<h3 class="topic">Not counted as ties</h3>
<table><tr><th>What</th><th class="num">Count</th></tr>
{% for name, value in other_counts %}<tr><td>{{ name }}</td><td class="num">{{ value|num }}</td></tr>{% endfor %}
</table>
</section>
</div>

<h2>Records per source</h2>
<p>The latest ingest of each source, from landed files or an API (in brackets).</p>
<table><tr><th>Source</th><th class="num">Read</th><th class="num">Accepted</th><th class="num">Quarantined</th><th class="num">Duplicates</th><th>Quarantine reasons</th><th>Not joined to a person</th></tr>
{% for name, src in s.sources.items() %}<tr><td>{{ name }}</td><td class="num">{{ src.read|num }}</td><td class="num">{{ src.accepted|num }}</td>
<td class="num">{{ src.quarantined|num }}</td><td class="num">{{ src.duplicates|num }}</td>
<td>{% for reason, n in src.reasons.items() %}{{ reason }}: {{ n|num }}<br>{% endfor %}</td>
<td>{% for reason, n in (src.unjoined or {}).items() %}{{ reason }}: {{ n|num }}<br>{% endfor %}</td></tr>{% endfor %}
</table>

<h2>Checks</h2>
{% for r in results %}
<h3>{{ r.table }} &middot; week {{ week_label(r.week_start) }} &middot;
 {% if r.success %}<span class="pass">passed</span>{% else %}<span class="fail">failed</span>{% endif %}</h3>
<table><tr><th>Check</th><th>Level</th><th>Result</th><th>Observed</th></tr>
{% for c in r.checks %}<tr{% if not c.success and c.level == "fail" %} class="failed"{% endif %}><td>{{ c.check }}</td><td>{{ c.level }}</td>
<td>{% if c.success %}<span class="pass">pass</span>{% elif c.level == "fail" %}<span class="fail">FAIL</span>{% else %}<span class="warn">warn</span>{% endif %}</td>
<td>{{ c.observed }}</td></tr>{% endfor %}
</table>
{% else %}<p class="muted">No checks ran: no week was built.</p>
{% endfor %}
</body></html>
"""


def privacy_counts(summary) -> list[tuple[str, int | str]]:
    """Records kept out of the ties; exclusions and suppression have their own sections."""
    silver = summary.silver
    return [
        ("Broadcast emails (no ties, load only)", silver.get("email", {}).get("broadcast", 0)),
        ("Large meetings (no ties)", silver.get("meeting", {}).get("broadcast", 0)),
        ("Cancelled meetings (no ties)", silver.get("meeting", {}).get("cancelled", 0)),
        ("Records quarantined", sum(s["quarantined"] for s in summary.sources.values())),
    ]


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        # Spent budgets are float sums of epsilons (0.1 + 0.2): show 0.3, as an officer set it.
        return f"{value:g}"
    return "–" if value is None else value


def _moment(value: Any) -> str:
    if value is None:
        return "–"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    if moment.utcoffset() == timedelta(0):
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M %z")


def _weeks(entries: Any) -> list[str]:
    """Weeks with the run that staged them: `ona approve --week W --run RUN_ID` needs both."""
    def one(e: Any) -> str:
        if not isinstance(e, dict):
            return str(e)
        return f"{e.get('week', '?')} (run {e['run_id']})" if e.get("run_id") else e.get("week", "?")

    return [one(e) for e in entries or []]


def write_report(spark, report_dir: str, summary, results: list["GateResult"]) -> None:
    """validation.html and summary.json of a run into ``report_dir`` (a folder of the lake, local
    or a URL: jobs.lake.write_text); ``summary`` is the run's
    RunSummary (jobs/stages/summary.py: the report sits below the stages and only reads it)."""
    from jobs.weeks import label

    # Summaries written before the privacy field existed still render, with "not recorded".
    privacy = getattr(summary, "privacy", {}) or {}
    approval = privacy.get("approval") or {}
    env = Environment(autoescape=select_autoescape(default=True))
    env.filters["num"] = _number
    env.filters["when"] = _moment
    blocked = sorted({label(r.week_start) for r in results if not r.success})
    page = env.from_string(_TEMPLATE).render(
        s=summary, p=privacy, results=results, blocked=blocked,
        key_id=privacy.get("key_id") or summary.key_version,
        waiting=_weeks(approval.get("waiting")), approved=_weeks(approval.get("approved")),
        rejected=_weeks(approval.get("rejected")),
        other_counts=privacy_counts(summary), week_label=label,
    )
    from jobs.lake import join, write_text

    write_text(spark, join(report_dir, "validation.html"), page)
    write_text(spark, join(report_dir, "summary.json"), summary.to_json())
