"""The reference-data row model (Entry) and the reason slugs of docs/CONTRACTS.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from analyzer.schema import Category

EntryKind = Literal["code", "http", "message"]

# Fixed reason slugs from docs/CONTRACTS.md; `filter:<NAME>` and `param:<name>` are patterns.
REASONS: frozenset[str] = frozenset(
    {
        "api_trading_disabled",
        "clock_ahead",
        "clock_behind",
        "clock_skew",
        "recv_window_too_large",
        "rate_limit",
        "ip_ban",
        "order_rate_limit",
        "auth_key_ip_permissions",
        "bad_api_key_format",
        "bad_signature",
        "unauthorized",
        "auth_not_found",
        "geo_block",
        "waf_block",
        "execution_unknown",
        "server_busy",
        "disconnected",
        "unknown_error",
        "service_retired",
        "insufficient_balance",
        "unknown_order",
        "order_not_found",
        "order_archived",
        "duplicate_order",
        "market_closed",
        "would_match_take",
        "would_trigger_immediately",
        "oco_price_relationship",
        "order_type_unsupported",
        "account_trading_disabled",
        "symbol_not_permitted",
        "cancel_restrictions",
        "cancel_replace_failed",
        "price_qty_zero",
        "precision",
        "bad_symbol",
        "network_timeout",
        "http_error",
        "unknown_code",
    }
)
REASON_PATTERN = re.compile(r"filter:(?:[A-Z][A-Z0-9_]*|\{name\})|param:[a-z][a-z0-9_]*")

SOURCES: tuple[str, ...] = (
    "reference table",
    "official docs",
    "reference table, corrected by official docs",
    "library behaviour",
    "observed exchange responses",
)


# Categories by numeric range, first hit wins: (low, high, category, what the range holds).
# -1100..-1199 is checked before the rest of -1xxx (e.g. the retired -1999), which is general.
RANGES: tuple[tuple[int, int, Category, str], ...] = (
    (-1199, -1100, Category.REQUEST, "-1100..-1199 are request parameter errors"),
    (
        -1999,
        -1000,
        Category.GENERAL,
        "-1000..-1099 (and other -1xxx) are general server or network errors",
    ),
    (-2099, -2000, Category.ORDER, "-2000..-2099 are order and account errors"),
    (-9999, -9000, Category.FILTER, "-9000..-9999 are filter failures in the reference table"),
)


def range_category(code: int) -> Category:
    """The category a code's numeric range implies (schema.Category comments)."""
    for low, high, category, _ in RANGES:
        if low <= code <= high:
            return category
    return Category.UNKNOWN


def is_reason(slug: str) -> bool:
    """True for a slug the contract allows (a fixed slug or a filter:/param: pattern)."""
    return slug in REASONS or REASON_PATTERN.fullmatch(slug) is not None


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of the reference data: a code, an HTTP status, or a message rule."""

    kind: EntryKind
    category: str
    severity: str
    fix: str
    source: str
    reason: str | None = None
    code: int | None = None  # kind "code"
    http: int | None = None  # kind "http"
    name: str = ""  # official name (codes) or status phrase (http); "" for message rules
    message: tuple[str, ...] = ()  # exact official message(s); %s marks a placeholder
    table_message: str | None = None  # what the reference table says, when it has the row
    table_fix: str | None = None
    note: str | None = None  # why `fix` differs from the table
    spot: bool = True  # False: the spot exchange never sends this code
    see: str | None = None  # reason of the message rule covering what the table meant
    wins: bool = False  # http 418/429/451: the status sets the reason even with a code
    yields_to: tuple[str, ...] = ()  # reasons a winning status leaves in place
    match: str | None = None  # kind "message": regex on msg
    codes: tuple[int, ...] = ()  # kind "message": codes it arrives under (empty = any)
    default_code: int | None = None  # kind "message": code for message-only events
    bare: bool = False  # kind "message": only when the event has no code and no status
    status: int | None = None  # kind "message": the HTTP status the message implies (451)
    implies_code: bool = True  # kind "message": a message-only event takes default_code

    def __post_init__(self) -> None:
        for field in ("message", "codes", "yields_to"):
            if not isinstance(getattr(self, field), tuple):
                raise TypeError(f"Entry.{field} must be a tuple")

    @property
    def implied_code(self) -> int | None:
        """The code a message-only event gets: default_code, unless the message arrives
        under several codes in practice (filter failures: -1013 or -2010)."""
        return self.default_code if self.implies_code else None

    @property
    def label(self) -> str:
        """How the entry is named in tables: '-1021', 'HTTP 429' or 'msg'."""
        if self.kind == "code":
            return str(self.code)
        if self.kind == "http":
            return f"HTTP {self.http}"
        return "msg"

    @property
    def title(self) -> str:
        """Name for headings: the official name, or the reason of a message rule."""
        return self.name or (self.reason or "")

    @property
    def differs(self) -> bool:
        """True when bnlog's fix deliberately departs from the reference table."""
        return self.note is not None and "corrected" in self.source
