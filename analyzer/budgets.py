"""Budgets for `bnlog check`: keys (a code, an HTTP status, a finding kind, a category), the
event counts they are measured against, and which findings a key covers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from analyzer.errors import UsageError
from analyzer.schema import Category, EventKind

if TYPE_CHECKING:
    import polars as pl

    from analyzer.detectors import Finding
    from analyzer.report import Report

CODE, HTTP, KIND, CATEGORY = "code", "http", "kind", "category"


def finding_kinds() -> tuple[str, ...]:
    """Every finding kind a detector can report (the registry's names), sorted."""
    from analyzer.detectors import REGISTRY

    return tuple(sorted(d.name for d in REGISTRY))


@dataclass(frozen=True, order=True)
class Key:
    """What a budget or an --ignore names: `-1003`, `http:418`, `ip_ban` or `filter`."""

    type: str  # CODE, HTTP, KIND or CATEGORY
    name: str  # as written back: "-1003", "http:418", "ip_ban", "filter"
    number: int | None = None  # the code or the HTTP status

    def __str__(self) -> str:
        return self.name


def parse_key(text: str, where: str = "--max") -> Key:
    """The key `text` names; UsageError (naming `where`) when it names nothing bnlog counts.

    A negative number is a Binance code; `http:NNN` (or a bare 100-599) an HTTP status; else a
    finding kind or a category."""
    raw = text.strip()
    low = raw.lower()
    if low.startswith("http:"):
        status = low[5:]
        if status.isdigit() and 100 <= int(status) <= 599:
            return Key(HTTP, f"http:{int(status)}", int(status))
        raise UsageError(f"{where} {text!r}: an HTTP status is http:100 … http:599")
    if low.lstrip("+-").isdigit():
        number = int(low)
        if number < 0:
            return Key(CODE, str(number), number)
        if 100 <= number <= 599:
            return Key(HTTP, f"http:{number}", number)
        raise UsageError(
            f"{where} {text!r}: Binance codes are negative (-{number}); "
            "HTTP statuses are written http:NNN"
        )
    if low in finding_kinds():
        return Key(KIND, low)
    if low in {c.value for c in Category}:
        return Key(CATEGORY, low)
    raise UsageError(
        f"{where} {text!r}: not a code (-1003), an HTTP status (http:418), a finding kind "
        f"({', '.join(finding_kinds())}) or a category ({', '.join(c.value for c in Category)})"
    )


@dataclass(frozen=True)
class Budget:
    """At most `limit` events (or, for a finding kind, that kind's events) of `key`; `origin`
    says who set it: '--max', '--code' or the config file."""

    key: Key
    limit: int
    origin: str = "--max"


@dataclass(frozen=True)
class EventCounts:
    """How many events each code, HTTP status and category has, and which categories the events
    of each code (or, without a code, status) fall in. Codes and statuses count Binance API
    error events; categories count every event (`network` is the transport failures)."""

    codes: Mapping[int, int] = field(default_factory=dict)
    statuses: Mapping[int, int] = field(default_factory=dict)
    categories: Mapping[str, int] = field(default_factory=dict)
    category_of: Mapping[int, frozenset[str]] = field(default_factory=dict)  # finding code → cats

    @classmethod
    def of(cls, events: pl.DataFrame) -> EventCounts:
        """Counted from a classified events frame."""
        import polars as pl

        api = events.filter(pl.col("kind") == EventKind.API.value)
        codes = _counted(api, "code")
        statuses = _counted(api, "http_status")
        categories = {
            str(k): int(n)
            for k, n in events.group_by("category").len().iter_rows()
            if k is not None
        }
        said = pl.coalesce(pl.col("code"), pl.col("http_status")).alias("said")
        pairs = api.select(said, "category").drop_nulls().unique()
        category_of: dict[int, set[str]] = {}
        for number, category in pairs.iter_rows():
            category_of.setdefault(int(number), set()).add(str(category))
        return cls(codes, statuses, categories, {k: frozenset(v) for k, v in category_of.items()})

    @classmethod
    def from_report(cls, report: Report) -> EventCounts:
        """Counted from a report's codes table (exact unless the table left rows out): for a
        Report built without its events."""
        codes: dict[int, int] = {}
        statuses: dict[int, int] = {}
        categories: dict[str, int] = {}
        category_of: dict[int, set[str]] = {}
        for row in report.codes:
            if row.code is not None:
                codes[row.code] = codes.get(row.code, 0) + row.count
            if row.http_status is not None:
                statuses[row.http_status] = statuses.get(row.http_status, 0) + row.count
            categories[row.category] = categories.get(row.category, 0) + row.count
            said = row.code if row.code is not None else row.http_status
            if said is not None:
                category_of.setdefault(said, set()).add(row.category)
        return cls(codes, statuses, categories, {k: frozenset(v) for k, v in category_of.items()})

    def count(self, key: Key, findings: Iterable[Finding]) -> int:
        """The events `key` counts: of its code, status or category, or of its findings."""
        if key.type == CODE:
            return self.codes.get(key.number or 0, 0)
        if key.type == HTTP:
            return self.statuses.get(key.number or 0, 0)
        if key.type == CATEGORY:
            return self.categories.get(key.name, 0)
        return sum(f.count for f in findings if f.kind == key.name)

    def covers(self, keys: Iterable[Key], finding: Finding) -> bool:
        """True when `keys` speak for `finding`: one names its kind, or every code it reports
        is named (as a code, an HTTP status, or a category all of that code's events are in).
        Such a finding is judged by its budget (or ignored), not by --fail-on."""
        keys = list(keys)
        if any(k.type == KIND and k.name == finding.kind for k in keys):
            return True
        if not finding.codes:
            return False
        return all(self._code_covered(keys, code) for code in finding.codes)

    def naming(self, keys: Iterable[Key], finding: Finding) -> list[Key]:
        """The keys that name `finding`'s kind or one of its codes."""
        return [
            k
            for k in keys
            if (k.type == KIND and k.name == finding.kind)
            or any(self._code_covered([k], code) for code in finding.codes)
        ]

    def _code_covered(self, keys: list[Key], code: int) -> bool:
        for k in keys:
            if k.type == CODE and code < 0 and k.number == code:
                return True
            if k.type == HTTP and code > 0 and k.number == code:
                return True
            if k.type == CATEGORY and self.category_of.get(code) == frozenset({k.name}):
                return True
        return False


def _counted(events: pl.DataFrame, column: str) -> dict[int, int]:
    counted = events.filter(events[column].is_not_null()).group_by(column).len()
    return {int(k): int(n) for k, n in counted.iter_rows()}
