"""The Report: totals, verdict, findings, code table and timeline, built from events + findings."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import polars as pl

from analyzer.detectors import Finding
from analyzer.redact import redact_text
from analyzer.schema import Category, EventKind, Severity, api_events
from analyzer.sources import Coverage
from analyzer.texts import text_column, with_raw

SCHEMA_ID = "bnlog.report/1"

# Timeline bucket sizes, smallest first; the first that gives at most MAX_BUCKETS is used.
BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("1m", timedelta(minutes=1)),
    ("5m", timedelta(minutes=5)),
    ("15m", timedelta(minutes=15)),
    ("1h", timedelta(hours=1)),
    ("6h", timedelta(hours=6)),
    ("1d", timedelta(days=1)),
    ("7d", timedelta(days=7)),
)
MAX_BUCKETS = 60


@dataclass(frozen=True)
class Totals:
    """How much was read, and how much of it could not be."""

    files: int
    lines: int
    bytes: int
    events: int
    skipped_lines: int
    repaired_lines: int = 0
    resumed_files: int = 0  # --state: files read only from where the last run stopped
    unreadable_files: int = 0  # inputs not read, or not to their end (see the warnings)

    @property
    def incomplete(self) -> str:
        """What could not be read, as the verdict says it ('' when everything was read):
        '2 files unreadable, 3 lines skipped or cut'."""
        parts = []
        if self.unreadable_files:
            n = self.unreadable_files
            parts.append(f"{n} {'file' if n == 1 else 'files'} unreadable")
        if self.skipped_lines:
            n = self.skipped_lines
            parts.append(f"{n} {'line' if n == 1 else 'lines'} skipped or cut")
        return ", ".join(parts)


@dataclass(frozen=True)
class CodeRow:
    """One (code, http_status) pair with its count and classification."""

    code: int | None
    http_status: int | None
    count: int
    category: str
    reason: str | None
    severity: str
    known: bool
    fix: str
    reasons: dict[str, int] = field(default_factory=dict)  # every reason under this pair
    first_seen: datetime | None = None
    last_seen: datetime | None = None


@dataclass(frozen=True)
class OtherRow:
    """Errors that are not Binance API errors, kept visible: one row per kind and message.

    `kind` is an EventKind other than "api": a transport failure (no response at all) or an
    error line that names Binance but carries no code, status or known message (a client-side
    check, a config error)."""

    kind: str
    count: int
    message: str
    first_seen: datetime | None
    last_seen: datetime | None
    example: str  # "path:line: raw", redacted like all evidence


@dataclass(frozen=True)
class Timeline:
    """Events per time bucket and category; `bucket` is a size like "15m"."""

    bucket: str
    starts: tuple[datetime, ...]
    series: dict[str, tuple[int, ...]]  # category -> count per bucket, same length as starts
    untimed: int = 0  # events that carry no timestamp (not on the chart)


@dataclass(frozen=True)
class Report:
    """Everything a renderer needs; renderers never see polars."""

    totals: Totals
    verdict: str
    findings: tuple[Finding, ...]
    codes: tuple[CodeRow, ...]
    timeline: Timeline
    first_seen: datetime | None
    last_seen: datetime | None
    clients: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    redacted: bool = True
    log_first: datetime | None = None  # the log's own time span (all lines, not just events)
    log_last: datetime | None = None
    other: tuple[OtherRow, ...] = ()  # errors that are not Binance API errors
    other_count: int = 0  # all of them (`other` lists the most frequent)
    filters: dict[str, object] = field(default_factory=dict)  # --since/--until/--symbol/--code
    events_before: int | None = None  # API error events before the filters (when any is set)
    codes_omitted: tuple[int, int] = (0, 0)  # (rows, events) beyond the MAX_CODE_ROWS shown


def verdict_of(
    findings: tuple[Finding, ...] | list[Finding],
    api_errors: int = 0,
    filtered_out: int = 0,
    incomplete: bool = False,
) -> str:
    """critical when any finding is critical; degraded for errors or warnings, or for any
    Binance API error at all (a log with errors is never healthy); `incomplete` when some
    input could not be read (what was not read may hold errors); `filtered` when the filters
    removed every error there was; else healthy."""
    severities = {f.severity for f in findings}
    if Severity.CRITICAL in severities:
        return "critical"
    if severities & {Severity.ERROR, Severity.WARNING} or api_errors:
        return "degraded"
    if incomplete:
        return "incomplete"
    if filtered_out:
        return "filtered"
    return "healthy"


def build_report(
    events: pl.DataFrame,
    coverage: Coverage,
    findings: list[Finding],
    *,
    redacted: bool = True,
    filters: dict[str, object] | None = None,
    events_before: int | None = None,
) -> Report:
    """Summarise classified events and detector findings into a Report. Totals, codes and the
    timeline count Binance API error events; the other errors get a section of their own."""
    others = events.filter(pl.col("kind") != EventKind.API.value)
    events = api_events(events)
    first, last = (None, None)
    timed = events.filter(pl.col("ts").is_not_null())
    if timed.height:
        lo, hi = timed.select(pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi")).row(0)
        first, last = _utc(lo), _utc(hi)
    shown, omitted = _top_rows(_agreeing(code_rows(events), findings))
    return Report(
        totals=Totals(
            files=coverage.files,
            lines=coverage.lines,
            bytes=coverage.bytes,
            events=events.height,
            skipped_lines=coverage.skipped_lines,
            repaired_lines=coverage.repaired_lines,
            resumed_files=coverage.resumed,
            unreadable_files=coverage.unreadable,
        ),
        verdict=verdict_of(
            findings,
            events.height,
            (events_before or 0) - events.height if filters else 0,
            bool(coverage.unreadable or coverage.skipped_lines),
        ),
        findings=tuple(findings),
        codes=shown,
        codes_omitted=omitted,
        timeline=timeline(events),
        first_seen=first,
        last_seen=last,
        clients=_clients(events),
        warnings=tuple(redact_text(w) for w in coverage.warnings)
        if redacted
        else tuple(coverage.warnings),
        redacted=redacted,
        log_first=_utc(coverage.first_ts),
        log_last=_utc(coverage.last_ts),
        other=other_rows(others),
        other_count=others.height,
        filters=dict(filters or {}),
        events_before=events_before,
    )


# The codes table shows the most frequent rows; a storm of random codes would make it (and
# the JSON report) as long as the log. The rest are counted, and `bnlog events` lists them.
MAX_CODE_ROWS = 40


def _top_rows(rows: tuple[CodeRow, ...]) -> tuple[tuple[CodeRow, ...], tuple[int, int]]:
    """The MAX_CODE_ROWS most frequent rows (ties: table order), in table order; and the
    (rows, events) left out."""
    if len(rows) <= MAX_CODE_ROWS:
        return rows, (0, 0)
    ranked = sorted(range(len(rows)), key=lambda i: (-rows[i].count, i))
    keep = set(ranked[:MAX_CODE_ROWS])
    left = [row for i, row in enumerate(rows) if i not in keep]
    return tuple(row for i, row in enumerate(rows) if i in keep), (
        len(left),
        sum(row.count for row in left),
    )


def _agreeing(rows: tuple[CodeRow, ...], findings: list[Finding]) -> tuple[CodeRow, ...]:
    """The codes table says what the findings say: a code's severity is the worst severity of
    the findings that report it (the reference data's own severity where none does)."""
    worst: dict[int, Severity] = {}
    for finding in findings:
        if finding.kind == "error_spike":
            continue
        for key in finding.codes:
            if key not in worst or finding.severity.rank < worst[key].rank:
                worst[key] = finding.severity
    out = []
    for row in rows:
        said = row.code if row.code is not None else row.http_status
        found = worst.get(said) if said is not None else None
        out.append(replace(row, severity=found.value) if found is not None else row)
    return tuple(out)


MAX_OTHER_ROWS = 10


def other_rows(others: pl.DataFrame) -> tuple[OtherRow, ...]:
    """The most frequent other errors, by kind and message, each with its first example."""
    if others.height == 0:
        return ()
    # An event is named by its message, one without a message by its text; the texts of the
    # rest may stay in their store (see analyzer.texts) but for the examples shown.
    text = text_column(others.columns)
    labelled = pl.concat(
        [
            others.filter(pl.col("msg").is_not_null()).with_columns(
                _message=pl.col("msg").str.slice(0, 160)
            ),
            with_raw(others.filter(pl.col("msg").is_null())).with_columns(
                _message=pl.col("raw").str.slice(0, 160).fill_null("")
            ),
        ],
        how="diagonal_relaxed",
    )
    grouped = (
        labelled.sort("path", "line")
        .group_by("kind", "_message")
        .agg(
            count=pl.len(),
            first=pl.col("ts").min(),
            last=pl.col("ts").max(),
            path=pl.col("path").first(),
            line=pl.col("line").first(),
            _text=pl.col(text).first(),
        )
        .sort(["count", "kind", "_message"], descending=[True, False, False])
        .head(MAX_OTHER_ROWS)
        .rename({"_text": text})
    )
    grouped = with_raw(grouped)
    return tuple(
        OtherRow(
            kind=r["kind"],
            count=r["count"],
            message=r["_message"],
            first_seen=_utc(r["first"]),
            last_seen=_utc(r["last"]),
            example=f"{r['path']}:{r['line']}: {r['raw'] or ''}",
        )
        for r in grouped.iter_rows(named=True)
    )


def code_rows(events: pl.DataFrame) -> tuple[CodeRow, ...]:
    """One row per (code, http_status), most frequent first; the dominant reason names it."""
    if events.height == 0:
        return ()
    keys = ["code", "http_status"]
    per_reason = (
        events.group_by([*keys, "reason"])
        .agg(
            n=pl.len(),
            category=pl.col("category").min(),
            severity=pl.col("severity").min(),
            known=pl.col("known").all(),
            fix=pl.col("fix").min(),
        )
        .sort([*keys, "n", "reason"], descending=[False, False, True, False], nulls_last=True)
    )
    totals = events.group_by(keys).agg(
        count=pl.len(),
        first=pl.col("ts").min(),
        last=pl.col("ts").max(),
        known=pl.col("known").all(),
        worst=pl.col("severity").replace_strict(_SEVERITY_RANK, default=9).min(),
    )
    dominant = per_reason.group_by(keys, maintain_order=True).first()
    reasons = (
        per_reason.filter(pl.col("reason").is_not_null())
        .group_by(keys)
        .agg(reason_list=pl.col("reason"), n_list=pl.col("n"))
    )
    table = (
        totals.join(dominant.drop("known"), on=keys, how="left", nulls_equal=True)
        .join(reasons, on=keys, how="left", nulls_equal=True)
        .sort(["count", "code", "http_status"], descending=[True, False, False], nulls_last=True)
    )
    rows = []
    for r in table.iter_rows(named=True):
        severity = list(_SEVERITY_RANK)[r["worst"]] if r["worst"] < len(_SEVERITY_RANK) else "error"
        rows.append(
            CodeRow(
                code=r["code"],
                http_status=r["http_status"],
                count=r["count"],
                category=r["category"] or Category.UNKNOWN.value,
                reason=r["reason"],
                severity=severity,
                known=bool(r["known"]),
                fix=r["fix"] or "",
                reasons=dict(zip(r["reason_list"] or [], r["n_list"] or [], strict=True)),
                first_seen=_utc(r["first"]),
                last_seen=_utc(r["last"]),
            )
        )
    return tuple(rows)


_SEVERITY_RANK = {s.value: s.rank for s in Severity}


def timeline(events: pl.DataFrame) -> Timeline:
    """Events per bucket and category, the bucket size chosen so the span fits MAX_BUCKETS."""
    timed = events.filter(pl.col("ts").is_not_null())
    untimed = events.height - timed.height
    if timed.height == 0:
        return Timeline(bucket="", starts=(), series={}, untimed=untimed)
    first, last = timed.select(pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi")).row(
        0
    )
    span = last - first
    fits = [(n, s) for n, s in BUCKETS if span / s < MAX_BUCKETS]
    if fits:
        name, size = fits[0]
    else:  # a span of years: whole days per bucket, still at most MAX_BUCKETS
        days = int(span / timedelta(days=1)) // (MAX_BUCKETS - 1) + 1
        name, size = f"{days}d", timedelta(days=days)

    start = pl.col("ts").dt.truncate(name)
    counts = (
        timed.group_by(start.alias("start"), "category")
        .len()
        .pivot(on="category", index="start", values="len")
        .fill_null(0)
    )
    begin = _floor(first, size)
    n = int((last - begin) / size) + 1
    grid = pl.DataFrame(
        {
            "start": pl.datetime_range(
                begin, begin + size * (n - 1), size, eager=True, time_zone="UTC"
            )
        }
    )
    full = grid.join(counts, on="start", how="left").fill_null(0).sort("start")
    categories = sorted(c for c in full.columns if c != "start")
    return Timeline(
        bucket=name,
        starts=tuple(v.astimezone(UTC) for v in full["start"].to_list()),
        series={c: tuple(int(v) for v in full[c].to_list()) for c in categories},
        untimed=untimed,
    )


def _floor(value: datetime, size: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((value.astimezone(UTC) - epoch) // size) * size


def _clients(events: pl.DataFrame) -> tuple[str, ...]:
    counted = (
        events.filter(pl.col("client").is_not_null())
        .group_by("client")
        .len()
        .sort(["len", "client"], descending=[True, False])
    )
    return tuple(counted["client"].to_list())


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)
