"""The terminal report: verdict, ranked findings with evidence and fix, chart, code table, coverage."""

from __future__ import annotations

import re
import textwrap

from analyzer.detectors.base import listed
from analyzer.render import DEFAULT_STYLE, Style
from analyzer.render.chart import render_chart
from analyzer.render.inert import escape_controls, inert
from analyzer.render.json import iso
from analyzer.report import Report

_ANSI = {
    "critical": "\x1b[1;31m",
    "error": "\x1b[31m",
    "warning": "\x1b[33m",
    "info": "\x1b[36m",
    "healthy": "\x1b[1;32m",
    "degraded": "\x1b[1;33m",
    "bold": "\x1b[1m",
    "dim": "\x1b[2m",
}
_RESET = "\x1b[0m"
EVIDENCE_MIN_CHARS = 40  # evidence text is cut to the width, but never shorter than this

VERDICT_TEXT = {
    "healthy": "HEALTHY — nothing here needs action",
    "degraded": "DEGRADED — the bot is losing requests or orders; see the findings",
    "critical": "CRITICAL — the bot cannot trade or is banned; act now",
    "filtered": "NOTHING LEFT — the filters removed every error in these logs; widen them",
    "incomplete": "INCOMPLETE — no error in what was read, but not everything could be read",
}
_VERDICT_COLOUR = {"filtered": "warning", "incomplete": "warning"}


def verdict_text(report: Report) -> str:
    """The verdict sentence; when some input could not be read it says so, whatever the
    verdict ('…; incomplete: 2 files unreadable')."""
    text = VERDICT_TEXT[report.verdict]
    if report.verdict == "incomplete":
        return f"INCOMPLETE — no error in what was read, but {report.totals.incomplete}"
    if report.totals.incomplete:
        text += f"; incomplete: {report.totals.incomplete} (see Coverage)"
    return text


def paint(text: str, key: str, style: Style) -> str:
    """Wrap text in the ANSI colour for `key` when colour is on."""
    return f"{_ANSI[key]}{text}{_RESET}" if style.color and key in _ANSI else text


def plural(n: int, word: str) -> str:
    """'1 file', '2 files'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def human_bytes(n: int) -> str:
    """1536 → '1.5 KiB'."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


# Where the error sits in an evidence line: a code or a JSON body first, else a status.
_CODE_AT = re.compile(r'\{\s*\\?"code|\bcode\s*[=:]|APIError\(|\(code=|\b-[12]\d{3}\b')
_STATUS_AT = re.compile(r"HTTP status is|\b[45]\d\d\b")


def _error_at(line: str) -> re.Match[str] | None:
    return _CODE_AT.search(line) or _STATUS_AT.search(line)


def evidence_line(text: str, limit: int) -> str:
    """The part of an evidence record that carries the error, in at most `limit` characters:
    the line with the code (or the last line, where a traceback's exception is), and of a
    long line the stretch from just before the code on, not the middle of a stack trace."""
    lines = [part.strip() for part in text.splitlines() if part.strip()]
    if not lines:
        return ""
    flat = " ⏎ ".join(lines)
    if len(flat) <= limit:
        return escape_controls(flat)
    with_error = [line for line in lines if _error_at(line)]
    line = with_error[0] if with_error else lines[-1]
    if len(line) > limit:
        found = _error_at(line)
        start = max(0, (found.start() if found else 0) - 12)
        line = line[start:]
        if start:
            line = "…" + line
        if len(line) > limit:
            line = line[: limit - 1] + "…"
    return escape_controls(line)


