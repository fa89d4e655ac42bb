"""Insufficient balance: orders larger than the free balance, per symbol."""

from __future__ import annotations

import polars as pl

from analyzer.detectors.base import (
    DetectContext,
    Finding,
    about,
    client_lines,
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
CLIENT_ADVICE = {
    "ccxt": "read exchange.fetch_balance()[asset]['free'] right before sizing the order.",
    "freqtrade": (
        "lower tradable_balance_ratio (e.g. 0.99) or stake_amount, and check that nothing "
        "else trades on the same account."
    ),
    "python-binance": "read client.get_asset_balance(asset)['free'] right before sizing the order.",
}


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
        lines = [BASE_ADVICE, *client_lines(clients_of(hits, ctx), CLIENT_ADVICE)]
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
