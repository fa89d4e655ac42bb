"""The Finding model, the Detector protocol and the small helpers every detector shares."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import polars as pl

from analyzer.schema import Severity
from analyzer.texts import order_keys, with_raw

MAX_EVIDENCE = 3

TIME_OFFSET_SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Datetime("us", "UTC"),  # when the bot logged its offset to the exchange clock
    "offset_ms": pl.Int64(),  # the offset as the bot logged it (sign as logged)
}


@dataclass(frozen=True)
class Evidence:
    """One log event quoted as proof: where it is and its (already redacted) text."""

    path: str
    line: int
    text: str


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One diagnosis: what pattern the events form, how bad it is, and what to do.

    `codes` holds the Binance codes involved (negative) plus the HTTP status (positive) of
    events that carry no real code. `impact` ranks findings of the same severity (bigger
    first): the number of events the finding accounts for. It is not part of `to_dict()`,
    because it only orders the report.
    """

    kind: str
    severity: Severity
    title: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    symbols: tuple[str, ...]
    codes: tuple[int, ...]
    evidence: tuple[Evidence, ...]
    fix: str
    details: dict[str, object]
    impact: float
    source: str = ""  # the bot (directory or file) whose logs tell this story; "" for all

    def __post_init__(self) -> None:
        if len(self.evidence) > MAX_EVIDENCE:
            raise ValueError(f"{self.kind}: at most {MAX_EVIDENCE} evidence events")
        object.__setattr__(self, "symbols", tuple(sorted(set(self.symbols))))
        object.__setattr__(self, "codes", tuple(sorted(set(self.codes))))

    def to_dict(self) -> dict[str, object]:
        """The finding as plain JSON-ready data, keys and lists in a fixed order. Long lists
        are bounded (MAX_LISTED), the rest counted: `symbols_more`, `codes_more`, and in
        `details` a "(N more)" entry with their total."""
        out: dict[str, object] = {
            "kind": self.kind,
            "severity": self.severity.value,
            "title": self.title,
            "count": self.count,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "symbols": list(self.symbols[:MAX_LISTED]),
            "codes": list(self.codes[:MAX_LISTED]),
            "evidence": [{"path": e.path, "line": e.line, "text": e.text} for e in self.evidence],
            "fix": self.fix,
            "details": bounded(self.details),
            "source": self.source or None,
        }
        for name, values in (("symbols", self.symbols), ("codes", self.codes)):
            if len(values) > MAX_LISTED:
                out[f"{name}_more"] = len(values) - MAX_LISTED
        return out


# A report stays readable and small however many distinct values a storm brings: a finding
# lists at most this many symbols, codes, or entries of one detail (the rest are counted).
MAX_LISTED = 20


def listed(values: Sequence[object]) -> str:
    """`a, b, c` — and past MAX_LISTED, `… and N more`."""
    shown = ", ".join(str(v) for v in values[:MAX_LISTED])
    more = len(values) - MAX_LISTED
    return f"{shown} and {more} more" if more > 0 else shown


def bounded(value: object) -> object:
    """Details with every dict and list cut to MAX_LISTED entries: a dict of counts keeps its
    first (most frequent) entries and adds "(N more)" with their total; a list says how many
    it left out in its last element."""
    if isinstance(value, dict):
        items = list(value.items())
        out = {k: bounded(v) for k, v in items[:MAX_LISTED]}
        rest = items[MAX_LISTED:]
        if rest:
            counts = [v for _, v in rest]
            total = sum(counts) if all(isinstance(v, int) for v in counts) else None  # type: ignore[arg-type]
            out[f"({len(rest)} more)"] = total if total is not None else len(rest)
        return out
    if isinstance(value, list | tuple):
        out_list = [bounded(v) for v in value[:MAX_LISTED]]
        if len(value) > MAX_LISTED:
            out_list.append(f"({len(value) - MAX_LISTED} more)")
        return out_list
    return value


def empty_time_offsets() -> pl.DataFrame:
    """A time-offset frame with no rows."""
    return pl.DataFrame(schema=TIME_OFFSET_SCHEMA)


@dataclass(frozen=True, eq=False)
class DetectContext:
    """What detectors may know beyond the events; new fields get defaults so callers keep working."""

    clients: tuple[str, ...] = ()  # clients seen in the log, most frequent first
    time_offsets: pl.DataFrame = field(default_factory=empty_time_offsets)
    log_start: datetime | None = None  # the earliest time on any line of the log
    log_end: datetime | None = None  # the latest time on any line of the log

    @classmethod
    def from_events(
        cls,
        events: pl.DataFrame,
        time_offsets: pl.DataFrame | None = None,
        log_start: datetime | None = None,
        log_end: datetime | None = None,
    ) -> DetectContext:
        """A context whose clients are counted from the events themselves."""
        return cls(
            clients=tuple(value_counts(events, "client")),
            time_offsets=empty_time_offsets() if time_offsets is None else time_offsets,
            log_start=utc(log_start),
            log_end=utc(log_end),
        )


