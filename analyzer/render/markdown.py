"""The Markdown report, for GitHub step summaries, issue comments and wikis."""

from __future__ import annotations

from analyzer.render import DEFAULT_STYLE, Style
from analyzer.render.chart import render_chart
from analyzer.render.json import iso
from analyzer.render.text import (
    OTHER_KIND,
    VERDICT_TEXT,
    code_label,
    details_line,
    human_bytes,
    one_line,
    plural,
)
from analyzer.report import Report

_ICON = {"healthy": "🟢", "degraded": "🟠", "critical": "🔴"}


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render(report: Report, style: Style = DEFAULT_STYLE) -> str:
    """The full Markdown report."""
    t = report.totals
    out = ["# bnlog report", ""]
    out.append(f"**Verdict: {_ICON[report.verdict]} {VERDICT_TEXT[report.verdict]}**")
    out.append("")
    span = f" from {iso(report.first_seen)} to {iso(report.last_seen)}" if report.first_seen else ""
    out.append(f"{plural(t.events, 'event')} in {plural(t.files, 'file')}{span}.")
    if report.clients:
        out.append(f"Clients: {', '.join(report.clients)}.")
    out.append("")
    out.append(f"## Findings ({len(report.findings)})")
    out.append("")
    if not report.findings:
        out.append("No pattern in these events needs action.")
        out.append("")
    for i, f in enumerate(report.findings, 1):
        out.append(f"### {i}. [{f.severity.value}] {f.title}")
        out.append("")
        meta = [f"kind `{f.kind}`", plural(f.count, "event")]
        if f.first_seen:
            meta.append(f"{iso(f.first_seen)} → {iso(f.last_seen)}")
        if f.symbols:
            meta.append("symbols " + ", ".join(f.symbols))
        if f.codes:
            meta.append("codes " + ", ".join(str(c) for c in f.codes))
        out.append(" · ".join(meta))
        out.append("")
        facts = details_line(f.details)
        if facts:
            out.append(_cell(facts))
            out.append("")
        if f.evidence:
            out.append("Evidence:")
            out.append("")
            for e in f.evidence:
                out.append(f"- `{e.path}:{e.line}` {_code(one_line(e.text, 200))}")
            out.append("")
        out.append("**Fix:** " + f.fix.replace("\n", "  \n"))
        out.append("")
    if style.chart:
        chart = render_chart(report.timeline, width=min(style.width, 100), color=False)
        if chart:
            out.extend(["## Timeline", "", "```text", chart, "```", ""])
    out.append("## Codes")
    out.append("")
    if report.codes:
        out.append("| count | code | category | severity | reason | fix |")
        out.append("|---:|---|---|---|---|---|")
        for row in report.codes:
            reason = (row.reason or "-") + ("" if row.known else " (not in the reference table)")
            fix = row.fix.split("\n")[0]
            out.append(
                f"| {row.count} | {code_label(row.code, row.http_status)} | {row.category} | "
                f"{row.severity} | {_cell(reason)} | {_cell(fix)} |"
            )
    else:
        out.append("No Binance error events found.")
    out.append("")
    if report.other_count:
        out.append(f"## Other errors ({report.other_count}, not Binance API errors)")
        out.append("")
        out.append("| count | kind | message | first example |")
        out.append("|---:|---|---|---|")
        for other in report.other:
            out.append(
                f"| {other.count} | {OTHER_KIND.get(other.kind, other.kind)} | "
                f"{_cell(one_line(other.message, 120))} | {_code(one_line(other.example, 160))} |"
            )
        listed = sum(other.count for other in report.other)
        if listed < report.other_count:
            out.append(f"| {report.other_count - listed} | and more | | |")
        out.append("")
    out.append("## Coverage")
    out.append("")
    out.append(
        f"{plural(t.files, 'file')} · {plural(t.lines, 'line')} · {human_bytes(t.bytes)} · "
        f"{plural(t.events, 'event')} · {t.skipped_lines} skipped or cut · "
        f"{t.repaired_lines} with invalid UTF-8 repaired"
    )
    if t.resumed_files:
        out.append(
            f"- incremental: {plural(t.resumed_files, 'file')} read only from where the last "
            "run stopped (--state)"
        )
    if report.log_first and report.log_last:
        out.append(f"- log spans {iso(report.log_first)} → {iso(report.log_last)}")
    for warning in report.warnings:
        out.append(f"- warning: {_cell(warning)}")
    if not report.redacted:
        out.append("- warning: secrets were NOT redacted (--no-redact); do not share this report")
    return "\n".join(out).rstrip() + "\n"
