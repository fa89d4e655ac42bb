"""The cron digest's renderers: text, Markdown and JSON (`bnlog.report/1` plus `summary`)."""

from __future__ import annotations

from collections.abc import Callable

from analyzer.redact import redact_text
from analyzer.render import DEFAULT_STYLE, Style
from analyzer.render.inert import escape_controls
from analyzer.render.json import dumps, iso, report_dict
from analyzer.render.markdown import _cell, plain_text
from analyzer.render.text import _wrap, code_label, paint, plural, verdict_text
from analyzer.summary import RESOLVED, Change, Summary, pct

SummaryRenderer = Callable[[Summary, Style], str]


def _safe(text: str, summary: Summary) -> str:
    """A name or title as printed: redacted (unless --no-redact) and made inert."""
    return escape_controls(redact_text(text) if summary.report.redacted else text)


def _window(summary: Summary) -> str:
    r = summary.report
    first, last = iso(r.log_first), iso(r.log_last)
    span = f"{first} → {last}" if first and last else "no timed lines"
    files = len(summary.files) if summary.stateful else r.totals.files
    what = "new lines" if summary.stateful else "lines"
    return f"{r.totals.lines} {what} of {plural(files, 'file')}, {span}"


def _since(summary: Summary) -> str:
    if not summary.stateful:
        since = summary.report.filters.get("since")
        return f"window: since {since} (no --state: everything is new)" if since else ""
    if summary.previous_at is None:
        return "first run on this state: everything is new"
    change = pct(summary.report.totals.events, summary.events_previous)
    events = plural(summary.report.totals.events, "event")
    return f"since the run at {summary.previous_at}: {events}" + (f" ({change})" if change else "")


def _count(change: Change) -> str:
    if change.status == RESOLVED:
        return f"none now ({plural(change.previous or 0, 'event')} in the previous window)"
    shown = pct(change.count, change.previous)
    return plural(change.count, "event") + (f" ({shown})" if shown else "")


def render_text(summary: Summary, style: Style = DEFAULT_STYLE) -> str:
    """The digest for a terminal or a mail: one block per finding, marked NEW, ONGOING or
    RESOLVED, then the codes and the files read, wrapped to the style's width."""
    r = summary.report
    width = style.width
    out = _wrap(f"bnlog summary — {_window(summary)}", width, "", "  ")
    since = _since(summary)
    if since:
        out += _wrap(since, width, "", "  ")
    out += ["", *_wrap(f"Verdict: {verdict_text(r)}", width, "", "  ")]
    if summary.findings:
        out += ["", f"Findings ({len(summary.findings)})"]
        for change in summary.findings:
            label = paint(f"{change.status.upper():<8}", change.severity, style)
            head = f"[{change.severity}] {_safe(change.title, summary)}"
            lines = _wrap(head, width - 11, "")
            out.append(f"  {label} {lines[0]}")
            out += [f"{'':11}{line}" for line in lines[1:]]
            facts = [change.kind, _count(change)]
            if change.source:
                facts.append(_safe(change.source, summary))
            if change.codes:
                facts.append("codes " + ", ".join(str(c) for c in change.codes))
            out += _wrap(" · ".join(facts), width, " " * 11)
    if summary.codes:
        out += ["", "Codes"]
        for row in summary.codes:
            shown = pct(row.count, row.previous)
            line = f"{code_label(row.code, row.http_status):>10}  {row.count:>7}"
            out.append(f"  {line}  {shown}".rstrip())
    if r.other_count:
        out += ["", f"Other errors: {r.other_count} (see `bnlog report` for them)"]
    if summary.files:
        out += ["", "Read"]
        for f in summary.files:
            out += _wrap(
                f"{_safe(f.path, summary)}: bytes {f.start} → {f.end}", width, "  ", "    "
            )
    if r.warnings:
        out += ["", "Warnings"]
        for warning in r.warnings:
            out += _wrap(escape_controls(warning), width, "  ", "    ")
    return "\n".join(out) + "\n"


def render_markdown(summary: Summary, style: Style = DEFAULT_STYLE) -> str:
    """The digest as Markdown: a table of findings with their status, then codes and files."""
    r = summary.report
    out = [f"## bnlog summary — {plain_text(_window(summary))}", ""]
    since = _since(summary)
    if since:
        out += [plain_text(since), ""]
    out += [f"**Verdict:** {plain_text(verdict_text(r))}", ""]
    if summary.findings:
        out += ["| status | severity | finding | events |", "|---|---|---|---|"]
        for c in summary.findings:
            title = plain_text(_safe(c.title, summary))
            out.append(f"| **{c.status}** | {c.severity} | {_cell(title)} | {_cell(_count(c))} |")
        out.append("")
    if summary.codes:
        out += ["| code | events | change |", "|---|---:|---|"]
        for row in summary.codes:
            label = code_label(row.code, row.http_status)
            out.append(f"| {label} | {row.count} | {_cell(pct(row.count, row.previous))} |")
        out.append("")
    if summary.files:
        out += ["| file | bytes read |", "|---|---|"]
        for f in summary.files:
            out.append(f"| {_cell(plain_text(_safe(f.path, summary)))} | {f.start} → {f.end} |")
        out.append("")
    for warning in r.warnings:
        out.append(f"- warning: {_cell(plain_text(escape_controls(warning)))}")
    return "\n".join(out).rstrip("\n") + "\n"


def summary_dict(summary: Summary) -> dict[str, object]:
    """The `summary` object of the JSON digest."""
    redacted = summary.report.redacted
    return {
        "stateful": summary.stateful,
        "clean": summary.clean,
        "window": {
            "run_at": summary.run_at,
            "previous_run_at": summary.previous_at,
            "since": summary.report.filters.get("since"),
            "until": summary.report.filters.get("until"),
            "log_first": iso(summary.report.log_first),
            "log_last": iso(summary.report.log_last),
        },
        "events": {"count": summary.report.totals.events, "previous": summary.events_previous},
        "files": [
            {
                "path": redact_text(f.path) if redacted else f.path,
                "from": f.start,
                "to": f.end,
                "resumed": f.resumed,
            }
            for f in summary.files
        ],
        "findings": [
            {
                "status": c.status,
                "fingerprint": c.fingerprint,
                "kind": c.kind,
                "source": (redact_text(c.source) if redacted else c.source) or None,
                "severity": c.severity,
                "title": c.title,
                "codes": list(c.codes),
                "symbols": list(c.symbols),
                "count": c.count,
                "previous": c.previous,
            }
            for c in summary.findings
        ],
        "codes": [
            {
                "code": row.code,
                "http_status": row.http_status,
                "count": row.count,
                "previous": row.previous,
            }
            for row in summary.codes
        ],
    }


def render_json(summary: Summary, style: Style = DEFAULT_STYLE) -> str:
    """The window's `bnlog.report/1` report with a `summary` object added."""
    return dumps({**report_dict(summary.report), "summary": summary_dict(summary)})


def summary_renderers() -> dict[str, SummaryRenderer]:
    """Every `bnlog summary --format` with its renderer."""
    return {"text": render_text, "markdown": render_markdown, "json": render_json}
