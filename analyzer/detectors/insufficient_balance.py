"""Insufficient balance: orders larger than the free balance, per symbol."""

from __future__ import annotations

import polars as pl

from analyzer.detectors.advice import advice_lines
from analyzer.detectors.base import (
    DetectContext,
    Finding,
    about,
    clients_of,
    explained,
    listing,
    plural,
    reason_in,
    time_span,
    value_counts,
    when,
)
from analyzer.schema import Severity

BASE_ADVICE = (
    "Size orders from the free balance (not the total: open orders lock funds) and leave room "
    "for the trading fee; for sells, use the quantity actually received after fees."
)


class InsufficientBalance:
    """Recognises orders rejected because the account lacks the free balance for them."""

    name = "insufficient_balance"
    story = (
        "Orders are rejected with 'Account has insufficient balance for requested action.' "
        "because the bot sizes them from more money than is free."
    )
    explains = reason_in("insufficient_balance")

    def detect(self, events: pl.DataFrame, ctx: DetectContext) -> list[Finding]:
        """One finding for all insufficient-balance rejections, counted per symbol."""
        hits = explained(events, self)
        if hits.is_empty():
            return []
        first, last = time_span(hits)
        by_symbol = value_counts(hits, "symbol")
        on = f" on {listing(by_symbol)}" if by_symbol else ""
        title = f"{plural(hits.height, 'order')} rejected for insufficient balance{on}"
        title += when(first, last)
        lines = [BASE_ADVICE, *advice_lines("free_balance", clients_of(hits, ctx))]
        return [
            Finding(
                kind=self.name,
                severity=Severity.WARNING,
                title=title,
                first_seen=first,
                last_seen=last,
                **about(hits),  # type: ignore[arg-type]
                fix="\n".join(lines),
                details={"by_symbol": by_symbol},
                impact=float(hits.height),
            )
        ]
