"""The Markdown report, for GitHub step summaries, issue comments and wikis."""

from __future__ import annotations

import re

from analyzer.detectors.base import listed
from analyzer.render import DEFAULT_STYLE, Style
from analyzer.render.chart import render_chart
from analyzer.render.inert import inert
from analyzer.render.json import iso
from analyzer.render.text import (
    OTHER_KIND,
    code_label,
    filters_text,
    human_bytes,
    one_line,
    plural,
    verdict_text,
)
from analyzer.report import Report

_ICON = {"healthy": "🟢", "degraded": "🟠", "critical": "🔴", "filtered": "⚪", "incomplete": "⚪"}

# Text from logs and file names must stay text: no link, image, HTML or code span of its own.
_SPECIAL = re.compile(r"[\\`\[\]!<&]")  # backslash-escaped (CommonMark allows any punctuation)
_EMAIL = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9._-]+")  # GFM links these whatever is escaped
_SCHEME = re.compile(r"://")  # http://… is linked by GFM; https\://… is not
_WWW = re.compile(r"(?i)(www)\.")  # www.… likewise
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)")  # a code span in a fix (trusted)


def _cell(text: str) -> str:
    """Markdown safe inside a table cell (GFM splits cells at `|` even inside code spans)."""
    return text.replace("|", "\\|").replace("\n", " ")


def code_span(text: str) -> str:
    """Inline code that nothing in `text` can close: the fence is a longer run of backticks than
    any inside, padded with a space when the text starts or ends with a backtick or a space
    (CommonMark strips one space from each side, unless the content is only spaces)."""
    if not text.strip(" "):  # only spaces (or nothing): kept as they are
        return f"`{text or ' '}`"
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plain_text(text: str) -> str:
    """Text without a link, image, HTML tag, entity or code span: Markdown punctuation escaped,
    `://` and `www.` broken as GFM autolinks, e-mail addresses (which no escape stops) as code."""
    out: list[str] = []
    start = 0
    for m in _EMAIL.finditer(text):
        out.append(_escape(text[start : m.start()]))
        out.append(code_span(m.group(0)))
        start = m.end()
    out.append(_escape(text[start:]))
    return "".join(out)


def _escape(text: str) -> str:
    text = _SPECIAL.sub(lambda m: "\\" + m.group(0), text)
    return _WWW.sub(r"\1\\.", _SCHEME.sub(r"\\://", text))


def _advice(text: str) -> str:
    """A fix: its code spans kept (the advice is written in Markdown), the rest plain text."""
    out: list[str] = []
    start = 0
    for m in _CODE_SPAN.finditer(text):
        out.append(plain_text(text[start : m.start()]))
        out.append(m.group(0))
        start = m.end()
    out.append(plain_text(text[start:]))
    return "".join(out)


def render(report: Report, style: Style = DEFAULT_STYLE) -> str:
    """The full Markdown report: text from logs and file names shows as text, never as markup."""
    report = inert(report)
    t = report.totals
    out = ["# bnlog report", ""]
    out.append(f"**Verdict: {_ICON[report.verdict]} {verdict_text(report)}**")
    if report.filters:
        out.append("")
        out.append(plain_text(filters_text(report)))
    out.append("")
    span = f" from {iso(report.first_seen)} to {iso(report.last_seen)}" if report.first_seen else ""
    out.append(f"{plural(t.events, 'event')} in {plural(t.files, 'file')}{span}.")
    if report.clients:
        out.append(f"Clients: {plain_text(', '.join(report.clients))}.")
    out.append("")
    out.append(f"## Findings ({len(report.findings)})")
    out.append("")
    if not report.findings:
        out.append("No pattern in these events needs action.")
        out.append("")
    for i, f in enumerate(report.findings, 1):
        out.append(f"### {i}. [{f.severity.value}] {plain_text(f.title)}")
        out.append("")
        meta = [f"kind {code_span(f.kind)}", plural(f.count, "event")]
        if f.first_seen:
            meta.append(f"{iso(f.first_seen)} → {iso(f.last_seen)}")
        if f.symbols:
            meta.append("symbols " + plain_text(listed(f.symbols)))
        if f.codes:
            meta.append("codes " + listed(f.codes))
        if f.source:
            meta.append("source " + code_span(f.source))
        out.append(" · ".join(meta))
        out.append("")
        if f.evidence:
            out.append("Evidence:")
            out.append("")
            for e in f.evidence:
                out.append(
                    f"- {code_span(f'{e.path}:{e.line}')} {code_span(one_line(e.text, 200))}"
                )
            out.append("")
        out.append("**Fix:** " + "  \n".join(_advice(para) for para in f.fix.split("\n")))
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
            fix = _advice(row.fix.split("\n")[0])
            out.append(
                f"| {row.count} | {code_label(row.code, row.http_status)} | {row.category} | "
                f"{row.severity} | {_cell(plain_text(reason))} | {_cell(fix)} |"
            )
        rows, events = report.codes_omitted
        if rows:
            out.append(f"| {events} | and {rows} more codes | | | | `bnlog events` lists them |")
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
                f"| {other.count} | {plain_text(OTHER_KIND.get(other.kind, other.kind))} | "
                f"{_cell(code_span(one_line(other.message, 120)))} | "
                f"{_cell(code_span(one_line(other.example, 160)))} |"
            )
        in_rows = sum(other.count for other in report.other)
        if in_rows < report.other_count:
            out.append(f"| {report.other_count - in_rows} | and more | | |")
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
        out.append(f"- warning: {plain_text(warning)}")
    if not report.redacted:
        out.append("- warning: secrets were NOT redacted (--no-redact); do not share this report")
    return "\n".join(out).rstrip() + "\n"
