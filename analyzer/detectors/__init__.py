"""Detectors: the explicit registry and run_detectors(events, ctx) -> findings, worst first."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from analyzer.detectors.account_blocked import AccountBlocked
from analyzer.detectors.auth import Auth
from analyzer.detectors.bad_request import BadRequest
from analyzer.detectors.base import DetectContext, Detector, Evidence, Finding, value_counts
from analyzer.detectors.clock_drift import ClockDrift
from analyzer.detectors.error_spike import ErrorSpike
from analyzer.detectors.filter_violation import FilterViolation
from analyzer.detectors.geo_block import GeoBlock
from analyzer.detectors.insufficient_balance import InsufficientBalance
from analyzer.detectors.ip_ban import IpBan
from analyzer.detectors.order_rejected import OrderRejected
from analyzer.detectors.order_state import OrderState
from analyzer.detectors.outage import Outage
from analyzer.detectors.rate_limit import RateLimit
from analyzer.detectors.transport import Transport
from analyzer.detectors.unexplained import Unexplained
from analyzer.detectors.unknown_code import UnknownCode
from analyzer.schema import EVENT_SCHEMA
from analyzer.texts import text_column

__all__ = [
    "REGISTRY",
    "DetectContext",
    "Detector",
    "Evidence",
    "Finding",
    "run_detectors",
    "sort_findings",
]

# Every detector, once; tests check this against the modules in this package. The last one
# collects the API error events that none of the others explains.
_EXPLAINING: tuple[Detector, ...] = (
    GeoBlock(),
    Auth(),
    AccountBlocked(),
    IpBan(),
    RateLimit(),
    ClockDrift(),
    Outage(),
    Transport(),
    FilterViolation(),
    InsufficientBalance(),
    OrderRejected(),
    OrderState(),
    BadRequest(),
    UnknownCode(),
    ErrorSpike(),
)
REGISTRY: tuple[Detector, ...] = (*_EXPLAINING, Unexplained(_EXPLAINING))


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Worst severity first, then bigger impact, then kind, title and source (a total,
    stable order)."""
    return sorted(findings, key=lambda f: (f.severity.rank, -f.impact, f.kind, f.title, f.source))


def run_detectors(
    events: pl.DataFrame,
    ctx: DetectContext | None = None,
    registry: tuple[Detector, ...] = REGISTRY,
    sources: pl.Expr | None = None,
) -> list[Finding]:
    """Every registered detector's findings for the events, sorted worst first.

    With `sources` (an expression naming each event's source: the bot whose logs it is, by
    default the file's directory), the detectors run once per source and each finding names
    it: one bot's revoked key is not "fixed" by another bot's orders, and two bots' clocks do
    not make one clock that jumps back and forth."""
    # (`raw` may wait in a text store: then the events carry its number, see analyzer.texts)
    text = text_column(events.columns)
    missing = [
        name for name in EVENT_SCHEMA if (text if name == "raw" else name) not in events.columns
    ]
    if missing:
        raise ValueError(f"events frame lacks columns: {', '.join(missing)}")
    if ctx is None:
        ctx = DetectContext.from_events(events)
    if sources is None:
        return sort_findings([f for d in registry for f in d.detect(events, ctx)])
    grouped = events.with_columns(_source=sources.fill_null(""))
    names = sorted(grouped.get_column("_source").unique().to_list())
    if len(names) <= 1:
        return run_detectors(events, ctx, registry)
    found: list[Finding] = []
    for name in names:
        part = grouped.filter(pl.col("_source") == name).drop("_source")
        local = replace(ctx, clients=tuple(value_counts(part, "client")) or ctx.clients)
        found += [replace(f, source=name) for d in registry for f in d.detect(part, local)]
    return sort_findings(found)
