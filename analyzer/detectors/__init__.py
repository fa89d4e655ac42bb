"""Detectors: the explicit registry and run_detectors(events, ctx) -> findings, worst first."""

from __future__ import annotations

import polars as pl

from analyzer.detectors.account_blocked import AccountBlocked
from analyzer.detectors.auth import Auth
from analyzer.detectors.bad_request import BadRequest
from analyzer.detectors.base import DetectContext, Detector, Evidence, Finding
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
    """Worst severity first, then bigger impact, then kind and title (a total, stable order)."""
    return sorted(findings, key=lambda f: (f.severity.rank, -f.impact, f.kind, f.title))


def run_detectors(
    events: pl.DataFrame,
    ctx: DetectContext | None = None,
    registry: tuple[Detector, ...] = REGISTRY,
) -> list[Finding]:
    """Every registered detector's findings for the events, sorted worst first."""
    missing = [name for name in EVENT_SCHEMA if name not in events.columns]
    if missing:
        raise ValueError(f"events frame lacks columns: {', '.join(missing)}")
    if ctx is None:
        ctx = DetectContext.from_events(events)
    return sort_findings([f for detector in registry for f in detector.detect(events, ctx)])