def one_line(text: str, limit: int) -> str:
    """Fold a multi-line evidence text to one line; if longer than `limit`, cut the middle
    (a log line's time is at its start and the exchange's answer at its end). Control
    characters left inside the line are shown escaped (`\\t`, `\\x1b`)."""
    flat = " ⏎ ".join(part.strip() for part in text.splitlines() if part.strip())
    if len(flat) > limit:
        head = max(1, (limit - 1) // 3)
        tail = limit - 1 - head
        flat = flat[:head] + "…" + flat[len(flat) - tail :]
    return escape_controls(flat)


def first_sentence(text: str) -> str:
    """The first sentence of a fix (the code table shows the gist; findings show it all)."""
    head = text.split("\n")[0]
    for stop in (". ", ": "):
        cut = head.find(stop)
        if 0 < cut < 160 and stop == ". ":
            return head[: cut + 1]
    return head if len(head) <= 160 else head[:159] + "…"


def details_line(details: dict[str, object]) -> str:
    """Scalar details as 'key value' pairs (nested dicts one level deep); lists are counted."""
    parts: list[str] = []
    for key, value in details.items():
        if isinstance(value, dict):
            inner = [f"{k} {v}" for k, v in value.items() if isinstance(v, str | int | float)]
            if inner:
                parts.append(f"{key}: " + ", ".join(inner))
        elif isinstance(value, list):
            if value and not isinstance(value[0], dict):
                parts.append(f"{key} " + ", ".join(str(v) for v in value[:6]))
            elif value:
                parts.append(f"{key} ×{len(value)}")
        elif value is not None:
            parts.append(f"{key} {value}")
    return "details: " + " · ".join(parts) if parts else ""


def filters_text(report: Report) -> str:
    """'Filters: --since …, --symbol SOLUSD; 12 of 40 errors kept (28 removed)'."""
    names = {"since": "--since", "until": "--until", "symbols": "--symbol", "codes": "--code"}
    shown = []
    for key, value in report.filters.items():
        values = value if isinstance(value, list) else [value]
        shown.append(f"{names.get(key, key)} {' '.join(str(v) for v in values)}")
    before = report.events_before or 0
    kept = report.totals.events
    return (
        f"Filters: {', '.join(shown)}; {kept} of {plural(before, 'error')} kept "
        f"({before - kept} removed)"
    )


def code_label(code: int | None, http: int | None) -> str:
    """'-1021', '-1003/429', 'HTTP 503' or '—'."""
    if code is not None and http is not None:
        return f"{code}/{http}"
    if code is not None:
        return str(code)
    if http is not None:
        return f"HTTP {http}"
    return "—"


def _wrap(text: str, width: int, indent: str, rest: str | None = None) -> list[str]:
    """Text wrapped to `width` columns; a word longer than a line is broken."""
    return textwrap.wrap(
        text,
        width=max(20, width),
        initial_indent=indent,
        subsequent_indent=indent if rest is None else rest,
        break_long_words=True,
        break_on_hyphens=False,
    ) or [indent]


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters: a long path keeps its end (the file name and line)."""
    return text if len(text) <= limit else "…" + text[len(text) - limit + 1 :]


def render(report: Report, style: Style = DEFAULT_STYLE) -> str:
    """The full text report (file names redacted, control characters shown escaped)."""
    report = inert(report)
    width = max(60, style.width)
    out: list[str] = []
    t = report.totals
    span = ""
    if report.first_seen and report.last_seen:
        span = f", {iso(report.first_seen)} → {iso(report.last_seen)}"
    head = _wrap(
        f"bnlog report — {plural(t.events, 'event')} in {plural(t.files, 'file')}{span}",
        width,
        "",
        "  ",
    )
    head[0] = head[0].replace("bnlog report", paint("bnlog report", "bold", style), 1)
    out.extend(head)
    if report.clients:
        out.extend(_wrap(f"clients: {', '.join(report.clients)}", width, "", "  "))
    out.append("")
    verdict = _wrap(f"Verdict: {verdict_text(report)}", width, "", "  ")
    colour = _VERDICT_COLOUR.get(report.verdict, report.verdict)
    verdict[0] = "Verdict: " + paint(verdict[0].removeprefix("Verdict: "), colour, style)
    out.extend(verdict)
    if report.filters:
        out.extend(_wrap(filters_text(report), width, "", "  "))
    out.append("")
    out.extend(_findings(report, style, width))
    if style.chart:
        chart = render_chart(report.timeline, width=width, color=style.color)
        if chart:
            out.append(paint("Timeline", "bold", style))
            out.append(chart)
            if report.timeline.untimed:
                out.append(
                    f"({plural(report.timeline.untimed, 'event')} without a timestamp not charted)"
                )
            out.append("")
    out.extend(_codes(report, style, width))
    out.extend(_other(report, style, width))
    out.extend(_coverage(report, style, width))
    return "\n".join(out).rstrip() + "\n"


def _findings(report: Report, style: Style, width: int) -> list[str]:
    out = [paint(f"Findings ({len(report.findings)})", "bold", style)]
    if not report.findings:
        out.append("  none: no pattern in these events needs action")
        out.append("")
        return out
    for i, f in enumerate(report.findings, 1):
        # the severity tag is painted after wrapping: colour codes take no columns
        tag = f"[{f.severity.value}]"
        title = _wrap(f"{i}. {tag} {f.title}", width, "  ", "     ")
        title[0] = title[0].replace(tag, paint(tag, f.severity.value, style), 1)
        out.extend(title)
        meta = [f"kind {f.kind}", plural(f.count, "event")]
        if f.first_seen:
            meta.append(f"{iso(f.first_seen)} → {iso(f.last_seen)}")
        if f.symbols:
            meta.append("symbols " + listed(f.symbols))
        if f.codes:
            meta.append("codes " + listed(f.codes))
        if f.source:
            meta.append(f"source {f.source}")
        out.extend(_wrap(" · ".join(meta), width, "     "))
        for e in f.evidence:
            where = _cut(f"{e.path}:{e.line}", width - 5)
            out.append("     " + paint(where, "dim", style))
            out.append("       " + evidence_line(e.text, max(EVIDENCE_MIN_CHARS, width - 7)))
        for n, para in enumerate(f.fix.split("\n")):
            if para.strip():
                out.extend(_wrap(("fix: " if n == 0 else "") + para.strip(), width, "     "))
        out.append("")
    return out


def _codes(report: Report, style: Style, width: int) -> list[str]:
    out = [paint("Codes", "bold", style)]
    if not report.codes:
        out.append("  no Binance error events found")
        out.append("")
        return out
    header = f"  {'count':>6}  {'code':<10} {'category':<8} {'severity':<8} reason"
    out.append(header)
    for row in report.codes:
        label = code_label(row.code, row.http_status)
        reason = row.reason or "-"
        if not row.known:
            reason += " (not in the reference table)"
        lead = f"  {row.count:>6}  {label:<10} {row.category:<8} "
        wrapped = _wrap(f"{lead}{row.severity:<8} {reason}", width, "", " " * 39)
        wrapped[0] = (
            lead + paint(f"{row.severity:<8}", row.severity, style) + wrapped[0][len(lead) + 8 :]
        )
        out.extend(wrapped)
        if row.fix:
            out.extend(_wrap(first_sentence(row.fix), width, " " * 10))
    rows, events = report.codes_omitted
    if rows:
        more = f"  … and {rows} more codes with {events} events (all of them: bnlog events)"
        out.extend(_wrap(more, width, "", "    "))
    out.append("")
    return out


OTHER_KIND = {
    "transport": "no response (timeout, reset, DNS)",
    "unrecognised": "names Binance, no code or status",
}


def _other(report: Report, style: Style, width: int) -> list[str]:
    """Errors that are not Binance API errors: not in the codes or the totals, not hidden."""
    if not report.other_count:
        return []
    out = [paint(f"Other errors ({report.other_count}, not Binance API errors)", "bold", style)]
    for row in report.other:
        label = OTHER_KIND.get(row.kind, row.kind)
        text = f"{label}: " + one_line(row.message, max(20, width - 10 - len(label) - 2))
        out.append(f"  {row.count:>6}  " + _cut(text, width - 10))
        out.append(
            "          " + paint(evidence_line(row.example, max(20, width - 10)), "dim", style)
        )
    listed = sum(row.count for row in report.other)
    if listed < report.other_count:
        out.append(f"          and {report.other_count - listed} more")
    out.append("")
    return out


def _coverage(report: Report, style: Style, width: int) -> list[str]:
    t = report.totals
    lines = [
        f"{plural(t.files, 'file')} · {plural(t.lines, 'line')} · {human_bytes(t.bytes)} · "
        f"{plural(t.events, 'event')} · {t.skipped_lines} skipped or cut · "
        f"{t.repaired_lines} with invalid UTF-8 repaired"
    ]
    if t.resumed_files:
        lines.append(
            f"incremental: {plural(t.resumed_files, 'file')} read only from where the last "
            "run stopped (--state)"
        )
    if report.log_first and report.log_last:
        lines.append(f"log spans {iso(report.log_first)} → {iso(report.log_last)}")
    lines += ["warning: " + warning for warning in report.warnings]
    if not report.redacted:
        lines.append("warning: secrets were NOT redacted (--no-redact); do not share this report")
    out = [paint("Coverage", "bold", style)]
    for line in lines:
        out.extend(_wrap(line, width, "  ", "    "))
    return out
