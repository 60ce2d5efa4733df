"""The operator's status page as HTML, rendered on the server from the same figures as
``creditx gateway status --json`` and ``creditx gateway stats --json``; plots are inline SVG.
Pure: dicts in, text out (the HTTP side is :mod:`creditx.gateway.console.http`).

Every figure carries ``data-field`` (nodes) or ``data-stat`` (statistics) so a test can read
the page back and compare it with the JSON it came from.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any
from urllib.parse import quote

REFRESH_S = 5
STALE_S = 900  # a node silent this long is red (the CreditxNodeSilent alert)
LAG_WARN_S, LAG_BAD_S = 60, 600
CERT_WARN_DAYS, CERT_BAD_DAYS = 30, 7

CSS = """
body{font:14px/1.4 system-ui,"Noto Sans CJK SC",sans-serif;margin:0;background:#f6f7f9;color:#1d232b}
header{background:#14324f;color:#fff;padding:10px 18px;display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:18px;margin:0}
main{padding:12px 18px}
section{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:10px 14px;margin:0 0 14px;overflow-x:auto}
h2{font-size:15px;margin:2px 0 8px}
table{border-collapse:collapse;width:100%}
th,td{padding:3px 8px;border-bottom:1px solid #eef0f3;text-align:left;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.ok td:first-child{border-left:5px solid #2e9e4f}
tr.warn{background:#fff7e0} tr.warn td:first-child{border-left:5px solid #e0a100}
tr.bad{background:#fdeaea} tr.bad td:first-child{border-left:5px solid #c62828}
.banner{background:#c62828;color:#fff;padding:8px 18px;font-weight:600}
.grid{display:flex;flex-wrap:wrap;gap:14px 28px;align-items:flex-start}
.grid>div{overflow-x:auto;max-width:100%}
.muted{color:#6b7580} svg text{font-size:11px;fill:#4a5561}
a{color:#0b5cad}
"""

SCRIPT = """
(function(){
  var busy=false;
  function refresh(){
    if(busy) return; busy=true;
    fetch('fragment', {credentials:'same-origin', cache:'no-store'}).then(function(r){
      if(!r.ok) throw new Error('HTTP '+r.status); return r.text();
    }).then(function(html){
      document.getElementById('content').innerHTML=html;
      document.getElementById('updated').textContent=new Date().toLocaleTimeString();
      document.body.dataset.refreshes=(+document.body.dataset.refreshes||0)+1;
    }).catch(function(e){
      document.getElementById('updated').textContent='update failed: '+e.message;
    }).finally(function(){busy=false;});
  }
  setInterval(refresh, REFRESH_MS);
})();
""".replace("REFRESH_MS", str(REFRESH_S * 1000))


def _ts(stamp: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None
    except ValueError:
        return None


def node_health(n: dict, now: dt.datetime) -> tuple[str, str]:
    """(ok|warn|bad, why) for one node of ``gateway status --json``."""
    seen = _ts(n.get("last_seen", ""))
    silent = (now - seen).total_seconds() if seen else None
    expiry = [t for t in (_ts(n.get("auth_cert_not_after", "")), _ts(n.get("signing_cert_not_after", ""))) if t]
    days = min(((t - now).total_seconds() / 86400 for t in expiry), default=None)
    lag = float(n.get("list_lag_seconds", 0) or 0)
    if silent is None or silent > STALE_S:
        return "bad", "silent" if silent is not None else "never seen"
    if days is not None and days < CERT_BAD_DAYS:
        return "bad", f"certificate expires in {days:.0f} days"
    if lag > LAG_BAD_S:
        return "bad", f"list lag {lag:.0f} s"
    if not n.get("connected"):
        return "warn", "not connected"
    if lag > LAG_WARN_S:
        return "warn", f"list lag {lag:.0f} s"
    if days is not None and days < CERT_WARN_DAYS:
        return "warn", f"certificate expires in {days:.0f} days"
    return "ok", "healthy"


def _cell(value: Any, field: str = "", *, num: bool = False, stat: str = "") -> str:
    attrs = (f' data-field="{field}"' if field else "") + (f' data-stat="{escape(stat)}"' if stat else "")
    cls = ' class="n"' if num else ""
    return f"<td{cls}{attrs}>{escape(str(value))}</td>"


def nodes_section(status: dict, now: dt.datetime) -> str:
    rows = []
    for n in status.get("nodes", []):
        health, why = node_health(n, now)
        problems = ", ".join(f"{r['reason_code']}×{r['count']}" for r in n.get("recent_rejections", [])[:3])
        expiry = min(
            [s for s in (n.get("auth_cert_not_after", ""), n.get("signing_cert_not_after", "")) if s], default=""
        )
        rows.append(
            f'<tr class="{health}" data-region="{escape(n["region"])}" data-health="{health}">'
            + _cell(n["region"], "region")
            + _cell(n.get("name", ""), "name")
            + f'<td data-field="state">{"connected" if n.get("connected") else "disconnected"} '
            f'<span class="muted">({escape(why)})</span></td>'
            + _cell(n.get("last_seen", "")[:19], "last_seen")
            + _cell(n.get("committed_seq", 0), "committed_seq", num=True)
            + _cell(n.get("backlog", 0), "backlog", num=True)
            + _cell(n.get("accepted", 0), "accepted", num=True)
            + _cell(n.get("rejected", 0), "rejected", num=True)
            + _cell(n.get("applied_list_seq", 0), "applied_list_seq", num=True)
            + _cell(n.get("list_lag_entries", 0), "list_lag_entries", num=True)
            + _cell(f"{float(n.get('list_lag_seconds', 0) or 0):.1f}", "list_lag_seconds", num=True)
            + _cell(problems or "—", "problems")
            + _cell(expiry[:10], "cert_expiry")
            + "</tr>"
        )
    head = (
        "<tr><th>member</th><th>name</th><th>state</th><th>last seen</th><th class=n>committed</th>"
        "<th class=n>backlog</th><th class=n>accepted</th><th class=n>rejected</th><th class=n>lists applied</th>"
        "<th class=n>lag (changes)</th><th class=n>lag (s)</th><th>recent problems</th><th>cert expiry</th></tr>"
    )
    body = "".join(rows) or '<tr><td colspan=13 class="muted">no node has connected yet</td></tr>'
    return f'<section id="nodes"><h2>The province at a glance</h2><table>{head}{body}</table></section>'


def audit_section(status: dict, now: dt.datetime) -> str:
    signed = _ts(status.get("checkpoint_signed_at", ""))
    age = f"{(now - signed).total_seconds():.0f} s" if signed else "never signed"
    err = status.get("checkpoint_error", "")
    return (
        '<section id="audit"><h2>Audit log</h2><table>'
        f'<tr><th>leaves</th><td class="n" data-field="audit_size">{status.get("audit_size", 0)}</td>'
        f'<th>latest checkpoint covers</th><td class="n" data-field="checkpoint_size">'
        f"{status.get('checkpoint_size', 0)}</td>"
        f'<th>checkpoint age</th><td data-field="checkpoint_age">{escape(age)}</td>'
        f'<th>list log head</th><td class="n" data-field="list_head">{status.get("list_head", 0)}</td></tr>'
        + (f'<tr><td colspan=8 class="muted">signing failing: {escape(err)}</td></tr>' if err else "")
        + "</table></section>"
    )


def svg_plot(
    points: list[tuple[float, float]], *, title: str, unit: str, width: int = 460, height: int = 150, ident: str = ""
) -> str:
    """A small line plot (time on x); empty data is said, not drawn."""
    pad_l, pad_b, pad_t = 44, 18, 16
    w, h = width - pad_l - 8, height - pad_b - pad_t
    if len(points) < 2:
        return (
            f'<svg id="{ident}" width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
            f'<text x="8" y="14">{escape(title)}</text><text x="{pad_l}" y="{height // 2}">'
            f"collecting samples…</text></svg>"
        )
    t0, t1 = points[0][0], points[-1][0]
    top = max(max(v for _, v in points), 1e-9)
    xy = " ".join(f"{pad_l + w * (t - t0) / max(t1 - t0, 1e-9):.1f},{pad_t + h - h * v / top:.1f}" for t, v in points)
    span = f"last {max(t1 - t0, 0) / 60:.0f} min"
    return (
        f'<svg id="{ident}" width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
        f'data-points="{len(points)}">'
        f'<text x="8" y="12">{escape(title)} ({escape(unit)})</text>'
        f'<line x1="{pad_l}" y1="{pad_t + h}" x2="{pad_l + w}" y2="{pad_t + h}" stroke="#99a3ad"/>'
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + h}" stroke="#99a3ad"/>'
        f'<text x="4" y="{pad_t + 8}">{top:.0f}</text><text x="30" y="{pad_t + h}">0</text>'
        f'<text x="{pad_l + w - 70}" y="{height - 4}">{span}</text>'
        f'<polyline fill="none" stroke="#0b5cad" stroke-width="2" points="{xy}"/></svg>'
    )


def rates_section(rates: list[dict]) -> str:
    ingest = [(r["t"], r["ingest_per_min"]) for r in rates]
    lists = [(r["t"], r["lists_everywhere_per_min"]) for r in rates]
    return (
        '<section id="rates"><h2>Rates over time</h2><div class="grid">'
        + svg_plot(ingest, title="records decided", unit="per minute", ident="plot-ingest")
        + svg_plot(lists, title="list changes reaching every city", unit="per minute", ident="plot-lists")
        + "</div></section>"
    )


def _outcome_table(title: str, key: str, data: dict[str, dict[str, int]], label: str) -> str:
    rows = "".join(
        "<tr>"
        + _cell(k)
        + "".join(
            _cell(v.get(o, 0), num=True, stat=f"{key}.{k}.{o}")
            for o in ("total", "ACCEPTED", "DUPLICATE", "SUPERSEDED", "REJECTED")
        )
        + "</tr>"
        for k, v in data.items()
    )
    return (
        f"<div><h2>{escape(title)}</h2><table><tr><th>{escape(label)}</th><th class=n>records</th>"
        "<th class=n>accepted</th><th class=n>duplicate</th><th class=n>superseded</th><th class=n>rejected</th>"
        f"</tr>{rows or '<tr><td colspan=6 class=muted>none yet</td></tr>'}</table></div>"
    )


def rejections_section(stats: dict) -> str:
    rows = []
    for dept, reasons in stats.get("top_rejection_reasons", {}).items():
        for r in reasons:
            href = f"records?reason={quote(r['reason'])}&department={quote(dept)}"
            rows.append(
                "<tr>" + _cell(dept) + f'<td><a href="{escape(href)}" data-reason="{escape(r["reason"])}">'
                f"{escape(r['reason'])}</a></td>"
                + _cell(r["n"], num=True, stat=f"top_rejection_reasons.{dept}.{r['reason']}")
                + "</tr>"
            )
    rate = stats.get("rejection_rate")
    return (
        '<section id="rejections"><h2>Rejections by reason <span class="muted">(rate '
        f'<span data-stat="rejection_rate">{"-" if rate is None else f"{100 * rate:.1f} %"}</span>; '
        "click a reason for its records)</span></h2>"
        "<table><tr><th>department (数据来源单位)</th><th>reason</th><th class=n>records</th></tr>"
        + ("".join(rows) or "<tr><td colspan=3 class=muted>no rejections</td></tr>")
        + "</table></section>"
    )


def _secs(s: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s // size} {unit}"
    return f"{s} s"


def _days(n: int | None) -> str:
    from creditx.gateway.stats import WORKING_DAYS_CAP

    return "-" if n is None else f"≥{n}" if n >= WORKING_DAYS_CAP else str(n)


def stats_section(stats: dict) -> str:
    timely = "".join(
        "<tr>"
        + _cell(t["department"])
        + _cell(t["records"], num=True, stat=f"timeliness.{t['department']}.records")
        + _cell(t["within_7_working_days"], num=True, stat=f"timeliness.{t['department']}.within_7_working_days")
        + _cell(
            "-" if t["share_within_7"] is None else f"{100 * t['share_within_7']:.1f} %",
            num=True,
            stat=f"timeliness.{t['department']}.share_within_7",
        )
        + _cell(_days(t["median_working_days"]), num=True)
        + "</tr>"
        for t in stats.get("timeliness", [])
    )
    reach = stats.get("list_changes_reached_every_city", {})
    reach_rows = "".join(
        "<tr>"
        + _cell("any time" if c["within_s"] is None else f"within {_secs(c['within_s'])}")
        + _cell(c["changes"], num=True, stat=f"list_reach.{c['within_s']}")
        + "</tr>"
        for c in reach.get("cumulative", [])
    )
    reach_html = (
        '<div><h2>List changes that reached every city: <span data-stat="list_reach.changes">'
        f"{reach.get('changes', 0)}</span></h2><table><tr><th>how fast</th><th class=n>changes</th></tr>"
        f"{reach_rows}</table></div>"
    )
    return (
        '<section id="stats"><h2>Statistics <span class="muted">(<span data-stat="records">'
        f'{stats.get("records", 0)}</span> records decided)</span></h2><div class="grid">'
        + _outcome_table("by city", "by_region", stats.get("by_region", {}), "region")
        + _outcome_table("by department (数据来源单位)", "by_department", stats.get("by_department", {}), "department")
        + _outcome_table("by record type", "by_type", stats.get("by_type", {}), "type")
        + _outcome_table("by month of receipt", "by_month", stats.get("by_month", {}), "month")
        + "<div><h2>Timeliness: within 7 working days of the decision</h2><table><tr><th>department</th>"
        "<th class=n>accepted</th><th class=n>within 7</th><th class=n>share</th>"
        "<th class=n>median days</th></tr>"
        + (timely or "<tr><td colspan=5 class=muted>none yet</td></tr>")
        + "</table></div>"
        + reach_html
        + "</div></section>"
    )


def fragment(status: dict, stats: dict, rates: list[dict], now: dt.datetime) -> str:
    banner = (
        f'<div class="banner" data-field="ingest_refusal">INGEST STOPPED: {escape(status["ingest_refusal"])}</div>'
        if status.get("ingest_refusal")
        else ""
    )
    return (
        banner
        + nodes_section(status, now)
        + audit_section(status, now)
        + rates_section(rates)
        + rejections_section(stats)
        + stats_section(stats)
    )


def page(status: dict, stats: dict, rates: list[dict], now: dt.datetime) -> str:
    gid = escape(status.get("gateway_id", "gateway"))
    return (
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8>"
        f"<title>creditx · {gid}</title><style>{CSS}</style></head><body>"
        f"<header><h1>creditx · {gid}</h1><span>{len(status.get('nodes', []))} nodes</span>"
        f'<span class="muted" style="color:#c9d6e3">updated <span id="updated">{now:%H:%M:%S}</span>, '
        f"every {REFRESH_S} s</span></header>"
        f'<main id="content">{fragment(status, stats, rates, now)}</main>'
        f"<script>{SCRIPT}</script></body></html>"
    )


def records_page(reason: str, department: str, rows: list[dict]) -> str:
    body = "".join(
        "<tr>"
        + "".join(
            _cell(r.get(k, ""))
            for k in ("id", "node", "source_seq", "type", "reason", "requirement", "field", "message", "received_at")
        )
        + "</tr>"
        for r in rows
    )
    return (
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8>"
        f"<title>creditx · {escape(reason)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>Rejected records: {escape(reason)}</h1><span>{escape(department)}</span>"
        '<a href="./" style="color:#fff">← back</a></header><main><section><table>'
        "<tr><th>id</th><th>node</th><th>seq</th><th>type</th><th>reason</th><th>rule</th><th>field</th>"
        f"<th>message</th><th>received</th></tr>{body or '<tr><td colspan=9>none</td></tr>'}"
        f'</table><p class="muted" data-field="shown">{len(rows)} shown (newest first)</p></section></main>'
        "</body></html>"
    )