class Detector(Protocol):
    """Recognises one situation in the events table and explains it as findings."""

    name: str  # the `kind` of every finding it returns; also its module name
    story: str  # one sentence: the situation it recognises
    # The events it reports, declared once: a selection over the events table. The registry
    # reads these to find events no detector explains (the `unexplained` finding).
    explains: pl.Expr

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """Findings for the situation, or an empty list when the events do not show it."""
        ...


# ---------------------------------------------------------------------------- frame helpers


def ordered(events: pl.DataFrame) -> pl.DataFrame:
    """Events earliest first (untimed last), in a total, input-order-independent order:
    (ts, path, line, raw), whether the texts are in the frame or in a store."""
    return events.sort(order_keys(events), nulls_last=True)


# Shared notions (several detectors use them; none of them owns them).
# Rate-limit warnings (429, -1003 weight, -1015 order count): what an IP ban follows.
RATE_LIMITED_REASONS = ("rate_limit", "order_rate_limit")
# Refusals of the API key itself: what an account block is not.
AUTH_FAILURE_REASONS = (
    "auth_key_ip_permissions",
    "bad_api_key_format",
    "bad_signature",
    "unauthorized",
    "auth_not_found",
)
WEIGHT_PER_IP = (
    "Request weight is counted per IP, not per API key: every bot and script on this IP shares "
    "one budget. Read the limits from GET /api/v3/exchangeInfo (rateLimits) rather than "
    "hard-coding them, and watch the X-MBX-USED-WEIGHT-1M header."
)


def reason_in(*reasons: str) -> pl.Expr:
    """Events whose reason is one of `reasons` (a detector's usual `explains`)."""
    return pl.col("reason").is_in(list(reasons)).fill_null(False)


RATE_LIMITED = reason_in(*RATE_LIMITED_REASONS)


def explained(events: pl.DataFrame, detector: Detector) -> pl.DataFrame:
    """The events a detector explains, ordered."""
    return ordered(events.filter(detector.explains))


