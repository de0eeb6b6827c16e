"""The validation report for privacy officers: one self-contained HTML page per run.

No external CSS, fonts or scripts: it reads the same offline, printed or archived. It lists
every check with its result, the counts of what was excluded or suppressed, and the key
version; it never contains a pseudonym, an address or a value from the data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jinja2 import Environment, select_autoescape

if TYPE_CHECKING:
    from jobs.pipeline import RunContext, RunSummary
    from jobs.quality.gates import GateResult

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>ONA validation report {{ s.run_id }}</title>
<style>
 body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:72rem;color:#1d2330;padding:0 1rem}
 h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d8dde6;padding-bottom:.2rem}
 table{border-collapse:collapse;width:100%;margin:.6rem 0} th,td{border:1px solid #d8dde6;padding:.3rem .5rem;text-align:left;vertical-align:top}
 th{background:#f2f4f8} td.num{text-align:right;font-variant-numeric:tabular-nums}
 .pass{color:#0b6b2b;font-weight:600} .fail{color:#b00020;font-weight:700} .warn{color:#8a5a00;font-weight:600}
 .banner{padding:.6rem .9rem;border-radius:4px;margin:1rem 0} .ok{background:#e5f4ea} .bad{background:#fde8ec}
 .meta{color:#555} @media print{body{margin:0}}
</style></head><body>
<h1>Validation report</h1>
<p class="meta">Run <code>{{ s.run_id }}</code> &middot; pseudonym key version <code>{{ s.key_version }}</code>
 &middot; weeks {{ s.weeks|join(", ") or "none" }}</p>
{% if blocked %}<div class="banner bad"><span class="fail">Not published:</span> {{ blocked|join(", ") }}.
 The previous version of these weeks stays current.</div>{% endif %}
{% if s.published_weeks %}<div class="banner ok"><span class="pass">Published:</span> {{ s.published_weeks|join(", ") }}</div>{% endif %}

<h2>Privacy summary</h2>
<table><tr><th>What</th><th>Count</th></tr>
{% for name, value in privacy %}<tr><td>{{ name }}</td><td class="num">{{ value }}</td></tr>{% endfor %}
</table>

<h2>Records per source</h2>
<p>The latest ingest of each source, from landed files or an API (in brackets).</p>
<table><tr><th>Source</th><th>Read</th><th>Accepted</th><th>Quarantined</th><th>Duplicates</th><th>Quarantine reasons</th><th>Not joined to a person</th></tr>
{% for name, src in s.sources.items() %}<tr><td>{{ name }}</td><td class="num">{{ src.read }}</td><td class="num">{{ src.accepted }}</td>
<td class="num">{{ src.quarantined }}</td><td class="num">{{ src.duplicates }}</td>
<td>{% for reason, n in src.reasons.items() %}{{ reason }}: {{ n }}<br>{% endfor %}</td>
<td>{% for reason, n in (src.unjoined or {}).items() %}{{ reason }}: {{ n }}<br>{% endfor %}</td></tr>{% endfor %}
</table>

<h2>Checks</h2>
{% for r in results %}
<h3>{{ r.table }} &middot; week {{ week_label(r.week_start) }} &middot;
 {% if r.success %}<span class="pass">passed</span>{% else %}<span class="fail">failed</span>{% endif %}</h3>
<table><tr><th>Check</th><th>Level</th><th>Result</th><th>Observed</th></tr>
{% for c in r.checks %}<tr><td>{{ c.check }}</td><td>{{ c.level }}</td>
<td>{% if c.success %}<span class="pass">pass</span>{% elif c.level == "fail" %}<span class="fail">FAIL</span>{% else %}<span class="warn">warn</span>{% endif %}</td>
<td>{{ c.observed }}</td></tr>{% endfor %}
</table>
{% endfor %}
</body></html>
"""


def privacy_counts(summary: "RunSummary") -> list[tuple[str, int | str]]:
    silver = summary.silver
    return [
        ("People excluded by opt-out", "no opt-out list configured"),
        ("Broadcast emails (no ties, load only)", silver.get("email", {}).get("broadcast", 0)),
        ("Large meetings (no ties)", silver.get("meeting", {}).get("broadcast", 0)),
        ("Cancelled meetings (no ties)", silver.get("meeting", {}).get("cancelled", 0)),
        ("Records quarantined", sum(s["quarantined"] for s in summary.sources.values())),
        ("Group pairs suppressed (fewer than k active people)", summary.groups_suppressed),
    ]


def write_report(ctx: "RunContext", summary: "RunSummary", results: list["GateResult"]) -> None:
    from jobs.weeks import label

    env = Environment(autoescape=select_autoescape(default=True))
    blocked = sorted({label(r.week_start) for r in results if not r.success})
    page = env.from_string(_TEMPLATE).render(
        s=summary, results=results, blocked=blocked, privacy=privacy_counts(summary),
        week_label=label,
    )
    ctx.report_dir.mkdir(parents=True, exist_ok=True)
    (ctx.report_dir / "validation.html").write_text(page, encoding="utf-8")
    (ctx.report_dir / "summary.json").write_text(summary.to_json(), encoding="utf-8")
