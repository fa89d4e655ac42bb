"""The JSON report (`bnlog.report/1`): contract fields never renamed or dropped, only added to."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from analyzer.render import DEFAULT_STYLE, Style
from analyzer.render.inert import shown_paths
from analyzer.report import SCHEMA_ID, CodeRow, Report


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with Z; milliseconds only when present."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


def code_dict(row: CodeRow) -> dict[str, object]:
    """One `codes` entry: the contract fields first, then additions."""
    return {
        "code": row.code,
        "http_status": row.http_status,
        "count": row.count,
        "category": row.category,
        "reason": row.reason,
        "severity": row.severity,
        "known": row.known,
        "fix": row.fix,
        "reasons": dict(sorted(row.reasons.items())),
        "first_seen": iso(row.first_seen),
        "last_seen": iso(row.last_seen),
    }


def report_dict(report: Report) -> dict[str, object]:
    """The whole report as JSON-ready data, in a fixed key order (file names redacted)."""
    report = shown_paths(report)
    t = report.totals
    return {
        "schema": SCHEMA_ID,
        "verdict": report.verdict,
        "totals": {
            "files": t.files,
            "lines": t.lines,
            "bytes": t.bytes,
            "events": t.events,
            "skipped_lines": t.skipped_lines,
            "repaired_lines": t.repaired_lines,
            "resumed_files": t.resumed_files,
            "unreadable_files": t.unreadable_files,
        },
        "incomplete": t.incomplete or None,
        "first_seen": iso(report.first_seen),
        "last_seen": iso(report.last_seen),
        "log_first": iso(report.log_first),
        "log_last": iso(report.log_last),
        "clients": list(report.clients),
        "codes": [code_dict(row) for row in report.codes],
        "codes_omitted": {"rows": report.codes_omitted[0], "events": report.codes_omitted[1]},
        "findings": [f.to_dict() for f in report.findings],
        "timeline": {
            "bucket": report.timeline.bucket,
            "starts": [iso(s) for s in report.timeline.starts],
            "series": {k: list(v) for k, v in sorted(report.timeline.series.items())},
            "untimed": report.timeline.untimed,
        },
        "warnings": list(report.warnings),
        "redacted": report.redacted,
        "filters": {**report.filters, "events_before": report.events_before}
        if report.filters
        else {},
        "other_errors": {
            "count": report.other_count,
            "top": [
                {
                    "kind": row.kind,
                    "count": row.count,
                    "message": row.message,
                    "first_seen": iso(row.first_seen),
                    "last_seen": iso(row.last_seen),
                    "example": row.example,
                }
                for row in report.other
            ],
        },
    }


# json.dumps escapes C0 controls itself; these it would write raw (DEL and C1 controls, bidi
# overrides, lone surrogates that no UTF-8 output can even encode, non-characters).
_RAW_UNSAFE = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)


def dumps(data: object) -> str:
    """Pretty-printed JSON with a trailing newline; characters a terminal would act on are
    written as \\u escapes, so the parsed values stay exactly the data."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return _RAW_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text) + "\n"


def render(report: Report, style: Style = DEFAULT_STYLE) -> str:
    """Pretty-printed JSON with a trailing newline."""
    return dumps(report_dict(report))