def one_per_request(hits: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The events with requests that two files record (a bot log and an HTTP capture of the
    same requests) kept once, and how many repeats were dropped.

    Two events are the same request when they fall in the same second with the same reason
    (a log line often lacks the status a capture has), and the same endpoint where both name
    one; of each such group only the file that
    holds most of it (then the first path) is kept. Untimed events are all kept."""
    if hits.height < 2 or hits.get_column("path").n_unique() < 2:
        return hits, 0
    second = pl.col("ts").dt.truncate("1s").alias("_second")
    marked = hits.with_columns(second).with_columns(
        _endpoint=pl.col("endpoint").fill_null(
            pl.col("endpoint").drop_nulls().first().over(["_second", "reason"])
        )
    )
    request = ["_second", "reason", "_endpoint"]
    marked = marked.with_columns(_size=pl.len().over([*request, "path"]))
    main = pl.col("path").sort_by(["_size", "path"], descending=[True, False]).first()
    kept = marked.with_columns(_main=main.over(request)).filter(
        pl.col("ts").is_null() | (pl.col("path") == pl.col("_main"))
    )
    kept = kept.drop("_second", "_endpoint", "_size", "_main")
    return kept, hits.height - kept.height


def also_recorded(dropped: int) -> str:
    """The sentence telling that repeats in another file were counted once ('' for none)."""
    if not dropped:
        return ""
    return (
        f"{plural(dropped, 'line')} in another file recorded the same requests (same second, "
        "error and endpoint) and were counted once."
    )


def evidence_of(events: pl.DataFrame) -> tuple[Evidence, ...]:
    """Up to three events as evidence, earliest first."""
    rows = with_raw(ordered(events).head(MAX_EVIDENCE)).select("path", "line", "raw").rows()
    return tuple(Evidence(path=p or "", line=n or 0, text=t or "") for p, n, t in rows)


def about(events: pl.DataFrame) -> dict[str, object]:
    """The Finding fields that follow from its events alone: count, symbols, codes, evidence."""
    return {
        "count": events.height,
        "symbols": symbols_of(events),
        "codes": codes_of(events),
        "evidence": evidence_of(events),
    }


def time_span(events: pl.DataFrame) -> tuple[datetime | None, datetime | None]:
    """First and last timestamp among the events (None when none is timed)."""
    if events.is_empty():
        return None, None
    first, last = events.select(pl.col("ts").min().alias("a"), pl.col("ts").max().alias("b")).row(0)
    return utc(first), utc(last)


def symbols_of(events: pl.DataFrame) -> tuple[str, ...]:
    """Distinct non-null symbols, sorted."""
    return tuple(sorted(events.get_column("symbol").drop_nulls().unique().to_list()))


def codes_of(events: pl.DataFrame) -> tuple[int, ...]:
    """Distinct Binance codes plus the HTTP status of events without one (code null or 0)."""
    real = pl.col("code").is_not_null() & (pl.col("code") != 0)
    codes = events.filter(real).get_column("code").unique().to_list()
    statuses = events.filter(~real).get_column("http_status").drop_nulls().unique().to_list()
    return tuple(sorted(set(codes) | set(statuses)))


def value_counts(events: pl.DataFrame, column: str) -> dict[str, int]:
    """Non-null values of a column with their counts, most frequent first, ties by value."""
    counted = (
        events.filter(pl.col(column).is_not_null())
        .group_by(column)
        .len()
        .sort(["len", column], descending=[True, False])
    )
    return {str(v): int(n) for v, n in counted.rows()}


def clients_of(events: pl.DataFrame, ctx: DetectContext) -> tuple[str, ...]:
    """The clients that wrote these events, most frequent first (advice is for them only);
    when none of the events names its client, the clients of the log."""
    return tuple(value_counts(events, "client")) or ctx.clients


def per_minute(events: pl.DataFrame) -> pl.DataFrame:
    """(minute, len) for timed events, in time order."""
    return (
        events.filter(pl.col("ts").is_not_null())
        .group_by(pl.col("ts").dt.truncate("1m").alias("minute"))
        .len()
        .sort("minute")
    )


def sessions(events: pl.DataFrame, gap_s: int) -> pl.DataFrame:
    """Timed events, ordered, with a `session` id: a new session starts after a quiet gap."""
    timed = ordered(events.filter(pl.col("ts").is_not_null()))
    gap = pl.col("ts").diff() > pl.duration(seconds=gap_s)
    return timed.with_columns(session=gap.fill_null(True).cum_sum())


# ---------------------------------------------------------------------------- text helpers


def utc(value: object) -> datetime | None:
    """A datetime as the same instant in datetime.UTC (polars hands back ZoneInfo('UTC'))."""
    return value.astimezone(UTC) if isinstance(value, datetime) else None


def iso(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with a trailing Z: seconds, or milliseconds when the time has them."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    spec = "seconds" if value.microsecond == 0 else "milliseconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def plural(n: int, word: str, words: str | None = None) -> str:
    """'1 request', '2 requests'."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def clock_text(moment: datetime | None, near: datetime | None = None) -> str:
    """'at 14:15 UTC', with the date when it is not the day of `near`."""
    if moment is None:
        return "at an unknown time"
    if near is not None and moment.date() == near.date():
        return f"at {moment:%H:%M} UTC"
    return f"at {moment:%Y-%m-%d %H:%M} UTC"


def when(first: datetime | None, last: datetime | None) -> str:
    """' between 02:10 and 05:40 UTC on 2024-03-18' and friends; '' when untimed."""
    if first is None or last is None:
        return ""
    first, last = first.astimezone(UTC), last.astimezone(UTC)
    if first.strftime("%Y%m%d%H%M") == last.strftime("%Y%m%d%H%M"):
        return f" at {first:%H:%M} UTC on {first:%Y-%m-%d}"
    if first.date() == last.date():
        return f" between {first:%H:%M} and {last:%H:%M} UTC on {first:%Y-%m-%d}"
    return f" between {first:%Y-%m-%d %H:%M} and {last:%Y-%m-%d %H:%M} UTC"


def duration_text(seconds: float) -> str:
    """A short human duration: '45s', '12m', '2h 5m', '3d 4h'."""
    s = int(round(seconds))
    days, rest = divmod(s, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def top_fix(events: pl.DataFrame) -> str | None:
    """The reference table's most common fix text among the events, if any."""
    fixes = value_counts(events, "fix")
    return next(iter(fixes), None)


def listing(items: Iterable[str], limit: int = 5) -> str:
    """'A, B and C', or 'A, B, C, D, E and 3 more' past `limit` items (in the given order)."""
    names = list(items)
    if len(names) > limit:
        return f"{', '.join(names[:limit])} and {len(names) - limit} more"
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
