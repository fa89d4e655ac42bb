"""The cron digest (`bnlog summary`): this run's window compared with the previous run's.

A finding is known again by its fingerprint — kind, source, codes and symbols, never counts or
times — and marked *new* (not in the previous window), *ongoing* (in both) or *resolved* (in
the previous window, not in this one). Counts are compared with the previous window's. The
digest of each run (fingerprints and counts) is kept in the --state file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analyzer.detectors import Finding
from analyzer.redact import redact_text
from analyzer.report import Report
from analyzer.schema import Severity
from analyzer.state import Plan

NEW, ONGOING, RESOLVED = "new", "ongoing", "resolved"


def fingerprint(kind: str, source: str, codes: list[int], subject: str) -> str:
    """A finding's stable name: its kind, source, codes and subject (the filter or reason it
    is about) — not counts, times or symbols: a clock that drifts on for other symbols, or a
    LOT_SIZE problem that reaches one more symbol, is the same problem, ongoing."""
    key = json.dumps([kind, source, sorted(codes), subject], separators=(",", ":"))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _of(finding: Finding) -> str:
    subject = finding.details.get("filter") or finding.details.get("reason") or ""
    return fingerprint(finding.kind, finding.source, list(finding.codes), str(subject))


def code_key(code: int | None, http_status: int | None) -> str:
    """A codes-table row's key: '-1021', 'http:429', or '-1003/http:429'."""
    parts = ([str(code)] if code is not None else []) + (
        [f"http:{http_status}"] if http_status is not None else []
    )
    return "/".join(parts) or "none"


def digest_of(report: Report, now: datetime) -> dict[str, Any]:
    """What the next run compares with: this window's findings and counts."""
    return {
        "at": _iso(now),
        "events": report.totals.events,
        "findings": {
            _of(f): {
                "kind": f.kind,
                "source": f.source,
                "codes": list(f.codes),
                "symbols": list(f.symbols),
                "severity": f.severity.value,
                "title": f.title,
                "count": f.count,
            }
            for f in report.findings
        },
        "codes": {code_key(r.code, r.http_status): r.count for r in report.codes},
    }


@dataclass(frozen=True)
class Change:
    """One finding of this window or the previous one, with its status and both counts."""

    status: str
    fingerprint: str
    kind: str
    source: str
    severity: str
    title: str
    codes: tuple[int, ...]
    symbols: tuple[str, ...]
    count: int  # in this window (0 when resolved)
    previous: int | None  # in the previous window (None when new)


@dataclass(frozen=True)
class CodeChange:
    """One codes-table row with its count in the previous window."""

    key: str
    code: int | None
    http_status: int | None
    count: int
    previous: int | None


@dataclass(frozen=True)
class FileRead:
    """What was counted of one file this run: text bytes from → to."""

    path: str
    start: int
    end: int
    resumed: bool


@dataclass(frozen=True)
class Summary:
    """The digest: the window's Report, and how it compares with the previous window."""

    report: Report
    findings: tuple[Change, ...]
    codes: tuple[CodeChange, ...]
    files: tuple[FileRead, ...]
    run_at: str
    previous_at: str | None  # when the previous run was (None: no state, or its first run)
    events_previous: int | None
    stateful: bool

    @property
    def clean(self) -> bool:
        """Nothing to say: healthy, no other errors, nothing unread or warned about."""
        r = self.report
        return r.verdict == "healthy" and not r.other_count and not r.warnings


def pct(count: int, previous: int | None) -> str:
    """'↑ 50% from 8', '↓ 25% from 4', '= 8', or '' (nothing to compare with)."""
    if previous is None:
        return ""
    if count == previous:
        return f"= {previous}"
    arrow = "↑" if count > previous else "↓"
    if previous == 0:
        return f"{arrow} from 0"
    return f"{arrow} {abs(count - previous) * 100 // previous}% from {previous}"


def summarize(report: Report, plan: Plan | None, now: datetime) -> Summary:
    """Compare the window's report with the previous run's digest in the state (if any)."""
    previous = (plan.state.digest if plan is not None else None) or {}
    before: dict[str, Any] = previous.get("findings") or {}
    changes = []
    seen = set()
    for f in report.findings:
        fp = _of(f)
        seen.add(fp)
        old = before.get(fp)
        changes.append(
            Change(
                status=ONGOING if old else NEW,
                fingerprint=fp,
                kind=f.kind,
                source=f.source,
                severity=f.severity.value,
                title=f.title,
                codes=f.codes,
                symbols=f.symbols,
                count=f.count,
                previous=_count(old),
            )
        )
    rank = {s.value: s.rank for s in Severity}
    gone = sorted(
        ((fp, old) for fp, old in before.items() if fp not in seen and isinstance(old, dict)),
        key=lambda item: (rank.get(str(item[1].get("severity")), 9), str(item[1].get("title"))),
    )
    for fp, old in gone:
        title = str(old.get("title", ""))
        changes.append(
            Change(
                status=RESOLVED,
                fingerprint=fp,
                kind=str(old.get("kind", "")),
                source=str(old.get("source", "")),
                severity=str(old.get("severity", "")),
                title=redact_text(title) if report.redacted else title,
                codes=tuple(c for c in old.get("codes", []) if isinstance(c, int)),
                symbols=tuple(str(s) for s in old.get("symbols", [])),
                count=0,
                previous=_count(old),
            )
        )
    order = {NEW: 0, ONGOING: 1, RESOLVED: 2}
    changes.sort(key=lambda c: order[c.status])  # stable: report order within each
    old_codes: dict[str, Any] = previous.get("codes") or {}
    codes = [
        CodeChange(
            key=code_key(r.code, r.http_status),
            code=r.code,
            http_status=r.http_status,
            count=r.count,
            previous=_int(old_codes.get(code_key(r.code, r.http_status)), bool(previous)),
        )
        for r in report.codes
    ]
    files = []
    if plan is not None:
        for entry in plan.entries:
            if entry.end is not None:
                files.append(
                    FileRead(entry.source.name, entry.counted, entry.end[0], entry.mark is not None)
                )
    return Summary(
        report=report,
        findings=tuple(changes),
        codes=tuple(codes),
        files=tuple(files),
        run_at=_iso(now),
        previous_at=str(previous["at"]) if isinstance(previous.get("at"), str) else None,
        events_previous=_int(previous.get("events"), bool(previous)),
        stateful=plan is not None,
    )


def _count(old: object) -> int | None:
    if not isinstance(old, dict):
        return None
    value = old.get("count")
    return value if type(value) is int else 0


def _int(value: object, known: bool) -> int | None:
    if type(value) is int:
        return value
    return 0 if known else None


def _iso(value: datetime) -> str:
    from analyzer.render.json import iso

    return iso(value) or ""
