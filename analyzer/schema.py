"""The events table: one row per error event, defined once for every extractor and stage."""

from __future__ import annotations

from enum import StrEnum

import polars as pl


class Severity(StrEnum):
    """How bad an event or finding is; ordered from worst to mildest."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for critical … 3 for info, for sorting worst first."""
        return list(Severity).index(self)


class Category(StrEnum):
    """Where an event belongs: the reference table's code ranges plus what real logs add."""

    GENERAL = "general"  # -1000..-1099 general server / network errors
    REQUEST = "request"  # -1100..-1199 request parameter errors
    ORDER = "order"  # -2000..-2099 order / account errors
    FILTER = "filter"  # "Filter failure: NAME" (any code), the table's -9xxx
    HTTP = "http"  # an HTTP status with no Binance code (403, 418, 429, 451, 5xx)
    NETWORK = "network"  # transport failure with neither code nor status (timeouts)
    UNKNOWN = "unknown"  # anything else that looks like a Binance error


class EventKind(StrEnum):
    """What an event is: a Binance API error, or another error kept visible beside them."""

    API = "api"  # a failed Binance API request: a Binance code or an HTTP status from Binance
    TRANSPORT = "transport"  # timeout, reset, DNS: no response, so neither code nor status
    UNRECOGNISED = "unrecognised"  # an error line naming Binance that no shape understood


# Columns produced by extraction (analyzer.extract), in order.
EXTRACTED_SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Datetime("us", "UTC"),  # UTC; null when the event's lines carry no time
    "path": pl.String(),  # the file as the user named it ("-" for stdin)
    "line": pl.Int64(),  # 1-based number of the event's first line
    "code": pl.Int64(),  # Binance error code; null when only a message or status is known
    "http_status": pl.Int64(),  # HTTP status when the log shows one
    "msg": pl.String(),  # the exchange's message (unescaped), or the wrapper text
    "symbol": pl.String(),  # normalised like the exchange writes it: BTCUSDT, SOLUSD
    "endpoint": pl.String(),  # /api/v3/order …
    "client": pl.String(),  # library or bot that wrote the line: ccxt, python-binance, …
    "shape": pl.String(),  # which extraction rule produced the event
    "kind": pl.String(),  # an EventKind value: only "api" events are Binance API errors
    "retry_after": pl.Int64(),  # Retry-After header, seconds
    "used_weight": pl.Int64(),  # X-MBX-USED-WEIGHT-* value when captured
    "ban_until": pl.Int64(),  # epoch ms from "IP banned until N"
    "raw": pl.String(),  # the event's text, secrets redacted
}

# Columns added by classification (analyzer.reference.classify).
CLASSIFIED_SCHEMA: dict[str, pl.DataType] = {
    "category": pl.String(),  # a Category value
    "reason": pl.String(),  # stable slug: "clock_ahead", "filter:LOT_SIZE", "ip_ban", …; null if none
    "severity": pl.String(),  # a Severity value
    "known": pl.Boolean(),  # the code/message is in the reference data
    "fix": pl.String(),  # generic fix text from the reference data
}

EVENT_SCHEMA: dict[str, pl.DataType] = {**EXTRACTED_SCHEMA, **CLASSIFIED_SCHEMA}


def empty_events(schema: dict[str, pl.DataType] = EVENT_SCHEMA) -> pl.DataFrame:
    """An events frame with no rows and exactly the given schema."""
    return pl.DataFrame(schema=schema)


def api_events(events: pl.DataFrame) -> pl.DataFrame:
    """The Binance API error events: a code or an HTTP status from Binance (corpus_policy.md).
    Transport failures, client-side errors and other hosts' statuses are not among them."""
    return events.filter(pl.col("kind") == EventKind.API.value)
